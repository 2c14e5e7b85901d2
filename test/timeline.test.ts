/**
 * A chat's timeline on three instances sharing one database and one Redis (the database
 * FerretDB, whose conditional updates are not atomic): numbers are taken without gaps or
 * duplicates by concurrent senders, a retried send is stored once wherever it lands, a message
 * whose sender died after storing it still reaches every subscriber in order, and cursors from
 * before numbering still resume.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import { windowsOf } from '../src/timeline/pages.js';
import { startCluster, type Cluster, type Instance } from './support/cluster.js';
import { legacyChat, legacyMessage } from './support/legacy.js';
import { openEventStream } from './support/sse.js';
import { createChat, registerUser, SEND, type TestUser } from './support/users.js';
import { cleanupAfterEach, sleep, waitFor as waitUpTo } from './support/wait.js';

const TIMEOUT = 10_000;
/** How long to keep listening for something that must not arrive. */
const GRACE = 500;

let cluster: Cluster;
let instances: Instance[];
beforeAll(async () => {
  cluster = await startCluster({ mongoUrl: inject('mongoUrl') });
  instances = cluster.instances;
}, 120_000);
afterAll(() => cluster?.stop(), 60_000);

const cleanups = cleanupAfterEach();
const waitFor = <T>(check: () => T | Promise<T>, what: string) => waitUpTo(check, what, TIMEOUT);
const on = (index: number) => instances[index % instances.length]!;

async function send(
  instance: Instance,
  user: TestUser,
  chatId: string,
  content: string,
  clientMessageId: string = randomUUID(),
): Promise<string> {
  const response = await instance.gql<{ sendMessage: { id: string } }>(
    SEND,
    { chatId, content, clientMessageId },
    user.token,
  );
  if (!response.data?.sendMessage) throw new Error(`send failed: ${JSON.stringify(response)}`);
  return response.data.sendMessage.id;
}

async function pair() {
  const [a, b] = [await registerUser(on(0)), await registerUser(on(1))];
  return { a, b, chatId: await createChat(on(2), a, b) };
}

/** The chat's stored events, in number order. */
const storedEvents = (chatId: string) =>
  cluster.db.events.find({ chat_id: chatId }).sort({ seq: 1 }).toArray();

// --- subscribers -------------------------------------------------------------------------------

interface Received {
  id: string;
  seq?: number | null;
}

function graphqlSubscriber(
  instance: Instance,
  user: TestUser,
  query: string,
  variables: Record<string, unknown>,
  pick: (data: Record<string, never>) => Received,
) {
  const client = createClient({
    url: instance.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${user.token}` },
    retryAttempts: 0,
  });
  const received: Received[] = [];
  const errors: unknown[] = [];
  const stop = client.subscribe<Record<string, never>>(
    { query, variables },
    {
      next: (result) => (result.data ? received.push(pick(result.data)) : errors.push(result)),
      error: (error) => errors.push(error),
      complete: () => undefined,
    },
  );
  cleanups.push(() => (stop(), client.dispose()));
  return { received, errors };
}

const CHAT_EVENTS = /* GraphQL */ `
  subscription ($chatId: ID!, $after: String) {
    chatEvents(chatId: $chatId, after: $after) {
      cursor
      seq
      ... on MessageAdded {
        message {
          id
        }
      }
    }
  }
`;
const chatEvents = (instance: Instance, user: TestUser, chatId: string, after?: string) =>
  graphqlSubscriber(instance, user, CHAT_EVENTS, { chatId, after }, (data) => {
    const event = data.chatEvents as unknown as { seq: number | null; message: { id: string } };
    return { id: event.message.id, seq: event.seq };
  });

const MESSAGE_ADDED = /* GraphQL */ `
  subscription ($chatId: ID!, $after: String) {
    messageAdded(chatId: $chatId, after: $after) {
      id
    }
  }
`;
const messageAdded = (instance: Instance, user: TestUser, chatId: string, after?: string) =>
  graphqlSubscriber(instance, user, MESSAGE_ADDED, { chatId, after }, (data) => ({
    id: (data.messageAdded as unknown as { id: string }).id,
  }));

/** The legacy per-user SSE stream; `lastEventId` resumes. */
async function legacyStream(instance: Instance, user: TestUser, lastEventId?: string) {
  const received: Received[] = [];
  const close = await openEventStream(
    `${instance.url}/sse/${user.id}?token=${user.token}`,
    { headers: lastEventId ? { 'last-event-id': lastEventId } : {} },
    ({ data }) => {
      const event = JSON.parse(data) as { message_id?: string };
      if (event.message_id) received.push({ id: event.message_id });
    },
    // A broken stream shows as messages missing.
    () => undefined,
  );
  cleanups.push(close);
  return { received };
}

/** Sends probes until every subscriber has one; returns the last probe's id. */
async function untilLive(subscribers: { received: Received[] }[], probe: () => Promise<string>) {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    const id = await probe();
    const live = () => subscribers.every((s) => s.received.some((item) => item.id === id));
    if (await waitUpTo(live, 'a probe', 500).catch(() => false)) return id;
    if (Date.now() > deadline) throw new Error('subscribers not live');
  }
}

/** What a subscriber received after `from` (an id it received), as ids. */
const idsAfter = (subscriber: { received: Received[] }, from: string) => {
  const ids = subscriber.received.map((item) => item.id);
  return ids.slice(ids.indexOf(from) + 1);
};

// --- the tests ---------------------------------------------------------------------------------

describe('taking numbers', () => {
  it('numbers a chat 1, 2, 3, … once each under concurrent senders on three instances', async () => {
    const { a, b, chatId } = await pair();
    const perSender = 30;
    const inFlight = 5;
    const sent: string[] = [];
    // Each sender keeps `inFlight` sends going, spread over the instances.
    const lanes = [a, b].flatMap((user) =>
      Array.from({ length: inFlight }, async (_, lane) => {
        for (let index = lane; index < perSender; index += inFlight) {
          sent.push(await send(on(index), user, chatId, `${user.username} ${index}`));
        }
      }),
    );
    // A send retried on every instance at once (the same clientMessageId) is stored once.
    const retried = Array.from({ length: 3 }, (_, index) =>
      send(on(index), a, chatId, 'retried everywhere', 'the-same-client-id'),
    );
    const retriedIds = await Promise.all(retried);
    await Promise.all(lanes);

    expect(new Set(retriedIds).size).toBe(1);
    const total = 2 * perSender + 1;
    const events = await storedEvents(chatId);
    expect(events.map((event) => event.seq)).toEqual(
      Array.from({ length: total }, (_, index) => index + 1),
    );
    const eventIds = events.map((event) => event.message.message_id);
    expect(new Set(eventIds)).toEqual(new Set([...sent, retriedIds[0]]));
    // History holds the same messages under the same numbers.
    const copies = await cluster.db.messages.find({ chat_id: chatId }).sort({ seq: 1 }).toArray();
    expect(copies.map((copy) => [copy.seq, copy.message_id])).toEqual(
      events.map((event) => [event.seq, event.message.message_id]),
    );
  }, 60_000);
});

describe('chat summaries', () => {
  it('show the newest message after 60 concurrent sends through one instance', async () => {
    // Without one summary write at a time per chat, FerretDB leaves an older one standing here.
    const { a, b, chatId } = await pair();
    await Promise.all(
      Array.from({ length: 60 }, (_, index) =>
        send(on(0), index % 2 ? a : b, chatId, `concurrent ${index}`),
      ),
    );
    const [newest] = await cluster.db.events.find({ chat_id: chatId }).sort({ seq: -1 }).toArray();
    const listed = await on(1).gql<{
      chat: { lastMessagePreview: string; lastMessage: { id: string } };
    }>(
      'query ($id: ID!) { chat(id: $id) { lastMessagePreview lastMessage { id } } }',
      { id: chatId },
      a.token,
    );
    expect(listed.data?.chat).toEqual({
      lastMessagePreview: newest!.message.content,
      lastMessage: { id: newest!.message.message_id },
    });
  });
});

describe('a sender that dies after storing', () => {
  it('still reaches every subscriber, in order, and history and the summary get it', async () => {
    const { a, b, chatId } = await pair();
    const subscribers = [
      chatEvents(on(1), b, chatId),
      messageAdded(on(2), a, chatId),
      await legacyStream(on(0), b),
    ];
    const probe = await untilLive(subscribers, () => send(on(0), a, chatId, 'probe'));

    // What a sender leaves when it dies right after storing the event: no history copy, no
    // summary, nothing published.
    const [head] = await cluster.db.events.find({ chat_id: chatId }).sort({ seq: -1 }).toArray();
    const seq = head!.seq + 1;
    const orphan = {
      message_id: randomUUID(),
      chat_id: chatId,
      sender_id: a.id,
      content: 'stored, never published',
      timestamp: new Date(),
      message_type: 'text' as const,
      seq,
    };
    await cluster.db.events.insertOne({
      _id: `${chatId}:${seq}`,
      chat_id: chatId,
      seq,
      window: windowsOf(seq),
      type: 'message',
      at: new Date(),
      message: orphan,
    });
    const next = await send(on(1), b, chatId, 'the next one');

    for (const subscriber of subscribers) {
      await waitFor(() => subscriber.received.some((item) => item.id === next), 'the next one');
    }
    await sleep(GRACE);
    for (const subscriber of subscribers) {
      expect(idsAfter(subscriber, probe)).toEqual([orphan.message_id, next]);
    }
    expect(subscribers[0]!.received.slice(-2).map((item) => item.seq)).toEqual([seq, seq + 1]);

    const history = await on(2).gql<{
      chat: { lastMessagePreview: string; messages: { edges: { node: { id: string } }[] } };
    }>(
      'query ($id: ID!) { chat(id: $id) { lastMessagePreview messages(last: 2) { edges { node { id } } } } }',
      { id: chatId },
      a.token,
    );
    expect(history.data?.chat.messages.edges.map((edge) => edge.node.id)).toEqual([
      orphan.message_id,
      next,
    ]);
    expect(history.data?.chat.lastMessagePreview).toBe('the next one');
  }, 30_000);
});

describe('cursors from before numbering', () => {
  it('resume with the old messages after them, then the numbered ones, on every transport', async () => {
    const [a, b] = [await registerUser(on(0)), await registerUser(on(1))];
    // A chat the old server wrote: three messages without numbers.
    const chat = legacyChat([a.id, b.id]);
    const start = Date.now() - 3_600_000;
    const old = [0, 1, 2].map((index) =>
      legacyMessage(chat.chat_id, a.id, `old ${index}`, new Date(start + index * 60_000)),
    );
    await cluster.db.db.collection('chats').insertOne(chat);
    await cluster.db.db.collection('messages').insertMany(old);
    const numbered = [
      await send(on(0), b, chat.chat_id, 'new 1'),
      await send(on(1), a, chat.chat_id, 'new 2'),
    ];

    // The cursor a client got for the first old message (the same format as before numbering).
    const first = await on(2).gql<{ chat: { messages: { edges: { cursor: string }[] } } }>(
      'query ($id: ID!) { chat(id: $id) { messages(first: 1) { edges { cursor } } } }',
      { id: chat.chat_id },
      b.token,
    );
    const cursor = first.data!.chat.messages.edges[0]!.cursor;
    const subscribers = {
      messageAdded: messageAdded(on(1), b, chat.chat_id, cursor),
      chatEvents: chatEvents(on(2), b, chat.chat_id, cursor),
      // The old SSE stream's ids were these cursors too.
      legacySse: await legacyStream(on(0), b, cursor),
    };
    const expected = [old[1]!.message_id, old[2]!.message_id, ...numbered];
    for (const [name, subscriber] of Object.entries(subscribers)) {
      await waitFor(() => subscriber.received.length >= expected.length, `${name}: the replay`);
    }
    const live = await send(on(2), a, chat.chat_id, 'live');
    for (const [name, subscriber] of Object.entries(subscribers)) {
      await waitFor(() => subscriber.received.some((item) => item.id === live), `${name}: live`);
    }
    await sleep(GRACE);
    for (const subscriber of Object.values(subscribers)) {
      expect(subscriber.received.map((item) => item.id)).toEqual([...expected, live]);
    }
    expect(subscribers.chatEvents.received.map((item) => item.seq)).toEqual([null, null, 1, 2, 3]);
  }, 30_000);
});
