/** Users, chats and messages over GraphQL: search, opening chats, listing and paging, sending. */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type GraphQLResponse, type TestServer } from './support/server.js';
import { legacyChat, legacyMessage } from './support/legacy.js';
import { createChat, registerUser, SEND, type TestUser } from './support/users.js';

const SEARCH = /* GraphQL */ `
  query Search($query: String!, $first: Int) {
    searchUsers(query: $query, first: $first) {
      id
      username
      firstName
      lastName
      email
      mobileNo
    }
  }
`;

const CREATE_CHAT_FULL = /* GraphQL */ `
  mutation CreateChat($otherUserId: ID!) {
    createChat(otherUserId: $otherUserId) {
      id
      createdAt
      participants {
        id
        username
      }
      otherUser {
        id
        username
      }
      lastMessage {
        id
      }
      lastMessagePreview
      lastMessageAt
    }
  }
`;

const PAGE_INFO = /* GraphQL */ `
  pageInfo {
    hasNextPage
    hasPreviousPage
    startCursor
    endCursor
  }
`;

const CHATS = /* GraphQL */ `
  query Chats($first: Int, $after: String) {
    chats(first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          createdAt
          lastMessagePreview
          lastMessageAt
          lastMessage {
            id
            content
            sender {
              id
            }
          }
          otherUser {
            id
          }
        }
      }
      ${PAGE_INFO}
    }
  }
`;

const CHAT = /* GraphQL */ `
  query Chat($id: ID!) {
    chat(id: $id) {
      id
      participants {
        id
      }
    }
  }
`;

const MESSAGES = /* GraphQL */ `
  query Messages($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    chat(id: $id) {
      id
      messages(first: $first, after: $after, last: $last, before: $before) {
        edges {
          cursor
          node {
            id
            content
            createdAt
            isOwn
            clientMessageId
            sender {
              id
            }
            chat {
              id
            }
          }
        }
        ${PAGE_INFO}
      }
    }
  }
`;

interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

interface SearchResult {
  id: string;
  username: string;
  firstName: string;
  lastName: string;
  email: string | null;
  mobileNo: string | null;
}

interface ChatNode {
  id: string;
  createdAt: string;
  lastMessagePreview: string | null;
  lastMessageAt: string | null;
  lastMessage: { id: string; content: string; sender: { id: string } } | null;
  otherUser: { id: string } | null;
}

interface ChatsPage {
  edges: { cursor: string; node: ChatNode }[];
  pageInfo: PageInfo;
}

interface MessageNode {
  id: string;
  content: string;
  createdAt: string;
  isOwn: boolean;
  clientMessageId: string | null;
  sender: { id: string };
  chat: { id: string };
}

interface MessagesPage {
  edges: { cursor: string; node: MessageNode }[];
  pageInfo: PageInfo;
}

interface SentMessage {
  id: string;
  content: string;
  createdAt: string;
  isOwn: boolean;
  clientMessageId: string | null;
  sender: { id: string; username: string };
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const db = () => server.service.app.db;

/** A chat between two users as the old server stored it: messages then get added to it directly. */
async function insertLegacyChat(a: TestUser, b: TestUser): Promise<string> {
  const chat = legacyChat([a.id, b.id]);
  await db().chats.insertOne(chat);
  return chat.chat_id;
}

/** The data of a response that must have succeeded. */
function dataOf<Data>(response: GraphQLResponse<Data>): Data {
  expect(response.errors).toBeUndefined();
  expect(response.data).toBeTruthy();
  return response.data!;
}

/** Asserts the response failed with `code`, and returns its first error. */
function expectError(response: GraphQLResponse<unknown>, code: string) {
  expect(response.errors?.length, JSON.stringify(response)).toBeGreaterThan(0);
  expect(response.errors![0]!.extensions?.code).toBe(code);
  return response.errors![0]!;
}

/** A short random marker of letters only, unique to one test. */
const marker = () =>
  randomUUID()
    .replace(/[^a-f]/g, '')
    .slice(0, 6)
    .padEnd(6, 'q');

async function search(user: TestUser, query: string, first?: number) {
  return server.gql<{ searchUsers: SearchResult[] }>(SEARCH, { query, first }, user.token);
}

async function send(
  user: TestUser,
  chatId: string,
  content: string,
  clientMessageId?: string,
): Promise<GraphQLResponse<{ sendMessage: SentMessage }>> {
  return server.gql<{ sendMessage: SentMessage }>(
    SEND,
    { chatId, content, clientMessageId },
    user.token,
  );
}

async function sendOk(user: TestUser, chatId: string, content: string, clientMessageId?: string) {
  return dataOf(await send(user, chatId, content, clientMessageId)).sendMessage;
}

async function chatsPage(user: TestUser, first?: number, after?: string) {
  return server.gql<{ chats: ChatsPage }>(CHATS, { first, after }, user.token);
}

async function messagesPage(
  user: TestUser,
  chatId: string,
  args: { first?: number; after?: string; last?: number; before?: string } = {},
) {
  return server.gql<{ chat: { id: string; messages: MessagesPage } | null }>(
    MESSAGES,
    { id: chatId, ...args },
    user.token,
  );
}

async function messagesPageOk(
  user: TestUser,
  chatId: string,
  args: { first?: number; after?: string; last?: number; before?: string } = {},
): Promise<MessagesPage> {
  const chat = dataOf(await messagesPage(user, chatId, args)).chat;
  expect(chat).not.toBeNull();
  const page = chat!.messages;
  expect(page.pageInfo.startCursor).toBe(page.edges[0]?.cursor ?? null);
  expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
  return page;
}

/** Every chat of `user`, paging with `first` from the start. */
async function allChats(user: TestUser, first: number): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 50; pages++) {
    const page = dataOf(await chatsPage(user, first, after)).chats;
    ids.push(...page.edges.map((edge) => edge.node.id));
    if (!page.pageInfo.hasNextPage) return ids;
    after = page.pageInfo.endCursor!;
  }
  throw new Error('chats pagination did not end');
}

/** A user with `count` chats, opened one after the other (oldest first in the result). */
async function userWithChats(count: number) {
  const owner = await registerUser(server);
  const partners: TestUser[] = [];
  const chatIds: string[] = [];
  for (let index = 0; index < count; index++) {
    const partner = await registerUser(server);
    partners.push(partner);
    chatIds.push(await createChat(server, owner, partner));
    // Distinct creation times, so that the expected order does not hinge on a tie-break.
    await sleep(3);
  }
  return { owner, partners, chatIds };
}

/** Two users, their chat and `count` messages sent alternately by each, in order. */
async function chatWithMessages(count: number) {
  const alice = await registerUser(server);
  const bob = await registerUser(server);
  const chatId = await createChat(server, alice, bob);
  const ids: string[] = [];
  for (let index = 0; index < count; index++) {
    const sender = index % 2 === 0 ? alice : bob;
    ids.push((await sendOk(sender, chatId, `message ${index}`)).id);
    // Distinct timestamps: the order under test is the order of sending.
    await sleep(2);
  }
  return { alice, bob, chatId, ids };
}

const messageCount = (chatId: string) => db().messages.countDocuments({ chat_id: chatId });

describe('searchUsers', () => {
  it('matches a substring of username, first or last name in any case, never the caller', async () => {
    const mark = marker();
    const caller = await registerUser(server, { firstName: `Me${mark}` });
    const byUsername = await registerUser(server, { username: `u_${mark.toUpperCase()}_x` });
    const byFirst = await registerUser(server, { firstName: `Ann${mark.toUpperCase()}ette` });
    const byLast = await registerUser(server, { lastName: `Smith-${mark}` });
    const unrelated = await registerUser(server);

    for (const query of [mark, mark.toUpperCase(), `${mark[0]!.toUpperCase()}${mark.slice(1)}`]) {
      const found = dataOf(await search(caller, query)).searchUsers;
      expect(found.map((user) => user.id).sort()).toEqual(
        [byUsername.id, byFirst.id, byLast.id].sort(),
      );
    }
    const found = dataOf(await search(caller, mark)).searchUsers;
    expect(found.map((user) => user.id)).not.toContain(caller.id);
    expect(found.map((user) => user.id)).not.toContain(unrelated.id);
    expect(found.find((user) => user.id === byFirst.id)).toMatchObject({
      username: byFirst.username,
      firstName: `Ann${mark.toUpperCase()}ette`,
    });
  });

  it('hides the email and phone number of the users it returns', async () => {
    const mark = marker();
    const caller = await registerUser(server);
    await registerUser(server, { lastName: `Private${mark}` });
    await registerUser(server, { lastName: `Secret${mark}` });
    const found = dataOf(await search(caller, mark)).searchUsers;
    expect(found).toHaveLength(2);
    for (const user of found) {
      expect(user.email).toBeNull();
      expect(user.mobileNo).toBeNull();
    }
  });

  it('returns at most 20 users', async () => {
    const mark = marker();
    const caller = await registerUser(server, { lastName: `Many${mark}` });
    const matching = await Promise.all(
      Array.from({ length: 22 }, () => registerUser(server, { lastName: `Many${mark}` })),
    );
    const found = dataOf(await search(caller, `many${mark}`)).searchUsers;
    expect(found).toHaveLength(20);
    const ids = found.map((user) => user.id);
    expect(new Set(ids).size).toBe(20);
    expect(ids).not.toContain(caller.id);
    const matchingIds = new Set(matching.map((user) => user.id));
    expect(ids.every((id) => matchingIds.has(id))).toBe(true);
    // Asking for more than 20 never yields more.
    const more = await search(caller, `many${mark}`, 50);
    if (!more.errors) expect(more.data!.searchUsers.length).toBeLessThanOrEqual(20);
    else expectError(more, 'BAD_USER_INPUT');
  });

  it('matches regular-expression characters literally, and quickly', async () => {
    const mark = marker();
    const caller = await registerUser(server);
    const nested = await registerUser(server, { firstName: `x(a+)+$y${mark}` });
    const dotStar = await registerUser(server, { lastName: `dot.*star${mark}` });
    const bracket = await registerUser(server, { lastName: `a[b\\c${mark}` });
    // Bait: an unescaped `(a+)+$` matches the first and backtracks catastrophically on the second.
    await registerUser(server, { firstName: 'a'.repeat(40) });
    await registerUser(server, { firstName: `${'a'.repeat(40)}!` });
    // Enough other users that a pattern matching everything would be noticed.
    await Promise.all(Array.from({ length: 5 }, () => registerUser(server)));

    const started = Date.now();
    const redos = dataOf(await search(caller, '(a+)+$')).searchUsers;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(redos.map((user) => user.id)).toEqual([nested.id]);

    const everything = dataOf(await search(caller, '.*')).searchUsers;
    expect(everything.map((user) => user.id)).toEqual([dotStar.id]);

    const brackets = dataOf(await search(caller, 'a[b\\c')).searchUsers;
    expect(brackets.map((user) => user.id)).toEqual([bracket.id]);

    for (const query of ['^', '$', '|', '\\', '[', '+']) {
      const response = await search(caller, query);
      const ids = dataOf(response).searchUsers.map((user) => user.id);
      // Only users with that character in a name; none of the plain ones.
      for (const id of ids) expect([nested.id, dotStar.id, bracket.id]).toContain(id);
    }
  });

  it('refuses a caller without a token', async () => {
    const response = await server.gql(SEARCH, { query: 'a' });
    expect(response.data).toBeNull();
    expectError(response, 'UNAUTHENTICATED');
  });
});

describe('createChat', () => {
  it('returns the chat with its participants and the other user', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const response = await server.gql<{
      createChat: ChatNode & { participants: { id: string; username: string }[] };
    }>(CREATE_CHAT_FULL, { otherUserId: bob.id }, alice.token);
    const chat = dataOf(response).createChat;
    expect(chat.id).toEqual(expect.any(String));
    expect(chat.participants.map((user) => user.id).sort()).toEqual([alice.id, bob.id].sort());
    expect(chat.otherUser).toEqual({ id: bob.id, username: bob.username });
    expect(chat.lastMessage).toBeNull();
    expect(chat.lastMessagePreview).toBeNull();
    expect(chat.lastMessageAt).toBeNull();
    expect(Math.abs(Date.parse(chat.createdAt) - Date.now())).toBeLessThan(60_000);

    const stored = await db().chats.findOne({ chat_id: chat.id });
    expect(stored?.participants.slice().sort()).toEqual([alice.id, bob.id].sort());
  });

  it('returns the same chat when called again, from either side', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const first = await createChat(server, alice, bob);
    expect(await createChat(server, alice, bob)).toBe(first);

    const fromBob = dataOf(
      await server.gql<{ createChat: { id: string; otherUser: { id: string } } }>(
        CREATE_CHAT_FULL,
        { otherUserId: alice.id },
        bob.token,
      ),
    ).createChat;
    expect(fromBob.id).toBe(first);
    expect(fromBob.otherUser.id).toBe(alice.id);
    expect(await db().chats.countDocuments({ participants: { $all: [alice.id, bob.id] } })).toBe(1);
  });

  it('stores exactly one chat when both sides open it at the same time', async () => {
    for (let round = 0; round < 3; round++) {
      const alice = await registerUser(server);
      const bob = await registerUser(server);
      const responses = await Promise.all([
        server.gql<{ createChat: { id: string } }>(
          CREATE_CHAT_FULL,
          { otherUserId: bob.id },
          alice.token,
        ),
        server.gql<{ createChat: { id: string } }>(
          CREATE_CHAT_FULL,
          { otherUserId: alice.id },
          bob.token,
        ),
        server.gql<{ createChat: { id: string } }>(
          CREATE_CHAT_FULL,
          { otherUserId: bob.id },
          alice.token,
        ),
        server.gql<{ createChat: { id: string } }>(
          CREATE_CHAT_FULL,
          { otherUserId: alice.id },
          bob.token,
        ),
      ]);
      const ids = responses.map((response) => dataOf(response).createChat.id);
      expect(new Set(ids).size).toBe(1);
      const stored = await db()
        .chats.find({ participants: { $all: [alice.id, bob.id] } })
        .toArray();
      expect(stored).toHaveLength(1);
      expect(stored[0]!.chat_id).toBe(ids[0]);
    }
  });

  it('refuses an unknown user with NOT_FOUND and oneself with BAD_USER_INPUT, storing nothing', async () => {
    const alice = await registerUser(server);
    const unknown = await server.gql(CREATE_CHAT_FULL, { otherUserId: randomUUID() }, alice.token);
    expect(unknown.data).toBeNull();
    expectError(unknown, 'NOT_FOUND');

    const self = await server.gql(CREATE_CHAT_FULL, { otherUserId: alice.id }, alice.token);
    expect(self.data).toBeNull();
    expectError(self, 'BAD_USER_INPUT');

    expect(await db().chats.countDocuments({ participants: alice.id })).toBe(0);
  });

  it('refuses a caller without a token', async () => {
    const bob = await registerUser(server);
    const response = await server.gql(CREATE_CHAT_FULL, { otherUserId: bob.id });
    expectError(response, 'UNAUTHENTICATED');
  });
});

describe('chats', () => {
  it('lists chats by newest activity: last message time, else creation time', async () => {
    const { owner, partners, chatIds } = await userWithChats(5);
    const [c0, c1, c2, c3, c4] = chatIds as [string, string, string, string, string];
    const list = async () => dataOf(await chatsPage(owner)).chats.edges.map((edge) => edge.node);

    expect((await list()).map((chat) => chat.id)).toEqual([c4, c3, c2, c1, c0]);

    const toC1 = await sendOk(partners[1]!, c1, 'hello from partner 1');
    await sleep(3);
    expect((await list()).map((chat) => chat.id)).toEqual([c1, c4, c3, c2, c0]);

    const toC3 = await sendOk(owner, c3, 'hello to partner 3');
    const chats = await list();
    expect(chats.map((chat) => chat.id)).toEqual([c3, c1, c4, c2, c0]);

    expect(chats[0]).toMatchObject({
      lastMessagePreview: 'hello to partner 3',
      lastMessageAt: toC3.createdAt,
      lastMessage: { id: toC3.id, content: 'hello to partner 3', sender: { id: owner.id } },
      otherUser: { id: partners[3]!.id },
    });
    expect(chats[1]).toMatchObject({
      lastMessagePreview: 'hello from partner 1',
      lastMessageAt: toC1.createdAt,
      lastMessage: {
        id: toC1.id,
        content: 'hello from partner 1',
        sender: { id: partners[1]!.id },
      },
      otherUser: { id: partners[1]!.id },
    });
    expect(chats[2]).toMatchObject({
      lastMessage: null,
      lastMessagePreview: null,
      lastMessageAt: null,
    });
  });

  it('updates the last message to the newest one', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const chatId = await createChat(server, alice, bob);
    await sendOk(alice, chatId, 'first');
    await sleep(2);
    const second = await sendOk(bob, chatId, 'second');
    const [chat] = dataOf(await chatsPage(alice)).chats.edges.map((edge) => edge.node);
    expect(chat).toMatchObject({
      id: chatId,
      lastMessagePreview: 'second',
      lastMessageAt: second.createdAt,
      lastMessage: { id: second.id, content: 'second', sender: { id: bob.id } },
    });
  });

  it('pages with Relay pageInfo, each chat exactly once', async () => {
    const { owner, chatIds } = await userWithChats(5);
    const expected = chatIds.slice().reverse();

    const page1 = dataOf(await chatsPage(owner, 2)).chats;
    expect(page1.edges.map((edge) => edge.node.id)).toEqual(expected.slice(0, 2));
    expect(page1.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: page1.edges[0]!.cursor,
      endCursor: page1.edges[1]!.cursor,
    });

    const page2 = dataOf(await chatsPage(owner, 2, page1.pageInfo.endCursor!)).chats;
    expect(page2.edges.map((edge) => edge.node.id)).toEqual(expected.slice(2, 4));
    expect(page2.pageInfo.hasNextPage).toBe(true);
    expect(page2.pageInfo.startCursor).toBe(page2.edges[0]!.cursor);
    expect(page2.pageInfo.endCursor).toBe(page2.edges[1]!.cursor);

    const page3 = dataOf(await chatsPage(owner, 2, page2.pageInfo.endCursor!)).chats;
    expect(page3.edges.map((edge) => edge.node.id)).toEqual(expected.slice(4));
    expect(page3.pageInfo.hasNextPage).toBe(false);
    expect(page3.pageInfo.startCursor).toBe(page3.edges[0]!.cursor);
    expect(page3.pageInfo.endCursor).toBe(page3.edges[0]!.cursor);

    expect(await allChats(owner, 2)).toEqual(expected);
    expect(await allChats(owner, 1)).toEqual(expected);
    expect(await allChats(owner, 100)).toEqual(expected);
  });

  it('shows a new user no chats', async () => {
    const loner = await registerUser(server);
    const page = dataOf(await chatsPage(loner)).chats;
    expect(page.edges).toEqual([]);
    expect(page.pageInfo).toMatchObject({ hasNextPage: false, startCursor: null, endCursor: null });
  });

  for (const position of [0, 2, 3, 4]) {
    it(`neither skips nor repeats a chat when the chat at position ${position} gets a message mid-pagination`, async () => {
      const { owner, partners, chatIds } = await userWithChats(5);
      const expected = chatIds.slice().reverse();

      const page1 = dataOf(await chatsPage(owner, 2)).chats;
      expect(page1.edges.map((edge) => edge.node.id)).toEqual(expected.slice(0, 2));

      const target = expected[position]!;
      const partner = partners[chatIds.indexOf(target)]!;
      await sendOk(partner, target, 'moves the chat to the top');

      const seen = page1.edges.map((edge) => edge.node.id);
      let after = page1.pageInfo.endCursor!;
      for (let pages = 0; pages < 10; pages++) {
        const page = dataOf(await chatsPage(owner, 2, after)).chats;
        seen.push(...page.edges.map((edge) => edge.node.id));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor!;
      }
      expect(seen.slice().sort()).toEqual(expected.slice().sort());
      expect(seen).toHaveLength(5);

      // A fresh listing shows the chat on top.
      expect((await allChats(owner, 2))[0]).toBe(target);
    });
  }

  it('neither skips nor repeats when several chats get messages between pages', async () => {
    const { owner, partners, chatIds } = await userWithChats(6);
    const page1 = dataOf(await chatsPage(owner, 2)).chats;
    const seen = page1.edges.map((edge) => edge.node.id);
    let after = page1.pageInfo.endCursor!;
    let round = 0;
    for (let pages = 0; pages < 10; pages++) {
      // Every round, the oldest chat and one already seen get a message.
      await sendOk(partners[round % 6]!, chatIds[round % 6]!, `round ${round}`);
      await sendOk(owner, chatIds[5 - (round % 6)]!, `round ${round} back`);
      round++;
      const page = dataOf(await chatsPage(owner, 2, after)).chats;
      seen.push(...page.edges.map((edge) => edge.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    expect(seen.slice().sort()).toEqual(chatIds.slice().sort());
  });

  it('neither skips nor repeats a chat whose message is sent while the first page is read', async () => {
    const { owner, partners, chatIds } = await userWithChats(4);
    // Newest activity first; each round moves the last chat to the front.
    const order = chatIds.slice().reverse();
    const failures: string[] = [];
    for (let round = 0; round < 24; round++) {
      const target = order.at(-1)!;
      const partner = partners[chatIds.indexOf(target)]!;
      const [first] = await Promise.all([
        chatsPage(owner, 2),
        sleep(round % 4).then(() => sendOk(partner, target, `round ${round}`)),
      ]);
      const page1 = dataOf(first).chats;
      const seen = page1.edges.map((edge) => edge.node.id);
      let after = page1.pageInfo.endCursor!;
      let more = page1.pageInfo.hasNextPage;
      for (let pages = 0; more && pages < 10; pages++) {
        const page = dataOf(await chatsPage(owner, 2, after)).chats;
        seen.push(...page.edges.map((edge) => edge.node.id));
        more = page.pageInfo.hasNextPage;
        after = page.pageInfo.endCursor!;
      }
      if (seen.length !== 4 || new Set(seen).size !== 4) {
        failures.push(`round ${round}: saw ${seen.length} chats, ${new Set(seen).size} distinct`);
      }
      order.unshift(order.pop()!);
      await sleep(2);
    }
    expect(failures).toEqual([]);
  });

  it('refuses a page size above 100 or below 0, and a garbage cursor, with BAD_USER_INPUT', async () => {
    const { owner } = await userWithChats(1);
    for (const first of [101, -1]) {
      const response = await chatsPage(owner, first);
      expect(response.data).toBeNull();
      expectError(response, 'BAD_USER_INPUT');
    }
    const ok = await chatsPage(owner, 100);
    expect(dataOf(ok).chats.edges).toHaveLength(1);

    const messageCursor = Buffer.from(JSON.stringify([Date.now(), randomUUID()])).toString(
      'base64url',
    );
    for (const after of ['garbage', 'not a cursor!!', messageCursor, 'eyJ4IjoxfQ']) {
      const response = await chatsPage(owner, 2, after);
      expect(response.data, after).toBeNull();
      expectError(response, 'BAD_USER_INPUT');
    }
  });

  it('refuses a caller without a token', async () => {
    expectError(await server.gql(CHATS, {}), 'UNAUTHENTICATED');
  });
});

describe('chat', () => {
  it('returns a chat to its participants only; null for others and for unknown ids', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const eve = await registerUser(server);
    const chatId = await createChat(server, alice, bob);

    for (const member of [alice, bob]) {
      const chat = dataOf(
        await server.gql<{ chat: { id: string; participants: { id: string }[] } }>(
          CHAT,
          { id: chatId },
          member.token,
        ),
      ).chat;
      expect(chat.id).toBe(chatId);
      expect(chat.participants.map((user) => user.id).sort()).toEqual([alice.id, bob.id].sort());
    }

    const outsider = await server.gql<{ chat: unknown }>(CHAT, { id: chatId }, eve.token);
    expect(outsider.errors).toBeUndefined();
    expect(outsider.data).toEqual({ chat: null });

    const unknown = await server.gql<{ chat: unknown }>(CHAT, { id: randomUUID() }, alice.token);
    expect(unknown.errors).toBeUndefined();
    expect(unknown.data).toEqual({ chat: null });
  });
});

describe('sendMessage', () => {
  it('returns the message as the sender’s own; the other participant reads it as not theirs', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const chatId = await createChat(server, alice, bob);

    const sent = await sendOk(alice, chatId, '  Hello, Bob!  ');
    expect(sent).toMatchObject({
      content: '  Hello, Bob!  ',
      isOwn: true,
      clientMessageId: null,
      sender: { id: alice.id, username: alice.username },
    });
    expect(Math.abs(Date.parse(sent.createdAt) - Date.now())).toBeLessThan(60_000);

    const asBob = await messagesPageOk(bob, chatId);
    expect(asBob.edges.map((edge) => edge.node)).toEqual([
      {
        id: sent.id,
        content: '  Hello, Bob!  ',
        createdAt: sent.createdAt,
        isOwn: false,
        clientMessageId: null,
        sender: { id: alice.id },
        chat: { id: chatId },
      },
    ]);
    const asAlice = await messagesPageOk(alice, chatId);
    expect(asAlice.edges[0]!.node).toMatchObject({ id: sent.id, isOwn: true });

    const stored = await db().messages.findOne({ message_id: sent.id });
    expect(stored).toMatchObject({
      chat_id: chatId,
      sender_id: alice.id,
      content: '  Hello, Bob!  ',
      message_type: 'text',
    });
    expect(stored?.timestamp).toBeInstanceOf(Date);
  });

  it('accepts content of exactly 4000 characters', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const chatId = await createChat(server, alice, bob);
    const sent = await sendOk(alice, chatId, 'x'.repeat(4000));
    expect(sent.content).toHaveLength(4000);
  });

  it('refuses a non-participant with FORBIDDEN and stores nothing', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const eve = await registerUser(server);
    const chatId = await createChat(server, alice, bob);
    await sendOk(alice, chatId, 'before');
    const before = await db().chats.findOne({ chat_id: chatId });

    const response = await send(eve, chatId, 'intrusion', 'eve-1');
    expect(response.data).toBeNull();
    expectError(response, 'FORBIDDEN');
    expect(await messageCount(chatId)).toBe(1);
    expect(await db().messages.countDocuments({ sender_id: eve.id })).toBe(0);
    const after = await db().chats.findOne({ chat_id: chatId });
    expect(after?.last_message).toBe(before?.last_message);
  });

  it('answers NOT_FOUND for an unknown chat', async () => {
    const alice = await registerUser(server);
    const response = await send(alice, randomUUID(), 'anyone there?');
    expectError(response, 'NOT_FOUND');
    expect(await db().messages.countDocuments({ sender_id: alice.id })).toBe(0);
  });

  it('refuses empty, blank and over-long content with BAD_USER_INPUT and stores nothing', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const chatId = await createChat(server, alice, bob);
    for (const content of ['', '   ', ' \n\t \n', 'x'.repeat(4001), 'y'.repeat(10_000)]) {
      const response = await send(alice, chatId, content);
      expect(response.data, JSON.stringify(content.slice(0, 10))).toBeNull();
      expectError(response, 'BAD_USER_INPUT');
    }
    expect(await messageCount(chatId)).toBe(0);
    const chat = await db().chats.findOne({ chat_id: chatId });
    expect(chat?.last_message).toBeNull();
  });

  it('returns the first message when retried with the same clientMessageId', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const chatId = await createChat(server, alice, bob);
    const clientMessageId = `cm-${randomUUID()}`;

    const first = await sendOk(alice, chatId, 'only once', clientMessageId);
    const retry = await sendOk(alice, chatId, 'only once', clientMessageId);
    expect(first.clientMessageId).toBe(clientMessageId);
    expect(retry).toEqual(first);
    expect(await messageCount(chatId)).toBe(1);
    expect(
      await db().messages.countDocuments({ chat_id: chatId, client_message_id: clientMessageId }),
    ).toBe(1);

    const listed = await messagesPageOk(bob, chatId);
    expect(listed.edges.map((edge) => edge.node.id)).toEqual([first.id]);
    expect(listed.edges[0]!.node.clientMessageId).toBe(clientMessageId);
  });

  it('stores one message when five sends with the same clientMessageId race', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const chatId = await createChat(server, alice, bob);
    for (let round = 0; round < 3; round++) {
      const clientMessageId = `race-${round}-${randomUUID()}`;
      const responses = await Promise.all(
        Array.from({ length: 5 }, () => send(alice, chatId, `race ${round}`, clientMessageId)),
      );
      const ids = responses.map((response) => dataOf(response).sendMessage.id);
      expect(new Set(ids).size).toBe(1);
      for (const response of responses) {
        expect(response.data!.sendMessage).toMatchObject({
          content: `race ${round}`,
          isOwn: true,
          clientMessageId,
          sender: { id: alice.id },
        });
      }
      expect(
        await db().messages.countDocuments({ chat_id: chatId, client_message_id: clientMessageId }),
      ).toBe(1);
    }
    expect(await messageCount(chatId)).toBe(3);
    const chat = await db().chats.findOne({ chat_id: chatId });
    expect(chat?.last_message).toBe('race 2');
  });

  it('keeps messages with the same clientMessageId apart across chats and senders', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const carol = await registerUser(server);
    const withBob = await createChat(server, alice, bob);
    const withCarol = await createChat(server, alice, carol);
    const clientMessageId = 'same-id-everywhere';

    const aliceToBob = await sendOk(alice, withBob, 'alice to bob', clientMessageId);
    const aliceToCarol = await sendOk(alice, withCarol, 'alice to carol', clientMessageId);
    const bobToAlice = await sendOk(bob, withBob, 'bob to alice', clientMessageId);
    expect(new Set([aliceToBob.id, aliceToCarol.id, bobToAlice.id]).size).toBe(3);
    expect(aliceToCarol.content).toBe('alice to carol');
    expect(bobToAlice).toMatchObject({ content: 'bob to alice', sender: { id: bob.id } });

    expect(await messageCount(withBob)).toBe(2);
    expect(await messageCount(withCarol)).toBe(1);
    const listed = await messagesPageOk(alice, withBob);
    expect(listed.edges.map((edge) => [edge.node.id, edge.node.isOwn])).toEqual([
      [aliceToBob.id, true],
      [bobToAlice.id, false],
    ]);
  });

  it('refuses a caller without a token', async () => {
    const response = await server.gql(SEND, { chatId: randomUUID(), content: 'hi' });
    expectError(response, 'UNAUTHENTICATED');
  });
});

describe('data written by the old server', () => {
  it('lists old messages in timestamp order, and new messages still go in after them', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const chatId = await insertLegacyChat(alice, bob);
    const hour = 3_600_000;
    const now = Date.now();
    const old = [
      legacyMessage(chatId, alice.id, 'old one', new Date(now - 3 * hour)),
      legacyMessage(chatId, bob.id, 'old two', new Date(now - 2 * hour)),
      legacyMessage(chatId, alice.id, 'old three', new Date(now - hour)),
    ];
    // Stored out of order: listing must follow the timestamps, not insertion.
    await db().messages.insertMany([old[2]!, old[0]!, old[1]!]);

    const listed = await messagesPageOk(bob, chatId);
    expect(listed.edges.map((edge) => edge.node)).toEqual(
      old.map((message) => ({
        id: message.message_id,
        content: message.content,
        createdAt: message.timestamp.toISOString(),
        isOwn: message.sender_id === bob.id,
        clientMessageId: null,
        sender: { id: message.sender_id },
        chat: { id: chatId },
      })),
    );

    const plain = await sendOk(alice, chatId, 'new without id');
    const keyed = await sendOk(bob, chatId, 'new with id', 'legacy-chat-1');
    const retried = await sendOk(bob, chatId, 'new with id', 'legacy-chat-1');
    expect(retried.id).toBe(keyed.id);

    const all = await messagesPageOk(alice, chatId);
    expect(all.edges.map((edge) => edge.node.id)).toEqual([
      ...old.map((message) => message.message_id),
      plain.id,
      keyed.id,
    ]);
    expect(await messageCount(chatId)).toBe(5);

    // Paging across the old and new documents works too.
    const firstTwo = await messagesPageOk(alice, chatId, { first: 2 });
    const rest = await messagesPageOk(alice, chatId, {
      first: 10,
      after: firstTwo.pageInfo.endCursor!,
    });
    expect([...firstTwo.edges, ...rest.edges].map((edge) => edge.node.id)).toEqual(
      all.edges.map((edge) => edge.node.id),
    );
  });

  it('shows an old chat with its last message, and reuses it instead of opening another', async () => {
    const carol = await registerUser(server);
    const dave = await registerUser(server);
    const chatId = randomUUID();
    const created = new Date(Date.now() - 86_400_000);
    const last = new Date(Date.now() - 3_600_000);
    const earlier = legacyMessage(
      chatId,
      carol.id,
      'legacy earlier',
      new Date(last.getTime() - 60_000),
    );
    const newest = legacyMessage(chatId, dave.id, 'legacy hello', last);
    await db().chats.insertOne({
      chat_id: chatId,
      participants: [carol.id, dave.id],
      created_at: created,
      last_message: 'legacy hello',
      last_message_time: last,
    });
    await db().messages.insertMany([earlier, newest]);

    const [chat] = dataOf(await chatsPage(carol)).chats.edges.map((edge) => edge.node);
    expect(chat).toMatchObject({
      id: chatId,
      createdAt: created.toISOString(),
      lastMessagePreview: 'legacy hello',
      lastMessageAt: last.toISOString(),
      lastMessage: { id: newest.message_id, content: 'legacy hello', sender: { id: dave.id } },
      otherUser: { id: dave.id },
    });
    // Asked twice (the first answer may have been looked up and remembered).
    const [again] = dataOf(await chatsPage(dave)).chats.edges.map((edge) => edge.node);
    expect(again?.lastMessage).toMatchObject({ id: newest.message_id, content: 'legacy hello' });

    expect(await createChat(server, dave, carol)).toBe(chatId);
    expect(await createChat(server, carol, dave)).toBe(chatId);
    expect(await db().chats.countDocuments({ participants: { $all: [carol.id, dave.id] } })).toBe(
      1,
    );

    const sent = await sendOk(carol, chatId, 'a new reply');
    const [updated] = dataOf(await chatsPage(dave)).chats.edges.map((edge) => edge.node);
    expect(updated).toMatchObject({
      id: chatId,
      lastMessagePreview: 'a new reply',
      lastMessageAt: sent.createdAt,
      lastMessage: { id: sent.id, content: 'a new reply', sender: { id: carol.id } },
    });
    const history = await messagesPageOk(dave, chatId);
    expect(history.edges.map((edge) => edge.node.id)).toEqual([
      earlier.message_id,
      newest.message_id,
      sent.id,
    ]);
  });

  it('pages through messages that share a timestamp without skipping or repeating', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const chatId = await insertLegacyChat(alice, bob);
    const at = new Date(Date.now() - 60_000);
    await db().messages.insertMany(
      Array.from({ length: 7 }, (_, index) =>
        legacyMessage(chatId, index % 2 ? bob.id : alice.id, `same time ${index}`, at),
      ),
    );
    const all = (await messagesPageOk(alice, chatId)).edges.map((edge) => edge.node.id);
    expect(all).toHaveLength(7);

    const forwards: string[] = [];
    let after: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await messagesPageOk(alice, chatId, { first: 2, after });
      forwards.push(...page.edges.map((edge) => edge.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    expect(forwards).toEqual(all);

    const backwards: string[][] = [];
    let before: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await messagesPageOk(alice, chatId, { last: 3, before });
      backwards.unshift(page.edges.map((edge) => edge.node.id));
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor!;
    }
    expect(backwards.flat()).toEqual(all);
  });

  it('keeps a chat list with a future-dated old chat stable when a message arrives mid-pagination', async () => {
    // The old server wrote naive local time; from a server east of UTC it reads as the future.
    const { owner, partners, chatIds } = await userWithChats(4);
    const legacyPartner = await registerUser(server);
    const legacyChatId = randomUUID();
    const future = new Date(Date.now() + 2 * 3_600_000);
    await db().chats.insertOne({
      chat_id: legacyChatId,
      participants: [owner.id, legacyPartner.id],
      created_at: new Date(Date.now() - 86_400_000),
      last_message: 'from the future',
      last_message_time: future,
    });
    await db().messages.insertOne(
      legacyMessage(legacyChatId, legacyPartner.id, 'from the future', future),
    );
    const everyChat = [legacyChatId, ...chatIds.slice().reverse()];
    expect(await allChats(owner, 10)).toEqual(everyChat);

    const page1 = dataOf(await chatsPage(owner, 2)).chats;
    const seen = page1.edges.map((edge) => edge.node.id);
    // The oldest chat, still to come on a later page, gets a message.
    await sendOk(partners[0]!, chatIds[0]!, 'hello');
    let after = page1.pageInfo.endCursor!;
    for (let pages = 0; pages < 10; pages++) {
      const page = dataOf(await chatsPage(owner, 2, after)).chats;
      seen.push(...page.edges.map((edge) => edge.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    expect(seen.slice().sort()).toEqual(everyChat.slice().sort());
  });
});

describe('chat.messages pagination', () => {
  it('pages forwards with first/after through all 25 messages, in order', async () => {
    const { alice, chatId, ids } = await chatWithMessages(25);
    const pages: MessagesPage[] = [];
    let after: string | undefined;
    for (let count = 0; count < 10; count++) {
      const page = await messagesPageOk(alice, chatId, { first: 10, after });
      pages.push(page);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    expect(pages.map((page) => page.edges.length)).toEqual([10, 10, 5]);
    expect(pages.map((page) => page.pageInfo.hasNextPage)).toEqual([true, true, false]);
    expect(pages.map((page) => page.pageInfo.hasPreviousPage)).toEqual([false, true, true]);
    expect(pages.flatMap((page) => page.edges.map((edge) => edge.node.id))).toEqual(ids);
    const contents = pages.flatMap((page) => page.edges.map((edge) => edge.node.content));
    expect(contents).toEqual(ids.map((_, index) => `message ${index}`));
    const isOwn = pages.flatMap((page) => page.edges.map((edge) => edge.node.isOwn));
    expect(isOwn).toEqual(ids.map((_, index) => index % 2 === 0));
  });

  it('pages backwards with last/before from the newest, through all 25 messages', async () => {
    const { bob, chatId, ids } = await chatWithMessages(25);
    const pages: MessagesPage[] = [];
    let before: string | undefined;
    for (let count = 0; count < 10; count++) {
      const page = await messagesPageOk(bob, chatId, { last: 10, before });
      pages.push(page);
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor!;
    }
    expect(pages.map((page) => page.edges.map((edge) => edge.node.id))).toEqual([
      ids.slice(15),
      ids.slice(5, 15),
      ids.slice(0, 5),
    ]);
    expect(pages.map((page) => page.pageInfo.hasPreviousPage)).toEqual([true, true, false]);
    expect(pages.map((page) => page.pageInfo.hasNextPage)).toEqual([false, true, true]);
  });

  it('answers the newest messages, oldest first, without arguments', async () => {
    const { alice, chatId, ids } = await chatWithMessages(25);
    const page = await messagesPageOk(alice, chatId);
    expect(page.edges.map((edge) => edge.node.id)).toEqual(ids);
    expect(page.pageInfo.hasPreviousPage).toBe(false);
    expect(page.pageInfo.hasNextPage).toBe(false);

    // With more history than one default page: a suffix of the timeline, ending with the newest.
    const bob = await registerUser(server);
    const carol = await registerUser(server);
    const longChat = await insertLegacyChat(bob, carol);
    const start = Date.now() - 1_000_000;
    const stored = Array.from({ length: 130 }, (_, index) => ({
      _id: new ObjectId(),
      message_id: randomUUID(),
      chat_id: longChat,
      sender_id: index % 2 ? bob.id : carol.id,
      content: `history ${index}`,
      timestamp: new Date(start + index * 1000),
      message_type: 'text' as const,
    }));
    await db().messages.insertMany(stored);
    const latest = await messagesPageOk(bob, longChat);
    const shown = latest.edges.map((edge) => edge.node.id);
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThan(130);
    expect(shown).toEqual(stored.slice(-shown.length).map((message) => message.message_id));
    expect(latest.pageInfo.hasPreviousPage).toBe(true);
  });

  it('refuses first together with last, page sizes out of range and garbage cursors', async () => {
    const { alice, chatId } = await chatWithMessages(3);
    for (const args of [
      { first: 2, last: 2 },
      { first: -1 },
      { last: -1 },
      { first: 101 },
      { last: 101 },
      { first: 2, after: 'garbage' },
      { last: 2, before: 'garbage' },
    ]) {
      const response = await messagesPage(alice, chatId, args);
      expect(response.data?.chat ?? null, JSON.stringify(args)).toBeNull();
      expectError(response, 'BAD_USER_INPUT');
    }
  });

  it('shows a message sent mid-pagination only at the end, without shifting pages', async () => {
    const { alice, bob, chatId, ids } = await chatWithMessages(25);

    // Forwards: the new message comes after everything that was there.
    const page1 = await messagesPageOk(alice, chatId, { first: 10 });
    expect(page1.edges.map((edge) => edge.node.id)).toEqual(ids.slice(0, 10));
    const late = await sendOk(bob, chatId, 'sent while paging');
    const page2 = await messagesPageOk(alice, chatId, {
      first: 10,
      after: page1.pageInfo.endCursor!,
    });
    expect(page2.edges.map((edge) => edge.node.id)).toEqual(ids.slice(10, 20));
    const page3 = await messagesPageOk(alice, chatId, {
      first: 10,
      after: page2.pageInfo.endCursor!,
    });
    expect(page3.edges.map((edge) => edge.node.id)).toEqual([...ids.slice(20), late.id]);
    expect(page3.pageInfo.hasNextPage).toBe(false);

    // Backwards: older pages are unaffected by a newer message.
    const newest = await messagesPageOk(alice, chatId, { last: 10 });
    expect(newest.edges.map((edge) => edge.node.id)).toEqual([...ids.slice(16), late.id]);
    const later = await sendOk(alice, chatId, 'sent while paging back');
    const older = await messagesPageOk(alice, chatId, {
      last: 10,
      before: newest.pageInfo.startCursor!,
    });
    expect(older.edges.map((edge) => edge.node.id)).toEqual(ids.slice(6, 16));
    // And forwards from the newest page's end finds just the new one.
    const tail = await messagesPageOk(alice, chatId, {
      first: 10,
      after: newest.pageInfo.endCursor!,
    });
    expect(tail.edges.map((edge) => edge.node.id)).toEqual([later.id]);
    expect(tail.pageInfo.hasNextPage).toBe(false);
  });

  it('does not show messages of a chat to a non-participant', async () => {
    const { chatId } = await chatWithMessages(2);
    const eve = await registerUser(server);
    const response = await messagesPage(eve, chatId);
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ chat: null });
  });
});
