/**
 * Chats stored before windows (issue 19): the old server's unnumbered messages and the numbered
 * ones of a server before windows are paged once by the start-up pass — also when a pass is
 * interrupted and the next start goes on with it — and history, the legacy history and replays
 * show exactly what they showed before, in the same order, read by windows.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pageOldChats } from '../src/timeline/positions.js';
import { Sequencer } from '../src/timeline/sequencer.js';
import { legacyChat, legacyMessage } from './support/legacy.js';
import { startTestServer, type TestServer } from './support/server.js';
import { registerUser, sendMessage, type TestUser } from './support/users.js';
import { waitFor } from './support/wait.js';

const OLD = 250;
const NUMBERED = 30;
const DB_NAME = `test_paging_${randomUUID().slice(0, 8)}`;

let server: TestServer;
let a: TestUser;
let b: TestUser;
let chatId: string;
/** Message ids in the order history showed them before paging. */
let expected: string[];

const HISTORY = /* GraphQL */ `
  query ($id: ID!, $last: Int, $before: String, $first: Int, $after: String) {
    chat(id: $id) {
      messages(last: $last, before: $before, first: $first, after: $after) {
        edges {
          cursor
          node {
            id
          }
        }
        pageInfo {
          hasPreviousPage
          hasNextPage
        }
      }
    }
  }
`;
type Page = {
  chat: {
    messages: {
      edges: { cursor: string; node: { id: string } }[];
      pageInfo: { hasPreviousPage: boolean; hasNextPage: boolean };
    };
  };
};

async function page(variables: Record<string, unknown>) {
  const reply = await server.gql<Page>(HISTORY, { id: chatId, ...variables }, a.token);
  expect(reply.errors).toBeUndefined();
  return reply.data!.chat.messages;
}

/** The whole history, paged backwards from the newest, 100 at a time: ids and cursors. */
async function wholeHistory() {
  const edges: { cursor: string; node: { id: string } }[] = [];
  for (let before: string | undefined; ;) {
    const found = await page({ last: 100, before });
    edges.unshift(...found.edges);
    if (!found.pageInfo.hasPreviousPage) return edges;
    before = found.edges[0]!.cursor;
  }
}

const collections = () => server.service.app.db;

beforeAll(async () => {
  server = await startTestServer({ DB_NAME });
  [a, b] = [await registerUser(server), await registerUser(server)];
  // A chat the old server wrote: its messages have no numbers; some share a timestamp.
  const chat = legacyChat([a.id, b.id]);
  chatId = chat.chat_id;
  const start = Date.now() - 86_400_000;
  const old = Array.from({ length: OLD }, (_, index) =>
    legacyMessage(chatId, index % 2 ? a.id : b.id, `old ${index}`, new Date(start + (index >> 2))),
  );
  await collections().db.collection('chats').insertOne(chat);
  await collections().db.collection('messages').insertMany(old);
  for (let index = 0; index < NUMBERED; index += 1) {
    await sendMessage(server, index % 2 ? a : b, chatId, `new ${index}`);
  }
  // As a server before windows stored them.
  await collections().messages.updateMany({ chat_id: chatId }, { $unset: { window: '' } });
  await collections().events.updateMany({ chat_id: chatId }, { $unset: { window: '' } });
  const byTime = [...old].sort(
    (x, y) =>
      x.timestamp.getTime() - y.timestamp.getTime() || (x.message_id < y.message_id ? -1 : 1),
  );
  expected = (await wholeHistory()).map((edge) => edge.node.id);
  expect(expected.slice(0, OLD)).toEqual(byTime.map((message) => message.message_id));
  expect(expected).toHaveLength(OLD + NUMBERED);
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

it('a pass stopped half-way leaves history as it was, and the next start completes it', async () => {
  let checks = 0;
  await expect(
    pageOldChats(collections(), new Sequencer(), () => (checks += 1) > 1),
  ).rejects.toThrow();
  const chat = await collections().chats.findOne({ chat_id: chatId });
  expect(chat?.paged).toBeUndefined();
  const placed = await collections().messages.countDocuments({ legacy_pos: { $exists: true } });
  expect(placed).toBeGreaterThan(0);
  expect(placed).toBeLessThan(OLD);
  expect((await wholeHistory()).map((edge) => edge.node.id)).toEqual(expected);

  // A restart on the same database: its pass goes on.
  await server.service.stop();
  server = await startTestServer({ DB_NAME });
  await server.service.app.paging.done;
  const paged = await collections().chats.findOne({ chat_id: chatId });
  expect(paged).toMatchObject({ paged: true, legacy_count: OLD });
  expect(await collections().events.countDocuments({ window: { $exists: false } })).toBe(0);
  expect(await collections().messages.countDocuments({ window: { $exists: false } })).toBe(0);
  // Placed once: another pass finds nothing to do.
  expect(await pageOldChats(collections(), new Sequencer())).toEqual({
    chats: 0,
    placed: 0,
    windowed: 0,
  });
}, 120_000);

it('pages of a paged chat show what they showed before: newest, oldest, middle, forwards', async () => {
  const history = await wholeHistory();
  expect(history.map((edge) => edge.node.id)).toEqual(expected);

  const newest = await page({});
  expect(newest.edges.map((edge) => edge.node.id)).toEqual(expected.slice(-50));
  const oldest = await page({ first: 50 });
  expect(oldest.edges.map((edge) => edge.node.id)).toEqual(expected.slice(0, 50));
  expect(oldest.pageInfo.hasNextPage).toBe(true);
  // Across the boundary between the old messages and the numbered ones, both ways.
  const middle = await page({ first: 60, after: history[OLD - 31]!.cursor });
  expect(middle.edges.map((edge) => edge.node.id)).toEqual(expected.slice(OLD - 30, OLD + 30));
  const backwards = await page({ last: 45, before: history[OLD + 5]!.cursor });
  expect(backwards.edges.map((edge) => edge.node.id)).toEqual(expected.slice(OLD - 40, OLD + 5));
  // The cursors are those clients held before paging.
  expect(history.map((edge) => edge.cursor)).toEqual((await wholeHistory()).map((e) => e.cursor));

  const legacy = await fetch(`${server.url}/api/chats/${chatId}/messages?limit=1000`, {
    headers: { authorization: `Bearer ${a.token}` },
  });
  expect(legacy.status).toBe(200);
  const messages = (await legacy.json()) as { message_id: string }[];
  expect(messages.map((message) => message.message_id)).toEqual(expected);
});

it('chatEvents resumes from an old message: the old ones after it, then the numbered ones', async () => {
  const history = await wholeHistory();
  const from = OLD - 100;
  const received: { id: string; seq: number | null }[] = [];
  const client = server.wsClient({ authorization: `Bearer ${b.token}` });
  const stop = client.subscribe<{
    chatEvents: { seq: number | null; message?: { id: string } };
  }>(
    {
      query: /* GraphQL */ `
        subscription ($id: ID!, $after: String) {
          chatEvents(chatId: $id, after: $after) {
            seq
            ... on MessageAdded {
              message {
                id
              }
            }
          }
        }
      `,
      variables: { id: chatId, after: history[from - 1]!.cursor },
    },
    {
      next: ({ data }) =>
        received.push({ id: data!.chatEvents.message!.id, seq: data!.chatEvents.seq }),
      error: () => undefined,
      complete: () => undefined,
    },
  );
  await waitFor(() => received.length >= expected.length - from, 'the replay', 20_000);
  stop();
  expect(received.map((item) => item.id)).toEqual(expected.slice(from));
  expect(received.map((item) => item.seq)).toEqual([
    ...Array<null>(OLD - from).fill(null),
    ...Array.from({ length: NUMBERED }, (_, index) => index + 1),
  ]);
});
