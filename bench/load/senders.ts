/**
 * Message senders in their own process: `sendMessage` mutations over HTTP (keep-alive) at a
 * fixed rate (open loop) or as fast as a fixed number in flight allows (closed loop), and
 * legacy WebSocket sends (`{"chat_id","content"}` frames; the sender's own broadcast is the ack).
 * Every message carries its id and send time in its content (see protocol.ts).
 */
import { Agent, request } from 'node:http';
import { WebSocket } from 'ws';
import { emit, serveRpc } from '../ipc.js';
import { SEND_MESSAGE } from '../queries.js';
import { monotonicMs, sleep } from '../util.js';
import { messageContent, readMark, Samples, type SenderSpec } from './protocol.js';

export interface SentMessage {
  msgId: string;
  chatId: string;
  ok: boolean;
}

export interface SendReport {
  sent: SentMessage[];
  /** Send to acknowledgement (mutation response, or own broadcast for legacy WS), ms. */
  acks: Float64Array;
  errors: number;
  firstError: string | null;
  /** Sends the fixed-rate schedule skipped because too many were in flight. */
  skipped: number;
  startedAt: number;
  endedAt: number;
}

interface Common {
  /** The server, or several (instances behind a load balancer): one message each, in turn. */
  baseUrl: string | string[];
  senders: SenderSpec[];
  phase: string;
  bytes: number;
  durationMs: number;
}

export type SendersApi = {
  sendOnce: [{ baseUrl: string; sender: SenderSpec; msgId: string; bytes: number }, boolean];
  fixedRate: [Common & { rate: number; maxInFlight: number }, SendReport];
  /**
   * `concurrency` lanes, each sending its next message when its last one is acknowledged; with
   * `lanePerSender`, lane i always sends as sender i (mod senders), else as a random one.
   */
  closedLoop: [Common & { concurrency: number; lanePerSender?: boolean }, SendReport];
  legacyWs: [Common & { window: number }, SendReport];
};

const FRAME_TIMEOUT_MS = 30_000;
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function postGraphQL(baseUrl: string, token: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}/graphql`, {
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        authorization: `Bearer ${token}`,
      },
    });
    req.on('error', reject);
    req.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () =>
        response.statusCode === 200
          ? resolve(text)
          : reject(new Error(`${response.statusCode} ${text}`)),
      );
    });
    req.end(body);
  });
}

/** Sends one message; resolves with the ack time (ms) or throws. */
async function sendOne(baseUrl: string, sender: SenderSpec, msgId: string, bytes: number) {
  const sentAt = monotonicMs();
  const body = JSON.stringify({
    query: SEND_MESSAGE,
    variables: { chatId: sender.chatId, content: messageContent(msgId, sentAt, bytes) },
  });
  const text = await postGraphQL(baseUrl, sender.token, body);
  if (!text.includes('"sendMessage":{')) throw new Error(text.slice(0, 300));
  return monotonicMs() - sentAt;
}

const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)]!;

/** The servers of a run taken in turn. */
function roundRobin(baseUrl: string | string[]) {
  const urls = typeof baseUrl === 'string' ? [baseUrl] : baseUrl;
  let next = 0;
  return () => urls[next++ % urls.length]!;
}

function reporter(phase: string) {
  const sent: SentMessage[] = [];
  const acks = new Samples();
  let errors = 0;
  let firstError: string | null = null;
  let sequence = 0;
  const startedAt = monotonicMs();
  return {
    async track(sender: SenderSpec, send: (msgId: string) => Promise<number>) {
      const msgId = `${phase}.${sequence++}`;
      const entry = { msgId, chatId: sender.chatId, ok: false };
      sent.push(entry);
      try {
        acks.push(await send(msgId));
        entry.ok = true;
      } catch (error) {
        errors += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    },
    done: (skipped = 0): SendReport => ({
      sent,
      acks: acks.toArray(),
      errors,
      firstError,
      skipped,
      startedAt,
      endedAt: monotonicMs(),
    }),
  };
}

async function fixedRate(options: SendersApi['fixedRate'][0]): Promise<SendReport> {
  const report = reporter(options.phase);
  const server = roundRobin(options.baseUrl);
  const interval = 1000 / options.rate;
  const start = monotonicMs();
  const inFlight = new Set<Promise<void>>();
  let scheduled = 0;
  let skipped = 0;
  while (monotonicMs() - start < options.durationMs) {
    const due = Math.floor((monotonicMs() - start) / interval) + 1;
    while (scheduled < due) {
      scheduled += 1;
      if (inFlight.size >= options.maxInFlight) {
        skipped += 1;
        continue;
      }
      const sender = pick(options.senders);
      const baseUrl = server();
      const task = report.track(sender, (msgId) => sendOne(baseUrl, sender, msgId, options.bytes));
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task));
    }
    await sleep(Math.max(1, Math.min(10, interval / 2)));
  }
  await Promise.all(inFlight);
  return report.done(skipped);
}

async function closedLoop(options: SendersApi['closedLoop'][0]): Promise<SendReport> {
  const report = reporter(options.phase);
  const server = roundRobin(options.baseUrl);
  const start = monotonicMs();
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, lane) => {
      while (monotonicMs() - start < options.durationMs) {
        const sender = options.lanePerSender
          ? options.senders[lane % options.senders.length]!
          : pick(options.senders);
        const baseUrl = server();
        await report.track(sender, (msgId) => sendOne(baseUrl, sender, msgId, options.bytes));
      }
    }),
  );
  return report.done();
}

/** One socket per sender, `window` frames in flight on each; a frame is acked by its broadcast. */
async function legacyWs(options: SendersApi['legacyWs'][0]): Promise<SendReport> {
  const report = reporter(options.phase);
  const server = roundRobin(options.baseUrl);
  const start = monotonicMs();
  await Promise.all(
    options.senders.map(async (sender) => {
      const url = `${server().replace(/^http/, 'ws')}/ws/${encodeURIComponent(sender.userId)}?token=${sender.token}`;
      const socket = new WebSocket(url, { perMessageDeflate: false });
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      /** Frames are handled in order per socket: acks (and error frames) come back in order. */
      const waiting: { msgId: string; settle: (error?: Error) => void }[] = [];
      socket.on('message', (data) => {
        const frame = (data as Buffer).toString('utf8');
        const mark = readMark(frame);
        if (mark) {
          const index = waiting.findIndex((entry) => entry.msgId === mark.msgId);
          if (index >= 0) waiting.splice(index, 1)[0]!.settle();
        } else if (frame.includes('"type":"error"')) {
          waiting.shift()?.settle(new Error(frame.slice(0, 300)));
        }
      });
      const sendFrame = (msgId: string) =>
        new Promise<number>((resolve, reject) => {
          const sentAt = monotonicMs();
          const timer = setTimeout(() => {
            const index = waiting.findIndex((entry) => entry.msgId === msgId);
            if (index >= 0) waiting.splice(index, 1);
            reject(new Error(`no broadcast of ${msgId} within ${FRAME_TIMEOUT_MS} ms`));
          }, FRAME_TIMEOUT_MS);
          waiting.push({
            msgId,
            settle: (error) => {
              clearTimeout(timer);
              if (error) reject(error);
              else resolve(monotonicMs() - sentAt);
            },
          });
          socket.send(
            JSON.stringify({
              chat_id: sender.chatId,
              content: messageContent(msgId, sentAt, options.bytes),
            }),
          );
        });
      await Promise.all(
        Array.from({ length: options.window }, async () => {
          while (monotonicMs() - start < options.durationMs) {
            await report.track(sender, sendFrame);
          }
        }),
      );
      socket.close(1000);
    }),
  );
  return report.done();
}

serveRpc<SendersApi>({
  sendOnce: async ({ baseUrl, sender, msgId, bytes }) => {
    await sendOne(baseUrl, sender, msgId, bytes);
    return true;
  },
  fixedRate,
  closedLoop,
  legacyWs,
});
emit('ready');
