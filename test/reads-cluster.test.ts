/**
 * Read state and typing on two instances sharing one database (FerretDB) and Redis: marks racing
 * from two devices on different instances never move a position back; unread counts read on
 * either instance, and after a reconnect, are right; the owner's other device (on the other
 * instance) gets myChats UPDATED; typing crosses instances.
 */
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import { startCluster, type Cluster, type Instance } from './support/cluster.js';
import { createChat, registerUser, SEND, type TestUser } from './support/users.js';
import { cleanupAfterEach, sleep, waitFor } from './support/wait.js';

let cluster: Cluster;
let instances: Instance[];
beforeAll(async () => {
  cluster = await startCluster({ mongoUrl: inject('mongoUrl'), size: 2 });
  instances = cluster.instances;
}, 120_000);
afterAll(() => cluster?.stop(), 60_000);
const cleanups = cleanupAfterEach();
const on = (index: number) => instances[index % instances.length]!;

async function ok<Data>(instance: Instance, query: string, vars: object, user: TestUser) {
  const response = await instance.gql<Data>(query, vars as Record<string, unknown>, user.token);
  if (!response.data || response.errors) throw new Error(JSON.stringify(response));
  return response.data;
}

const UNREAD = /* GraphQL */ `
  query ($id: ID!) {
    chat(id: $id) {
      unreadCount
      messages(last: 100) {
        edges {
          cursor
        }
      }
    }
  }
`;
const MARK_READ = /* GraphQL */ `
  mutation ($chatId: ID!, $upTo: String) {
    markChatRead(chatId: $chatId, upTo: $upTo) {
      id
    }
  }
`;
type Unread = { chat: { unreadCount: number; messages: { edges: { cursor: string }[] } } };

function subscribe<T>(instance: Instance, user: TestUser, query: string, variables = {}) {
  const client = createClient({
    url: instance.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${user.token}` },
    retryAttempts: 0,
  });
  const received: T[] = [];
  const stop = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => void (result.data && received.push(result.data)),
      error: () => undefined,
      complete: () => undefined,
    },
  );
  cleanups.push(() => (stop(), client.dispose()));
  return received;
}

describe('read state across instances', () => {
  it('keeps positions forward under marks racing on two instances, and counts right on both', async () => {
    const [a, b] = [await registerUser(on(0)), await registerUser(on(1))];
    const chatId = await createChat(on(0), a, b);
    for (let batch = 0; batch < 4; batch += 1) {
      await Promise.all(
        Array.from({ length: 10 }, (_each, index) =>
          ok(on(index), SEND, { chatId, content: `m${batch}.${index}` }, a),
        ),
      );
    }
    const cursors = (await ok<Unread>(on(1), UNREAD, { id: chatId }, b)).chat.messages.edges.map(
      (edge) => edge.cursor,
    );
    for (let round = 0; round < 6; round += 1) {
      // Devices on both instances: the newest position and every older one, all at once.
      await Promise.all(
        cursors
          .slice(round * 5)
          .map((cursor, index) => ok(on(index), MARK_READ, { chatId, upTo: cursor }, b)),
      );
      const stored = await cluster.db.readPositions.findOne({ chat_id: chatId, user_id: b.id });
      expect(stored?.seq).toBe(cursors.length);
      for (const instance of instances) {
        expect((await ok<Unread>(instance, UNREAD, { id: chatId }, b)).chat.unreadCount).toBe(0);
      }
    }
    const stored = await cluster.db.readPositions.findOne({ chat_id: chatId, user_id: b.id });
    expect(stored?.seq).toBe(cursors.length);

    // A reconnecting client reads the count afresh: a message sent meanwhile on the other instance.
    await ok(on(0), SEND, { chatId, content: 'while away' }, a);
    expect((await ok<Unread>(on(1), UNREAD, { id: chatId }, b)).chat.unreadCount).toBe(1);
  });

  it('writes one key at a time across instances (the lock read positions are written under)', async () => {
    let inside = 0;
    let most = 0;
    const task = async () => {
      inside += 1;
      most = Math.max(most, inside);
      await sleep(5);
      inside -= 1;
    };
    const key = `test:${Date.now()}`;
    await Promise.all(
      Array.from({ length: 20 }, (_each, index) => on(index).service!.app.keyLocks.run(key, task)),
    );
    expect(most).toBe(1);
  });

  it('tells the owner’s other device, on the other instance, that a chat was read', async () => {
    const [a, b] = [await registerUser(on(0)), await registerUser(on(1))];
    const chatId = await createChat(on(0), a, b);
    const list = subscribe<{
      myChats: { change: string; chat: { id: string; unreadCount: number } };
    }>(
      on(1),
      b,
      /* GraphQL */ `
        subscription {
          myChats {
            change
            chat {
              id
              unreadCount
            }
          }
        }
      `,
    );
    await waitFor(async () => {
      await ok(on(0), SEND, { chatId, content: 'probe' }, a);
      await sleep(200);
      return list.length > 0;
    }, 'the chat list to listen');
    await waitFor(() => list.at(-1)?.myChats.chat.unreadCount, 'an unread message');
    await ok(on(0), MARK_READ, { chatId }, b);
    await waitFor(() => list.at(-1)?.myChats.chat.unreadCount === 0, 'the chat read elsewhere');
    expect(list.at(-1)!.myChats).toEqual({
      change: 'UPDATED',
      chat: { id: chatId, unreadCount: 0 },
    });
  });

  it('passes typing between instances', async () => {
    const [a, b] = [await registerUser(on(0)), await registerUser(on(1))];
    const chatId = await createChat(on(0), a, b);
    const seen = subscribe<{ chatEvents: { __typename: string; users?: { id: string }[] } }>(
      on(1),
      b,
      /* GraphQL */ `
        subscription ($chatId: ID!) {
          chatEvents(chatId: $chatId) {
            __typename
            ... on TypingChanged {
              users {
                id
              }
            }
          }
        }
      `,
      { chatId },
    );
    const typers = () =>
      seen.filter((each) => each.chatEvents.__typename === 'TypingChanged').at(-1)?.chatEvents
        .users;
    const SET =
      'mutation ($chatId: ID!, $typing: Boolean!) { setTyping(chatId: $chatId, typing: $typing) }';
    await waitFor(async () => {
      await ok(on(0), SET, { chatId, typing: false }, a);
      await ok(on(0), SET, { chatId, typing: true }, a);
      await sleep(200);
      return typers()?.length === 1;
    }, 'A typing, seen on the other instance');
    expect(typers()).toEqual([{ id: a.id }]);
    await ok(on(0), SEND, { chatId, content: 'sent' }, a);
    await waitFor(() => typers()?.length === 0, 'A’s send to end A’s typing');
  });
});
