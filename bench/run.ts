/**
 * `npm run bench` — the benchmark suite of issue 4 (see bench/README.md).
 *
 *   npm run bench                      full run (about fifteen minutes on two cores)
 *   npm run bench -- --quick           seconds-long smoke mode (CI)
 *   npm run bench -- --only 1,5        some scenarios only (1–3 run together; 8 needs redis-server)
 *   npm run bench -- --no-profile      without CPU profiles
 *
 * Starts its own FerretDB (temporary directory, free port) and, per scenario, the server in its
 * own process; load generators run in further processes. Prints progress, then one table, and
 * writes the same figures to bench/results/<timestamp>.json.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { FERRETDB_VERSION, startFerretdb } from '../src/db/ferretdb.js';
import { compileForBench } from './build.js';
import { Bench } from './context.js';
import { makePlan } from './plan.js';
import { createProgress } from './progress.js';
import { formatReport, row, writeResults, type Results } from './report.js';
import { clusterFanoutScenario } from './scenarios/cluster-fanout.js';
import { fanoutScenario } from './scenarios/fanout.js';
import { dataSizeScenario } from './scenarios/data-size.js';
import { groupFanoutScenario } from './scenarios/group-fanout.js';
import { idleScenario } from './scenarios/idle.js';
import { readScenarios } from './scenarios/read.js';
import { resumeScenario } from './scenarios/resume.js';
import { sendScenario } from './scenarios/send.js';
import { typingScenario } from './scenarios/typing.js';
import { uploadScenario } from './scenarios/upload.js';
import { yogaScenario } from './scenarios/yoga.js';
import { freePort } from '../test/support/ports.js';
import { fileLimits } from './util.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    profile: { type: 'boolean' },
    'no-profile': { type: 'boolean' },
  },
});
const wanted = new Set(
  (values.only ?? '1,2,3,4,5,6,7,8,9,10,11,12,13').split(',').map((part) => part.trim()),
);
const want = (...scenarios: string[]) => scenarios.some((scenario) => wanted.has(scenario));
const plan = makePlan(values.quick ?? false, values['no-profile'] ? false : values.profile);

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
const progress = createProgress();
const notes: string[] = [];
const loadBefore = loadavg()[0]!;
if (loadBefore > 0.5 * cpus().length) {
  notes.push(
    `the machine was busy before the run (load average ${loadBefore.toFixed(1)} on ${cpus().length} cores): figures are skewed`,
  );
}

// Each idle connection is a file descriptor in the server and in a load generator.
const limits = fileLimits();
const needed =
  Math.max(
    ...plan.idle.sizes,
    ...plan.fanout.sizes,
    ...plan.cluster.sizes,
    plan.groupFanout.members,
  ) + 1024;
const nofile = Math.min(limits.hard, Math.max(limits.soft, needed));
if (nofile < needed) {
  const fits = plan.idle.sizes.filter((size) => size + 1024 <= nofile);
  notes.push(
    `open-file limit ${limits.hard} (hard) is below ${needed}: idle sizes cut to ${fits.join(', ') || 'none'}`,
  );
  plan.idle.sizes = fits;
  plan.fanout.sizes = plan.fanout.sizes.filter((size) => size + 1024 <= nofile);
  plan.cluster.sizes = plan.cluster.sizes.filter((size) => size + 1024 <= nofile);
  // Scenario 10 says itself that it was skipped.
}

await mkdir(RESULTS_DIR, { recursive: true });
progress.step(
  'compiling src/ and bench/ (tsc): the measured processes run JavaScript, as npm start does',
);
compileForBench();
progress.step(`starting FerretDB ${FERRETDB_VERSION}`);
const dataDir = await mkdtemp(join(tmpdir(), 'zerohour-bench-db-'));
const ferretdb = await startFerretdb({
  port: await freePort(),
  dataDir,
  durable: false,
  progress: (line) => progress.update(line),
});
const mongo = new MongoClient(ferretdb.url);
await mongo.connect();
const bench = new Bench({
  plan,
  ferretdb,
  mongo,
  secretKey: `bench-secret-${Math.random().toString(36).slice(2)}-0123456789abcdef`,
  resultsDir: RESULTS_DIR,
  stamp,
  progress,
  nofile,
});

bench.startLoadGenerators();

let cleaningUp: Promise<void> | null = null;
const cleanUp = () =>
  (cleaningUp ??= (async () => {
    await bench.close().catch(() => undefined);
    await mongo.close().catch(() => undefined);
    await ferretdb.stop().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
  })());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress.clear();
    console.error(`${signal}: stopping`);
    void cleanUp().then(() => process.exit(130));
  });
}

let failed = false;
async function scenario(name: string, task: () => Promise<void>) {
  try {
    await task();
  } catch (error) {
    failed = true;
    progress.clear();
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    console.error(`\n${name} failed:\n${message}\n`);
    bench.rows.push(
      row({ scenario: `${name}: FAILED`, unit: '', notes: [message.split('\n')[0]!] }),
    );
  }
}

try {
  if (want('1', '2', '3')) {
    await scenario('1–3 read path', async () => {
      progress.step('starting the server (read path)');
      const server = await bench.startServer('bench_read');
      try {
        await readScenarios(bench, server);
        // Quick mode saves a process start; the full run compares a server as fresh as bare Yoga.
        if (want('7') && !plan.freshServers) {
          await scenario('7 __typename', () => yogaScenario(bench, server));
        }
      } finally {
        await server.stop();
      }
    });
  }
  if (want('7') && (plan.freshServers || !want('1', '2', '3'))) {
    await scenario('7 __typename', async () => {
      const server = await bench.startServer('bench_typename');
      await yogaScenario(bench, server).finally(() => server.stop());
    });
  }
  if (want('4')) await scenario('4 send', () => sendScenario(bench));
  if (want('5')) await scenario('5 fan-out', () => fanoutScenario(bench));
  // Right after 5: its rows next to the single-instance ones.
  if (want('8')) await scenario('8 fan-out across instances', () => clusterFanoutScenario(bench));
  // The fan-out to one big group (issue 14), next to the other fan-out rows.
  if (want('10')) await scenario('10 group fan-out', () => groupFanoutScenario(bench));
  if (want('11')) await scenario('11 typing burst', () => typingScenario(bench));
  if (want('6')) await scenario('6 idle', () => idleScenario(bench));
  if (want('9')) {
    await scenario('9 resume under concurrent senders', () => resumeScenario(bench));
  }
  if (want('12')) await scenario('12 upload', () => uploadScenario(bench));
  if (want('13')) await scenario('13 data size', () => dataSizeScenario(bench));
} finally {
  await cleanUp();
}
progress.clear();

const cpu = cpus();
const results: Results = {
  startedAt: startedAt.toISOString(),
  mode: plan.quick ? 'quick' : 'full',
  durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
  machine: {
    cpus: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    os: `${osType()} ${release()}`,
    database: `FerretDB ${FERRETDB_VERSION} on PostgreSQL (embedded)`,
    loadAverage: { before: loadBefore, after: loadavg()[0]! },
  },
  plan,
  rows: bench.rows,
  profiles: bench.profiles,
  notes,
};
const file = join(RESULTS_DIR, `${stamp}.json`);
await writeResults(file, results);
console.log(formatReport(results));
console.log(`\nResults: ${file}`);
process.exit(failed ? 1 : 0);
