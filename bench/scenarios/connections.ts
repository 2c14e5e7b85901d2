/**
 * Many subscriber connections spread over the subscriber processes: opening them, making sure
 * each subscription is live (probe messages until every connection has received one), waiting
 * for deliveries to drain, collecting what was received, closing.
 */
import type { Bench } from '../context.js';
import type { Worker } from '../ipc.js';
import type { ConnectionSpec, SenderSpec, Transport } from '../load/protocol.js';
import type { SendersApi, SentMessage } from '../load/senders.js';
import type { PhaseReport, Subscription, SubscribersApi } from '../load/subscribers.js';
import { concatSamples, monotonicMs, sleep } from '../util.js';

export interface ConnectSummary {
  opened: number;
  failed: number;
  firstError: string | null;
  ms: number;
  handshakes: Float64Array;
}

/** Opens `specs` round-robin over the subscriber processes, each from its own source addresses. */
export async function connectAll(
  bench: Bench,
  subscribers: Worker<SubscribersApi>[],
  transport: Transport,
  baseUrl: string,
  specs: ConnectionSpec[],
  subscription?: Subscription,
): Promise<ConnectSummary> {
  const opened = subscribers.map(() => 0);
  const unsubscribe = subscribers.map((worker, index) =>
    worker.onEvent((event, data) => {
      if (event !== 'progress') return;
      opened[index] = (data as { opened: number }).opened;
      bench.progress.update(`connecting ${opened.reduce((a, b) => a + b, 0)}/${specs.length}`);
    }),
  );
  try {
    const results = await Promise.all(
      subscribers.map((worker, index) =>
        worker.call('connect', {
          transport,
          subscription,
          baseUrl,
          connections: specs.filter((_, position) => position % subscribers.length === index),
          concurrency: 64,
          localAddresses: Array.from({ length: 8 }, (_, host) => `127.0.${index + 1}.${host + 1}`),
          timeoutMs: 120_000,
        }),
      ),
    );
    return {
      opened: results.reduce((sum, result) => sum + result.opened, 0),
      failed: results.reduce((sum, result) => sum + result.failed, 0),
      firstError: results.find((result) => result.firstError)?.firstError ?? null,
      ms: Math.max(...results.map((result) => result.ms)),
      handshakes: concatSamples(results.map((result) => result.handshakes)),
    };
  } finally {
    unsubscribe.forEach((off) => off());
  }
}

/**
 * Sends a probe into every chat that still has a connection without one, until all have
 * received a probe (their subscription is live) or `timeoutMs` passes. Returns how many are live.
 */
export async function awaitLive(
  bench: Bench,
  subscribers: Worker<SubscribersApi>[],
  sender: Worker<SendersApi>,
  baseUrl: string,
  senderOf: (chatId: string) => SenderSpec,
  timeoutMs: number,
): Promise<{ live: number; total: number; ms: number }> {
  const started = monotonicMs();
  let round = 0;
  for (;;) {
    const states = await Promise.all(subscribers.map((worker) => worker.call('readiness', null)));
    const live = states.reduce((sum, state) => sum + state.ready, 0);
    const total = states.reduce((sum, state) => sum + state.total, 0);
    const chats = new Set(states.flatMap((state) => state.unreadyChats));
    bench.progress.update(`subscriptions live ${live}/${total}`);
    if (chats.size === 0 || monotonicMs() - started > timeoutMs) {
      return { live, total, ms: monotonicMs() - started };
    }
    round += 1;
    await Promise.all(
      [...chats].map((chatId, index) =>
        sender
          .call('sendOnce', {
            baseUrl,
            sender: senderOf(chatId),
            msgId: `probe.${round}-${index}`,
            bytes: 64,
          })
          .catch(() => false),
      ),
    );
    await sleep(round < 3 ? 200 : 1000);
  }
}

/** Waits until `expected` deliveries arrived, or nothing arrived for `quietMs`. */
export async function drain(
  subscribers: Worker<SubscribersApi>[],
  expected: number,
  quietMs = 3000,
  maxMs = 60_000,
): Promise<void> {
  const started = monotonicMs();
  let last = -1;
  let changedAt = started;
  for (;;) {
    const totals = await Promise.all(subscribers.map((worker) => worker.call('totals', null)));
    const total = totals.reduce((sum, entry) => sum + entry.total, 0);
    const now = monotonicMs();
    if (total >= expected || now - started > maxMs) return;
    if (total !== last) {
      last = total;
      changedAt = now;
    } else if (now - changedAt > quietMs) {
      return;
    }
    await sleep(100);
  }
}

export interface Deliveries {
  delivered: number;
  expected: number;
  lost: number;
  duplicates: number;
  latencies: Float64Array;
  /** Per message received: its first receipt to its last, at any recipient (ms). */
  spreads: Float64Array;
  firstReceipt: number | null;
  lastReceipt: number | null;
  dropped: number;
  errors: number;
  firstError: string | null;
}

/** Receipts of all subscriber processes against what each sent message should have reached. */
export function tally(
  reports: PhaseReport[],
  sent: SentMessage[],
  audience: Map<string, number>,
): Deliveries {
  const received = new Map<string, number>();
  for (const report of reports) {
    for (const [msgId, count] of report.received)
      received.set(msgId, (received.get(msgId) ?? 0) + count);
  }
  let expected = 0;
  let lost = 0;
  let duplicates = 0;
  for (const message of sent) {
    if (!message.ok) continue;
    const want = audience.get(message.chatId) ?? 0;
    const got = received.get(message.msgId) ?? 0;
    expected += want;
    lost += Math.max(0, want - got);
    duplicates += Math.max(0, got - want);
  }
  const spans = new Map<string, { first: number; last: number }>();
  for (const report of reports) {
    for (const [msgId, span] of report.spans) {
      const known = spans.get(msgId);
      if (!known) spans.set(msgId, { ...span });
      else {
        known.first = Math.min(known.first, span.first);
        known.last = Math.max(known.last, span.last);
      }
    }
  }
  const receipts = reports
    .map((report) => report.firstReceipt)
    .filter((at): at is number => at !== null);
  const lasts = reports
    .map((report) => report.lastReceipt)
    .filter((at): at is number => at !== null);
  return {
    delivered: reports.reduce((sum, report) => sum + report.total, 0),
    expected,
    lost,
    duplicates,
    latencies: concatSamples(reports.map((report) => report.latencies)),
    spreads: Float64Array.from(spans.values(), (span) => span.last - span.first),
    firstReceipt: receipts.length ? Math.min(...receipts) : null,
    lastReceipt: lasts.length ? Math.max(...lasts) : null,
    dropped: reports.reduce((sum, report) => sum + report.dropped, 0),
    errors: reports.reduce((sum, report) => sum + report.errors, 0),
    firstError: reports.find((report) => report.firstError)?.firstError ?? null,
  };
}

export async function closeAll(subscribers: Worker<SubscribersApi>[]): Promise<void> {
  await Promise.all(subscribers.map((worker) => worker.call('close', null)));
}
