/**
 * WebSocket / SSE subscriber load generator: holds many connections of one transport, each
 * following one chat, and records for every benchmark message the time from send to receipt
 * (both stamps on CLOCK_MONOTONIC) and how many connections received it.
 *
 *   graphql-ws  /graphql, `graphql-transport-ws`, token in connection_init, one messageAdded
 *               (or, with `subscription: 'chatEvents'`, one chatEvents: scenario 10)
 *   legacy-ws   /ws/{user_id}?token=…  (the user's inbox)
 *   sse         /sse/{user_id}?token=… (the user's inbox)
 *
 * Frames are not parsed: the marker in the message content is found with a string search.
 */
import { request } from 'node:http';
import { WebSocket } from 'ws';
import { emit, serveRpc } from '../ipc.js';
import { CHAT_EVENTS, MESSAGE_ADDED } from '../queries.js';
import { mapLimit, monotonicMs } from '../util.js';
import { phaseOf, readMark, Samples, type ConnectionSpec, type Transport } from './protocol.js';

/** What a graphql-ws connection subscribes to (default messageAdded). */
export type Subscription = 'messageAdded' | 'chatEvents';

const DOCUMENTS: Record<Subscription, string> = {
  messageAdded: MESSAGE_ADDED,
  chatEvents: CHAT_EVENTS,
};

export interface ConnectOptions {
  transport: Transport;
  subscription?: Subscription;
  /** http://host:port of the server (unless a connection names its own). */
  baseUrl: string;
  connections: ConnectionSpec[];
  /** Handshakes in flight at once. */
  concurrency: number;
  /** Source addresses to spread connections over (127.0.0.0/8): more ephemeral ports. */
  localAddresses: string[];
  timeoutMs: number;
}

export interface ConnectResult {
  opened: number;
  failed: number;
  firstError: string | null;
  ms: number;
  /** Handshake times (to connection_ack / open / first event), ms. */
  handshakes: Float64Array;
}

export interface Readiness {
  total: number;
  ready: number;
  open: number;
  unreadyChats: string[];
}

export interface PhaseReport {
  /** Receipts per message id of the phase. */
  received: Map<string, number>;
  total: number;
  latencies: Float64Array;
  /** The first and last receipt of each message of the phase here (CLOCK_MONOTONIC, ms). */
  spans: Map<string, { first: number; last: number }>;
  firstReceipt: number | null;
  lastReceipt: number | null;
  open: number;
  /** Connections that closed while they should have stayed open. */
  dropped: number;
  errors: number;
  firstError: string | null;
}

export type SubscribersApi = {
  connect: [ConnectOptions, ConnectResult];
  readiness: [null, Readiness];
  startPhase: [string, null];
  totals: [null, { total: number; open: number }];
  report: [null, PhaseReport];
  close: [null, { closed: number }];
};

interface Connection {
  spec: ConnectionSpec;
  /** Has received a probe: its subscription is live on the server. */
  ready: boolean;
  open: boolean;
  close(): void;
  closed: Promise<void>;
}

let connections: Connection[] = [];
let closing = false;
let phase: string | null = null;
let received = new Map<string, number>();
let total = 0;
let latencies = new Samples();
let spans = new Map<string, { first: number; last: number }>();
let firstReceipt: number | null = null;
let lastReceipt: number | null = null;
let dropped = 0;
let errors = 0;
let firstError: string | null = null;

function noteError(message: string) {
  errors += 1;
  firstError ??= message;
}

/** Every frame that may carry a benchmark message ends up here. */
function onFrame(connection: Connection, frame: string) {
  const mark = readMark(frame);
  if (!mark) return false;
  const now = monotonicMs();
  const markPhase = phaseOf(mark.msgId);
  if (markPhase === 'probe') {
    connection.ready = true;
  } else if (markPhase === phase) {
    received.set(mark.msgId, (received.get(mark.msgId) ?? 0) + 1);
    total += 1;
    latencies.push(now - mark.sentAt);
    const span = spans.get(mark.msgId);
    if (span) span.last = now;
    else spans.set(mark.msgId, { first: now, last: now });
    firstReceipt ??= now;
    lastReceipt = now;
  }
  return true;
}

function wsUrl(baseUrl: string, path: string) {
  return baseUrl.replace(/^http/, 'ws') + path;
}

/** Opens one connection; resolves once it is established (not yet known to be subscribed). */
function open(
  options: ConnectOptions,
  spec: ConnectionSpec,
  localAddress: string,
): Promise<Connection> {
  const connection: Connection = {
    spec,
    ready: false,
    open: false,
    close: () => undefined,
    closed: Promise.resolve(),
  };
  const onClosed = () => {
    if (connection.open && !closing) dropped += 1;
    connection.open = false;
  };

  const baseUrl = spec.baseUrl ?? options.baseUrl;
  if (options.transport === 'sse') {
    const url = `${baseUrl}/sse/${encodeURIComponent(spec.userId)}?token=${spec.token}`;
    const sse = request(url, {
      agent: false,
      localAddress,
      headers: { accept: 'text/event-stream' },
    });
    connection.close = () => sse.destroy();
    connection.closed = new Promise((closed) =>
      sse.once('close', () => {
        onClosed();
        closed();
      }),
    );
    return new Promise((resolve, reject) => {
      sse.on('error', (error) => {
        if (!connection.open) reject(error);
      });
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
            if (onFrame(connection, event)) continue;
            if (!connection.open && event.includes('"connected"')) {
              connection.open = true;
              resolve(connection);
            }
          }
        });
        response.on('error', () => undefined);
      });
      sse.end();
    });
  }

  const graphql = options.transport === 'graphql-ws';
  const url = graphql
    ? wsUrl(baseUrl, '/graphql')
    : wsUrl(baseUrl, `/ws/${encodeURIComponent(spec.userId)}?token=${spec.token}`);
  const socket = new WebSocket(url, graphql ? 'graphql-transport-ws' : undefined, {
    localAddress,
    perMessageDeflate: false,
  });
  connection.close = () => socket.close(1000);
  connection.closed = new Promise((closed) => socket.once('close', () => closed()));
  return new Promise((resolve, reject) => {
    socket.on('error', (error) => {
      if (!connection.open) reject(error);
    });
    socket.on('close', (code, reason) => {
      if (!connection.open) reject(new Error(`closed ${code} ${reason.toString()}`));
      else if (!closing) noteError(`closed ${code} ${reason.toString()}`);
      onClosed();
    });
    socket.on('unexpected-response', (_request, response) => {
      reject(new Error(`upgrade refused: ${response.statusCode}`));
      socket.terminate();
    });
    socket.on('open', () => {
      if (!graphql) {
        connection.open = true;
        resolve(connection);
        return;
      }
      socket.send(
        JSON.stringify({
          type: 'connection_init',
          payload: { authorization: `Bearer ${spec.token}` },
        }),
      );
    });
    socket.on('message', (data) => {
      const frame = (data as Buffer).toString('utf8');
      if (onFrame(connection, frame)) return;
      if (!graphql) {
        if (frame.includes('"error"')) noteError(frame.slice(0, 200));
        return;
      }
      const message = JSON.parse(frame) as { type: string; payload?: unknown };
      if (message.type === 'connection_ack') {
        socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: {
              query: DOCUMENTS[options.subscription ?? 'messageAdded'],
              variables: { chatId: spec.chatId },
            },
          }),
        );
        connection.open = true;
        resolve(connection);
      } else if (message.type === 'ping') {
        socket.send('{"type":"pong"}');
      } else if (message.type === 'error' || message.type === 'complete') {
        noteError(frame.slice(0, 300));
      }
    });
  });
}

async function connect(options: ConnectOptions): Promise<ConnectResult> {
  closing = false;
  const started = monotonicMs();
  const handshakes = new Samples();
  let opened = 0;
  let failed = 0;
  let connectError: string | null = null;
  let lastProgress = 0;
  await mapLimit(options.connections, options.concurrency, async (spec, index) => {
    const localAddress = options.localAddresses[index % options.localAddresses.length]!;
    const begin = monotonicMs();
    try {
      const connection = await Promise.race([
        open(options, spec, localAddress),
        new Promise<never>((_resolve, reject) =>
          setTimeout(() => reject(new Error('handshake timed out')), options.timeoutMs).unref(),
        ),
      ]);
      connections.push(connection);
      handshakes.push(monotonicMs() - begin);
      opened += 1;
    } catch (error) {
      failed += 1;
      connectError ??= error instanceof Error ? error.message : String(error);
    }
    if (monotonicMs() - lastProgress > 250) {
      lastProgress = monotonicMs();
      emit('progress', { opened, failed, total: options.connections.length });
    }
  });
  return {
    opened,
    failed,
    firstError: connectError,
    ms: monotonicMs() - started,
    handshakes: handshakes.toArray(),
  };
}

function readiness(): Readiness {
  const unready = new Set<string>();
  let ready = 0;
  let openCount = 0;
  for (const connection of connections) {
    if (connection.open) openCount += 1;
    if (connection.ready) ready += 1;
    else unready.add(connection.spec.chatId);
  }
  return { total: connections.length, ready, open: openCount, unreadyChats: [...unready] };
}

serveRpc<SubscribersApi>({
  connect,
  readiness,
  startPhase: (name) => {
    phase = name;
    received = new Map();
    total = 0;
    latencies = new Samples();
    spans = new Map();
    firstReceipt = null;
    lastReceipt = null;
    dropped = 0;
    errors = 0;
    firstError = null;
    return null;
  },
  totals: () => ({ total, open: connections.filter((c) => c.open).length }),
  report: () => ({
    received,
    total,
    latencies: latencies.toArray(),
    spans,
    firstReceipt,
    lastReceipt,
    open: connections.filter((c) => c.open).length,
    dropped,
    errors,
    firstError,
  }),
  close: async () => {
    closing = true;
    const all = connections;
    connections = [];
    for (const connection of all) connection.close();
    await Promise.race([
      Promise.all(all.map((connection) => connection.closed)),
      new Promise((resolve) => setTimeout(resolve, 10_000)),
    ]);
    phase = null;
    return { closed: all.length };
  },
});
emit('ready');
