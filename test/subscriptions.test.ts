/**
 * Live updates over the transports real clients use: graphql-ws with the token in
 * `connection_init` (Apollo, graphql-ws clients), graphql-ws with the token per subscribe in
 * `extensions.headers` (GraphiQL), and Yoga's SSE. A subscription has no "started" signal, so
 * each test first sends probe messages (or toggles presence) until every subscriber has seen one;
 * everything sent after that must arrive.
 */
import type { FormattedExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { legacyToken } from './support/legacy.js';
import { cleanupAfterEach, DEFAULT_WAIT_MS, sleep, waitFor } from './support/wait.js';
import { startTestServer, TEST_SECRET, type TestServer } from './support/server.js';
import { createChat, registerUser, SEND, sendMessage, type TestUser } from './support/users.js';
import { windowsOf } from '../src/timeline/pages.js';

const TIMEOUT = DEFAULT_WAIT_MS;
/** How long to keep listening for something that must not arrive. */
const GRACE = 300;

const MESSAGE_ADDED = /* GraphQL */ `
  subscription MessageAdded($chatId: ID!) {
    messageAdded(chatId: $chatId) {
      id
      content
      isOwn
      clientMessageId
      sender {
        id
        username
      }
      chat {
        id
      }
    }
  }
`;
const PRESENCE_CHANGED = /* GraphQL */ `
  subscription PresenceChanged($userIds: [ID!]) {
    presenceChanged(userIds: $userIds) {
      id
      username
      isOnline
    }
  }
`;

interface AddedMessage {
  id: string;
  content: string;
  isOwn: boolean;
  clientMessageId: string | null;
  sender: { id: string; username: string };
  chat: { id: string };
}
interface MessageAddedData {
  messageAdded: AddedMessage;
}
interface PresenceData {
  presenceChanged: { id: string; username: string; isOnline: boolean };
}
type Result<Data> = FormattedExecutionResult<Data>;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const cleanups = cleanupAfterEach();

const bearer = (user: TestUser) => `Bearer ${user.token}`;

async function pair(): Promise<{ a: TestUser; b: TestUser; chatId: string }> {
  const a = await registerUser(server);
  const b = await registerUser(server);
  return { a, b, chatId: await createChat(server, a, b) };
}

async function isOnlineInDb(user: TestUser): Promise<boolean | undefined> {
  const stored = await server.service.app.db.users.findOne({ user_id: user.id });
  return stored?.is_online;
}

/** The `extensions.code`s of GraphQL errors, from `error` messages and errors-only results. */
function errorCodes(errors: unknown[], results: Result<unknown>[]): unknown[] {
  const fromErrors = errors.flatMap((error) =>
    Array.isArray(error)
      ? error.map((item: { extensions?: { code?: unknown } }) => item.extensions?.code)
      : [`not a GraphQL error: ${JSON.stringify(error)}`],
  );
  const fromResults = results.flatMap((result) =>
    (result.errors ?? []).map((error) => error.extensions?.code),
  );
  return [...fromErrors, ...fromResults];
}

// ---------------------------------------------------------------------------------------------
// graphql-ws client (as Apollo uses it)

function wsClient(connectionParams?: Record<string, unknown>, lazy = true): Client {
  const client = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams,
    lazy,
    retryAttempts: 0,
    onNonLazyError: () => undefined,
  });
  cleanups.push(() => client.dispose());
  return client;
}

interface WsSubscription<Data> {
  results: Result<Data>[];
  errors: unknown[];
  completed: boolean;
  unsubscribe: () => void;
}

function subscribeWs<Data>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
): WsSubscription<Data> {
  const subscription: WsSubscription<Data> = {
    results: [],
    errors: [],
    completed: false,
    unsubscribe: () => undefined,
  };
  subscription.unsubscribe = client.subscribe<Data, Record<string, unknown>>(
    { query, variables },
    {
      next: (result) => subscription.results.push(result),
      error: (error) => subscription.errors.push(error),
      complete: () => {
        subscription.completed = true;
      },
    },
  );
  cleanups.push(() => subscription.unsubscribe());
  return subscription;
}

const dataOf = <Data>(results: Result<Data>[]): Data[] =>
  results.flatMap((result) => (result.data ? [result.data] : []));
const messagesOf = (results: Result<MessageAddedData>[]) =>
  dataOf(results).map((data) => data.messageAdded);

/** A non-lazy graphql-ws connection, resolved once the server has acknowledged it. */
async function openConnection(connectionParams: Record<string, unknown>): Promise<Client> {
  const client = wsClient(connectionParams, false);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no connection_ack')), TIMEOUT);
    client.on('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    client.on('closed', (event) => {
      clearTimeout(timer);
      reject(new Error(`closed before connection_ack: ${(event as { code?: number }).code}`));
    });
  });
  return client;
}

async function closeConnection(client: Client): Promise<void> {
  const closed = new Promise<void>((resolve) => client.on('closed', () => resolve()));
  await client.dispose();
  await Promise.race([
    closed,
    sleep(TIMEOUT).then(() => Promise.reject(new Error('socket did not close'))),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Raw graphql-transport-ws socket (to see close codes, and to speak as GraphiQL does)

interface ProtocolMessage {
  type: string;
  id?: string;
  payload?: unknown;
}

class RawSocket {
  readonly messages: ProtocolMessage[] = [];
  closeCode: number | undefined;
  closeReason = '';

  private constructor(readonly socket: WebSocket) {}

  static async open(): Promise<RawSocket> {
    const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    const raw = new RawSocket(socket);
    socket.on('message', (data) => {
      raw.messages.push(JSON.parse((data as Buffer).toString('utf8')) as ProtocolMessage);
    });
    socket.on('close', (code, reason) => {
      raw.closeCode = code;
      raw.closeReason = reason.toString('utf8');
    });
    cleanups.push(() => raw.close());
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return raw;
  }

  send(message: ProtocolMessage): void {
    this.socket.send(JSON.stringify(message));
  }

  ofType(type: string, id?: string): ProtocolMessage[] {
    return this.messages.filter((m) => m.type === type && (id === undefined || m.id === id));
  }

  /** Waits for the socket to be closed by the server, and returns the code. */
  closed(): Promise<number> {
    return waitFor(() => this.closeCode, 'the server to close the socket');
  }

  async close(): Promise<void> {
    if (this.closeCode !== undefined) return;
    this.socket.close(1000);
    await this.closed();
  }
}

// ---------------------------------------------------------------------------------------------
// Yoga SSE (POST with `accept: text/event-stream`)

interface SseStream<Data> {
  status: number;
  contentType: string | null;
  /** Every event seen, as `event` name and `data` text. */
  events: { event: string; data: string }[];
  /** The JSON of every `next` (or unnamed) event with data. */
  results: Result<Data>[];
  ended: boolean;
  close(): Promise<void>;
}

async function subscribeSse<Data>(
  query: string,
  variables: Record<string, unknown>,
  authorization?: string,
): Promise<SseStream<Data>> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT);
  const response = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(authorization ? { authorization } : {}),
    },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  clearTimeout(timer);

  let pump: Promise<void> = Promise.resolve();
  const stream: SseStream<Data> = {
    status: response.status,
    contentType: response.headers.get('content-type'),
    events: [],
    results: [],
    ended: false,
    async close() {
      controller.abort();
      await pump;
    },
  };
  cleanups.push(() => stream.close());

  const handleBlock = (block: string) => {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':') || line === '') continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      if (field === 'data') data.push(value);
    }
    if (data.length === 0 && event === 'message') return;
    const text = data.join('\n');
    stream.events.push({ event, data: text });
    if ((event === 'next' || event === 'message') && text) {
      stream.results.push(JSON.parse(text) as Result<Data>);
    }
  };

  const body = response.body;
  if (!body) {
    stream.ended = true;
    return stream;
  }
  const reader = body.getReader();
  const decoder = new TextDecoder();
  pump = (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          handleBlock(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      // Aborted by close().
    } finally {
      stream.ended = true;
    }
  })();
  return stream;
}

// ---------------------------------------------------------------------------------------------

/**
 * Sends probe messages until every subscriber has received one, so that whatever is sent next
 * cannot race the start of a subscription. Returns the probes' ids.
 */
async function untilLive(
  sender: TestUser,
  chatId: string,
  receivedIds: (() => string[])[],
): Promise<Set<string>> {
  const probes = new Set<string>();
  const live = () => receivedIds.every((ids) => ids().some((id) => probes.has(id)));
  const deadline = Date.now() + TIMEOUT;
  while (!live()) {
    if (Date.now() > deadline) throw new Error('subscriptions did not go live');
    probes.add(await sendMessage(server, sender, chatId, `probe ${probes.size}`));
    await waitFor(live, 'a probe', 200).catch(() => undefined);
  }
  // Probes still in flight arrive now, not among the messages under test.
  await sleep(100);
  return probes;
}

async function send(sender: TestUser, chatId: string, content: string, clientMessageId?: string) {
  const response = await server.gql<{ sendMessage: { id: string } }>(
    SEND,
    { chatId, content, clientMessageId },
    sender.token,
  );
  expect(response.errors).toBeUndefined();
  return response.data!.sendMessage.id;
}

const expected = (
  id: string,
  content: string,
  sender: TestUser,
  chatId: string,
  viewer: TestUser,
): AddedMessage => ({
  id,
  content,
  isOwn: sender.id === viewer.id,
  clientMessageId: null,
  sender: { id: sender.id, username: sender.username },
  chat: { id: chatId },
});

describe('messageAdded over graphql-ws (token in connection_init)', () => {
  it('delivers each message exactly once to both participants, in order, with isOwn per viewer', async () => {
    const { a, b, chatId } = await pair();
    const subA = subscribeWs<MessageAddedData>(
      wsClient({ authorization: bearer(a) }),
      MESSAGE_ADDED,
      { chatId },
    );
    const subB = subscribeWs<MessageAddedData>(
      wsClient({ authorization: bearer(b) }),
      MESSAGE_ADDED,
      { chatId },
    );
    const probes = await untilLive(a, chatId, [
      () => messagesOf(subA.results).map((m) => m.id),
      () => messagesOf(subB.results).map((m) => m.id),
    ]);

    const sent: { id: string; content: string; sender: TestUser }[] = [];
    for (const [sender, content] of [
      [a, 'hello from A'],
      [b, 'hi back from B'],
      [a, 'third, from A again'],
      [b, 'fourth ✓ with unicode'],
    ] as const) {
      sent.push({ id: await send(sender, chatId, content), content, sender });
    }

    for (const [sub, viewer] of [
      [subA, a],
      [subB, b],
    ] as const) {
      const underTest = () => messagesOf(sub.results).filter((m) => !probes.has(m.id));
      await waitFor(() => underTest().length >= sent.length, `${sent.length} messages`);
      await sleep(GRACE);
      expect(underTest()).toEqual(
        sent.map((m) => expected(m.id, m.content, m.sender, chatId, viewer)),
      );
      expect(sub.results.every((result) => result.errors === undefined)).toBe(true);
      expect(sub.errors).toEqual([]);
    }
  });

  it('broadcasts a message once even when the sender retries it with the same clientMessageId', async () => {
    const { a, b, chatId } = await pair();
    const subB = subscribeWs<MessageAddedData>(
      wsClient({ authorization: bearer(b) }),
      MESSAGE_ADDED,
      { chatId },
    );
    const probes = await untilLive(a, chatId, [() => messagesOf(subB.results).map((m) => m.id)]);

    const first = await send(a, chatId, 'only once', 'client-42');
    const retry = await send(a, chatId, 'only once', 'client-42');
    expect(retry).toBe(first);
    const marker = await send(a, chatId, 'marker');

    const underTest = () => messagesOf(subB.results).filter((m) => !probes.has(m.id));
    await waitFor(() => underTest().some((m) => m.id === marker), 'the marker');
    await sleep(GRACE);
    expect(underTest().map((m) => m.id)).toEqual([first, marker]);
    expect(underTest()[0]).toMatchObject({ clientMessageId: 'client-42', isOwn: false });
  });

  it('answers each device by its own viewer when results are shared per event', async () => {
    // Without `chat`, one execution per event and audience serves every socket: each device must
    // still see isOwn and the sender's private email exactly as its own user would.
    const WITHOUT_CHAT = /* GraphQL */ `
      subscription Own($chatId: ID!, $withContent: Boolean!) {
        messageAdded(chatId: $chatId) {
          id
          isOwn
          content @include(if: $withContent)
          sender {
            id
            email
          }
        }
      }
    `;
    type OwnData = {
      messageAdded: {
        id: string;
        isOwn: boolean;
        content?: string;
        sender: { email: string | null };
      };
    };
    const { a, b, chatId } = await pair();
    const devices = [a, a, b, b].map((viewer, index) => ({
      viewer,
      withContent: index % 2 === 0,
      sub: subscribeWs<OwnData>(wsClient({ authorization: bearer(viewer) }), WITHOUT_CHAT, {
        chatId,
        withContent: index % 2 === 0,
      }),
    }));
    const received = (device: (typeof devices)[number]) =>
      dataOf(device.sub.results).map((data) => data.messageAdded);
    const probes = await untilLive(
      a,
      chatId,
      devices.map((device) => () => received(device).map((m) => m.id)),
    );

    const fromA = await send(a, chatId, 'from A');
    const fromB = await send(b, chatId, 'from B');
    for (const device of devices) {
      const underTest = () => received(device).filter((m) => !probes.has(m.id));
      await waitFor(() => underTest().length >= 2, 'both messages');
      const own = device.viewer === a;
      const content = (text: string) => (device.withContent ? { content: text } : {});
      expect(underTest()).toEqual([
        {
          id: fromA,
          isOwn: own,
          ...content('from A'),
          sender: { id: a.id, email: own ? a.email : null },
        },
        {
          id: fromB,
          isOwn: !own,
          ...content('from B'),
          sender: { id: b.id, email: own ? null : b.email },
        },
      ]);
    }
  });

  it('masks an error in a delivered result and goes on delivering', async () => {
    // A stored message whose sender no longer exists fails to resolve `sender`: the client gets
    // the masked error in that result, never the server's message, and later messages still come.
    const { a, b, chatId } = await pair();
    const first = await send(a, chatId, 'before the gap');
    const cursor = await server.gql<{ chat: { messages: { edges: { cursor: string }[] } } }>(
      'query ($c: ID!) { chat(id: $c) { messages(last: 1) { edges { cursor } } } }',
      { c: chatId },
      b.token,
    );
    const after = cursor.data!.chat.messages.edges[0]!.cursor;
    // Stored in the timeline right after `first` (the chat's event 1).
    const orphan = {
      message_id: `orphan-${first}`,
      chat_id: chatId,
      sender_id: 'no-such-user',
      content: 'sender gone',
      timestamp: new Date(),
      message_type: 'text' as const,
      seq: 2,
    };
    await server.service.app.db.events.insertOne({
      _id: `${chatId}:2`,
      chat_id: chatId,
      seq: 2,
      window: windowsOf(2),
      type: 'message',
      at: new Date(),
      message: orphan,
    });
    const sub = subscribeWs<{ messageAdded: { id: string; sender: { id: string } } }>(
      wsClient({ authorization: bearer(b) }),
      /* GraphQL */ `
        subscription ($chatId: ID!, $after: String) {
          messageAdded(chatId: $chatId, after: $after) {
            id
            sender {
              id
            }
          }
        }
      `,
      { chatId, after },
    );
    await waitFor(() => sub.results.length >= 1, 'the replayed message');
    const later = await send(a, chatId, 'after the gap');
    await waitFor(
      () => sub.results.some((result) => result.data?.messageAdded.id === later),
      'the live message',
    );
    expect(sub.results[0]).toEqual({
      data: null,
      errors: [
        expect.objectContaining({
          message: 'Unexpected error.',
          path: ['messageAdded', 'sender'],
          extensions: expect.objectContaining({ code: 'INTERNAL_SERVER_ERROR' }),
        }),
      ],
    });
    expect(JSON.stringify(sub.results[0])).not.toContain('no-such-user');
    expect(sub.errors).toEqual([]);
  });

  it('accepts the connection_init header name in any case', async () => {
    const { a, b, chatId } = await pair();
    const subB = subscribeWs<MessageAddedData>(
      wsClient({ Authorization: bearer(b) }),
      MESSAGE_ADDED,
      { chatId },
    );
    const probes = await untilLive(a, chatId, [() => messagesOf(subB.results).map((m) => m.id)]);
    const id = await send(a, chatId, 'capital A');
    await waitFor(() => messagesOf(subB.results).find((m) => m.id === id), 'the message to arrive');
    expect(messagesOf(subB.results).filter((m) => !probes.has(m.id))).toEqual([
      expected(id, 'capital A', a, chatId, b),
    ]);
  });
});

describe('refused subscriptions', () => {
  it('gives a non-participant FORBIDDEN and never any data', async () => {
    const { a, chatId } = await pair();
    const outsider = await registerUser(server);
    const sub = subscribeWs<MessageAddedData>(
      wsClient({ authorization: bearer(outsider) }),
      MESSAGE_ADDED,
      { chatId },
    );
    await waitFor(
      () => errorCodes(sub.errors, sub.results).length > 0,
      'the subscription to be refused',
    );
    expect(errorCodes(sub.errors, sub.results)).toContain('FORBIDDEN');

    // Whatever the chat says afterwards never reaches the outsider.
    await send(a, chatId, 'not for outsiders');
    await sleep(GRACE);
    expect(sub.results.filter((result) => result.data != null)).toEqual([]);
    expect(JSON.stringify([sub.results, sub.errors])).not.toContain('not for outsiders');
  });

  it('gives a subscription without any token UNAUTHENTICATED and never any data', async () => {
    const { a, chatId } = await pair();
    const sub = subscribeWs<MessageAddedData>(wsClient(), MESSAGE_ADDED, { chatId });
    await waitFor(
      () => errorCodes(sub.errors, sub.results).length > 0,
      'the subscription to be refused',
    );
    expect(errorCodes(sub.errors, sub.results)).toContain('UNAUTHENTICATED');
    await send(a, chatId, 'not for strangers');
    await sleep(GRACE);
    expect(sub.results.filter((result) => result.data != null)).toEqual([]);
  });

  it('gives a presence subscription without any token UNAUTHENTICATED', async () => {
    const { a } = await pair();
    const sub = subscribeWs<PresenceData>(wsClient(), PRESENCE_CHANGED, { userIds: [a.id] });
    await waitFor(
      () => errorCodes(sub.errors, sub.results).length > 0,
      'the subscription to be refused',
    );
    expect(errorCodes(sub.errors, sub.results)).toContain('UNAUTHENTICATED');
    expect(sub.results.filter((result) => result.data != null)).toEqual([]);
  });
});

describe('connection_init tokens', () => {
  const badTokens: [string, () => Promise<string>][] = [
    ['garbage', async () => 'Bearer garbage'],
    [
      'forged signature',
      async () => {
        const user = await registerUser(server);
        const [header, payload] = user.token.split('.');
        return `Bearer ${header}.${payload}.AAAA`;
      },
    ],
    [
      'signed with another secret',
      async () => {
        const user = await registerUser(server);
        return `Bearer ${await legacyToken(user.username, `${TEST_SECRET}-not`)}`;
      },
    ],
    [
      'expired',
      async () => {
        const user = await registerUser(server);
        return `Bearer ${await legacyToken(user.username, TEST_SECRET, -60)}`;
      },
    ],
    [
      'revoked by logout',
      async () => {
        const user = await registerUser(server);
        const logout = await server.gql('mutation { logout }', {}, user.token);
        expect(logout.errors).toBeUndefined();
        return bearer(user);
      },
    ],
    ['not a bearer token', async () => 'Basic dXNlcjpwYXNz'],
  ];

  it.each(badTokens)('closes the socket with 4403 for a %s token', async (_name, make) => {
    const authorization = await make();
    const raw = await RawSocket.open();
    raw.send({ type: 'connection_init', payload: { authorization } });
    expect(await raw.closed()).toBe(4403);
    expect(raw.ofType('connection_ack')).toEqual([]);
  });

  it('acknowledges a connection without any token', async () => {
    for (const payload of [undefined, {}]) {
      const raw = await RawSocket.open();
      raw.send({ type: 'connection_init', ...(payload ? { payload } : {}) });
      await waitFor(() => raw.ofType('connection_ack').length > 0, 'connection_ack');
      expect(raw.closeCode).toBeUndefined();
      await raw.close();
    }
  });
});

describe('GraphiQL style: empty connection_init, token in each subscribe', () => {
  it.each([
    ['Authorization', undefined],
    ['authorization', {}],
  ])(
    'delivers messages with the token in extensions.headers.%s',
    async (headerName, initPayload) => {
      const { a, b, chatId } = await pair();
      const raw = await RawSocket.open();
      raw.send({ type: 'connection_init', ...(initPayload ? { payload: initPayload } : {}) });
      await waitFor(() => raw.ofType('connection_ack').length > 0, 'connection_ack');
      raw.send({
        id: 'graphiql-1',
        type: 'subscribe',
        payload: {
          query: MESSAGE_ADDED,
          variables: { chatId },
          operationName: 'MessageAdded',
          extensions: { headers: { [headerName]: bearer(b) } },
        },
      });
      const received = () =>
        messagesOf(
          raw.ofType('next', 'graphiql-1').map((m) => m.payload as Result<MessageAddedData>),
        );
      const probes = await untilLive(a, chatId, [() => received().map((m) => m.id)]);

      const first = await send(a, chatId, 'from A to GraphiQL');
      const second = await send(b, chatId, 'from GraphiQL user');
      await waitFor(() => received().some((m) => m.id === second), 'both messages');
      await sleep(GRACE);
      expect(received().filter((m) => !probes.has(m.id))).toEqual([
        expected(first, 'from A to GraphiQL', a, chatId, b),
        expected(second, 'from GraphiQL user', b, chatId, b),
      ]);
      expect(raw.ofType('error')).toEqual([]);
      expect(raw.closeCode).toBeUndefined();

      // After complete, nothing more arrives under that id, and the socket stays open.
      raw.send({ id: 'graphiql-1', type: 'complete' });
      await sleep(100);
      const delivered = raw.ofType('next', 'graphiql-1').length;
      await send(a, chatId, 'after complete');
      await sleep(GRACE);
      expect(raw.ofType('next', 'graphiql-1')).toHaveLength(delivered);
      expect(raw.closeCode).toBeUndefined();
      await raw.close();
    },
  );

  it('refuses an operation whose per-subscribe token is bad, and sends it no data', async () => {
    const { a, chatId } = await pair();
    const raw = await RawSocket.open();
    raw.send({ type: 'connection_init', payload: {} });
    await waitFor(() => raw.ofType('connection_ack').length > 0, 'connection_ack');
    raw.send({
      id: 'bad',
      type: 'subscribe',
      payload: {
        query: MESSAGE_ADDED,
        variables: { chatId },
        extensions: { headers: { Authorization: 'Bearer garbage' } },
      },
    });
    const codes = () =>
      errorCodes(
        raw.ofType('error', 'bad').map((m) => m.payload),
        raw.ofType('next', 'bad').map((m) => m.payload as Result<unknown>),
      );
    await waitFor(() => codes().length > 0 || raw.closeCode === 4403, 'an error or a 4403 close');
    if (raw.closeCode === undefined) expect(codes()).toContain('UNAUTHENTICATED');
    await send(a, chatId, 'not for a bad token');
    await sleep(GRACE);
    expect(
      raw.ofType('next', 'bad').filter((m) => (m.payload as Result<unknown>).data != null),
    ).toEqual([]);
  });
});

describe('presenceChanged over graphql-ws', () => {
  it('reports a user online with their first connection and offline when the last one closes', async () => {
    const { a, b } = await pair();
    const authA = { authorization: bearer(a) };
    const watcher = wsClient({ authorization: bearer(b) });
    const byId = subscribeWs<PresenceData>(watcher, PRESENCE_CHANGED, { userIds: [a.id] });
    const byContacts = subscribeWs<PresenceData>(watcher, PRESENCE_CHANGED, {});
    const subs = [byId, byContacts];
    const eventsOf = (sub: WsSubscription<PresenceData>) =>
      dataOf(sub.results).map((data) => data.presenceChanged);

    // A is online since registering. Connect and disconnect A until both subscriptions have
    // seen A change, so they are live; A ends offline.
    const live = () => subs.every((sub) => eventsOf(sub).length > 0);
    const deadline = Date.now() + TIMEOUT;
    while (!live()) {
      if (Date.now() > deadline) throw new Error('presence subscriptions did not go live');
      const probe = await openConnection(authA);
      await waitFor(async () => (await isOnlineInDb(a)) === true, 'A online in the database');
      await closeConnection(probe);
      await waitFor(async () => (await isOnlineInDb(a)) === false, 'A offline in the database');
      await waitFor(live, 'a presence event', 200).catch(() => undefined);
    }
    await server.service.app.presence.settled();
    await sleep(GRACE);
    expect(await isOnlineInDb(a)).toBe(false);
    const seen = subs.map((sub) => eventsOf(sub).length);
    const newEvents = () => subs.map((sub, index) => eventsOf(sub).slice(seen[index]));
    const online = { id: a.id, username: a.username, isOnline: true };
    const offline = { ...online, isOnline: false };

    // First connection: online, once, on both subscriptions, and in the database.
    const first = await openConnection(authA);
    await waitFor(() => newEvents().every((events) => events.length > 0), 'the online event');
    await waitFor(async () => (await isOnlineInDb(a)) === true, 'A online in the database');
    const second = await openConnection(authA);
    await sleep(GRACE);
    expect(newEvents()).toEqual([[online], [online]]);

    // Closing one of two connections changes nothing.
    await closeConnection(first);
    await sleep(GRACE);
    await server.service.app.presence.settled();
    expect(await isOnlineInDb(a)).toBe(true);
    expect(newEvents()).toEqual([[online], [online]]);

    // Closing the last one: offline, once.
    await closeConnection(second);
    await waitFor(() => newEvents().every((events) => events.length > 1), 'the offline event');
    await waitFor(async () => (await isOnlineInDb(a)) === false, 'A offline in the database');
    await sleep(GRACE);
    expect(newEvents()).toEqual([
      [online, offline],
      [online, offline],
    ]);
    for (const sub of subs) {
      expect(sub.errors).toEqual([]);
      expect(sub.results.every((result) => result.errors === undefined)).toBe(true);
    }
  });
});

describe('messageAdded over SSE', () => {
  it('streams new messages to a participant with a bearer token', async () => {
    const { a, b, chatId } = await pair();
    const streamB = await subscribeSse<MessageAddedData>(MESSAGE_ADDED, { chatId }, bearer(b));
    const streamA = await subscribeSse<MessageAddedData>(MESSAGE_ADDED, { chatId }, bearer(a));
    for (const stream of [streamA, streamB]) {
      expect(stream.status).toBe(200);
      expect(stream.contentType).toMatch(/^text\/event-stream/);
    }
    const probes = await untilLive(a, chatId, [
      () => messagesOf(streamA.results).map((m) => m.id),
      () => messagesOf(streamB.results).map((m) => m.id),
    ]);

    const first = await send(a, chatId, 'over SSE');
    const second = await send(b, chatId, 'and back');
    for (const [stream, viewer] of [
      [streamA, a],
      [streamB, b],
    ] as const) {
      const underTest = () => messagesOf(stream.results).filter((m) => !probes.has(m.id));
      await waitFor(() => underTest().length >= 2, 'both messages');
      await sleep(GRACE);
      expect(underTest()).toEqual([
        expected(first, 'over SSE', a, chatId, viewer),
        expected(second, 'and back', b, chatId, viewer),
      ]);
      expect(stream.results.every((result) => result.errors === undefined)).toBe(true);
      expect(stream.ended).toBe(false);
    }
    await streamA.close();
    await streamB.close();
    expect(streamA.ended && streamB.ended).toBe(true);
  });

  it('keeps its user online while the stream is open and ends it when the client goes away', async () => {
    const { a, b, chatId } = await pair();
    const stream = await subscribeSse<MessageAddedData>(MESSAGE_ADDED, { chatId }, bearer(b));
    await untilLive(a, chatId, [() => messagesOf(stream.results).map((m) => m.id)]);
    await server.service.app.presence.settled();
    expect(await isOnlineInDb(b)).toBe(true);

    await stream.close();
    await waitFor(async () => (await isOnlineInDb(b)) === false, 'B offline in the database');
  });

  it('refuses a non-participant (FORBIDDEN) and a caller without a token (UNAUTHENTICATED)', async () => {
    const { a, chatId } = await pair();
    const outsider = await registerUser(server);
    const cases = [
      { authorization: bearer(outsider), code: 'FORBIDDEN' },
      { authorization: undefined, code: 'UNAUTHENTICATED' },
    ];
    const streams = await Promise.all(
      cases.map((c) => subscribeSse<MessageAddedData>(MESSAGE_ADDED, { chatId }, c.authorization)),
    );
    for (const [index, stream] of streams.entries()) {
      await waitFor(
        () => stream.results.some((result) => result.errors) || stream.ended,
        'the refusal',
      );
      expect(errorCodes([], stream.results)).toContain(cases[index]!.code);
    }
    await send(a, chatId, 'secret');
    await sleep(GRACE);
    for (const stream of streams) {
      expect(stream.results.filter((result) => result.data != null)).toEqual([]);
      expect(JSON.stringify(stream.events)).not.toContain('secret');
    }
  });
});

describe('one message, every transport', () => {
  it('reaches a graphql-ws subscriber and an SSE subscriber exactly once each', async () => {
    const { a, b, chatId } = await pair();
    const ws = subscribeWs<MessageAddedData>(
      wsClient({ authorization: bearer(a) }),
      MESSAGE_ADDED,
      { chatId },
    );
    const sse = await subscribeSse<MessageAddedData>(MESSAGE_ADDED, { chatId }, bearer(b));
    const probes = await untilLive(b, chatId, [
      () => messagesOf(ws.results).map((m) => m.id),
      () => messagesOf(sse.results).map((m) => m.id),
    ]);

    const id = await send(a, chatId, 'one message, two transports');
    await waitFor(
      () =>
        messagesOf(ws.results).some((m) => m.id === id) &&
        messagesOf(sse.results).some((m) => m.id === id),
      'the message on both transports',
    );
    await sleep(GRACE);
    expect(messagesOf(ws.results).filter((m) => !probes.has(m.id))).toEqual([
      expected(id, 'one message, two transports', a, chatId, a),
    ]);
    expect(messagesOf(sse.results).filter((m) => !probes.has(m.id))).toEqual([
      expected(id, 'one message, two transports', a, chatId, b),
    ]);

    const history = await server.gql<{
      chat: { messages: { edges: { node: { id: string } }[] } };
    }>(
      /* GraphQL */ `
        query History($chatId: ID!) {
          chat(id: $chatId) {
            messages(last: 1) {
              edges {
                node {
                  id
                }
              }
            }
          }
        }
      `,
      { chatId },
      b.token,
    );
    expect(history.data?.chat.messages.edges.map((edge) => edge.node.id)).toEqual([id]);
    await sse.close();
  });
});
