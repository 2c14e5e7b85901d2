/**
 * What every scenario works with: the database, the processes it starts (servers, baselines,
 * load generators), measurement windows over a measured process, and the rows of the result.
 */
import { join } from 'node:path';
import type { MongoClient } from 'mongodb';
import type { RunningFerretdb } from '../src/db/ferretdb.js';
import { serverNodeFlags } from './build.js';
import { startWorker, type Api, type Worker } from './ipc.js';
import type { HttpLoadApi } from './load/http.js';
import type { ResumersApi } from './load/resumers.js';
import type { SendersApi } from './load/senders.js';
import type { SubscribersApi } from './load/subscribers.js';
import type { MeasuredApi } from './measured.js';
import type { Plan } from './plan.js';
import { summariseCpuProfile, summariseHeapProfile, type ProfileSummary } from './profile.js';
import type { Progress } from './progress.js';
import type { Row } from './report.js';
import type { ServerApi } from './server.js';
import { monotonicMs, processCpuMs, type ProcessStats } from './util.js';
import { startWireTap, type WireTap } from './wire-tap.js';

/** A process the benchmark measures: the bench server, the raw baseline, bare Yoga. */
export interface Measured<A extends Api = MeasuredApi> {
  name: string;
  worker: Worker<A & MeasuredApi>;
  pid: number;
  baseUrl: string;
  /** Counts the database commands this process sends. */
  tap: WireTap | null;
  stop(): Promise<void>;
}

export interface Window<T> {
  result: T;
  wallMs: number;
  /** CPU of the measured process (of all of them, when several are measured together). */
  cpuMs: number;
  dbCpuMs: number;
  commands: number;
  commandsByName: Record<string, number>;
  /** Request-to-reply time of those commands on the wire, by name (ms; see wire-tap.ts). */
  commandMsByName: Record<string, number>;
  /** The process's figures at the end of the window (summed, when several are measured). */
  stats: ProcessStats;
  /** Each measured process: its CPU in the window and its figures at the end. */
  each: { cpuMs: number; stats: ProcessStats }[];
}

export interface ServerOptions {
  /** DataLoader batching (default on). */
  batchLoads?: boolean;
  /** One of several instances sharing this Redis (and the database). */
  redisUrl?: string;
  /** Tells instances apart in process names. */
  instance?: string;
}

export interface BenchOptions {
  plan: Plan;
  ferretdb: RunningFerretdb;
  mongo: MongoClient;
  secretKey: string;
  resultsDir: string;
  stamp: string;
  progress: Progress;
  /** Soft open-file limit children are raised to. */
  nofile: number;
}

/** The two profilers a measured worker runs: its RPC names, file extension and summary. */
const PROFILERS = {
  cpu: {
    start: 'profileStart',
    stop: 'profileStop',
    extension: '.cpuprofile',
    summarise: summariseCpuProfile,
  },
  heap: {
    start: 'heapProfileStart',
    stop: 'heapProfileStop',
    extension: '.heapprofile',
    summarise: summariseHeapProfile,
  },
} as const;

export class Bench {
  readonly plan: Plan;
  readonly progress: Progress;
  readonly rows: Row[] = [];
  readonly profiles: ProfileSummary[] = [];
  readonly notes: string[] = [];
  private readonly workers = new Set<Worker<Api>>();
  private httpWorker: Worker<HttpLoadApi> | null = null;
  private subscriberWorkers: Worker<SubscribersApi>[] | null = null;
  private senderWorker: Worker<SendersApi> | null = null;
  private resumerWorker: Worker<ResumersApi> | null = null;

  constructor(readonly options: BenchOptions) {
    this.plan = options.plan;
    this.progress = options.progress;
  }

  get mongoUrl(): string {
    return this.options.ferretdb.url;
  }

  db(name: string) {
    return this.options.mongo.db(name);
  }

  private spawn<A extends Api>(
    name: string,
    script: string,
    env: Record<string, string> = {},
    nodeArgs: string[] = [],
  ) {
    const worker = startWorker<A>(name, script, {
      env: { NODE_ENV: 'production', ...env },
      nodeArgs,
      nofile: this.options.nofile,
    });
    this.workers.add(worker as unknown as Worker<Api>);
    void worker.child.once('exit', () => this.workers.delete(worker as unknown as Worker<Api>));
    return worker;
  }

  /** Starts a measured process; with `dbName`, it reaches the database through its own wire tap. */
  private async measured<A extends Api>(
    name: string,
    script: string,
    dbName?: string,
    env: Record<string, string> = {},
  ) {
    const tap = dbName ? await startWireTap(new URL(this.mongoUrl)) : null;
    const worker = this.spawn<A & MeasuredApi>(
      name,
      script,
      {
        ...env,
        ...(tap && dbName
          ? {
              BENCH_MONGO_URL: tap.url,
              BENCH_DB_NAME: dbName,
              BENCH_SECRET_KEY: this.options.secretKey,
            }
          : {}),
      },
      ['--expose-gc', ...serverNodeFlags()],
    );
    try {
      const { port } = (await worker.ready) as { port: number };
      const handle: Measured<A> = {
        name,
        worker,
        pid: worker.pid,
        baseUrl: `http://127.0.0.1:${port}`,
        tap,
        stop: async () => {
          await worker.kill();
          await tap?.close();
        },
      };
      return handle;
    } catch (error) {
      await tap?.close();
      throw error;
    }
  }

  /** The real service in its own process, on database `dbName`. */
  async startServer(dbName: string, options: ServerOptions = {}): Promise<Measured<ServerApi>> {
    const { batchLoads = true, redisUrl, instance } = options;
    const name = instance ? `server(${dbName} ${instance})` : `server(${dbName})`;
    const server = await this.measured<ServerApi>(name, 'server.ts', dbName, {
      BENCH_BATCH_LOADS: batchLoads ? 'on' : 'off',
      ...(redisUrl ? { BENCH_REDIS_URL: redisUrl } : {}),
    });
    return {
      ...server,
      stop: async () => {
        await server.worker.call('stop', null, 30_000).catch(() => undefined);
        await server.stop();
      },
    };
  }

  startRawBaseline(dbName: string) {
    return this.measured<MeasuredApi>('raw-baseline', 'raw-baseline.ts', dbName);
  }

  startBareYoga({ bodyLimit }: { bodyLimit: boolean }) {
    return this.measured<MeasuredApi>(
      bodyLimit ? 'bare-yoga' : 'bare-yoga-no-body-limit',
      'bare-yoga.ts',
      undefined,
      bodyLimit ? {} : { BARE_YOGA_BODY_LIMIT: 'off' },
    );
  }

  /** The HTTP load generator (autocannon), started once. */
  /** Starts the load generators ahead of need (they idle until used). */
  startLoadGenerators(): void {
    this.httpWorker ??= this.spawn<HttpLoadApi>('http-load', 'load/http.ts');
    this.subscriberWorkers ??= [0, 1].map((index) =>
      this.spawn<SubscribersApi>(`subscribers-${index}`, 'load/subscribers.ts'),
    );
    this.senderWorker ??= this.spawn<SendersApi>('senders', 'load/senders.ts');
  }

  /** The HTTP load generator (autocannon). */
  async http(): Promise<Worker<HttpLoadApi>> {
    this.startLoadGenerators();
    await this.httpWorker!.ready;
    return this.httpWorker!;
  }

  /** Two subscriber processes (WebSocket/SSE). */
  async subscribers(): Promise<Worker<SubscribersApi>[]> {
    this.startLoadGenerators();
    await Promise.all(this.subscriberWorkers!.map((worker) => worker.ready));
    return this.subscriberWorkers!;
  }

  /** The sender process (mutations, legacy WS frames). */
  async senders(): Promise<Worker<SendersApi>> {
    this.startLoadGenerators();
    await this.senderWorker!.ready;
    return this.senderWorker!;
  }

  /** The resuming subscribers of scenario 9 (started when first needed). */
  async resumers(): Promise<Worker<ResumersApi>> {
    this.resumerWorker ??= this.spawn<ResumersApi>('resumers', 'load/resumers.ts');
    await this.resumerWorker.ready;
    return this.resumerWorker;
  }

  /** FerretDB's CPU so far (ms). */
  dbCpuMs(): number {
    return processCpuMs(this.options.ferretdb.process.pid ?? -1) ?? NaN;
  }

  /**
   * Runs `task` and reports what it cost `target` (CPU, DB commands) and FerretDB (CPU); several
   * targets (instances of one service) are measured together and summed.
   */
  async measure<T>(
    target: Measured<Api> | Measured<Api>[],
    task: () => Promise<T>,
  ): Promise<Window<T>> {
    const targets = Array.isArray(target) ? target : [target];
    const stats = () => Promise.all(targets.map((one) => one.worker.call('stats', null)));
    const counts = () => targets.map((one) => one.tap?.counts() ?? {});
    const times = () => targets.map((one) => one.tap?.times() ?? {});
    const before = await stats();
    const commandsBefore = counts();
    const timesBefore = times();
    const dbBefore = this.dbCpuMs();
    const started = monotonicMs();
    const result = await task();
    const wallMs = monotonicMs() - started;
    const after = await stats();
    const commandsByName: Record<string, number> = {};
    let commands = 0;
    counts().forEach((now, index) => {
      for (const [name, count] of Object.entries(now)) {
        const delta = count - (commandsBefore[index]![name] ?? 0);
        if (delta) commandsByName[name] = (commandsByName[name] ?? 0) + delta;
        commands += delta;
      }
    });
    const commandMsByName: Record<string, number> = {};
    times().forEach((now, index) => {
      for (const [name, ms] of Object.entries(now)) {
        const delta = ms - (timesBefore[index]![name] ?? 0);
        if (delta) commandMsByName[name] = (commandMsByName[name] ?? 0) + delta;
      }
    });
    const each = after.map((end, index) => ({
      cpuMs: end.cpuMs - before[index]!.cpuMs,
      stats: end,
    }));
    const sum = (field: keyof ProcessStats) => after.reduce((total, end) => total + end[field], 0);
    return {
      result,
      wallMs,
      cpuMs: each.reduce((total, one) => total + one.cpuMs, 0),
      dbCpuMs: this.dbCpuMs() - dbBefore,
      commands,
      commandsByName,
      commandMsByName,
      stats: {
        cpuMs: sum('cpuMs'),
        rss: sum('rss'),
        heapUsed: sum('heapUsed'),
        youngGeneration: sum('youngGeneration'),
        external: sum('external'),
      },
      each,
    };
  }

  /**
   * Waits until `target` sends no more database commands (requests a load generator abandoned at
   * the end of its run are still being served), so that they count in the window they belong to.
   */
  async settle(target: Measured<Api>, quietMs = 250, maxMs = 10_000): Promise<void> {
    const total = () => Object.values(target.tap?.counts() ?? {}).reduce((a, b) => a + b, 0);
    const started = monotonicMs();
    let last = total();
    let changedAt = started;
    while (monotonicMs() - changedAt < quietMs && monotonicMs() - started < maxMs) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const now = total();
      if (now !== last) {
        last = now;
        changedAt = monotonicMs();
      }
    }
  }

  /** Runs `task` under the CPU profiler of `target` and keeps a summary of the profile. */
  profiled<T>(target: Measured<Api>, label: string, task: () => Promise<T>): Promise<T> {
    return this.withProfile(target, label, PROFILERS.cpu, task);
  }

  /** Runs `task` under the sampling heap profiler of `target`: what it leaves allocated. */
  heapProfiled<T>(target: Measured<Api>, label: string, task: () => Promise<T>): Promise<T> {
    return this.withProfile(target, label, PROFILERS.heap, task);
  }

  private async withProfile<T>(
    target: Measured<Api>,
    label: string,
    profiler: (typeof PROFILERS)[keyof typeof PROFILERS],
    task: () => Promise<T>,
  ): Promise<T> {
    if (!this.plan.profile) return task();
    await target.worker.call(profiler.start, null);
    try {
      return await task();
    } finally {
      const slug = label.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
      const file = join(
        this.options.resultsDir,
        `${this.options.stamp}-${slug}${profiler.extension}`,
      );
      await target.worker.call(profiler.stop, file);
      this.profiles.push(await profiler.summarise(label, file));
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers].map((worker) => worker.kill()));
  }
}
