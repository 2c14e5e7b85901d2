/**
 * Scenario 5: fan-out. N subscriber connections (graphql-ws `messageAdded`, legacy WS, SSE)
 * spread over one-to-one and group chats; a fixed-rate phase (end-to-end latency from send to
 * receipt at every recipient, lost messages) and a saturation phase (closed-loop sends into the
 * group chats: deliveries per second the server sustains).
 *
 * FerretDB scans a whole collection for every query but an `_id` lookup (~0.1 ms per document),
 * and every connection costs a user lookup (and a chat lookup on graphql-ws). So the N
 * connections belong to `plan.fanout.users` users — several connections ("devices") each — which
 * keeps set-up to minutes; the per-socket work of a delivery is the same either way.
 *
 * The steps (seed, connect, run a phase, make its row, close) are shared with scenario 8, which
 * runs them against several instances: connections and sends are spread over them in turn.
 */
import type { Bench, Measured, Window } from '../context.js';
import type { Worker } from '../ipc.js';
import type { ConnectionSpec, SenderSpec, Transport } from '../load/protocol.js';
import type { SendersApi, SendReport } from '../load/senders.js';
import type { Subscription, SubscribersApi } from '../load/subscribers.js';
import { row, type Row } from '../report.js';
import { ApiClient, createChat, insertGroupChat, registerUsers, type BenchUser } from '../seed.js';
import type { ServerApi } from '../server.js';
import { percentiles, type Percentiles } from '../util.js';
import { awaitLive, closeAll, connectAll, drain, tally, type Deliveries } from './connections.js';

const DB = 'bench_fanout';
const P99_TARGETS: Record<number, number> = { 1000: 50, 5000: 200 };
const SATURATION_TARGET = 20_000;

export type Phase = 'fixed' | 'saturation';

interface Layout {
  users: BenchUser[];
  chatOf: Map<string, string>;
  /** Every (participant, chat) pair: a random one is a random user writing in their chat. */
  senders: SenderSpec[];
  groupSenders: SenderSpec[];
}

/** The servers of a fan-out (one, or instances sharing a Redis), their users and chats, the load. */
export interface FanoutRig {
  bench: Bench;
  servers: Measured<ServerApi>[];
  layout: Layout;
  subscribers: Worker<SubscribersApi>[];
  sender: Worker<SendersApi>;
}

/** The connections of one transport and size, open and live. */
export interface FanoutSetup {
  /** Connections per chat: the deliveries each message of the chat should make. */
  audience: Map<string, number>;
  note: string;
}

export interface PhaseResult {
  window: Window<SendReport>;
  deliveries: Deliveries;
  profiled: boolean;
}

async function seed(bench: Bench, api: ApiClient, dbName: string): Promise<Layout> {
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
    join(members, await insertGroupChat(bench.db(dbName), members), true);
  }
  const paired = users.slice(groups * groupSize);
  for (let index = 0; index + 1 < paired.length; index += 2) {
    const pair = [paired[index]!, paired[index + 1]!];
    join(pair, await createChat(api, pair[0]!, pair[1]!), false);
  }
  return { users: users.filter((user) => chatOf.has(user.id)), chatOf, senders, groupSenders };
}

/** Seeds users and chats on database `dbName` (through the first server) and readies the load. */
export async function prepareFanout(
  bench: Bench,
  servers: Measured<ServerApi>[],
  dbName: string,
): Promise<FanoutRig> {
  const [layout, subscribers, sender] = await Promise.all([
    seed(bench, new ApiClient(servers[0]!.baseUrl), dbName),
    bench.subscribers(),
    bench.senders(),
  ]);
  return { bench, servers, layout, subscribers, sender };
}

/** Connection i is user i (mod users) on server i (mod servers). */
function layoutConnections(rig: FanoutRig, size: number) {
  const { layout, servers } = rig;
  const specs: ConnectionSpec[] = [];
  const audience = new Map<string, number>();
  for (let index = 0; index < size; index += 1) {
    const user = layout.users[index % layout.users.length]!;
    const chatId = layout.chatOf.get(user.id)!;
    const { baseUrl } = servers[index % servers.length]!;
    specs.push({ userId: user.id, token: user.token, chatId, baseUrl });
    audience.set(chatId, (audience.get(chatId) ?? 0) + 1);
  }
  return { specs, audience };
}

/**
 * Opens `size` connections of `transport` (graphql-ws: subscribed to `subscription`, by default
 * messageAdded) and waits until every subscription is live.
 */
export async function connectFanout(
  rig: FanoutRig,
  transport: Transport,
  size: number,
  subscription?: Subscription,
): Promise<FanoutSetup> {
  const { bench, servers, layout, subscribers, sender } = rig;
  const { specs, audience } = layoutConnections(rig, size);
  const first = servers[0]!.baseUrl;
  const connected = await connectAll(bench, subscribers, transport, first, specs, subscription);
  const anySenderOf = (chatId: string) => layout.senders.find((spec) => spec.chatId === chatId)!;
  const live = await awaitLive(bench, subscribers, sender, first, anySenderOf, 180_000);
  const note =
    `${size.toLocaleString('en-US')} connections of ${layout.users.length} users` +
    (servers.length > 1 ? ` over ${servers.length} instances` : '') +
    `, ${connected.opened} opened in ${(connected.ms / 1000).toFixed(1)} s, ` +
    `${live.live} live after ${(live.ms / 1000).toFixed(1)} s more` +
    (connected.failed ? `; ${connected.failed} failed: ${connected.firstError}` : '');
  return { audience, note };
}

/**
 * One phase: sends spread over the servers in turn (fixed rate from every chat, or closed loop
 * into the group chats), then waits for the deliveries. With `profileLabel` (and profiles on) it
 * runs under the CPU profiler of the first server.
 */
export async function runFanoutPhase(
  rig: FanoutRig,
  phase: Phase,
  audience: Map<string, number>,
  profileLabel: string | null = null,
): Promise<PhaseResult> {
  const { bench, servers, layout, subscribers, sender } = rig;
  const fan = bench.plan.fanout;
  await Promise.all(subscribers.map((worker) => worker.call('startPhase', phase)));
  const common = { baseUrl: servers.map((server) => server.baseUrl), phase, bytes: fan.bytes };
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
    bench.progress.update('draining');
    await drain(subscribers, expected);
    return report;
  };
  // The profiler is started and stopped outside the measured window.
  const profiled = bench.plan.profile && profileLabel !== null;
  const window = profiled
    ? await bench.profiled(servers[0]!, profileLabel, () => bench.measure(servers, measured))
    : await bench.measure(servers, measured);
  const reports = await Promise.all(subscribers.map((worker) => worker.call('report', null)));
  return { window, profiled, deliveries: tally(reports, window.result.sent, audience) };
}

/** What a run of one transport and size is called: `<title> · graphql-ws · 1,000`. */
export const fanoutLabel = (title: string, transport: Transport, size: number) =>
  `${title} · ${transport} · ${size.toLocaleString('en-US')}`;

/** What a phase is called: `10 msg/s` or `saturation`. */
export const phaseName = (bench: Bench, phase: Phase) =>
  phase === 'fixed' ? `${bench.plan.fanout.rate} msg/s` : 'saturation';

export interface RowOptions {
  scenario: string;
  phase: Phase;
  /** Of the connections (on the first phase's row). */
  setupNote?: string;
  /** The p99 latency the fixed-rate phase should stay under, if any. */
  p99Target?: number;
  extraNotes?: string[];
}

/** The row of a phase: deliveries per second, end-to-end latency, costs per delivery, losses. */
export function fanoutRow(rig: FanoutRig, result: PhaseResult, options: RowOptions): Row {
  const fan = rig.bench.plan.fanout;
  const { window, profiled, deliveries } = result;
  const { phase, p99Target } = options;
  const sends = window.result;
  const okSends = sends.sent.filter((entry) => entry.ok).length;
  const spanMs = (deliveries.lastReceipt ?? sends.endedAt) - sends.startedAt;
  const perSecond = deliveries.delivered / (spanMs / 1000);
  const latency: Percentiles = percentiles(deliveries.latencies);
  const percentOfCore = (cpuMs: number) => ((100 * cpuMs) / window.wallMs).toFixed(0);
  const instances = window.each.length;
  const notes = [
    ...(options.setupNote ? [options.setupNote] : []),
    ...(profiled ? ['measured under the V8 sampling CPU profiler (a few % overhead)'] : []),
    `${okSends} messages of ${fan.bytes} B sent (${(okSends / ((sends.endedAt - sends.startedAt) / 1000)).toFixed(0)}/s, ` +
      `send p50 ${percentiles(sends.acks).p50.toFixed(1)} ms), ${deliveries.delivered} deliveries of ${deliveries.expected} expected; ` +
      `server CPU ${percentOfCore(window.cpuMs)}% of a core, ` +
      `${(window.commands / Math.max(1, okSends)).toFixed(1)} DB commands per send`,
    ...(instances > 1
      ? [
          `CPU, RSS and DB commands summed over the ${instances} instances ` +
            `(CPU ${window.each.map((one) => percentOfCore(one.cpuMs)).join(' / ')} % of a core, ` +
            `RSS ${window.each.map((one) => (one.stats.rss / 2 ** 20).toFixed(0)).join(' / ')} MB)`,
        ]
      : []),
    ...(sends.errors ? [`${sends.errors} sends failed: ${sends.firstError}`] : []),
    ...(sends.skipped ? [`${sends.skipped} sends skipped (sender backlog)`] : []),
    ...(deliveries.duplicates ? [`${deliveries.duplicates} duplicate deliveries`] : []),
    ...(deliveries.dropped ? [`${deliveries.dropped} connections dropped by the server`] : []),
    ...(deliveries.errors ? [`${deliveries.errors} errors, first: ${deliveries.firstError}`] : []),
    ...(options.extraNotes ?? []),
  ];
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
  return row({
    scenario: options.scenario,
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
  });
}

/** Closes every connection, then lets presence writes and socket teardown finish. */
export async function closeFanout(rig: FanoutRig): Promise<void> {
  await closeAll(rig.subscribers);
  await new Promise((resolve) => setTimeout(resolve, rig.bench.plan.settleMs));
  await Promise.all(rig.servers.map((server) => server.worker.call('gc', null)));
}

export async function fanoutScenario(bench: Bench): Promise<void> {
  const { plan, progress } = bench;
  const fan = plan.fanout;
  progress.step('5 fan-out: seeding');
  const server = await bench.startServer(DB);
  try {
    const rig = await prepareFanout(bench, [server], DB);
    const largest = Math.max(...fan.sizes);
    for (const transport of fan.transports) {
      for (const size of fan.sizes) {
        const label = fanoutLabel('5 fan-out', transport, size);
        progress.step(`${label}: connecting`);
        const setup = await connectFanout(rig, transport, size);
        for (const phase of ['fixed', 'saturation'] as const) {
          progress.step(`${label}: ${phaseName(bench, phase)}`);
          // The saturation phase of the largest size runs under the CPU profiler.
          const profileLabel =
            phase === 'saturation' && size === largest ? `${label} saturation (scenario 5)` : null;
          const result = await runFanoutPhase(rig, phase, setup.audience, profileLabel);
          bench.rows.push(
            fanoutRow(rig, result, {
              scenario: `${label} · ${phaseName(bench, phase)}`,
              phase,
              setupNote: phase === 'fixed' ? setup.note : undefined,
              p99Target: P99_TARGETS[size],
            }),
          );
        }
        progress.step(`${label}: closing`);
        await closeFanout(rig);
      }
    }
  } finally {
    await server.stop();
  }
}
