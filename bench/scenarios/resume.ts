/**
 * Scenario 9: resume under concurrent senders (issue 13). The chat's two users send into it as
 * fast as the server acknowledges (`sendMessage`, closed loop, `lanes` requests in flight each),
 * while `subscribers` clients of the chat (devices of its two users, in turn) each drop their
 * connection every ~100 ms and reconnect from the position of the last event they received:
 * `chatEvents(after:)` or `messageAdded(after:)` over graphql-ws, or legacy SSE with
 * Last-Event-ID (see load/resumers.ts). Once the sends are acknowledged and every client has
 * caught up, each must have received every stored message of the phase exactly once, in the
 * order of the chat's history.
 *
 * Per feed (a new chat of two new users, the timeline collections emptied first): the clients
 * connect without a position and are sent probes until every one has received one (live); then
 * a calibration run of the same sends with the connections held measures the database commands
 * and server CPU of a send, so that those of a reconnect can be told apart in the measured phase
 * (the wire tap counts commands by name, and sends and resumes use the same ones); then the
 * measured phase.
 */
import type { Bench, Measured } from '../context.js';
import type { Worker } from '../ipc.js';
import type { SenderSpec } from '../load/protocol.js';
import { readMark } from '../load/protocol.js';
import type { ResumeFeed, ResumersApi } from '../load/resumers.js';
import type { SendersApi, SendReport } from '../load/senders.js';
import { HISTORY_FORWARDS } from '../queries.js';
import { row } from '../report.js';
import { ApiClient, createChat, registerUsers, type BenchUser } from '../seed.js';
import type { ServerApi } from '../server.js';
import { monotonicMs, percentiles, sleep } from '../util.js';

const DB = 'bench_resume';
/** A catch-up ends when nothing has arrived for this long (something was lost), ms. */
const QUIET_MS = 3000;
const CATCH_UP_MAX_MS = 60_000;

const FEED_NAMES: Record<ResumeFeed, string> = {
  chatEvents: 'graphql-ws chatEvents(after)',
  messageAdded: 'graphql-ws messageAdded(after)',
  'legacy-sse': 'legacy SSE Last-Event-ID',
};

interface Rig {
  bench: Bench;
  server: Measured<ServerApi>;
  api: ApiClient;
  users: BenchUser[];
  chatId: string;
  senders: SenderSpec[];
  resumers: Worker<ResumersApi>;
  sender: Worker<SendersApi>;
}

/** Waits until every client has `expected` distinct messages of the phase, or silence. */
async function catchUp(rig: Rig, expected: number): Promise<{ complete: number; ms: number }> {
  const clients = rig.bench.plan.resume.subscribers;
  const started = monotonicMs();
  let last = -1;
  let changedAt = started;
  for (;;) {
    const progress = await rig.resumers.call('progress', expected);
    const now = monotonicMs();
    rig.bench.progress.update(
      `caught up ${progress.complete}/${clients}, ${progress.reconnects} reconnects`,
    );
    if (progress.complete >= clients || now - started > CATCH_UP_MAX_MS) {
      return { complete: progress.complete, ms: now - started };
    }
    if (progress.total !== last) {
      last = progress.total;
      changedAt = now;
    } else if (now - changedAt > QUIET_MS) {
      return { complete: progress.complete, ms: now - started };
    }
    await sleep(50);
  }
}

/** The two users' sends: `lanes` in flight each, as fast as they are acknowledged. */
function sendFor(rig: Rig, phase: string, seconds: number): Promise<SendReport> {
  const resume = rig.bench.plan.resume;
  return rig.sender.call('closedLoop', {
    baseUrl: rig.server.baseUrl,
    senders: rig.senders,
    phase,
    bytes: resume.bytes,
    durationMs: seconds * 1000,
    concurrency: resume.lanes * rig.senders.length,
    lanePerSender: true,
  });
}

/** The chat's messages of `phase`, in history order (paged forwards through the API). */
async function storedOf(rig: Rig, phase: string): Promise<string[]> {
  interface Page {
    chat: {
      messages: {
        edges: { node: { id: string; content: string } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      };
    } | null;
  }
  const ids: string[] = [];
  for (let after: string | null = null; ;) {
    const data: Page = await rig.api.gql<Page>(
      HISTORY_FORWARDS,
      { chatId: rig.chatId, after },
      rig.users[0]!.token,
    );
    const page = data.chat!.messages;
    for (const { node } of page.edges) {
      const mark = readMark(node.content);
      if (mark?.msgId.startsWith(`${phase}.`)) ids.push(mark.msgId);
    }
    if (!page.pageInfo.hasNextPage) return ids;
    after = page.pageInfo.endCursor;
  }
}

/** Opens the clients of `feed` and sends probes until every one has received one. */
async function connectLive(rig: Rig, feed: ResumeFeed, round: number) {
  const { bench, resumers, sender } = rig;
  const count = bench.plan.resume.subscribers;
  const opened = await resumers.call('open', {
    feed,
    baseUrl: rig.server.baseUrl,
    clients: Array.from({ length: count }, (_, index) => {
      const user = rig.users[index % rig.users.length]!;
      return { userId: user.id, token: user.token, chatId: rig.chatId };
    }),
    localAddresses: Array.from({ length: 8 }, (_, host) => `127.0.3.${host + 1}`),
    timeoutMs: 30_000,
  });
  if (opened.opened === 0) throw new Error(`no ${feed} connection opened: ${opened.firstError}`);
  const started = monotonicMs();
  for (let probe = 0; ; probe += 1) {
    const state = await resumers.call('readiness', null);
    bench.progress.update(`subscriptions live ${state.ready}/${state.total}`);
    if (state.unready === 0) break;
    if (monotonicMs() - started > 60_000) {
      throw new Error(`${state.unready} of ${state.total} ${feed} subscriptions never went live`);
    }
    await sender.call('sendOnce', {
      baseUrl: rig.server.baseUrl,
      sender: rig.senders[0]!,
      msgId: `probe.${round}-${probe}`,
      bytes: 64,
    });
    await sleep(probe < 3 ? 100 : 500);
  }
  return { ...opened, liveMs: monotonicMs() - started };
}

/** How a client's receipts differ from the chat's history. */
function compare(stored: string[], received: string[]) {
  const rank = new Map(stored.map((id, index) => [id, index]));
  const seen = new Set<string>();
  let duplicated = 0;
  let outOfOrder = 0;
  let notStored = 0;
  let highest = -1;
  for (const id of received) {
    if (seen.has(id)) {
      duplicated += 1;
      continue;
    }
    seen.add(id);
    const position = rank.get(id);
    if (position === undefined) notStored += 1;
    else if (position < highest) outOfOrder += 1;
    else highest = position;
  }
  const lost = stored.filter((id) => !seen.has(id)).length;
  return { lost, duplicated, outOfOrder, notStored };
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
const byName = (commands: Record<string, number>, per: number) =>
  Object.entries(commands)
    .sort(([, a], [, b]) => b - a)
    .map(([name, count]) => `${name} ${(count / Math.max(1, per)).toFixed(2)}`)
    .join(', ');

async function runFeed(rig: Rig, feed: ResumeFeed, round: number): Promise<void> {
  const { bench, server, resumers } = rig;
  const resume = bench.plan.resume;
  const label = `9 resume · ${FEED_NAMES[feed]} · ${resume.subscribers}`;
  bench.progress.step(`${label}: connecting`);
  const live = await connectLive(rig, feed, round);
  try {
    // Calibration: the same sends, connections held (live delivery only).
    bench.progress.step(`${label}: calibrating sends`);
    const calibrationPhase = `calibrate${round}`;
    await resumers.call('startPhase', { name: calibrationPhase, reconnectMs: null });
    const calibration = await bench.measure(server, async () => {
      const sends = await sendFor(rig, calibrationPhase, resume.calibrationSeconds);
      await catchUp(rig, sends.sent.filter((entry) => entry.ok).length);
      return sends;
    });
    const calibrationSends = calibration.result.sent.filter((entry) => entry.ok).length;
    const commandsPerSend = calibration.commands / Math.max(1, calibrationSends);
    const cpuPerSend = calibration.cpuMs / Math.max(1, calibrationSends);
    await resumers.call('stopReconnecting', null);

    bench.progress.step(`${label}: sending, reconnecting every ~${resume.reconnectMs} ms`);
    const phase = `resume${round}`;
    await resumers.call('startPhase', { name: phase, reconnectMs: resume.reconnectMs });
    const window = await bench.measure(server, async () => {
      const sends = await sendFor(rig, phase, resume.seconds);
      bench.progress.step(`${label}: catching up`);
      const caughtUp = await catchUp(rig, sends.sent.filter((entry) => entry.ok).length);
      const reconnects = await resumers.call('stopReconnecting', null);
      return { sends, caughtUp, reconnects };
    });
    // Late duplicates would arrive now (live connections only: no more reconnects).
    await sleep(Math.min(300, bench.plan.settleMs));
    const report = await resumers.call('report', null);
    const stored = await storedOf(rig, phase);

    const { sends, caughtUp, reconnects } = window.result;
    const okSends = sends.sent.filter((entry) => entry.ok).length;
    const results = report.clients.map((client) => compare(stored, client.received));
    const lost = sum(results.map((result) => result.lost));
    const duplicated = sum(results.map((result) => result.duplicated));
    const outOfOrder = sum(results.map((result) => result.outOfOrder));
    const notStored = sum(results.map((result) => result.notStored));
    const seqSkips = sum(
      report.clients.map(
        (client) =>
          client.seqs.filter((seq, index) => index > 0 && seq !== client.seqs[index - 1]! + 1)
            .length,
      ),
    );
    const delivered = sum(report.clients.map((client) => client.received.length));
    const spanMs = (report.lastReceipt ?? sends.endedAt) - sends.startedAt;
    const seconds = window.wallMs / 1000;
    const perReconnect = (window.commands - okSends * commandsPerSend) / Math.max(1, reconnects);
    const cpuPerReconnect = (window.cpuMs - okSends * cpuPerSend) / Math.max(1, reconnects);
    const reconnectTimes = percentiles(report.reconnectTimes);
    const sendSeconds = (sends.endedAt - sends.startedAt) / 1000;
    const met = lost === 0 && duplicated === 0 && stored.length > 0;
    bench.rows.push(
      row({
        scenario: label,
        unit: 'delivery',
        ops: delivered,
        opsPerSec: delivered / (spanMs / 1000),
        latency: percentiles(report.latencies),
        cpuMsPer1k: (1000 * window.cpuMs) / Math.max(1, delivered),
        dbCpuMsPer1k: (1000 * window.dbCpuMs) / Math.max(1, delivered),
        rssMb: window.stats.rss / 2 ** 20,
        dbCommandsPerOp: window.commands / Math.max(1, delivered),
        lost,
        target: '0 lost, 0 duplicated',
        measured:
          `lost ${lost}, duplicated ${duplicated}` +
          (outOfOrder ? `, ${outOfOrder} OUT OF ORDER` : '') +
          `; ${reconnects} reconnects, ${perReconnect.toFixed(1)} DB cmds/reconnect`,
        met,
        notes: [
          `${live.opened} clients (devices of the chat's 2 users), live ${(live.liveMs / 1000).toFixed(1)} s after opening` +
            (live.failed ? `; ${live.failed} failed to open: ${live.firstError}` : ''),
          `2 users × ${resume.lanes} sendMessage in flight (closed loop): ${okSends} sent in ${sendSeconds.toFixed(1)} s ` +
            `(${(okSends / sendSeconds).toFixed(0)}/s, send p50 ${percentiles(sends.acks).p50.toFixed(1)} ms), ` +
            `${stored.length} stored; ${delivered} deliveries of ${stored.length * report.clients.length} expected, ` +
            `${caughtUp.complete}/${report.clients.length} clients caught up ${(caughtUp.ms / 1000).toFixed(1)} s after the last send`,
          `${reconnects} reconnects (${(reconnects / seconds).toFixed(0)}/s; drop to ` +
            `${feed === 'legacy-sse' ? "'connected'" : 'connection_ack'} p50 ${reconnectTimes.p50.toFixed(1)} ms, ` +
            `p99 ${reconnectTimes.p99.toFixed(1)} ms)` +
            (report.failedReconnects ? `, ${report.failedReconnects} failed` : '') +
            `; latency = send to receipt, time spent disconnected included; server CPU ${((100 * window.cpuMs) / window.wallMs).toFixed(0)}% of a core`,
          `DB cmd/op is per delivery; per reconnect ${perReconnect.toFixed(2)} = (${window.commands} commands ` +
            `− ${okSends} sends × ${commandsPerSend.toFixed(2)}, the cost of a send with the connections held) / ${reconnects}; ` +
            `likewise server CPU per reconnect ${cpuPerReconnect.toFixed(2)} ms (a send ${cpuPerSend.toFixed(2)} ms)`,
          `DB commands per send with connections held: ${byName(calibration.commandsByName, calibrationSends)}; ` +
            `while reconnecting, per send: ${byName(window.commandsByName, okSends)}`,
          ...(outOfOrder ? [`${outOfOrder} deliveries out of history order`] : []),
          ...(seqSkips ? [`${seqSkips} times an event's seq was not the previous one's + 1`] : []),
          ...(notStored ? [`${notStored} received messages are not in the history`] : []),
          ...(sends.errors ? [`${sends.errors} sends failed: ${sends.firstError}`] : []),
          ...(report.errors ? [`${report.errors} client errors, first: ${report.firstError}`] : []),
        ],
      }),
    );
  } finally {
    await resumers.call('close', null);
    await sleep(bench.plan.settleMs);
    await server.worker.call('gc', null);
  }
}

export async function resumeScenario(bench: Bench): Promise<void> {
  const { plan, progress } = bench;
  progress.step('9 resume under concurrent senders: starting the server');
  const [server, resumers, sender] = await Promise.all([
    bench.startServer(DB),
    bench.resumers(),
    bench.senders(),
  ]);
  try {
    const api = new ApiClient(server.baseUrl);
    const db = bench.db(DB);
    for (const [round, feed] of plan.resume.feeds.entries()) {
      progress.step(`9 resume · ${FEED_NAMES[feed]}: seeding`);
      // FerretDB reads a whole collection for every query but an _id lookup, and every resume
      // queries the timeline: each feed starts from empty ones, so that the feeds compare.
      await Promise.all(
        ['messages', 'chat_events'].map((name) => db.collection(name).deleteMany({})),
      );
      const users = await registerUsers(api, 2, `resume${round}`);
      const chatId = await createChat(api, users[0]!, users[1]!);
      const rig: Rig = {
        bench,
        server,
        api,
        users,
        chatId,
        senders: users.map((user) => ({ userId: user.id, token: user.token, chatId })),
        resumers,
        sender,
      };
      await runFeed(rig, feed, round);
    }
  } finally {
    await server.stop();
  }
}
