/**
 * Several instances of the server sharing one database and one Redis, as behind a load balancer.
 * An instance runs in this process (its app is at hand) or as a child process (`npm start`'s
 * entry point, so it can be killed for real). Used by the multi-instance tests and the benchmark.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.js';
import { connectDatabase, type Database } from '../../src/db/mongo.js';
import { createLogger } from '../../src/logger.js';
import { startService, type RunningService } from '../../src/start.js';
import { postGraphQL, type GraphQLResponse } from './graphql-http.js';
import { startRedis, type RunningRedis } from './redis.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

export const CLUSTER_SECRET = 'cluster-test-secret-key-that-is-long-enough-0123';

export interface Instance {
  name: string;
  port: number;
  url: string;
  graphqlUrl: string;
  wsUrl: string;
  /** The running service, for an instance in this process. */
  service: RunningService | null;
  /** The process id, for an instance in a child process. */
  pid: number | null;
  /** POSTs a GraphQL operation (with `Authorization: Bearer token` when given). */
  gql<Data = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<GraphQLResponse<Data>>;
  /** Stops it in order (SIGTERM for a child process). */
  stop(): Promise<void>;
  /** Ends a child process with SIGKILL, no clean-up of any kind (one in this process just stops). */
  kill(): Promise<void>;
}

export interface InstanceOptions {
  /** Run as a child process (`node --import tsx src/main.ts`) instead of in this process. */
  process?: boolean;
  /** Environment on top of the cluster's. */
  env?: Record<string, string>;
}

export interface ClusterOptions {
  mongoUrl: string;
  /** Instances to start (default 3). */
  size?: number;
  /** Which of them (0-based) run as child processes (default none). */
  processes?: number[];
  /** Environment for every instance, on top of the defaults (test secret, cheap hashes, no limits). */
  env?: Record<string, string>;
  /** Default: a fresh `cluster_<random>` database, dropped by stop(). */
  dbName?: string;
  /** Default: a redis-server started for the cluster and stopped with it. */
  redis?: RunningRedis;
  /** Log level of the instances (default TEST_LOG_LEVEL or silent; child processes: info or above). */
  logLevel?: string;
}

export interface Cluster {
  redis: RunningRedis;
  instances: Instance[];
  dbName: string;
  /** A connection of the cluster's own to its database, for checks. */
  db: Database;
  /** Starts one more instance, stopped with the cluster. */
  addInstance(options?: InstanceOptions): Promise<Instance>;
  /** Stops every instance, drops the database (unless given), stops Redis (unless given). */
  stop(): Promise<void>;
}

function client(name: string, port: number, service: RunningService | null, pid: number | null) {
  const url = `http://127.0.0.1:${port}`;
  return {
    name,
    port,
    url,
    graphqlUrl: `${url}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    service,
    pid,
    gql: <Data = Record<string, unknown>>(
      query: string,
      variables?: Record<string, unknown>,
      token?: string,
    ) => postGraphQL<Data>(`${url}/graphql`, query, variables, token),
  };
}

async function inProcess(name: string, env: Record<string, string>, logLevel: string) {
  const service = await startService(loadConfig(env), createLogger(logLevel));
  return { ...client(name, service.port, service, null), stop: service.stop, kill: service.stop };
}

async function childProcess(name: string, env: Record<string, string>, logLevel: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...env,
      LOG_LEVEL: logLevel,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = once(child, 'exit');
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start: ${output}`)),
      START_TIMEOUT_MS,
    );
    const look = () => {
      const match = /GraphiQL\) at http:\/\/localhost:(\d+)\//.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout.off('data', look);
      resolvePort(Number(match[1]));
    };
    child.stdout.on('data', look);
    void exited.then(() => reject(new Error(`${name} exited: ${output}`)));
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  return {
    ...client(name, port, null, child.pid ?? null),
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  };
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const dbName = options.dbName ?? `cluster_${randomUUID().slice(0, 8)}`;
  const db = await connectDatabase(options.mongoUrl, dbName);
  const redis =
    options.redis ??
    (await startRedis().catch(async (error: unknown) => {
      await db.client.close();
      throw error;
    }));
  const logLevel = options.logLevel ?? process.env.TEST_LOG_LEVEL ?? 'silent';
  const env = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    MONGO_URL: options.mongoUrl,
    DB_NAME: dbName,
    REDIS_URL: redis.url,
    SECRET_KEY: CLUSTER_SECRET,
    PASSWORD_HASH_ROUNDS: '2000',
    RATE_LIMIT_LOGIN_PER_USERNAME: '1000000',
    RATE_LIMIT_AUTH_PER_IP: '1000000',
    RATE_LIMIT_SENDS_PER_USER: '1000000',
    RATE_LIMIT_CONNECTIONS_PER_IP: '1000000',
    RATE_LIMIT_UPLOADS_PER_USER: '1000000',
    ...options.env,
  };
  const instances: Instance[] = [];
  // A child process must log the line that gives its port.
  const childLogLevel = ['debug', 'trace'].includes(logLevel) ? logLevel : 'info';
  const launch = (name: string, { process: child = false, env: extra = {} }: InstanceOptions) =>
    child
      ? childProcess(name, { ...env, ...extra }, childLogLevel)
      : inProcess(name, { ...env, ...extra }, logLevel);
  const addInstance = async (instanceOptions: InstanceOptions = {}) => {
    const instance = await launch(`instance ${instances.length + 1}`, instanceOptions);
    instances.push(instance);
    return instance;
  };
  const stop = async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    if (!options.dbName) await db.db.dropDatabase();
    await db.client.close();
    if (!options.redis) await redis.stop();
  };
  const processes = new Set(options.processes ?? []);
  const started = await Promise.allSettled(
    Array.from({ length: options.size ?? 3 }, (_, index) =>
      launch(`instance ${index + 1}`, { process: processes.has(index) }),
    ),
  );
  for (const result of started) if (result.status === 'fulfilled') instances.push(result.value);
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { redis, instances, dbName, db, addInstance, stop };
}
