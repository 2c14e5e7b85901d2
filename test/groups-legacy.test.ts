/**
 * The legacy API (REST, `/ws`, `/sse`) with group chats in the database (issue 14): it knows
 * one-to-one chats only and keeps serving them byte for byte as before; no group ever reaches an
 * old client, which would crash on a chat without `other_user`. The old React client's own calls
 * (its SSE build, HEAD of Bhavya251/zerohour-react, and its WebSocket build, 1ebe838) are
 * replayed as it makes them, for users who are also in groups.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  addMembers,
  createGroup,
  messagesAs,
  ok,
  removeMember,
  renameChat,
  sendOk,
  type Caller,
} from './support/groups.js';
import {
  CHAT_KEYS,
  CHAT_LIST_ITEM_KEYS,
  legacyChat,
  legacyUser,
  USER_SUMMARY_KEYS,
} from './support/legacy.js';
import { startTestServer, type TestServer } from './support/server.js';
import { openEventStream, type SseEvent } from './support/sse.js';
import { createChat, registerUser, type TestUser } from './support/users.js';
import { cleanupAfterEach, sleep, waitFor, withTimeout } from './support/wait.js';

/** How long to keep listening for something that must not arrive. */
const GRACE = 500;

type Json = Record<string, unknown>;

const ACCESS_DENIED = '{"detail":"Access denied"}';
const CHAT_NOT_FOUND = '{"detail":"Chat not found"}';
const WS_CHAT_NOT_FOUND = { type: 'error', detail: 'Chat not found' };

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const cleanups = cleanupAfterEach();

const users = (count: number, target: TestServer = server): Promise<TestUser[]> =>
  Promise.all(Array.from({ length: count }, () => registerUser(target)));

/** Untyped access to the collections the old server wrote (chats and users as it stored them). */
const raw = (name: 'users' | 'chats' | 'messages') => server.service.app.db.db.collection(name);

// --- plain HTTP, as the old clients call it ------------------------------------------------------

interface Reply {
  status: number;
  text: string;
  json: unknown;
}

/** What axios (the React client's HTTP library) sends: its Accept header, a JSON body if any. */
async function call(
  target: TestServer,
  path: string,
  options: { method?: string; token?: string; body?: unknown } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { accept: 'application/json, text/plain, */*' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${target.url}${path}`, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').includes('json') && text;
  return { status: response.status, text, json: json ? JSON.parse(text) : undefined };
}

function expectKeys(value: unknown, keys: string[]): void {
  expect(value).toBeTypeOf('object');
  expect(Object.keys(value as object)).toEqual(keys);
}

interface ChatListItem {
  chat_id: string;
  other_user: Json;
  last_message: string | null;
  last_message_time: string | null;
  created_at: string;
}

/** Asserts the old shape of `GET /api/chats`: every item a one-to-one chat with its other_user. */
function expectOldChatList(reply: Reply): ChatListItem[] {
  expect(reply.status, reply.text).toBe(200);
  const list = reply.json as ChatListItem[];
  expect(Array.isArray(list)).toBe(true);
  for (const item of list) {
    expectKeys(item, CHAT_LIST_ITEM_KEYS);
    expectKeys(item.other_user, USER_SUMMARY_KEYS);
  }
  return list;
}

// --- legacy realtime clients -------------------------------------------------------------------

interface LegacySocket {
  frames: Json[];
  raw: string[];
  send(frame: unknown): void;
}

/** The legacy WebSocket of `user`: with `?token=` by default, as the old client did without. */
async function openLegacyWs(
  target: TestServer,
  user: Caller,
  { token = true } = {},
): Promise<LegacySocket> {
  const url = new URL(`/ws/${user.id}`, target.url.replace(/^http/, 'ws'));
  if (token) url.searchParams.set('token', user.token);
  const socket = new WebSocket(url);
  const client: LegacySocket = {
    frames: [],
    raw: [],
    send: (frame) => socket.send(JSON.stringify(frame)),
  };
  socket.on('message', (data) => {
    client.raw.push(String(data));
    client.frames.push(JSON.parse(String(data)) as Json);
  });
  const closed = new Promise((resolve) => socket.once('close', resolve));
  cleanups.push(async () => {
    if (socket.readyState !== WebSocket.CLOSED) socket.close();
    await withTimeout(closed, 'WebSocket close');
  });
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    }),
    'WebSocket open',
  );
  return client;
}

interface LegacyStream {
  events: SseEvent[];
  /** The parsed `data` of every event. */
  payloads(): Json[];
  close(): Promise<void>;
}

/** The legacy SSE stream of `user`, as EventSource opens it (with `?token=` unless told not to). */
async function openLegacySse(
  target: TestServer,
  user: Caller,
  { token = true, lastEventId }: { token?: boolean; lastEventId?: string } = {},
): Promise<LegacyStream> {
  const events: SseEvent[] = [];
  const query = token ? `?token=${encodeURIComponent(user.token)}` : '';
  const close = await openEventStream(
    `${target.url}/sse/${user.id}${query}`,
    {
      headers: {
        accept: 'text/event-stream',
        'cache-control': 'no-cache',
        ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
      },
    },
    (event) => events.push(event),
    // A broken stream shows as messages missing.
    () => undefined,
  );
  cleanups.push(close);
  return {
    events,
    payloads: () => events.map((event) => JSON.parse(event.data) as Json),
    close,
  };
}

/** The message payloads (frames or SSE data) that carry a message. */
const messagesOf = (items: Json[]) => items.filter((item) => 'message_id' in item);
const messageIdsOf = (items: Json[]) => messagesOf(items).map((item) => item.message_id);

/** Sends probes in a one-to-one chat until every listener has one; returns the probes' ids. */
async function untilLive(listeners: (() => Json[])[], probe: () => Promise<string>) {
  const probes: string[] = [];
  const deadline = Date.now() + 5000;
  for (;;) {
    const id = await probe();
    probes.push(id);
    const live = () => listeners.every((items) => messageIdsOf(items()).includes(id));
    const seen = await waitFor(live, 'a probe', 500).then(
      () => true,
      () => false,
    );
    if (seen) return probes;
    if (Date.now() > deadline) throw new Error('legacy listeners not live');
  }
}

/** Stores nothing: no message with this content anywhere. */
const storedWith = (content: string) => raw('messages').countDocuments({ content });

// ---------------------------------------------------------------------------------------------

describe('GET /api/chats and /api/chats/ with groups in the database', () => {
  it('list only the one-to-one chats, byte for byte as before the groups, though the groups are fresher', async () => {
    const [me, a, b, c] = await users(4);
    const withA = await createChat(server, me!, a!);
    await sendOk(server, a!, withA, 'direct hello');
    const withB = await createChat(server, b!, me!);
    const read = async () => ({
      slash: await call(server, '/api/chats/', { token: me!.token }),
      plain: await call(server, '/api/chats', { token: me!.token }),
      a: await call(server, '/api/chats', { token: a!.token }),
      c: await call(server, '/api/chats', { token: c!.token }),
    });
    const before = await read();
    expect(new Set(expectOldChatList(before.plain).map((chat) => chat.chat_id))).toEqual(
      new Set([withA, withB]),
    );
    expect(before.c.text).toBe('[]');

    // Groups `me` owns or belongs to, with newer activity than any one-to-one chat.
    const mine = await createGroup(server, me!, [a!, b!], 'Mine');
    const theirs = await createGroup(server, c!, [me!, a!], 'Theirs');
    await sendOk(server, a!, mine.id, 'group news');
    await sendOk(server, c!, theirs.id, 'more group news');
    await ok(renameChat(server, me!, mine.id, 'Renamed'));

    const after = await read();
    for (const name of ['slash', 'plain', 'a', 'c'] as const) {
      expect(after[name].status, name).toBe(200);
      expect(after[name].text, name).toBe(before[name].text);
    }
    expect(after.slash.text).toBe(after.plain.text);
    for (const group of [mine.id, theirs.id]) expect(after.plain.text).not.toContain(group);
  });

  it('never lists a group, even among more than 100 chats: the newest 100 one-to-one chats', async () => {
    const [me, a, b] = await users(3);
    const others = Array.from({ length: 101 }, () => legacyUser());
    await raw('users').insertMany(others);
    const base = Date.UTC(2024, 0, 1);
    const chats = others.map((other, index) =>
      legacyChat([me!.id, other.user_id], new Date(base + index * 60_000)),
    );
    await raw('chats').insertMany(chats);
    // Groups far fresher than all of them.
    const groups = [
      await createGroup(server, me!, [a!], 'Fresh 1'),
      await createGroup(server, a!, [me!, b!], 'Fresh 2'),
    ];
    await sendOk(server, a!, groups[1]!.id, 'fresh');

    const list = expectOldChatList(await call(server, '/api/chats', { token: me!.token }));
    expect(list.map((chat) => chat.chat_id)).toEqual(
      chats
        .slice(1)
        .reverse()
        .map((chat) => chat.chat_id),
    );
  });
});

describe('a group through the legacy REST API', () => {
  it('GET /api/chats/{group}/messages answers 403 {"detail":"Access denied"} to its members', async () => {
    const [owner, member] = await users(2);
    const group = await createGroup(server, owner!, [member!]);
    await sendOk(server, member!, group.id, 'in the group');
    for (const user of [owner!, member!]) {
      for (const query of ['', '?limit=10']) {
        const reply = await call(server, `/api/chats/${group.id}/messages${query}`, {
          token: user.token,
        });
        expect({ status: reply.status, text: reply.text }).toEqual({
          status: 403,
          text: ACCESS_DENIED,
        });
      }
    }
  });

  it('POST /api/send/{user_id} with a group chat_id answers 404 {"detail":"Chat not found"} and stores nothing', async () => {
    const [owner, member] = await users(2);
    const group = await createGroup(server, owner!, [member!]);
    const content = `rest into a group ${randomUUID()}`;
    for (const user of [owner!, member!]) {
      const reply = await call(server, `/api/send/${user.id}`, {
        token: user.token,
        body: { chat_id: group.id, content },
      });
      expect({ status: reply.status, text: reply.text }).toEqual({
        status: 404,
        text: CHAT_NOT_FOUND,
      });
    }
    expect(await storedWith(content)).toBe(0);
    expect(await messagesAs(server, owner!, group.id)).toHaveLength(1);
  });

  it('POST /api/chats/create for two users who share a group opens their one-to-one chat, not the group', async () => {
    const [owner, member] = await users(2);
    const group = await createGroup(server, owner!, [member!], 'Two of us');
    const reply = await call(server, `/api/chats/create?other_user_id=${member!.id}`, {
      method: 'POST',
      token: owner!.token,
    });
    expect(reply.status, reply.text).toBe(200);
    expectKeys(reply.json, CHAT_KEYS);
    const chat = reply.json as { chat_id: string; participants: string[] };
    expect(chat.chat_id).not.toBe(group.id);
    expect([...chat.participants].sort()).toEqual([owner!.id, member!.id].sort());

    const history = await call(server, `/api/chats/${chat.chat_id}/messages`, {
      token: member!.token,
    });
    expect({ status: history.status, text: history.text }).toEqual({ status: 200, text: '[]' });
    const list = expectOldChatList(await call(server, '/api/chats', { token: member!.token }));
    expect(list.map((item) => [item.chat_id, item.other_user.user_id])).toEqual([
      [chat.chat_id, owner!.id],
    ]);
  });
});

describe('a group through the legacy realtime endpoints', () => {
  it('a /ws frame for a group answers {"type":"error","detail":"Chat not found"}, stores nothing, and the socket goes on', async () => {
    const [owner, member] = await users(2);
    const direct = await createChat(server, owner!, member!);
    const group = await createGroup(server, owner!, [member!]);
    const socket = await openLegacyWs(server, member!);
    const content = `ws into a group ${randomUUID()}`;

    socket.send({ chat_id: group.id, content });
    const error = await waitFor(
      () => socket.frames.find((frame) => frame.type === 'error'),
      'the error frame',
    );
    expect(error).toEqual(WS_CHAT_NOT_FOUND);
    expect(socket.raw.find((frame) => frame.includes('"error"'))).toBe(
      JSON.stringify(WS_CHAT_NOT_FOUND),
    );
    expect(await storedWith(content)).toBe(0);
    expect(await messagesAs(server, owner!, group.id)).toHaveLength(1);

    // The socket still serves the one-to-one chat.
    socket.send({ chat_id: direct, content: 'one-to-one over ws' });
    const delivered = await waitFor(
      () => socket.frames.find((frame) => frame.content === 'one-to-one over ws'),
      'the one-to-one message',
    );
    expect(delivered).toMatchObject({ chat_id: direct, sender: { user_id: member!.id } });
    expect(socket.frames.filter((frame) => frame.type === 'error')).toHaveLength(1);
  });

  it('legacy WS and SSE connections of a group member never receive the group’s messages or changes', async () => {
    const [owner, member, friend, newcomer] = await users(4);
    const direct = await createChat(server, friend!, member!);
    const group = await createGroup(server, owner!, [member!, friend!], 'Quiet group');
    const socket = await openLegacyWs(server, member!);
    const stream = await openLegacySse(server, member!);
    const listeners = [() => socket.frames, () => stream.payloads()];
    const probes = await untilLive(
      listeners,
      async () => (await sendOk(server, friend!, direct, 'probe')).id,
    );

    // Everything that can happen in a group, including what the member does there.
    await sendOk(server, owner!, group.id, 'group text from the owner');
    await sendOk(server, member!, group.id, 'group text from the member');
    await ok(renameChat(server, owner!, group.id, 'Renamed quietly'));
    await ok(addMembers(server, owner!, group.id, [newcomer!]));
    await ok(removeMember(server, owner!, group.id, newcomer!));
    await sendOk(server, friend!, group.id, 'group text from the friend');

    // A one-to-one message after it all arrives; the group's never do.
    const fence = (await sendOk(server, friend!, direct, 'fence')).id;
    for (const items of listeners) {
      await waitFor(() => messageIdsOf(items()).includes(fence), 'the fence');
    }
    await sleep(GRACE);
    for (const items of listeners) {
      expect(messageIdsOf(items())).toEqual([...probes, fence]);
      expect(items().every((item) => item.chat_id === undefined || item.chat_id === direct)).toBe(
        true,
      );
      expect(JSON.stringify(items())).not.toContain(group.id);
    }
    expect(socket.frames.filter((frame) => frame.type === 'error')).toEqual([]);
  });

  it('an SSE reconnect with Last-Event-ID replays the one-to-one messages missed, never the group’s', async () => {
    const [owner, member, friend] = await users(3);
    const direct = await createChat(server, friend!, member!);
    const group = await createGroup(server, owner!, [member!, friend!]);
    const first = await openLegacySse(server, member!);
    const [seen] = await untilLive(
      [() => first.payloads()],
      async () => (await sendOk(server, friend!, direct, 'seen')).id,
    );
    const lastEventId = first.events.find((event) => event.data.includes(seen!))!.id!;
    expect(lastEventId).toBeTruthy();
    await first.close();

    await sendOk(server, owner!, group.id, 'group while away');
    const missed = (await sendOk(server, friend!, direct, 'missed')).id;
    await sendOk(server, member!, group.id, 'group while away, again');

    const again = await openLegacySse(server, member!, { lastEventId });
    await waitFor(() => messageIdsOf(again.payloads()).includes(missed), 'the replay');
    const live = (await sendOk(server, friend!, direct, 'live')).id;
    await waitFor(() => messageIdsOf(again.payloads()).includes(live), 'the live message');
    await sleep(GRACE);
    expect(messageIdsOf(again.payloads())).toEqual([missed, live]);
    expect(JSON.stringify(again.events)).not.toContain(group.id);
  });
});

// --- the old React client --------------------------------------------------------------------

describe('the old React client, its calls unmodified (LEGACY_REALTIME_AUTH=off), for users also in groups', () => {
  let open: TestServer;
  beforeAll(async () => {
    open = await startTestServer({ LEGACY_REALTIME_AUTH: 'off' });
  });
  afterAll(() => open?.stop());

  interface ReactUser extends Caller {
    username: string;
    password: string;
  }

  /** RegisterPage → AuthContext.register: axios.post(`${API}/auth/register`, registerData). */
  async function register(firstName: string): Promise<ReactUser> {
    const suffix = randomUUID().slice(0, 8);
    const body = {
      first_name: firstName,
      last_name: `React${suffix}`,
      mobile_no: '9876543210',
      email: `react-${suffix}@example.com`,
      username: `react_${suffix}`,
      password: `pw-${suffix}`,
      security_phrase: 'my first pet',
    };
    const reply = await call(open, '/api/auth/register', { body });
    expect(reply.status, reply.text).toBe(200);
    const { access_token, user_data } = reply.json as {
      access_token: string;
      user_data: { user_id: string };
    };
    return {
      id: user_data.user_id,
      token: access_token,
      username: body.username,
      password: body.password,
    };
  }

  /** LoginPage → AuthContext.login: axios.post(`${API}/auth/login`, {username, password}). */
  async function login(user: ReactUser): Promise<ReactUser> {
    const reply = await call(open, '/api/auth/login', {
      body: { username: user.username, password: user.password },
    });
    expect(reply.status, reply.text).toBe(200);
    const { access_token, user_data } = reply.json as {
      access_token: string;
      user_data: { user_id: string };
    };
    expect(user_data.user_id).toBe(user.id);
    return { ...user, token: access_token };
  }

  /** Three users; the first two also share busy groups with the third (fresher than anything). */
  async function usersInGroups() {
    const [alice, bob, carol] = [
      await register('Alice'),
      await register('Bob'),
      await register('Carol'),
    ];
    const groups = [
      await createGroup(open, carol, [alice, bob], 'Book club'),
      await createGroup(open, alice, [carol], 'Alice’s group'),
    ];
    await sendOk(open, carol, groups[0]!.id, 'group chatter');
    await sendOk(open, alice, groups[1]!.id, 'more group chatter');
    return { alice, bob, carol, groups };
  }

  /** DashboardPage.fetchChats: axios.get(`${API}/chats`); it renders chat.other_user's fields. */
  async function dashboardChats(user: ReactUser) {
    const list = expectOldChatList(await call(open, '/api/chats', { token: user.token }));
    for (const chat of list) {
      expect(chat.other_user).toEqual({
        user_id: expect.any(String),
        username: expect.any(String),
        first_name: expect.any(String),
        last_name: expect.any(String),
        is_online: expect.any(Boolean),
      });
    }
    return list;
  }

  /** DashboardPage.searchUsers then createChat(otherUserId): the chat id the client navigates to. */
  async function startChat(user: ReactUser, other: ReactUser): Promise<string> {
    const search = await call(
      open,
      `/api/users/search?query=${encodeURIComponent(other.username)}`,
      { token: user.token },
    );
    expect(search.status, search.text).toBe(200);
    expect((search.json as { user_id: string }[]).map((found) => found.user_id)).toEqual([
      other.id,
    ]);
    // axios.post with no data: no body, no Content-Type.
    const created = await call(open, `/api/chats/create?other_user_id=${other.id}`, {
      method: 'POST',
      token: user.token,
    });
    expect(created.status, created.text).toBe(200);
    expectKeys(created.json, CHAT_KEYS);
    return (created.json as { chat_id: string }).chat_id;
  }

  /** ChatPage.fetchMessages: axios.get(`${API}/chats/${chatId}/messages`). */
  async function chatHistory(user: ReactUser, chatId: string) {
    const reply = await call(open, `/api/chats/${chatId}/messages`, { token: user.token });
    expect(reply.status, reply.text).toBe(200);
    return reply.json as {
      message_id: string;
      sender: { user_id: string };
      is_own_message: boolean;
    }[];
  }

  it('SSE build: login, chat list, search, create, history, send with /api/send, receive on /sse', async () => {
    const { alice: registeredAlice, bob: registeredBob, carol, groups } = await usersInGroups();
    const [alice, bob] = [await login(registeredAlice), await login(registeredBob)];
    // useSSE(user.user_id): new EventSource(`${BACKEND_URL}/sse/${userId}`), no token.
    const aliceSse = await openLegacySse(open, alice, { token: false });
    const bobSse = await openLegacySse(open, bob, { token: false });
    for (const stream of [aliceSse, bobSse]) {
      await waitFor(
        () => stream.payloads().some((payload) => payload.type === 'connected'),
        'the connected event',
      );
    }

    expect(await dashboardChats(alice)).toEqual([]);
    const chatId = await startChat(alice, bob);
    expect(await chatHistory(alice, chatId)).toEqual([]);

    // The group goes on while the chat is open.
    await sendOk(open, carol, groups[0]!.id, 'chatter while Alice writes');

    // ChatPage.sendMessage: axios.post(`${API}/send/${user.user_id}`, {chat_id, content}).
    const sent = await call(open, `/api/send/${alice.id}`, {
      token: alice.token,
      body: { chat_id: chatId, content: 'Hi Bob' },
    });
    expect(sent.status, sent.text).toBe(200);
    const messageId = (sent.json as { status: string; message_id: string }).message_id;
    expect((sent.json as { status: string }).status).toBe('success');

    // Both streams deliver it as ChatPage reads it: type, chat_id, sender.user_id.
    for (const stream of [aliceSse, bobSse]) {
      const event = await waitFor(
        () => stream.payloads().find((payload) => payload.message_id === messageId),
        'the message over SSE',
      );
      expect(event).toMatchObject({
        type: 'message',
        chat_id: chatId,
        content: 'Hi Bob',
        sender: { user_id: alice.id },
      });
    }
    // Bob answers; then nothing of the groups has reached either stream.
    const answer = await call(open, `/api/send/${bob.id}`, {
      token: bob.token,
      body: { chat_id: chatId, content: 'Hi Alice' },
    });
    expect(answer.status, answer.text).toBe(200);
    const answerId = (answer.json as { message_id: string }).message_id;
    await waitFor(() => messageIdsOf(aliceSse.payloads()).includes(answerId), 'the answer');
    await sleep(GRACE);
    for (const stream of [aliceSse, bobSse]) {
      expect(messagesOf(stream.payloads()).every((payload) => payload.chat_id === chatId)).toBe(
        true,
      );
      expect(messageIdsOf(stream.payloads())).toEqual([messageId, answerId]);
    }

    // ChatPage.fetchChatDetails: the chat is in the list with its other_user.
    const list = await dashboardChats(alice);
    expect(list.map((chat) => [chat.chat_id, chat.other_user.user_id])).toEqual([[chatId, bob.id]]);
    const history = await chatHistory(alice, chatId);
    expect(history.map((item) => [item.message_id, item.is_own_message])).toEqual([
      [messageId, true],
      [answerId, false],
    ]);

    // AuthContext.logout: axios.post(`${API}/auth/logout`), no body.
    const logout = await call(open, '/api/auth/logout', { method: 'POST', token: alice.token });
    expect(logout.status, logout.text).toBe(200);
  });

  it('WebSocket build (1ebe838): send and receive over /ws, list and history, with groups present', async () => {
    const { alice: registeredAlice, bob: registeredBob, carol, groups } = await usersInGroups();
    const [alice, bob] = [await login(registeredAlice), await login(registeredBob)];
    expect(await dashboardChats(alice)).toEqual([]);
    const chatId = await startChat(alice, bob);
    expect(await chatHistory(alice, chatId)).toEqual([]);

    // ChatPage.connectWebSocket: new WebSocket(`${WS_URL}/ws/${user.user_id}`), no token.
    const aliceWs = await openLegacyWs(open, alice, { token: false });
    const bobWs = await openLegacyWs(open, bob, { token: false });

    // ChatPage.sendMessage: ws.send(JSON.stringify({chat_id, content})).
    aliceWs.send({ chat_id: chatId, content: 'Hi Bob over ws' });
    await sendOk(open, carol, groups[0]!.id, 'chatter during the chat');
    for (const socket of [aliceWs, bobWs]) {
      const frame = await waitFor(
        () => socket.frames.find((item) => item.content === 'Hi Bob over ws'),
        'the message over ws',
      );
      expect(frame).toMatchObject({ chat_id: chatId, sender: { user_id: alice.id } });
    }
    bobWs.send({ chat_id: chatId, content: 'Hi Alice over ws' });
    await sendOk(open, alice, groups[1]!.id, 'Alice writes in her group');
    await waitFor(
      () => aliceWs.frames.some((frame) => frame.content === 'Hi Alice over ws'),
      'the answer over ws',
    );
    await sleep(GRACE);
    for (const socket of [aliceWs, bobWs]) {
      expect(socket.frames.map((frame) => [frame.chat_id, frame.content])).toEqual([
        [chatId, 'Hi Bob over ws'],
        [chatId, 'Hi Alice over ws'],
      ]);
    }

    const list = await dashboardChats(alice);
    expect(list.map((chat) => chat.chat_id)).toEqual([chatId]);
    const history = await chatHistory(bob, chatId);
    expect(history.map((item) => [item.sender.user_id, item.is_own_message])).toEqual([
      [alice.id, false],
      [bob.id, true],
    ]);
  });
});
