/**
 * graphql-ws's protocol server (`makeServer`) bound to `ws` sockets.
 *
 * graphql-ws's own binding (`graphql-ws/use/ws`) gives every socket a keep-alive timer and a set
 * of closures and keeps the upgrade request for its life. Thousands of mostly idle sockets are
 * the normal load of a chat server, so here a socket is one small adapter object, its listeners
 * are shared functions, and one timer pings every socket.
 */
import type { IncomingMessage } from 'node:http';
import {
  CloseCode,
  handleProtocols,
  makeServer,
  type ServerOptions,
  type WebSocket as ProtocolSocket,
} from 'graphql-ws';
import type { Logger } from 'pino';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { CLOSE } from './socket-policy.js';

/** The messages a client may send (graphql-transport-ws), and how deep their JSON may nest. */
const CLIENT_MESSAGE_TYPES = new Set(['connection_init', 'ping', 'pong', 'subscribe', 'complete']);
const MAX_MESSAGE_DEPTH = 32;

function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (inString) {
      if (char === '\\') index += 1;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{' || char === '[') deepest = Math.max(deepest, ++depth);
    else if (char === '}' || char === ']') depth -= 1;
  }
  return deepest;
}

/**
 * One copy of each subscribe document text for all the sockets that send it: graphql-ws keeps a
 * subscribe message for its operation's life, and thousands of clients send the same few
 * documents. Bounded; past the bound, texts are kept as they came.
 */
class SharedTexts {
  private readonly texts = new Map<string, string>();

  constructor(
    private readonly maxTexts = 256,
    private readonly maxLength = 8 * 1024,
  ) {}

  shared(text: string): string {
    const known = this.texts.get(text);
    if (known !== undefined) return known;
    if (this.texts.size < this.maxTexts && text.length <= this.maxLength) {
      this.texts.set(text, text);
    }
    return text;
  }
}

interface ClientMessage {
  type: string;
  payload?: unknown;
}

/** A subscribe message's document text, made the copy every socket shares. */
function shareDocumentText(message: ClientMessage, texts: SharedTexts) {
  const payload = message.payload as { query?: unknown } | null | undefined;
  if (message.type === 'subscribe' && typeof payload?.query === 'string') {
    payload.query = texts.shared(payload.query);
  }
}

/**
 * The message in a frame, parsed, if it is one a client may send. graphql-ws answers a
 * server-only message type, or a message too deep to echo, with 4500 "Internal server error";
 * the protocol says 4400. Such frames are refused first.
 */
function clientMessage(text: string): ClientMessage | null {
  if (nestingDepth(text) > MAX_MESSAGE_DEPTH) return null;
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  const type = (message as { type?: unknown } | null)?.type;
  return typeof type === 'string' && CLIENT_MESSAGE_TYPES.has(type)
    ? (message as ClientMessage)
    : null;
}

/** What graphql-ws's server sees of a `ws` socket. */
class SocketAdapter implements ProtocolSocket {
  readonly protocol: string;
  receive: ((message: ClientMessage) => Promise<void>) | null = null;
  closed: ((code?: number, reason?: string) => Promise<void>) | null = null;
  /** Pinged and not answered yet. */
  awaitingPong = false;

  constructor(readonly socket: WebSocket) {
    this.protocol = socket.protocol;
  }

  send(data: string): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(data);
  }

  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }

  onMessage(receive: (data: string) => Promise<void>): void {
    // graphql-ws validates a message given already parsed as it does text (`parseMessage`), so
    // a frame is parsed once, and its text is not kept for the life of a subscription.
    this.receive = receive as unknown as (message: ClientMessage) => Promise<void>;
  }
}

/**
 * Serves graphql-transport-ws on every socket `wsServer` accepts. `extraFor` makes what the
 * operations of a socket see as `ctx.extra`, once per socket. Every `pingMs` each socket is
 * pinged; one that has not answered the previous ping by then is dropped (a dead peer).
 */
export function serveGraphQLWs<Extra>(
  wsServer: WebSocketServer,
  options: ServerOptions<Record<string, unknown> | undefined, Extra>,
  extraFor: (socket: WebSocket, request: IncomingMessage) => Extra,
  { logger, pingMs }: { logger: Logger; pingMs: number },
) {
  const server = makeServer(options);
  const adapters = new WeakMap<WebSocket, SocketAdapter>();
  const documentTexts = new SharedTexts();
  wsServer.options.handleProtocols = handleProtocols;

  function onMessage(this: WebSocket, data: RawData) {
    const receive = adapters.get(this)?.receive;
    if (!receive) return;
    const message = clientMessage(String(data));
    if (!message) return this.close(CloseCode.BadRequest, 'Invalid message received');
    shareDocumentText(message, documentTexts);
    // A subscribe's promise lasts as long as its operation.
    receive(message).catch((error: unknown) => {
      logger.error({ err: error }, 'graphql-ws message handling failed');
      this.close(CloseCode.InternalServerError, 'Internal server error');
    });
  }

  function onPong(this: WebSocket) {
    const adapter = adapters.get(this);
    if (adapter) adapter.awaitingPong = false;
  }

  // `ws` closes the socket itself after a protocol error (e.g. 1009 for a frame too large).
  function onError(this: WebSocket, error: Error) {
    logger.debug({ err: error }, 'graphql-ws socket error');
  }

  function onClose(this: WebSocket, code: number, reason: Buffer) {
    const closed = adapters.get(this)?.closed;
    adapters.delete(this);
    closed?.(code, String(reason)).catch((error: unknown) =>
      logger.error({ err: error }, 'graphql-ws close handling failed'),
    );
  }

  wsServer.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const adapter = new SocketAdapter(socket);
    adapters.set(socket, adapter);
    socket.on('message', onMessage);
    socket.on('pong', onPong);
    socket.on('error', onError);
    socket.once('close', onClose);
    adapter.closed = server.opened(adapter, extraFor(socket, request));
  });

  const keepAlive = setInterval(() => {
    for (const socket of wsServer.clients) {
      const adapter = adapters.get(socket);
      if (!adapter || socket.readyState !== socket.OPEN) continue;
      if (adapter.awaitingPong) {
        socket.terminate();
        continue;
      }
      adapter.awaitingPong = true;
      socket.ping();
    }
  }, pingMs);
  keepAlive.unref();

  return {
    /** Closes every socket (1001, so that clients reconnect elsewhere) and stops serving. */
    async dispose() {
      clearInterval(keepAlive);
      for (const socket of wsServer.clients)
        socket.close(CLOSE.shuttingDown.code, CLOSE.shuttingDown.reason);
      await new Promise<void>((resolve, reject) =>
        wsServer.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
