/**
 * Resuming subscribers (scenario 9): clients that each follow one chat and, while messages keep
 * coming, drop their connection every ~100 ms and reconnect from the position of the last event
 * they received — a client on a flaky network.
 *
 *   chatEvents    /graphql, `graphql-transport-ws`: chatEvents(chatId, after: <cursor>)
 *   messageAdded  /graphql, `graphql-transport-ws`: messageAdded(chatId, after: <cursor>)
 *   legacy-sse    /sse/{user_id}?token=… with `Last-Event-ID: <id of the last event>`
 *
 * A client drops its connection once it has been open for the period (jittered ±20 %) and has
 * received something on it (or been open 2 s): under load a resumed connection can take longer
 * than the period to replay its first event, and a client that always dropped it before then
 * would never get anywhere. Events still arriving on a dropped connection are ignored, as a
 * client that has moved on ignores them. For every client the benchmark messages of the phase
 * are kept in the order received (ids from the marker in the content), so that the orchestrator
 * can compare them with the chat's history; positions are found with a string search
 * (`"cursor":"…"`, the SSE `id:` line), frames are not parsed.
 */
import { request, type ClientRequest } from 'node:http';
import { WebSocket } from 'ws';
import { emit, serveRpc } from '../ipc.js';
import { CHAT_EVENTS_AFTER, MESSAGE_ADDED_AFTER } from '../queries.js';
import { mapLimit, monotonicMs, sleep } from '../util.js';
import { phaseOf, readMark, Samples, type ConnectionSpec } from './protocol.js';

export type ResumeFeed = 'chatEvents' | 'messageAdded' | 'legacy-sse';

export interface OpenOptions {
  feed: ResumeFeed;
  baseUrl: string;
  clients: ConnectionSpec[];
  /** Source addresses to spread connections over (127.0.0.0/8). */
  localAddresses: string[];
  timeoutMs: number;
}

export interface OpenResult {
  opened: number;
  failed: number;
  firstError: string | null;
  ms: number;
}

export interface PhaseOptions {
  /** Message ids of the phase start with `<name>.` (see protocol.ts). */
  name: string;
  /** Drop and resume every this many ms; null: hold the connections. */
  reconnectMs: number | null;
}

export interface Progress {
  /** Receipts of phase messages, duplicates included. */
  total: number;
  /** Clients that have received at least `expected` distinct phase messages. */
  complete: number;
  reconnects: number;
}

export interface ClientReport {
  userId: string;
  /** Phase message ids in the order received. */
  received: string[];
  /** chatEvents: the events' numbers in the order received (phase messages only). */
  seqs: number[];
  reconnects: number;
}

export interface ResumeReport {
  clients: ClientReport[];
  /** Send to receipt of every phase message at every client, ms (CLOCK_MONOTONIC). */
  latencies: Float64Array;
  /** Drop to the new connection's connection_ack (graphql-ws) or `connected` event (SSE), ms. */
  reconnectTimes: Float64Array;
  reconnects: number;
  failedReconnects: number;
  firstReceipt: number | null;
  lastReceipt: number | null;
  errors: number;
  firstError: string | null;
}

export type ResumersApi = {
  open: [OpenOptions, OpenResult];
  readiness: [null, { total: number; ready: number; unready: number }];
  startPhase: [PhaseOptions, null];
  progress: [number, Progress];
  /** Stops the reconnect loops (waiting for a reconnect under way); returns reconnects so far. */
  stopReconnecting: [null, number];
  report: [null, ResumeReport];
  close: [null, { closed: number }];
};

/** How long a connection that has received nothing is kept before it is dropped anyway. */
const PROGRESS_MS = 2000;

interface Link {
  dropped: boolean;
  drop(): void;
  closed: Promise<void>;
}

interface Client {
  spec: ConnectionSpec;
  localAddress: string;
  /** The position of the last event received: `after` / Last-Event-ID of the next connection. */
  cursor: string | null;
  /** Has received a probe: its first subscription is live. */
  ready: boolean;
  link: Link | null;
  openedAt: number;
  deliveredOnLink: boolean;
  /** Wakes the reconnect loop waiting for a delivery. */
  wake: (() => void) | null;
  received: string[];
  distinct: Set<string>;
  seqs: number[];
  reconnects: number;
}

let feed: ResumeFeed = 'chatEvents';
let baseUrl = '';
let timeoutMs = 10_000;
let clients: Client[] = [];
let phase: string | null = null;
let reconnecting = false;
/** The connections are being closed: their ends are expected. */
let closing = false;
let loops: Promise<void>[] = [];
let total = 0;
let latencies = new Samples();
let reconnectTimes = new Samples();
let reconnects = 0;
let failedReconnects = 0;
let firstReceipt: number | null = null;
let lastReceipt: number | null = null;
let errors = 0;
let firstError: string | null = null;

function noteError(message: string) {
  errors += 1;
  firstError ??= message;
}

/** The value of `"cursor":"…"` in a graphql-ws frame. */
function cursorIn(frame: string): string | null {
  const at = frame.indexOf('"cursor":"');
  if (at < 0) return null;
  const start = at + '"cursor":"'.length;
  const end = frame.indexOf('"', start);
  return end < 0 ? null : frame.slice(start, end);
}

/** The value of `"seq":N` in a chatEvents frame. */
function seqIn(frame: string): number | null {
  const at = frame.indexOf('"seq":');
  if (at < 0) return null;
  const value = Number.parseInt(frame.slice(at + '"seq":'.length, at + '"seq":'.length + 16), 10);
  return Number.isNaN(value) ? null : value;
}

/** The `id:` field of an SSE event. */
function sseId(event: string): string | null {
  for (const line of event.split('\n')) {
    if (line.startsWith('id:')) return line.slice(3).trim();
  }
  return null;
}

/**
 * An event on a client's current connection: its position is kept (whatever the event is, as a
 * client that shows only some kinds still resumes after the others), a phase message recorded.
 */
function onEvent(client: Client, link: Link, event: string, cursor: string | null) {
  if (link.dropped || client.link !== link) return;
  const mark = readMark(event);
  if (cursor) client.cursor = cursor;
  else if (mark) noteError(`an event without a position: ${event.slice(0, 200)}`);
  if (!cursor && !mark) return;
  client.deliveredOnLink = true;
  client.wake?.();
  if (!mark) return;
  const markPhase = phaseOf(mark.msgId);
  if (markPhase === 'probe') {
    client.ready = true;
  } else if (markPhase === phase) {
    const now = monotonicMs();
    client.received.push(mark.msgId);
    client.distinct.add(mark.msgId);
    if (feed === 'chatEvents') {
      const seq = seqIn(event);
      if (seq !== null) client.seqs.push(seq);
    }
    total += 1;
    latencies.push(now - mark.sentAt);
    firstReceipt ??= now;
    lastReceipt = now;
  }
}

function wsUrl(path: string) {
  return baseUrl.replace(/^http/, 'ws') + path;
}

/** A new connection of `client`, from its last position; resolves once it is established. */
function connect(client: Client): Promise<void> {
  const { spec } = client;
  const after = client.cursor;
  const link: Link = { dropped: false, drop: () => undefined, closed: Promise.resolve() };
  client.link = link;
  client.deliveredOnLink = false;
  let established = false;
  const lost = (why: string) => {
    if (established && !link.dropped && !closing) noteError(why);
  };

  const opened = new Promise<void>((resolve, reject) => {
    const done = () => {
      established = true;
      client.openedAt = monotonicMs();
      resolve();
    };
    if (feed === 'legacy-sse') {
      const sse: ClientRequest = request(
        `${baseUrl}/sse/${encodeURIComponent(spec.userId)}?token=${spec.token}`,
        {
          agent: false,
          localAddress: client.localAddress,
          headers: { accept: 'text/event-stream', ...(after ? { 'last-event-id': after } : {}) },
        },
      );
      link.drop = () => {
        link.dropped = true;
        sse.destroy();
      };
      link.closed = new Promise((closed) => sse.once('close', () => closed()));
      sse.on('error', (error) => {
        if (!established) reject(error);
      });
      sse.on('close', () => lost('SSE stream ended by the server'));
      sse.on('response', (response) => {
        if (response.statusCode !== 200) {
          reject(new Error(`SSE ${response.statusCode}`));
          sse.destroy();
          return;
        }
        response.setEncoding('utf8');
        let buffer = '';
        response.on('data', (chunk: string) => {
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (!established && event.includes('"connected"')) {
              done();
              continue;
            }
            onEvent(client, link, event, sseId(event));
          }
        });
        response.on('error', () => undefined);
      });
      sse.end();
      return;
    }

    const socket = new WebSocket(wsUrl('/graphql'), 'graphql-transport-ws', {
      localAddress: client.localAddress,
      perMessageDeflate: false,
    });
    link.drop = () => {
      link.dropped = true;
      socket.close(1000);
    };
    link.closed = new Promise((closed) => socket.once('close', () => closed()));
    socket.on('error', (error) => {
      if (!established) reject(error);
    });
    socket.on('close', (code, reason) => {
      if (!established) reject(new Error(`closed ${code} ${reason.toString()}`));
      else lost(`closed by the server: ${code} ${reason.toString()}`);
    });
    socket.on('unexpected-response', (_request, response) => {
      reject(new Error(`upgrade refused: ${response.statusCode}`));
      socket.terminate();
    });
    socket.on('open', () => {
      socket.send(
        JSON.stringify({
          type: 'connection_init',
          payload: { authorization: `Bearer ${spec.token}` },
        }),
      );
    });
    socket.on('message', (data) => {
      const frame = (data as Buffer).toString('utf8');
      if (frame.includes('"type":"next"')) {
        if (frame.includes('"errors":')) noteError(frame.slice(0, 300));
        else onEvent(client, link, frame, cursorIn(frame));
        return;
      }
      if (frame.includes('"type":"connection_ack"')) {
        socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: {
              query: feed === 'chatEvents' ? CHAT_EVENTS_AFTER : MESSAGE_ADDED_AFTER,
              variables: { chatId: spec.chatId, after },
            },
          }),
        );
        done();
      } else if (frame.includes('"type":"ping"')) {
        socket.send('{"type":"pong"}');
      } else if (
        !link.dropped &&
        (frame.includes('"type":"error"') || frame.includes('"type":"complete"'))
      ) {
        noteError(frame.slice(0, 300));
      }
    });
  });

  return Promise.race([
    opened,
    new Promise<never>((_resolve, reject) =>
      setTimeout(() => reject(new Error('handshake timed out')), timeoutMs).unref(),
    ),
  ]).catch((error: unknown) => {
    link.drop();
    throw error;
  });
}

/** Resolves at the client's next delivery, after `ms`, or when reconnecting stops. */
function delivery(client: Client, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (!reconnecting) {
      resolve();
      return;
    }
    const timer = setTimeout(() => {
      client.wake = null;
      resolve();
    }, ms);
    client.wake = () => {
      clearTimeout(timer);
      client.wake = null;
      resolve();
    };
  });
}

/** Client `index` of `count`: its first drop is staggered, so that reconnects are spread. */
async function reconnectLoop(client: Client, index: number, count: number, period: number) {
  await sleep((period * index) / count);
  while (reconnecting) {
    const due = period * (0.8 + 0.4 * Math.random());
    const wait = client.openedAt + due - monotonicMs();
    if (wait > 0) await sleep(wait);
    if (!reconnecting) break;
    if (!client.deliveredOnLink) {
      const left = client.openedAt + PROGRESS_MS - monotonicMs();
      if (left > 0) await delivery(client, left);
    }
    if (!reconnecting) break;
    const started = monotonicMs();
    client.link?.drop();
    for (;;) {
      try {
        await connect(client);
        client.reconnects += 1;
        reconnects += 1;
        reconnectTimes.push(monotonicMs() - started);
        break;
      } catch (error) {
        failedReconnects += 1;
        noteError(`reconnect: ${error instanceof Error ? error.message : String(error)}`);
        if (!reconnecting) break;
        await sleep(period);
      }
    }
  }
}

async function open(options: OpenOptions): Promise<OpenResult> {
  closing = false;
  feed = options.feed;
  baseUrl = options.baseUrl;
  timeoutMs = options.timeoutMs;
  phase = null;
  const started = monotonicMs();
  clients = options.clients.map((spec, index) => ({
    spec,
    localAddress: options.localAddresses[index % options.localAddresses.length]!,
    cursor: null,
    ready: false,
    link: null,
    openedAt: 0,
    deliveredOnLink: false,
    wake: null,
    received: [],
    distinct: new Set(),
    seqs: [],
    reconnects: 0,
  }));
  let opened = 0;
  let failed = 0;
  let openError: string | null = null;
  await mapLimit(clients, 16, async (client) => {
    try {
      await connect(client);
      opened += 1;
    } catch (error) {
      failed += 1;
      openError ??= error instanceof Error ? error.message : String(error);
    }
  });
  return { opened, failed, firstError: openError, ms: monotonicMs() - started };
}

serveRpc<ResumersApi>({
  open,
  readiness: () => {
    const ready = clients.filter((client) => client.ready).length;
    return { total: clients.length, ready, unready: clients.length - ready };
  },
  startPhase: ({ name, reconnectMs }) => {
    phase = name;
    total = 0;
    latencies = new Samples();
    reconnectTimes = new Samples();
    reconnects = 0;
    failedReconnects = 0;
    firstReceipt = null;
    lastReceipt = null;
    errors = 0;
    firstError = null;
    for (const client of clients) {
      client.received = [];
      client.distinct = new Set();
      client.seqs = [];
      client.reconnects = 0;
    }
    reconnecting = reconnectMs !== null;
    loops =
      reconnectMs === null
        ? []
        : clients.map((client, index) => reconnectLoop(client, index, clients.length, reconnectMs));
    return null;
  },
  progress: (expected) => ({
    total,
    complete: clients.filter((client) => client.distinct.size >= expected).length,
    reconnects,
  }),
  stopReconnecting: async () => {
    reconnecting = false;
    for (const client of clients) client.wake?.();
    await Promise.all(loops);
    loops = [];
    return reconnects;
  },
  report: () => ({
    clients: clients.map((client) => ({
      userId: client.spec.userId,
      received: client.received,
      seqs: client.seqs,
      reconnects: client.reconnects,
    })),
    latencies: latencies.toArray(),
    reconnectTimes: reconnectTimes.toArray(),
    reconnects,
    failedReconnects,
    firstReceipt,
    lastReceipt,
    errors,
    firstError,
  }),
  close: async () => {
    closing = true;
    reconnecting = false;
    for (const client of clients) client.wake?.();
    await Promise.all(loops);
    loops = [];
    const all = clients;
    clients = [];
    phase = null;
    for (const client of all) client.link?.drop();
    await Promise.race([Promise.all(all.map((client) => client.link?.closed)), sleep(10_000)]);
    return { closed: all.length };
  },
});
emit('ready');
