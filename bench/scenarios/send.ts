/**
 * Scenario 4: send throughput. `sendMessage` mutations (autocannon, closed loop) and legacy
 * WebSocket sends (frames acknowledged by the sender's own broadcast); every message must be
 * in the database afterwards.
 */
import type { Bench } from '../context.js';
import { SEND_MESSAGE } from '../queries.js';
import { row } from '../report.js';
import { ApiClient, createChat, registerUsers } from '../seed.js';
import { percentiles } from '../util.js';
import { rowOf } from './http-runs.js';

const DB = 'bench_send';

export async function sendScenario(bench: Bench): Promise<void> {
  const { plan, progress } = bench;
  const send = plan.send;
  progress.step('4 send throughput: seeding');
  const server = await bench.startServer(DB);
  try {
    const api = new ApiClient(server.baseUrl);
    const pairs = Math.max(1, send.legacySenders);
    const users = await registerUsers(api, pairs * 2, 'sender');
    const senders = await Promise.all(
      Array.from({ length: pairs }, async (_, index) => {
        const [from, to] = [users[2 * index]!, users[2 * index + 1]!];
        return { userId: from.id, token: from.token, chatId: await createChat(api, from, to) };
      }),
    );
    const messages = bench.db(DB).collection('messages');
    const count = () => messages.countDocuments({});

    progress.step('4 send throughput: sendMessage mutation');
    const http = await bench.http();
    const first = senders[0]!;
    const before = await count();
    const mutation = await bench.measure(server, async () => {
      const result = await http.call('run', {
        url: `${server.baseUrl}/graphql`,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${first.token}` },
        body: JSON.stringify({
          query: SEND_MESSAGE,
          variables: { chatId: first.chatId, content: 'y'.repeat(send.bytes) },
        }),
        connections: send.connections,
        durationSeconds: send.seconds,
      });
      await bench.settle(server);
      return result;
    });
    const stored = (await count()) - before;
    const ok = mutation.result.latencies.length;
    const mutationRow = rowOf(
      '4 send · sendMessage mutation',
      {
        name: 'mutation',
        requests: mutation.result.requests,
        served: mutation.result.sent,
        commandsByName: mutation.commandsByName,
        failed: mutation.result.non2xx + mutation.result.errors + mutation.result.timeouts,
        durationMs: mutation.result.durationMs,
        cpuMs: mutation.cpuMs,
        dbCpuMs: mutation.dbCpuMs,
        commands: mutation.commands,
        latencies: [mutation.result.latencies],
        rss: mutation.stats.rss,
      },
      'message',
    );
    bench.rows.push({
      ...mutationRow,
      measured: `${ok} acknowledged, ${stored} stored`,
      met: null,
      notes: [
        ...mutationRow.notes,
        // Requests still in flight when the run ends are stored but not counted.
        ...(stored >= ok ? [] : [`${ok - stored} acknowledged sends are not in the database`]),
      ],
    });

    progress.step('4 send throughput: legacy WebSocket');
    const sender = await bench.senders();
    const beforeLegacy = await count();
    const legacy = await bench.measure(server, () =>
      sender.call('legacyWs', {
        baseUrl: server.baseUrl,
        senders,
        phase: 'legacy',
        bytes: send.bytes,
        durationMs: send.seconds * 1000,
        window: send.window,
      }),
    );
    const storedLegacy = (await count()) - beforeLegacy;
    const report = legacy.result;
    const acked = report.sent.filter((entry) => entry.ok).length;
    const seconds = (report.endedAt - report.startedAt) / 1000;
    bench.rows.push(
      row({
        scenario: '4 send · legacy WS frame',
        unit: 'message',
        ops: acked,
        opsPerSec: acked / seconds,
        latency: percentiles(report.acks),
        cpuMsPer1k: (1000 * legacy.cpuMs) / Math.max(1, acked),
        dbCpuMsPer1k: (1000 * legacy.dbCpuMs) / Math.max(1, acked),
        rssMb: legacy.stats.rss / 2 ** 20,
        dbCommandsPerOp: legacy.commands / Math.max(1, acked),
        measured: `${acked} acknowledged, ${storedLegacy} stored`,
        notes: [
          `${send.legacySenders} sockets × ${send.window} frames in flight; latency = frame to own broadcast`,
          ...(report.errors ? [`${report.errors} errors, first: ${report.firstError}`] : []),
          ...(storedLegacy >= acked
            ? []
            : [`${acked - storedLegacy} acknowledged sends are not in the database`]),
        ],
      }),
    );
  } finally {
    await server.stop();
  }
}
