/**
 * The bench server: the real service (`startService`) in its own process, configured from
 * `BENCH_*` variables, answering the orchestrator over IPC with its own CPU and memory figures,
 * forced GC and CPU profiles. Rate limits are raised out of the way (their checks still run).
 *
 * `BENCH_BATCH_LOADS=off` (or the `setBatchLoads` call) turns DataLoader batching off: the
 * N+1 contrast of scenario 3. `BENCH_REDIS_URL` makes it one of several instances sharing a
 * Redis (scenario 8). `BENCH_METRICS_TOKEN` turns metrics on, to measure what they cost. Nothing
 * here is reachable over the network.
 */
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startService } from '../src/start.js';
import { emit, serveRpc } from './ipc.js';
import { measuredHandlers, type MeasuredApi } from './measured.js';

export type ServerApi = MeasuredApi & {
  setBatchLoads: [boolean, null];
  /** Counts the live signals (typing, read positions) of a chat on the bus from now on. */
  watchLive: [string, null];
  liveSignals: [null, number];
  stop: [null, null];
};

export interface ServerReady {
  port: number;
  pid: number;
}

const required = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const UNLIMITED = String(2 ** 30);

const config = loadConfig({
  // 'test' allows cheap password hashes (registration is seeding, not what is measured); the
  // process itself runs with NODE_ENV=production so that libraries take their production paths.
  NODE_ENV: 'test',
  HOST: '127.0.0.1',
  PORT: '0',
  MONGO_URL: required('BENCH_MONGO_URL'),
  DB_NAME: required('BENCH_DB_NAME'),
  SECRET_KEY: required('BENCH_SECRET_KEY'),
  REDIS_URL: process.env.BENCH_REDIS_URL || undefined,
  PASSWORD_HASH_ROUNDS: '1000',
  // Long enough that no token expires during a run.
  ACCESS_TOKEN_EXPIRE_MINUTES: '600',
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
  // The load comes from a handful of users and addresses, far beyond any per-user limit.
  RATE_LIMIT_LOGIN_PER_USERNAME: UNLIMITED,
  RATE_LIMIT_AUTH_PER_IP: UNLIMITED,
  RATE_LIMIT_SENDS_PER_USER: UNLIMITED,
  RATE_LIMIT_CONNECTIONS_PER_IP: UNLIMITED,
  RATE_LIMIT_UPLOADS_PER_USER: UNLIMITED,
  UPLOAD_BYTES_PER_DAY: UNLIMITED,
  // Set: the server collects its metrics (and the driver monitors commands), as with METRICS_TOKEN.
  METRICS_TOKEN: process.env.BENCH_METRICS_TOKEN || undefined,
});
const logger = createLogger(config.logLevel);
const service = await startService(config, logger);
service.app.batchLoads = process.env.BENCH_BATCH_LOADS !== 'off';
let liveSignals = 0;

serveRpc<ServerApi>({
  ...measuredHandlers(),
  setBatchLoads: (on) => {
    service.app.batchLoads = on;
    return null;
  },
  watchLive: (chatId) => {
    service.app.bus.onLive(chatId, () => (liveSignals += 1));
    return null;
  },
  liveSignals: () => liveSignals,
  stop: async () => {
    await service.stop();
    setImmediate(() => process.exit(0));
    return null;
  },
});
emit('ready', { port: service.port, pid: process.pid } satisfies ServerReady);
