/**
 * Scenario 8: fan-out across instances. `plan.cluster.instances` servers — the bench entry of
 * scenario 5, each in its own process with its own wire tap — on one database and one Redis
 * (REDIS_URL: events, presence and rate limits go through it), as behind a load balancer.
 * Subscriber connections go to the instances in turn, and so do the messages of the fixed-rate
 * phase: every event goes out through Redis, and most deliveries are made by an instance other
 * than the one that stored the message. Rows sit next to scenario 5's single-instance ones:
 * end-to-end latency and lost messages, with CPU, RSS and database commands summed over the
 * instances and Redis's own CPU in the notes.
 *
 * Needs redis-server on PATH (Debian's package, which .ci/run installs); without it the scenario
 * is reported as skipped.
 */
import { startRedis } from '../../test/support/redis.js';
import type { Bench, Measured } from '../context.js';
import { row } from '../report.js';
import type { ServerApi } from '../server.js';
import { childPids, onPath, processCpuMs } from '../util.js';
import { closeAll } from './connections.js';
import {
  closeFanout,
  connectFanout,
  fanoutLabel,
  fanoutRow,
  phaseName,
  prepareFanout,
  runFanoutPhase,
} from './fanout.js';

const DB = 'bench_cluster';

export async function clusterFanoutScenario(bench: Bench): Promise<void> {
  const { plan, progress } = bench;
  const { instances, sizes, transports } = plan.cluster;
  const title = `8 fan-out · ${instances} instances + Redis`;
  if (!onPath('redis-server')) {
    progress.step(`${title}: skipped, redis-server is not installed`);
    bench.rows.push(
      row({ scenario: title, unit: '', measured: 'skipped: redis-server not installed' }),
    );
    return;
  }

  progress.step(`${title}: starting Redis and ${instances} servers`);
  const redis = await startRedis();
  const redisPid = childPids('redis-server')[0] ?? null;
  const servers: Measured<ServerApi>[] = [];
  try {
    const started = await Promise.allSettled(
      Array.from({ length: instances }, (_, index) =>
        bench.startServer(DB, { redisUrl: redis.url, instance: `${index + 1}/${instances}` }),
      ),
    );
    for (const result of started) if (result.status === 'fulfilled') servers.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;

    progress.step(`${title}: seeding`);
    const rig = await prepareFanout(bench, servers, DB);
    const phase = phaseName(bench, 'fixed');
    for (const transport of transports) {
      for (const size of sizes) {
        const label = fanoutLabel(title, transport, size);
        progress.step(`${label}: connecting`);
        const setup = await connectFanout(rig, transport, size);
        progress.step(`${label}: ${phase}`);
        const redisBefore = redisPid === null ? null : processCpuMs(redisPid);
        const result = await runFanoutPhase(rig, 'fixed', setup.audience);
        const redisAfter = redisPid === null ? null : processCpuMs(redisPid);
        const { delivered } = result.deliveries;
        const redisNote =
          redisBefore === null || redisAfter === null
            ? []
            : [
                `Redis CPU ${((1000 * (redisAfter - redisBefore)) / Math.max(1, delivered)).toFixed(1)} ms per 1,000 deliveries ` +
                  `(${((100 * (redisAfter - redisBefore)) / result.window.wallMs).toFixed(0)}% of a core)`,
              ];
        // Scenario 5 runs first: its row of the same transport, size and rate, if it ran.
        const single = bench.rows.find(
          (entry) => entry.scenario === `${fanoutLabel('5 fan-out', transport, size)} · ${phase}`,
        );
        const singleNote =
          single?.latency && single.latency.count > 0
            ? [
                `one instance (scenario 5, this run): p50 ${single.latency.p50.toFixed(1)}, ` +
                  `p95 ${single.latency.p95.toFixed(1)}, p99 ${single.latency.p99.toFixed(1)} ms, lost ${single.lost}`,
              ]
            : [];
        bench.rows.push(
          fanoutRow(rig, result, {
            scenario: `${label} · ${phase}`,
            phase: 'fixed',
            setupNote: setup.note,
            extraNotes: [...redisNote, ...singleNote],
          }),
        );
        progress.step(`${label}: closing`);
        await closeFanout(rig);
      }
    }
  } finally {
    // Connections left open by a failure would confuse the next scenario's readiness checks.
    await closeAll(await bench.subscribers()).catch(() => undefined);
    await Promise.all(servers.map((server) => server.stop()));
    await redis.stop();
  }
}
