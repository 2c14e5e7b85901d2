/**
 * Read state through real clients on FerretDB: unread counts derived from the timeline (two
 * devices of one user, a group of three, a chat mixing messages from before numbering with new
 * ones, the cap at 99), read positions moving forward only under racing marks, "seen" ticks, read
 * receipts off, coalesced ReadStateChanged events, myChats UPDATED on another device, the legacy
 * history marking nothing read, and a chats page costing the same DB commands at 5 and 50 chats.
 */
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createGroup, gqlOk, type Caller } from './support/groups.js';
import { legacyChat, legacyMessage } from './support/legacy.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createChat, registerUser, SEND, type TestUser } from './support/users.js';
import { cleanupAfterEach, sleep, waitFor } from './support/wait.js';

/** How long to keep listening for something that must not arrive. */
const GRACE = 600;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());
const cleanups = cleanupAfterEach();

const CHAT_STATE = /* GraphQL */ `
  query ($id: ID!) {
    chat(id: $id) {
      id
      unreadCount
      readPositions {
        user {
          id
        }
        cursor
        readAt
      }
    }
    me {
      unreadChatsCount
    }
  }
`;
const MARK_READ = /* GraphQL */ `
  mutation ($chatId: ID!, $upTo: String) {
    markChatRead(chatId: $chatId, upTo: $upTo) {
      id
      unreadCount
    }
  }
`;
const MARK_UNREAD = /* GraphQL */ `
  mutation ($chatId: ID!, $from: String!) {
    markChatUnread(chatId: $chatId, from: $from) {
      id
      unreadCount
    }
  }
`;
const RECEIPTS = /* GraphQL */ `
  mutation ($enabled: Boolean!) {
    setReadReceipts(enabled: $enabled) {
      id
    }
  }
`;
const HISTORY = /* GraphQL */ `
  query ($id: ID!) {
    chat(id: $id) {
      messages(last: 100) {
        edges {
          cursor
          node {
            id
            readBy {
              id
            }
          }
        }
      }
    }
  }
`;

interface ChatState {
  chat: {
    unreadCount: number;
    readPositions: { user: { id: string }; cursor: string | null; readAt: string | null }[];
  };
  me: { unreadChatsCount: number | null };
}

const stateOf = (caller: Caller, chatId: string) =>
  gqlOk<ChatState>(server, CHAT_STATE, { id: chatId }, caller);
const unreadOf = async (caller: Caller, chatId: string) =>
  (await stateOf(caller, chatId)).chat.unreadCount;
const markRead = (caller: Caller, chatId: string, upTo?: string) =>
  gqlOk<{ markChatRead: { unreadCount: number } }>(server, MARK_READ, { chatId, upTo }, caller);

async function send(caller: Caller, chatId: string, content: string) {
  const data = await gqlOk<{ sendMessage: { id: string } }>(
    server,
    SEND,
    { chatId, content },
    caller,
  );
  return data.sendMessage.id;
}

/** The chat's messages as `caller` reads them: cursors and readers, oldest first. */
async function historyOf(caller: Caller, chatId: string) {
  const data = await gqlOk<{
    chat: {
      messages: { edges: { cursor: string; node: { id: string; readBy: { id: string }[] } }[] };
    };
  }>(server, HISTORY, { id: chatId }, caller);
  return data.chat.messages.edges;
}

/** A graphql-ws subscription as `caller`: what it received. */
function subscribe<T>(caller: Caller, query: string, variables: Record<string, unknown> = {}) {
  const client = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${caller.token}` },
    retryAttempts: 0,
  });
  const received: T[] = [];
  const errors: unknown[] = [];
  const stop = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => (result.data ? received.push(result.data) : errors.push(result)),
      error: (error) => errors.push(error),
      complete: () => undefined,
    },
  );
  cleanups.push(() => (stop(), client.dispose()));
  return { received, errors };
}

const READ_EVENTS = /* GraphQL */ `
  subscription ($chatId: ID!) {
    chatEvents(chatId: $chatId) {
      __typename
      seq
      ... on ReadStateChanged {
        cursor
        user {
          id
        }
      }
    }
  }
`;
type FeedEvent = {
  chatEvents: { __typename: string; seq: number | null; cursor?: string; user?: { id: string } };
};
const readEventsOf = (events: FeedEvent[]) =>
  events.map((each) => each.chatEvents).filter((each) => each.__typename === 'ReadStateChanged');

const MY_CHATS = /* GraphQL */ `
  subscription {
    myChats {
      change
      chat {
        id
        unreadCount
      }
    }
  }
`;
type MyChatsEvent = { myChats: { change: string; chat: { id: string; unreadCount: number } } };

async function users(count: number): Promise<TestUser[]> {
  return Promise.all(Array.from({ length: count }, () => registerUser(server)));
}

/** Waits until a subscription surely listens: something `probe` makes reaches it (probes again). */
async function listening(
  { received, errors }: { received: unknown[]; errors: unknown[] },
  probe: () => Promise<unknown>,
) {
  const before = received.length;
  for (let attempt = 0; attempt < 20 && received.length === before; attempt += 1) {
    await probe();
    await sleep(250);
  }
  if (received.length === before) throw new Error(`nothing received: ${JSON.stringify(errors)}`);
}

describe('unread counts and read positions', () => {
  it('counts others’ messages after the read position for a group of three and two devices of one user', async () => {
    const [a, b, c] = await users(3);
    const group = await createGroup(server, a!, [b!, c!]);
    // B's first device follows the chat list.
    const device1 = subscribe<MyChatsEvent>(b!, MY_CHATS);
    const [created] = await historyOf(b!, group.id);
    await listening(device1, async () => {
      // Each probe moves B's position back and forth: UPDATED each time.
      await gqlOk(server, MARK_UNREAD, { chatId: group.id, from: created!.cursor }, b);
      await markRead(b!, group.id);
    });
    for (const text of ['one', 'two', 'three']) await send(a!, group.id, text);
    expect(await unreadOf(a!, group.id)).toBe(0);
    expect(await unreadOf(b!, group.id)).toBe(3);
    expect(await unreadOf(c!, group.id)).toBe(3);
    expect((await stateOf(b!, group.id)).me.unreadChatsCount).toBe(1);

    // B's second device reads up to the second message.
    await send(c!, group.id, 'four');
    const edges = await historyOf(b!, group.id);
    const second = edges.find((_edge, index) => index === edges.length - 3)!;
    const before = device1.received.length;
    expect((await markRead(b!, group.id, second.cursor)).markChatRead.unreadCount).toBe(2);
    const update = await waitFor(
      () => device1.received.slice(before).find((each) => each.myChats.change === 'UPDATED'),
      'UPDATED on the other device',
    );
    expect(update.myChats.chat).toEqual({ id: group.id, unreadCount: 2 });

    // Sending reads for the sender: C's message after B's read position does not stay unread.
    await send(b!, group.id, 'five');
    expect(await unreadOf(b!, group.id)).toBe(0);
    expect((await stateOf(b!, group.id)).me.unreadChatsCount).toBe(0);
    // C's own send read for C, up to C's message: B's is the one left.
    expect(await unreadOf(c!, group.id)).toBe(1);

    // A sees both positions, most recent first; readBy says who saw what, never the sender.
    const seen = await stateOf(a!, group.id);
    expect(seen.chat.readPositions.map((each) => each.user.id)).toEqual([b!.id, c!.id]);
    const history = await historyOf(a!, group.id);
    expect(seen.chat.readPositions[0]!.cursor).toBe(history.at(-1)!.cursor);
    expect(seen.chat.readPositions[1]!.cursor).toBe(history.at(-2)!.cursor);
    // The group's creation, one, two, three (A's), four (C's), five (B's).
    expect(history.map((edge) => edge.node.readBy.map((user) => user.id))).toEqual([
      [b!.id, c!.id],
      [b!.id, c!.id],
      [b!.id, c!.id],
      [b!.id, c!.id],
      [b!.id],
      [],
    ]);
  });

  it('never moves a position back when marks race, and moves it back on markChatUnread', async () => {
    const [a, b] = await users(2);
    const chatId = await createChat(server, a!, b!);
    for (let batch = 0; batch < 4; batch += 1) {
      await Promise.all(
        Array.from({ length: 10 }, (_each, index) => send(a!, chatId, `m${batch}.${index}`)),
      );
    }
    const cursors = (await historyOf(b!, chatId)).map((edge) => edge.cursor);
    for (let round = 0; round < 6; round += 1) {
      // Two devices racing: the newest position and every older one, all at once.
      const racing = cursors.slice(round * 5);
      await Promise.all(racing.map((cursor) => markRead(b!, chatId, cursor)));
      expect(await unreadOf(b!, chatId)).toBe(0);
      const stored = await server.service.app.db.readPositions.findOne({
        chat_id: chatId,
        user_id: b!.id,
      });
      expect(stored?.seq).toBe(cursors.length);
    }
    // Older than the position: nothing moves.
    expect((await markRead(b!, chatId, cursors[2])).markChatRead.unreadCount).toBe(0);
    const unread = await gqlOk<{ markChatUnread: { unreadCount: number } }>(
      server,
      MARK_UNREAD,
      { chatId, from: cursors[cursors.length - 3] },
      b,
    );
    expect(unread.markChatUnread.unreadCount).toBe(3);
    expect(await unreadOf(b!, chatId)).toBe(3);
  });

  it('caps unread counts at 99', async () => {
    const [a, b] = await users(2);
    const chatId = await createChat(server, a!, b!);
    for (let batch = 0; batch < 11; batch += 1) {
      await Promise.all(
        Array.from({ length: 10 }, (_each, index) => send(a!, chatId, `${batch}.${index}`)),
      );
    }
    expect(await unreadOf(b!, chatId)).toBe(99);
    const cursors = (await historyOf(b!, chatId)).map((edge) => edge.cursor);
    await markRead(b!, chatId, cursors[cursors.length - 99]);
    expect(await unreadOf(b!, chatId)).toBe(98);
    await markRead(b!, chatId, cursors[cursors.length - 100]);
    expect(await unreadOf(b!, chatId)).toBe(98);
  });

  it('never counts deleted messages', async () => {
    const [a, b] = await users(2);
    const chatId = await createChat(server, a!, b!);
    const ids = [];
    for (const content of ['one', 'two', 'three']) ids.push(await send(a!, chatId, content));
    expect(await unreadOf(b!, chatId)).toBe(3);
    await gqlOk(
      server,
      /* GraphQL */ `
        mutation ($id: ID!) {
          deleteMessage(messageId: $id) {
            id
          }
        }
      `,
      { id: ids[1] },
      a!,
    );
    expect(await unreadOf(b!, chatId)).toBe(2);
    expect((await stateOf(b!, chatId)).me.unreadChatsCount).toBe(1);
  });

  it('counts a chat of messages from before numbering and new ones, by time and by number', async () => {
    const [a, b] = await users(2);
    const chat = legacyChat([a!.id, b!.id]);
    const start = Date.now() - 3_600_000;
    const old = [0, 1, 2, 3].map((index) =>
      legacyMessage(
        chat.chat_id,
        index === 3 ? b!.id : a!.id,
        `old ${index}`,
        new Date(start + index * 60_000),
      ),
    );
    await server.service.app.db.db.collection('chats').insertOne(chat);
    await server.service.app.db.db.collection('messages').insertMany(old);
    // Three old ones from A, one from B; then two new ones from A.
    expect(await unreadOf(b!, chat.chat_id)).toBe(3);
    await send(a!, chat.chat_id, 'new 1');
    await send(a!, chat.chat_id, 'new 2');
    expect(await unreadOf(b!, chat.chat_id)).toBe(5);
    const cursors = (await historyOf(b!, chat.chat_id)).map((edge) => edge.cursor);
    // Read up to the second old message: one old one and the two new ones are left.
    await markRead(b!, chat.chat_id, cursors[1]);
    expect(await unreadOf(b!, chat.chat_id)).toBe(3);
    await markRead(b!, chat.chat_id, cursors[4]);
    expect(await unreadOf(b!, chat.chat_id)).toBe(1);
    // Back to before the first new one, then to before the first old one.
    await gqlOk(server, MARK_UNREAD, { chatId: chat.chat_id, from: cursors[4] }, b);
    expect(await unreadOf(b!, chat.chat_id)).toBe(2);
    await gqlOk(server, MARK_UNREAD, { chatId: chat.chat_id, from: cursors[0] }, b);
    expect(await unreadOf(b!, chat.chat_id)).toBe(5);
    // Unmarked, a position among the old messages moves forward again, to the newest.
    await markRead(b!, chat.chat_id);
    expect(await unreadOf(b!, chat.chat_id)).toBe(0);
  });

  it('marks nothing read when the old clients fetch history', async () => {
    const [a, b] = await users(2);
    const chatId = await createChat(server, a!, b!);
    await send(a!, chatId, 'hello');
    const response = await fetch(`${server.url}/api/chats/${chatId}/messages`, {
      headers: { authorization: `Bearer ${b!.token}` },
    });
    expect(response.status).toBe(200);
    expect(await unreadOf(b!, chatId)).toBe(1);
  });

  it('turns receipts off: the position still counts for its owner but is shown to nobody', async () => {
    const [a, b, c] = await users(3);
    const group = await createGroup(server, a!, [b!, c!]);
    await send(a!, group.id, 'hi');
    const watching = subscribe<FeedEvent>(a!, READ_EVENTS, { chatId: group.id });
    await listening(watching, () => send(c!, group.id, 'probe'));
    await gqlOk(server, RECEIPTS, { enabled: false }, b);
    await markRead(b!, group.id);
    expect(await unreadOf(b!, group.id)).toBe(0);
    // C's send read for C: A is told of C's position, never of B's.
    await waitFor(() => readEventsOf(watching.received).length > 0, 'C’s read position');
    await sleep(GRACE);
    expect(readEventsOf(watching.received).map((each) => each.user!.id)).toEqual([c!.id]);
    const seen = await stateOf(a!, group.id);
    expect(seen.chat.readPositions.map((each) => each.user.id)).toEqual([c!.id]);
    const history = await historyOf(a!, group.id);
    expect(history.at(0)!.node.readBy.map((user) => user.id)).toEqual([c!.id]);
    // On again: the next mark shows.
    await gqlOk(server, RECEIPTS, { enabled: true }, b);
    await send(a!, group.id, 'again');
    await markRead(b!, group.id);
    const shown = await stateOf(a!, group.id);
    expect(shown.chat.readPositions.map((each) => each.user.id).sort()).toEqual(
      [b!.id, c!.id].sort(),
    );
  });

  it('passes read positions on at most once a second per member, the newest last, never to their owner', async () => {
    const [a, b] = await users(2);
    const chatId = await createChat(server, a!, b!);
    for (let index = 0; index < 6; index += 1) await send(a!, chatId, `m${index}`);
    const cursors = (await historyOf(b!, chatId)).map((edge) => edge.cursor);
    const watching = subscribe<FeedEvent>(a!, READ_EVENTS, { chatId });
    const own = subscribe<FeedEvent>(b!, READ_EVENTS, { chatId });
    await listening(watching, () => send(a!, chatId, 'probe'));
    await listening(own, () => send(a!, chatId, 'probe 2'));
    const started = Date.now();
    for (const cursor of cursors) await markRead(b!, chatId, cursor);
    const elapsed = Date.now() - started;
    await waitFor(
      () => readEventsOf(watching.received).at(-1)?.cursor === cursors.at(-1),
      'the newest position',
    );
    await sleep(GRACE);
    const events = readEventsOf(watching.received);
    expect(events.length).toBeLessThanOrEqual(Math.ceil(elapsed / 1000) + 1);
    expect(events.length).toBeLessThan(cursors.length);
    expect(events.every((each) => each.seq === null && each.user!.id === b!.id)).toBe(true);
    expect(readEventsOf(own.received).filter((each) => each.user!.id === b!.id)).toEqual([]);
  });

  it('costs 2 DB commands to mark a chat read: the chat and one write', async () => {
    const [a, b] = await users(2);
    const chatId = await createChat(server, a!, b!);
    await send(a!, chatId, 'hi');
    const touched = await server.commandsOn(() =>
      gqlOk(
        server,
        'mutation ($chatId: ID!) { markChatRead(chatId: $chatId) { id } }',
        { chatId },
        b,
      ),
    );
    // Authenticating the request reads its caller first.
    expect(touched.filter((each) => each !== 'find users').sort()).toEqual([
      'find chats',
      'update read_positions',
    ]);
    expect(await unreadOf(b!, chatId)).toBe(0);
  });

  it('costs the same DB commands for a page of 5 chats as for 50', async () => {
    const viewer = await registerUser(server);
    const others = await users(50);
    for (const [index, other] of others.entries()) {
      const chatId = await createChat(server, viewer, other);
      await send(other, chatId, 'hi');
      if (index % 2 === 0) await markRead(other, chatId);
    }
    const page = /* GraphQL */ `
      query ($first: Int!) {
        chats(first: $first) {
          edges {
            node {
              id
              unreadCount
              readPositions {
                user {
                  id
                }
                cursor
              }
            }
          }
        }
      }
    `;
    const count = (first: number) =>
      server.countCommands(() => gqlOk(server, page, { first }, viewer));
    const [five, fifty] = [(await count(5)).sort(), (await count(50)).sort()];
    expect(fifty).toEqual(five);
    expect(fifty.length).toBeLessThanOrEqual(6);
  });
});
