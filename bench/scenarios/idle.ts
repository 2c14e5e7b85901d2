/**
 * Scenario 6: idle connections. A fresh server per transport and size; a burst of connections
 * opened and closed and then a first few connections warm it up (those stay), then after a forced
 * GC the rest of the N connections (graphql-ws with one
 * live `messageAdded` subscription each, or legacy WS) are opened and confirmed live by a probe
 * message, and the server's RSS and heap growth per connection is taken after another GC. All N
 * are then held idle and must all still deliver a message.
 */
import type { Bench, Measured } from '../context.js';
import type { ConnectionSpec, SenderSpec, Transport } from '../load/protocol.js';
import { row } from '../report.js';
import { ApiClient, insertGroupChat, registerUsers, type BenchUser } from '../seed.js';
import type { ServerApi } from '../server.js';
import { percentiles, sleep } from '../util.js';
import { awaitLive, closeAll, connectAll } from './connections.js';

const DB = 'bench_idle';
const RSS_TARGET_KB = 10;
const HELD_TARGET = 10_000;
const WARM_UP = 50;
const WARM_UP_BURST = 1000;
const PROFILED = 2000;

interface Group {
  users: BenchUser[];
  chatId: string;
}

export async function idleScenario(bench: Bench): Promise<void> {
  const { plan, progress } = bench;
  const [subscribers, sender] = await Promise.all([bench.subscribers(), bench.senders()]);
  let group: Group | null = null;
  let shared: Measured<ServerApi> | null = null;

  try {
    for (const transport of plan.idle.transports) {
      for (const size of plan.idle.sizes) {
        const label = `6 idle · ${transport} · ${size.toLocaleString('en-US')}`;
        progress.step(`${label}: starting the server`);
        const server = plan.freshServers
          ? await bench.startServer(DB)
          : (shared ??= await bench.startServer(DB));
        try {
          if (!group) {
            const api = new ApiClient(server.baseUrl);
            const users = await registerUsers(api, plan.idle.users, 'idle');
            group = { users, chatId: await insertGroupChat(bench.db(DB), users) };
          }
          await measureIdle(bench, server, transport, size, group, label);
        } finally {
          await closeAll(subscribers).catch(() => undefined);
          if (server !== shared) await server.stop();
        }
      }
    }
  } finally {
    await shared?.stop();
  }

  async function measureIdle(
    bench: Bench,
    server: Measured<ServerApi>,
    transport: Transport,
    size: number,
    { users, chatId }: Group,
    label: string,
  ) {
    const specs: ConnectionSpec[] = Array.from({ length: size }, (_, index) => {
      const user = users[index % users.length]!;
      return { userId: user.id, token: user.token, chatId };
    });
    const first = users[0]!;
    const probeSender: SenderSpec = { userId: first.id, token: first.token, chatId };
    const live = () =>
      awaitLive(bench, subscribers, sender, server.baseUrl, () => probeSender, 300_000);

    // A burst of connections, closed again, then the warm-up set: what a burst grows once per
    // process (young-generation pages made resident, allocator arenas, compiled code) is in the
    // base reading too, and the growth below is what the connections keep.
    progress.step(`${label}: warm-up burst`);
    await connectAll(bench, subscribers, transport, server.baseUrl, specs.slice(0, WARM_UP_BURST));
    await live();
    await closeAll(subscribers);
    progress.step(`${label}: warm-up`);
    await connectAll(bench, subscribers, transport, server.baseUrl, specs.slice(0, WARM_UP));
    await live();
    await sleep(plan.settleMs);
    const base = await server.worker.call('gc', null);

    progress.step(`${label}: connecting`);
    const connect = await bench.measure(server, () =>
      connectAll(bench, subscribers, transport, server.baseUrl, specs.slice(WARM_UP)),
    );
    const ready = await live();
    await sleep(plan.settleMs);
    const loaded = await server.worker.call('gc', null);

    progress.step(`${label}: holding ${plan.idle.holdSeconds} s`);
    await sleep(plan.idle.holdSeconds * 1000);
    // Still there and still delivering: one more message must reach every connection.
    await Promise.all(subscribers.map((worker) => worker.call('startPhase', 'held')));
    await sender.call('sendOnce', {
      baseUrl: server.baseUrl,
      sender: probeSender,
      msgId: 'held.0',
      bytes: 64,
    });
    const deadline = Date.now() + 30_000;
    let held = 0;
    while (Date.now() < deadline) {
      const totals = await Promise.all(subscribers.map((worker) => worker.call('totals', null)));
      held = totals.reduce((sum, entry) => sum + entry.total, 0);
      if (held >= size) break;
      await sleep(200);
    }

    const opened = connect.result.opened;
    // The young generation is a per-process allocation buffer that V8 grows and shrinks with the
    // allocation rate (the connection burst grows it), not memory the connections keep.
    const youngChange = loaded.youngGeneration - base.youngGeneration;
    const rssPerConnection = (loaded.rss - base.rss - youngChange) / Math.max(1, opened) / 1024;
    const heapPerConnection = (loaded.heapUsed - base.heapUsed) / Math.max(1, opened) / 1024;
    const externalPerConnection = (loaded.external - base.external) / Math.max(1, opened) / 1024;
    const heldAll = held >= size;
    // RSS moves in pages and V8 keeps freed ones: at small counts it can even shrink. The larger
    // of RSS growth and JS heap + external growth is the figure held against the target.
    const perConnection = Math.max(rssPerConnection, heapPerConnection + externalPerConnection);
    const measuredNote = `growth measured over the last ${opened} connections (the first ${WARM_UP} warm up, after a burst of ${Math.min(size, WARM_UP_BURST)} opened and closed)`;
    const target =
      size >= HELD_TARGET
        ? `≤ ${RSS_TARGET_KB} KB RSS/conn, ${HELD_TARGET.toLocaleString('en-US')} held`
        : `≤ ${RSS_TARGET_KB} KB RSS/conn`;
    bench.rows.push(
      row({
        scenario: label,
        unit: 'connection',
        ops: opened,
        opsPerSec: opened / (connect.wallMs / 1000),
        latency: percentiles(connect.result.handshakes),
        cpuMsPer1k: (1000 * connect.cpuMs) / Math.max(1, opened),
        dbCpuMsPer1k: (1000 * connect.dbCpuMs) / Math.max(1, opened),
        rssMb: loaded.rss / 2 ** 20,
        dbCommandsPerOp: connect.commands / Math.max(1, opened),
        lost: size - held,
        target,
        measured: `${perConnection.toFixed(1)} KB/conn, ${held} held`,
        met: perConnection <= RSS_TARGET_KB && heldAll,
        notes: [
          `per connection: RSS ${rssPerConnection.toFixed(1)} KB, JS heap ${heapPerConnection.toFixed(1)} KB, ` +
            `external ${externalPerConnection.toFixed(1)} KB (after GC; RSS ${(base.rss / 2 ** 20).toFixed(0)} → ${(loaded.rss / 2 ** 20).toFixed(0)} MB, ` +
            `of which young generation ${(base.youngGeneration / 2 ** 20).toFixed(0)} → ${(loaded.youngGeneration / 2 ** 20).toFixed(0)} MB, not counted); ${measuredNote}`,
          `ops/s, latency, CPU and DB commands are for connection set-up (handshake to ack/open); ` +
            `${ready.live}/${ready.total} subscriptions live ${(ready.ms / 1000).toFixed(1)} s after the last handshake`,
          ...(connect.result.failed
            ? [`${connect.result.failed} connections failed: ${connect.result.firstError}`]
            : []),
        ],
      }),
    );

    // Where the memory of a connection goes: a separate batch under the heap profiler, so that
    // the figures above are not measured with it.
    if (plan.profile && size === Math.max(...plan.idle.sizes)) {
      await closeAll(subscribers);
      progress.step(`${label}: heap profile of ${PROFILED} more connections`);
      await bench.heapProfiled(
        server,
        `${PROFILED} idle ${transport} connections (scenario 6)`,
        async () => {
          const batch = Array.from(
            { length: PROFILED },
            (_, index) => specs[index % specs.length]!,
          );
          await connectAll(bench, subscribers, transport, server.baseUrl, batch);
          await live();
          await sleep(plan.settleMs);
        },
      );
    }
  }
}
