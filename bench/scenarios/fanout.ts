/**
 * Scenario 5: fan-out. N subscriber connections (graphql-ws `messageAdded`, legacy WS, SSE)
 * spread over one-to-one and group chats; a fixed-rate phase (end-to-end latency from send to
 * receipt at every recipient, lost messages) and a saturation phase (closed-loop sends into the
 * group chats: deliveries per second the server sustains).
 *
 * FerretDB scans a whole collection for every query but an `_id` lookup (~0.1 ms per document),
 * and every connection costs a user lookup (two on graphql-ws) and a chat lookup. So the N
 * connections belong to `plan.fanout.users` users — several connections ("devices") each — which
 * keeps set-up to minutes; the per-socket work of a delivery is the same either way.
 */
import type { Bench, Measured } from '../context.js';
import type { ConnectionSpec, SenderSpec } from '../load/protocol.js';
import type { SendReport } from '../load/senders.js';
import { row } from '../report.js';
import { ApiClient, createChat, insertGroupChat, registerUsers, type BenchUser } from '../seed.js';
import type { ServerApi } from '../server.js';
import { percentiles } from '../util.js';
import { awaitLive, closeAll, connectAll, drain, tally } from './connections.js';

const DB = 'bench_fanout';
const P99_TARGETS: Record<number, number> = { 1000: 50, 5000: 200 };
const SATURATION_TARGET = 20_000;

interface Layout {
  users: BenchUser[];
  chatOf: Map<string, string>;
  /** Every (participant, chat) pair: a random one is a random user writing in their chat. */
  senders: SenderSpec[];
  groupSenders: SenderSpec[];
}

async function seed(bench: Bench, api: ApiClient): Promise<Layout> {
  const { users: count, groups, groupSize } = bench.plan.fanout;
  bench.progress.update(`registering ${count} users`);
  const users = await registerUsers(api, count, 'fan');
  const chatOf = new Map<string, string>();
  const senders: SenderSpec[] = [];
  const groupSenders: SenderSpec[] = [];
  const join = (members: BenchUser[], chatId: string, group: boolean) => {
    for (const user of members) {
      chatOf.set(user.id, chatId);
      const spec = { userId: user.id, token: user.token, chatId };
      senders.push(spec);
      if (group) groupSenders.push(spec);
    }
  };
  for (let index = 0; index < groups; index += 1) {
    const members = users.slice(index * groupSize, (index + 1) * groupSize);
    join(members, await insertGroupChat(bench.db(DB), members), true);
  }
  const paired = users.slice(groups * groupSize);
  for (let index = 0; index + 1 < paired.length; index += 2) {
    const pair = [paired[index]!, paired[index + 1]!];
    join(pair, await createChat(api, pair[0]!, pair[1]!), false);
  }
  return { users: users.filter((user) => chatOf.has(user.id)), chatOf, senders, groupSenders };
}

function layoutConnections(layout: Layout, size: number) {
  const specs: ConnectionSpec[] = [];
  const audience = new Map<string, number>();
  for (let index = 0; index < size; index += 1) {
    const user = layout.users[index % layout.users.length]!;
    const chatId = layout.chatOf.get(user.id)!;
    specs.push({ userId: user.id, token: user.token, chatId });
    audience.set(chatId, (audience.get(chatId) ?? 0) + 1);
  }
  return { specs, audience };
}

export async function fanoutScenario(bench: Bench): Promise<void> {
  const { plan, progress } = bench;
  const fan = plan.fanout;
  progress.step('5 fan-out: seeding');
  const server = await bench.startServer(DB);
  try {
    const api = new ApiClient(server.baseUrl);
    const [layout, subscribers, sender] = await Promise.all([
      seed(bench, api),
      bench.subscribers(),
      bench.senders(),
    ]);
    const anySenderOf = (chatId: string) => layout.senders.find((spec) => spec.chatId === chatId)!;
    const largest = Math.max(...fan.sizes);

    for (const transport of fan.transports) {
      for (const size of fan.sizes) {
        const label = `5 fan-out · ${transport} · ${size.toLocaleString('en-US')}`;
        progress.step(`${label}: connecting`);
        const { specs, audience } = layoutConnections(layout, size);
        const connected = await connectAll(bench, subscribers, transport, server.baseUrl, specs);
        const live = await awaitLive(
          bench,
          subscribers,
          sender,
          server.baseUrl,
          anySenderOf,
          180_000,
        );
        const setupNote =
          `${size.toLocaleString('en-US')} connections of ${layout.users.length} users, ` +
          `${connected.opened} opened in ${(connected.ms / 1000).toFixed(1)} s, ` +
          `${live.live} live after ${(live.ms / 1000).toFixed(1)} s more` +
          (connected.failed ? `; ${connected.failed} failed: ${connected.firstError}` : '');

        const run = async (phase: 'fixed' | 'saturation') => {
          await Promise.all(subscribers.map((worker) => worker.call('startPhase', phase)));
          const common = {
            baseUrl: server.baseUrl,
            phase,
            bytes: fan.bytes,
          };
          const send = (): Promise<SendReport> =>
            phase === 'fixed'
              ? sender.call('fixedRate', {
                  ...common,
                  senders: layout.senders,
                  rate: fan.rate,
                  maxInFlight: 64,
                  durationMs: fan.fixedSeconds * 1000,
                })
              : sender.call('closedLoop', {
                  ...common,
                  senders: layout.groupSenders,
                  concurrency: fan.saturationConcurrency,
                  durationMs: fan.saturationSeconds * 1000,
                });
          const measured = async () => {
            const report = await send();
            const expected = report.sent
              .filter((entry) => entry.ok)
              .reduce((sum, entry) => sum + (audience.get(entry.chatId) ?? 0), 0);
            progress.update('draining');
            await drain(subscribers, expected);
            return report;
          };
          progress.step(`${label}: ${phase === 'fixed' ? `${fan.rate} msg/s` : 'saturation'}`);
          // The saturation phase of the largest size runs under the CPU profiler (started and
          // stopped outside the measured window).
          const profiled = plan.profile && phase === 'saturation' && size === largest;
          const window = profiled
            ? await bench.profiled(server, `${label} saturation (scenario 5)`, () =>
                bench.measure(server, measured),
              )
            : await bench.measure(server, measured);
          const reports = await Promise.all(
            subscribers.map((worker) => worker.call('report', null)),
          );
          return {
            window,
            profiled,
            sends: window.result,
            deliveries: tally(reports, window.result.sent, audience),
          };
        };

        for (const phase of ['fixed', 'saturation'] as const) {
          const { window, profiled, sends, deliveries } = await run(phase);
          const okSends = sends.sent.filter((entry) => entry.ok).length;
          const spanMs = (deliveries.lastReceipt ?? sends.endedAt) - sends.startedAt;
          const perSecond = deliveries.delivered / (spanMs / 1000);
          const latency = percentiles(deliveries.latencies);
          const notes = [
            ...(phase === 'fixed' ? [setupNote] : []),
            ...(profiled ? ['measured under the V8 sampling CPU profiler (a few % overhead)'] : []),
            `${okSends} messages of ${fan.bytes} B sent (${(okSends / ((sends.endedAt - sends.startedAt) / 1000)).toFixed(0)}/s, ` +
              `send p50 ${percentiles(sends.acks).p50.toFixed(1)} ms), ${deliveries.delivered} deliveries of ${deliveries.expected} expected; ` +
              `server CPU ${((100 * window.cpuMs) / window.wallMs).toFixed(0)}% of a core, ` +
              `${(window.commands / Math.max(1, okSends)).toFixed(1)} DB commands per send`,
            ...(sends.errors ? [`${sends.errors} sends failed: ${sends.firstError}`] : []),
            ...(sends.skipped ? [`${sends.skipped} sends skipped (sender backlog)`] : []),
            ...(deliveries.duplicates ? [`${deliveries.duplicates} duplicate deliveries`] : []),
            ...(deliveries.dropped
              ? [`${deliveries.dropped} connections dropped by the server`]
              : []),
            ...(deliveries.errors
              ? [`${deliveries.errors} errors, first: ${deliveries.firstError}`]
              : []),
          ];
          const p99Target = P99_TARGETS[size];
          const target =
            phase === 'fixed'
              ? p99Target
                ? `p99 < ${p99Target} ms, 0 lost`
                : '0 lost'
              : `≥ ${SATURATION_TARGET.toLocaleString('en-US')} deliveries/s, 0 lost`;
          const met =
            phase === 'fixed'
              ? deliveries.lost === 0 && (!p99Target || latency.p99 < p99Target)
              : deliveries.lost === 0 && perSecond >= SATURATION_TARGET;
          bench.rows.push(
            row({
              scenario: `${label} · ${phase === 'fixed' ? `${fan.rate} msg/s` : 'saturation'}`,
              unit: 'delivery',
              ops: deliveries.delivered,
              opsPerSec: perSecond,
              latency,
              cpuMsPer1k: (1000 * window.cpuMs) / Math.max(1, deliveries.delivered),
              dbCpuMsPer1k: (1000 * window.dbCpuMs) / Math.max(1, deliveries.delivered),
              rssMb: window.stats.rss / 2 ** 20,
              dbCommandsPerOp: window.commands / Math.max(1, deliveries.delivered),
              lost: deliveries.lost,
              target,
              measured:
                phase === 'fixed'
                  ? `p99 ${latency.p99.toFixed(1)} ms, lost ${deliveries.lost}`
                  : `${Math.round(perSecond).toLocaleString('en-US')}/s, lost ${deliveries.lost}`,
              met,
              notes,
            }),
          );
        }
        progress.step(`${label}: closing`);
        await closeAll(subscribers);
        await settle(server, plan.settleMs);
      }
    }
  } finally {
    await server.stop();
  }
}

/** Lets presence writes and socket teardown finish before the next measurement. */
async function settle(server: Measured<ServerApi>, ms: number) {
  await new Promise((resolve) => setTimeout(resolve, ms));
  await server.worker.call('gc', null);
}
