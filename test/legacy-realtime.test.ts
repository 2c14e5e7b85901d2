/** The old clients' realtime endpoints, through real clients: `ws` WebSockets and fetch() SSE. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { SignJWT } from 'jose';
import { DEFAULT_WAIT_MS, sleep, waitFor, withTimeout } from './support/wait.js';
import { startTestServer, TEST_SECRET, type TestServer } from './support/server.js';
import { createChat, registerUser, sendMessage, type TestUser } from './support/users.js';

const WAIT_MS = DEFAULT_WAIT_MS;
const KEEPALIVE_SECONDS = 0.2;
const APP_ORIGIN = 'http://app.example';

type Json = Record<string, unknown>;

/** What one client received, in order. Every wait is bounded. */
class Feed<Item> {
  readonly items: Item[] = [];
  private readonly wakers = new Set<() => void>();

  push(item: Item): void {
    this.items.push(item);
    for (const wake of [...this.wakers]) wake();
  }

  async find(predicate: (item: Item) => boolean, ms = WAIT_MS): Promise<Item> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.items.find(predicate);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`not received in ${ms} ms: ${JSON.stringify(this.items)}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.wakers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.wakers.add(wake);
      });
    }
  }
}

/** A legacy client of either kind, seen as the message payloads it received. */
interface Listener {
  messages(): Json[];
  waitFor(messageId: string): Promise<Json>;
  close(): Promise<void>;
}

const openClients = new Set<Listener>();
afterEach(async () => {
  await Promise.all([...openClients].map((client) => client.close()));
});

// --- WebSocket -------------------------------------------------------------------------------

interface WsOptions {
  query?: Record<string, string>;
  headers?: Record<string, string>;
  protocols?: string[];
}

interface WsClient extends Listener {
  socket: WebSocket;
  frames: Feed<Json>;
  send(frame: unknown): void;
  /** The next error frame. */
  nextError(): Promise<Json>;
  closed: Promise<{ code: number; reason: string }>;
}

function wsUrl(server: TestServer, userId: string, query: Record<string, string> = {}) {
  const url = new URL(`/ws/${userId}`, server.url.replace(/^http/, 'ws'));
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return url.toString();
}

async function openWs(server: TestServer, userId: string, options: WsOptions = {}) {
  const socket = new WebSocket(wsUrl(server, userId, options.query), options.protocols, {
    headers: options.headers,
  });
  const frames = new Feed<Json>();
  socket.on('message', (data) => frames.push(JSON.parse(String(data)) as Json));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  let errorsSeen = 0;
  const client: WsClient = {
    socket,
    frames,
    closed,
    messages: () => frames.items.filter((frame) => 'message_id' in frame),
    waitFor: (messageId) => frames.find((frame) => frame.message_id === messageId),
    send: (frame) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    async nextError() {
      const index = errorsSeen++;
      await frames.find(() => frames.items.filter((f) => f.type === 'error').length > index);
      return frames.items.filter((frame) => frame.type === 'error')[index]!;
    },
    async close() {
      openClients.delete(client);
      if (socket.readyState !== WebSocket.CLOSED) socket.close();
      await withTimeout(closed, 'WebSocket close');
    },
  };
  openClients.add(client);
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    }),
    'WebSocket open',
  );
  return client;
}

/** The HTTP answer to a WebSocket handshake the server refuses. */
async function wsRefusal(server: TestServer, userId: string, options: WsOptions = {}) {
  const socket = new WebSocket(wsUrl(server, userId, options.query), options.protocols, {
    headers: options.headers,
  });
  socket.on('error', () => undefined);
  return withTimeout(
    new Promise<{ status: number; body: Json }>((resolve, reject) => {
      socket.once('open', () => {
        socket.close();
        reject(new Error('the handshake was accepted'));
      });
      socket.once('unexpected-response', (_request, response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(body) as Json }),
        );
      });
    }),
    'WebSocket refusal',
  );
}

// --- SSE -------------------------------------------------------------------------------------

interface SseEvent {
  id?: string;
  data?: Json;
  comment?: string;
}

interface SseClient extends Listener {
  response: Response;
  events: Feed<SseEvent>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
}

function parseEvent(block: string): SseEvent {
  const event: SseEvent = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) event.comment = line.slice(1).trim();
    else if (line.startsWith('id: ')) event.id = line.slice(4);
    else if (line.startsWith('data: ')) event.data = JSON.parse(line.slice(6)) as Json;
    else throw new Error(`unexpected SSE line: ${line}`);
  }
  return event;
}

function sseUrl(server: TestServer, userId: string, query: Record<string, string> = {}) {
  const url = new URL(`/sse/${userId}`, server.url);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return url.toString();
}

async function openSse(
  server: TestServer,
  userId: string,
  options: { query?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<SseClient> {
  const abort = new AbortController();
  const response = await withTimeout(
    fetch(sseUrl(server, userId, options.query), {
      headers: options.headers,
      signal: abort.signal,
    }),
    'SSE response',
  );
  expect(response.status, await describeFailure(response)).toBe(200);
  const events = new Feed<SseEvent>();
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const ended = (async () => {
    let buffer = '';
    try {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        buffer += chunk.value;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          events.push(parseEvent(buffer.slice(0, end)));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    }
  })();
  const client: SseClient = {
    response,
    events,
    ended,
    messages: () => events.items.flatMap((event) => (event.data?.message_id ? [event.data] : [])),
    waitFor: async (messageId) =>
      (await events.find((event) => event.data?.message_id === messageId)).data!,
    async close() {
      openClients.delete(client);
      abort.abort();
      await withTimeout(ended, 'SSE close');
    },
  };
  openClients.add(client);
  return client;
}

async function describeFailure(response: Response) {
  return response.ok ? '' : await response.clone().text();
}

// --- scenario helpers ------------------------------------------------------------------------

/** Two users with a chat between them. */
async function pair(server: TestServer) {
  const alice = await registerUser(server);
  const bob = await registerUser(server);
  const chatId = await createChat(server, alice, bob);
  return { alice, bob, chatId };
}

/**
 * Asserts every listener got `messageId` exactly once: a later message is sent, and each
 * connection delivers in order, so a duplicate would have arrived before it.
 */
async function expectExactlyOnce(
  server: TestServer,
  listeners: Listener[],
  messageId: string,
  chat: { chatId: string; member: TestUser },
) {
  const later = await sendMessage(server, chat.member, chat.chatId, 'later');
  for (const listener of listeners) await listener.waitFor(later);
  for (const listener of listeners) {
    expect(listener.messages().filter((message) => message.message_id === messageId)).toHaveLength(
      1,
    );
  }
}

// --- the server with authentication on (the default) -----------------------------------------

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ SSE_KEEPALIVE_SECONDS: String(KEEPALIVE_SECONDS) });
});
afterAll(() => server?.stop());

const db = () => server.service.app.db;
const messagesIn = (chatId: string) => db().messages.countDocuments({ chat_id: chatId });

describe('WS /ws/{user_id}', () => {
  it('accepts the token in ?token=, in an Authorization header, or as Sec-WebSocket-Protocol', async () => {
    const { alice, bob, chatId } = await pair(server);
    const viaQuery = await openWs(server, alice.id, { query: { token: alice.token } });
    const viaHeader = await openWs(server, alice.id, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    const viaProtocol = await openWs(server, alice.id, { protocols: ['bearer', alice.token] });
    expect(viaProtocol.socket.protocol).toBe('bearer');

    const messageId = await sendMessage(server, bob, chatId, 'hello tabs');
    for (const client of [viaQuery, viaHeader, viaProtocol]) {
      expect(await client.waitFor(messageId)).toMatchObject({ content: 'hello tabs' });
    }
  });

  it('refuses a missing or bad token with 401 and another user’s token with 403', async () => {
    const { alice, bob } = await pair(server);
    expect(await wsRefusal(server, alice.id)).toEqual({
      status: 401,
      body: { detail: 'Not authenticated' },
    });
    expect(await wsRefusal(server, alice.id, { query: { token: 'not-a-jwt' } })).toEqual({
      status: 401,
      body: { detail: 'Invalid credentials' },
    });
    expect(await wsRefusal(server, alice.id, { query: { token: bob.token } })).toMatchObject({
      status: 403,
    });
    expect(await wsRefusal(server, alice.id, { protocols: ['bearer', bob.token] })).toMatchObject({
      status: 403,
    });
  });

  it('broadcasts a sent {chat_id, content} to every connection of both participants, exactly once', async () => {
    const { alice, bob, chatId } = await pair(server);
    const aliceTab1 = await openWs(server, alice.id, { query: { token: alice.token } });
    const aliceTab2 = await openWs(server, alice.id, { query: { token: alice.token } });
    const bobTab = await openWs(server, bob.id, { query: { token: bob.token } });

    aliceTab1.send({ chat_id: chatId, content: 'hi from the old client' });
    const received = await bobTab.frames.find(
      (frame) => frame.content === 'hi from the old client',
    );
    const messageId = received.message_id as string;
    await aliceTab1.waitFor(messageId);
    await aliceTab2.waitFor(messageId);

    expect(Object.keys(received).sort()).toEqual(
      ['chat_id', 'content', 'message_id', 'sender', 'timestamp'].sort(),
    );
    expect(Object.keys(received.sender as Json).sort()).toEqual(
      ['first_name', 'last_name', 'user_id', 'username'].sort(),
    );
    expect(received).toMatchObject({ chat_id: chatId, sender: { user_id: alice.id } });
    expect(received.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const stored = await db().messages.findOne({ message_id: messageId });
    expect(stored).toMatchObject({
      chat_id: chatId,
      sender_id: alice.id,
      content: 'hi from the old client',
      message_type: 'text',
    });
    await expectExactlyOnce(server, [aliceTab1, aliceTab2, bobTab], messageId, {
      chatId,
      member: bob,
    });
  });

  it('answers each bad frame with an error frame, stores nothing and stays open', async () => {
    const { alice, chatId } = await pair(server);
    const carol = await registerUser(server);
    const carolWs = await openWs(server, carol.id, { query: { token: carol.token } });
    const aliceWs = await openWs(server, alice.id, { query: { token: alice.token } });

    carolWs.send({ chat_id: chatId, content: 'intruding' });
    expect(await carolWs.nextError()).toEqual({ type: 'error', detail: expect.any(String) });

    const badFrames: unknown[] = [
      '{not json',
      '[1, 2]',
      '"just a string"',
      { content: 'no chat id' },
      { chat_id: chatId },
      { chat_id: chatId, content: { $gt: '' } },
      { chat_id: chatId, content: '' },
      { chat_id: chatId, content: '   ' },
      { chat_id: 'no-such-chat', content: 'lost' },
    ];
    for (const frame of badFrames) {
      aliceWs.send(frame);
      const error = await aliceWs.nextError();
      expect(error.type).toBe('error');
      expect(typeof error.detail).toBe('string');
    }
    expect(await messagesIn(chatId)).toBe(0);
    expect(await db().messages.countDocuments({ sender_id: carol.id })).toBe(0);

    // Both sockets still work.
    aliceWs.send({ chat_id: chatId, content: 'still here' });
    await aliceWs.frames.find((frame) => frame.content === 'still here');
    expect(carolWs.socket.readyState).toBe(WebSocket.OPEN);
    expect(await messagesIn(chatId)).toBe(1);
  });

  it('closes every connection of the user with 4403 when logout revokes the token', async () => {
    const { alice, chatId } = await pair(server);
    const tabs = await Promise.all([
      openWs(server, alice.id, { query: { token: alice.token } }),
      openWs(server, alice.id, { query: { token: alice.token } }),
    ]);
    await server.gql('mutation { logout }', {}, alice.token);
    for (const tab of tabs) {
      expect(await withTimeout(tab.closed, 'close after logout')).toEqual({
        code: 4403,
        reason: 'Token revoked',
      });
    }
    expect(await messagesIn(chatId)).toBe(0);
  });

  it('closes the connection with 4403 when its token expires', async () => {
    const { alice } = await pair(server);
    const shortLived = await new SignJWT({ tv: 0 })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(alice.username)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + 2)
      .sign(new TextEncoder().encode(TEST_SECRET));
    const socket = await openWs(server, alice.id, { query: { token: shortLived } });
    expect(await withTimeout(socket.closed, 'close at expiry', 5000)).toEqual({
      code: 4403,
      reason: 'Token expired',
    });
  });
});

describe('GET /sse/{user_id}', () => {
  /** Opens a stream, receives one message, disconnects: the id a reconnect would send. */
  async function lastIdBeforeLeaving(user: TestUser, other: TestUser, chatId: string) {
    const stream = await openSse(server, user.id, { query: { token: user.token } });
    const seen = await sendMessage(server, other, chatId, 'seen');
    const { id } = await stream.events.find((event) => event.data?.message_id === seen);
    await stream.close();
    return id!;
  }

  it('sends headers and a connected event at once, then each message with an id', async () => {
    const { alice, bob, chatId } = await pair(server);
    const stream = await openSse(server, alice.id, { query: { token: alice.token } });
    expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.response.headers.get('cache-control')).toBe('no-cache');
    expect(stream.response.headers.get('x-accel-buffering')).toBe('no');

    const first = await stream.events.find(() => true);
    expect(first).toEqual({ data: { type: 'connected', user_id: alice.id } });

    const messageId = await sendMessage(server, bob, chatId, 'over sse');
    const event = await stream.events.find((item) => item.data?.message_id === messageId);
    expect(event.id).toMatch(/^[\w-]+$/);
    expect(event.data).toEqual({
      type: 'message',
      message_id: messageId,
      chat_id: chatId,
      content: 'over sse',
      timestamp: expect.any(String),
      sender: {
        user_id: bob.id,
        username: bob.username,
        first_name: 'Test',
        last_name: expect.any(String),
      },
    });
  });

  it('accepts the token in an Authorization header', async () => {
    const { alice } = await pair(server);
    const stream = await openSse(server, alice.id, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect((await stream.events.find(() => true)).data?.type).toBe('connected');
  });

  it('refuses a missing token with 401 and another user’s token with 403, as {"detail"}', async () => {
    const { alice, bob } = await pair(server);
    const missing = await fetch(sseUrl(server, alice.id));
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(await missing.json()).toEqual({ detail: 'Not authenticated' });

    const foreign = await fetch(sseUrl(server, alice.id, { token: bob.token }));
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toEqual({ detail: expect.any(String) });
  });

  it('sends keep-alive comments', async () => {
    const { alice } = await pair(server);
    const stream = await openSse(server, alice.id, { query: { token: alice.token } });
    const keepAlive = await stream.events.find((event) => event.comment === 'keepalive');
    expect(keepAlive).toEqual({ comment: 'keepalive' });
  });

  it('keeps the CORS headers of the route on the stream', async () => {
    const { alice } = await pair(server);
    const stream = await openSse(server, alice.id, {
      query: { token: alice.token },
      headers: { origin: 'http://anywhere.example' },
    });
    expect(stream.response.headers.get('access-control-allow-origin')).toBe('*');
  });

  for (const via of ['header', 'query'] as const) {
    it(`replays exactly the messages missed, after a reconnect with Last-Event-ID (${via})`, async () => {
      const { alice, bob, chatId } = await pair(server);
      const carol = await registerUser(server);
      const otherChat = await createChat(server, carol, alice);
      const unrelated = await createChat(server, bob, carol);

      const lastEventId = await lastIdBeforeLeaving(alice, bob, chatId);
      const missed = [
        await sendMessage(server, bob, chatId, 'missed 1'),
        await sendMessage(server, carol, otherChat, 'missed 2'),
        await sendMessage(server, alice, chatId, 'missed 3'),
      ];
      await sendMessage(server, bob, unrelated, 'not for alice');

      const again = await openSse(server, alice.id, {
        query: { token: alice.token, ...(via === 'query' ? { lastEventId } : {}) },
        headers: via === 'header' ? { 'last-event-id': lastEventId } : {},
      });
      await again.waitFor(missed.at(-1)!);
      const live = await sendMessage(server, bob, chatId, 'live');
      await again.waitFor(live);
      expect(again.events.items[0]?.data?.type).toBe('connected');
      expect(again.messages().map((message) => message.message_id)).toEqual([...missed, live]);
    });
  }

  it('delivers messages sent while a replay runs exactly once', async () => {
    const { alice, bob, chatId } = await pair(server);
    const lastEventId = await lastIdBeforeLeaving(alice, bob, chatId);
    const missed = await sendMessage(server, bob, chatId, 'missed');
    const [again, ...racing] = await Promise.all([
      openSse(server, alice.id, {
        query: { token: alice.token },
        headers: { 'last-event-id': lastEventId },
      }),
      ...[1, 2, 3, 4, 5].map((n) => sendMessage(server, bob, chatId, `racing ${n}`)),
    ]);
    for (const messageId of racing) await again.waitFor(messageId as string);
    const received = again.messages().map((message) => message.message_id);
    expect(received.sort()).toEqual([missed, ...racing].sort());
  });

  it('gives two streams of one user every message; closing one leaves the other', async () => {
    const { alice, bob, chatId } = await pair(server);
    const tab1 = await openSse(server, alice.id, { query: { token: alice.token } });
    const tab2 = await openSse(server, alice.id, { query: { token: alice.token } });
    await tab1.events.find(() => true);
    await tab2.events.find(() => true);

    const ids = [
      await sendMessage(server, bob, chatId, 'one'),
      await sendMessage(server, alice, chatId, 'two'),
    ];
    for (const tab of [tab1, tab2]) {
      await tab.waitFor(ids[1]!);
      expect(tab.messages().map((message) => message.message_id)).toEqual(ids);
    }

    await tab1.close();
    const after = await sendMessage(server, bob, chatId, 'three');
    await tab2.waitFor(after);
    expect(tab2.messages().map((message) => message.message_id)).toEqual([...ids, after]);
  });
});

describe('GraphQL sendMessage', () => {
  it('reaches legacy WebSocket and SSE clients exactly once each', async () => {
    const { alice, bob, chatId } = await pair(server);
    const bobWs = await openWs(server, bob.id, { query: { token: bob.token } });
    const bobSse = await openSse(server, bob.id, { query: { token: bob.token } });
    const aliceSse = await openSse(server, alice.id, { query: { token: alice.token } });
    await bobSse.events.find(() => true);
    await aliceSse.events.find(() => true);

    const messageId = await sendMessage(server, alice, chatId, 'from graphql');
    expect(await bobWs.waitFor(messageId)).toMatchObject({ content: 'from graphql' });
    expect(await bobSse.waitFor(messageId)).toMatchObject({ type: 'message' });
    await expectExactlyOnce(server, [bobWs, bobSse, aliceSse], messageId, {
      chatId,
      member: alice,
    });
  });
});

describe('presence', () => {
  it('is online while a legacy WebSocket or SSE connection is open, offline after the last closes', async () => {
    const { alice } = await pair(server);
    const isOnline = async () =>
      (await db().users.findOne({ user_id: alice.id }))?.is_online === true;

    const ws = await openWs(server, alice.id, { query: { token: alice.token } });
    await ws.close();
    await waitFor(
      async () => !(await isOnline()),
      'offline after the only connection closed',
      WAIT_MS,
    );

    const ws2 = await openWs(server, alice.id, { query: { token: alice.token } });
    const sse = await openSse(server, alice.id, { query: { token: alice.token } });
    await waitFor(isOnline, 'online with connections open', WAIT_MS);
    await ws2.close();
    await sleep(100);
    await server.service.app.presence.settled();
    expect(await isOnline()).toBe(true);
    await sse.close();
    await waitFor(
      async () => !(await isOnline()),
      'offline after the last connection closed',
      WAIT_MS,
    );
  });
});

// --- the old, unauthenticated behaviour ------------------------------------------------------

describe('LEGACY_REALTIME_AUTH=off', () => {
  let open: TestServer;
  beforeAll(async () => {
    open = await startTestServer({ LEGACY_REALTIME_AUTH: 'off', CORS_ORIGINS: APP_ORIGIN });
  });
  afterAll(() => open?.stop());

  it('trusts the user id in the path, as the old server did', async () => {
    const { alice, bob, chatId } = await pair(open);
    const aliceWs = await openWs(open, alice.id);
    const bobSse = await openSse(open, bob.id);
    await bobSse.events.find(() => true);

    aliceWs.send({ chat_id: chatId, content: 'no token needed' });
    const received = await bobSse.events.find((event) => event.data?.content === 'no token needed');
    await aliceWs.waitFor(received.data!.message_id as string);
  });

  it('answers 404 for an unknown user', async () => {
    expect(await wsRefusal(open, 'no-such-user')).toEqual({
      status: 404,
      body: { detail: 'User not found' },
    });
    const sse = await fetch(sseUrl(open, 'no-such-user'));
    expect(sse.status).toBe(404);
    expect(await sse.json()).toEqual({ detail: 'User not found' });
  });

  it('refuses a WebSocket from an origin not in CORS_ORIGINS, and serves an allowed one', async () => {
    const { alice } = await pair(open);
    expect(
      await wsRefusal(open, alice.id, { headers: { origin: 'http://evil.example' } }),
    ).toMatchObject({ status: 403 });
    const allowed = await openWs(open, alice.id, { headers: { origin: APP_ORIGIN } });
    expect(allowed.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('sends the CORS headers for an allowed origin on the SSE stream', async () => {
    const { alice } = await pair(open);
    const stream = await openSse(open, alice.id, { headers: { origin: APP_ORIGIN } });
    expect(stream.response.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(stream.response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(stream.response.headers.get('vary')).toMatch(/origin/i);
  });
});

describe('shutdown', () => {
  it('closes legacy WebSockets with 1001 and ends SSE streams', async () => {
    const doomed = await startTestServer({ LEGACY_REALTIME_AUTH: 'off' });
    const { alice } = await pair(doomed);
    const ws = await openWs(doomed, alice.id);
    const sse = await openSse(doomed, alice.id);
    await sse.events.find(() => true);

    await withTimeout(doomed.stop(), 'server stop');
    expect((await withTimeout(ws.closed, 'WebSocket close')).code).toBe(1001);
    await withTimeout(sse.ended, 'SSE end');
  });
});
