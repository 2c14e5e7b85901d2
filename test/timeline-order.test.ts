/**
 * Issue 13's scenario, through real clients: two users send concurrently into a chat (several
 * requests in flight each, over GraphQL and the legacy POST /api/send) while the recipient's
 * subscriber drops and reconnects from the last position it received. Once every send is
 * acknowledged and the subscriber has caught up, it must have received every stored message
 * exactly once, in the order of the chat's history. One scenario, run for every transport on one
 * instance and on three instances sharing one database and one Redis (senders spread over the
 * instances, each reconnect to the next one).
 *
 * A subscription has no "started" signal: the first connection (from now, no position) is sent
 * probes until it has seen one; only what is sent after that is measured.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import { startCluster } from './support/cluster.js';
import { startTestServer, type GraphQLResponse } from './support/server.js';
import { createChat, registerUser, SEND, type TestUser } from './support/users.js';
import { openEventStream } from './support/sse.js';
import { sleep, waitFor, withTimeout } from './support/wait.js';

/** Messages per run, over all chats. */
const MESSAGES = 240;
/** Requests in flight per sender and chat; the first of them sends with the legacy POST. */
const LANES = 3;
/** Once every send is acknowledged: how long the subscriber may take to catch up... */
const CATCH_UP_MS = 10_000;
/** ...or how long it may stay silent once it has the newest message of every chat. */
const QUIET_MS = 2000;
/** How long to keep listening after catching up, for late duplicates. */
const GRACE_MS = 300;
const TIMEOUT = 10_000;
/** A connection is dropped no sooner than its first delivery, or this long after it opened. */
const PROGRESS_MS = 2000;

// --- topologies ------------------------------------------------------------------------------

/** What a test needs of an instance: a TestServer or a cluster's Instance. */
interface Endpoint {
  url: string;
  gql<Data = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<GraphQLResponse<Data>>;
}

interface Topology {
  name: string;
  start(): Promise<{ endpoints: Endpoint[]; stop(): Promise<void> }>;
}

const topologies: Topology[] = [
  {
    name: 'one instance',
    async start() {
      const server = await startTestServer();
      return { endpoints: [server], stop: () => server.stop() };
    },
  },
  {
    name: 'three instances sharing Redis',
    async start() {
      const cluster = await startCluster({ mongoUrl: inject('mongoUrl') });
      return { endpoints: cluster.instances, stop: () => cluster.stop() };
    },
  },
];

const wsBase = (endpoint: Endpoint) => endpoint.url.replace(/^http/, 'ws');

// --- feeds: one per transport ----------------------------------------------------------------

/** One delivery: a message (or, on chatEvents, another kind of event, without `id`). */
interface Item {
  id?: string;
  chatId?: string;
  cursor: string | null;
  seq?: number | null;
}

interface Connection {
  endpoint: Endpoint;
  user: TestUser;
  chatId: string;
  after: string | null;
  deliver(item: Item): void;
  fail(error: unknown): void;
}

interface Feed {
  name: string;
  /** Follows all of the user's chats (legacy) rather than one chat. */
  perUser: boolean;
  /** How often the subscriber drops and reconnects; null: one connection that stays open. */
  reconnectEveryMs: number | null;
  /** Opens a connection; resolves with its close. */
  open(connection: Connection): Promise<() => Promise<void>>;
}

const MESSAGE_ADDED = /* GraphQL */ `
  subscription ($chatId: ID!, $after: String) {
    messageAdded(chatId: $chatId, after: $after) {
      id
      content
      cursor
    }
  }
`;

const CHAT_EVENTS = /* GraphQL */ `
  subscription ($chatId: ID!, $after: String) {
    chatEvents(chatId: $chatId, after: $after) {
      cursor
      seq
      ... on MessageAdded {
        message {
          id
          content
        }
      }
    }
  }
`;

interface GraphQLSubscription {
  field: string;
  query: string;
  item(data: Record<string, unknown>, chatId: string): Item;
}

const messageAdded: GraphQLSubscription = {
  field: 'messageAdded',
  query: MESSAGE_ADDED,
  item: (data, chatId) => {
    const message = data.messageAdded as { id: string; cursor: string };
    return { id: message.id, chatId, cursor: message.cursor };
  },
};

const chatEvents: GraphQLSubscription = {
  field: 'chatEvents',
  query: CHAT_EVENTS,
  item: (data, chatId) => {
    const event = data.chatEvents as {
      cursor: string;
      seq: number | null;
      message?: { id: string };
    };
    return { id: event.message?.id, chatId, cursor: event.cursor, seq: event.seq };
  },
};

function graphqlWs(subscription: GraphQLSubscription): Feed {
  return {
    name: `${subscription.field} over graphql-ws`,
    perUser: false,
    reconnectEveryMs: 100,
    async open({ endpoint, user, chatId, after, deliver, fail }) {
      const client = createClient({
        url: `${wsBase(endpoint)}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${user.token}` },
        lazy: true,
        retryAttempts: 0,
      });
      const unsubscribe = client.subscribe<Record<string, unknown>>(
        { query: subscription.query, variables: { chatId, after } },
        {
          next: (result) =>
            result.data ? deliver(subscription.item(result.data, chatId)) : fail(result.errors),
          error: fail,
          complete: () => undefined,
        },
      );
      return async () => {
        unsubscribe();
        await client.dispose();
      };
    },
  };
}

function graphqlSse(subscription: GraphQLSubscription): Feed {
  return {
    name: `${subscription.field} over GraphQL SSE`,
    perUser: false,
    reconnectEveryMs: 100,
    open: ({ endpoint, user, chatId, after, deliver, fail }) =>
      openEventStream(
        `${endpoint.url}/graphql`,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'text/event-stream',
            authorization: `Bearer ${user.token}`,
          },
          body: JSON.stringify({ query: subscription.query, variables: { chatId, after } }),
        },
        ({ event, data }) => {
          if (event !== 'next' && event !== undefined) return;
          const result = JSON.parse(data) as { data?: Record<string, unknown>; errors?: unknown };
          if (result.data) deliver(subscription.item(result.data, chatId));
          else fail(result.errors ?? result);
        },
        fail,
      ),
  };
}

interface LegacyMessage {
  type?: string;
  message_id?: string;
  chat_id?: string;
}

const legacySse: Feed = {
  name: 'legacy SSE (Last-Event-ID)',
  perUser: true,
  reconnectEveryMs: 200,
  open: ({ endpoint, user, after, deliver, fail }) =>
    openEventStream(
      `${endpoint.url}/sse/${user.id}?token=${user.token}`,
      { headers: after ? { 'last-event-id': after } : {} },
      ({ id, data }) => {
        const message = JSON.parse(data) as LegacyMessage;
        if (message.type === 'connected') return;
        if (message.type !== 'message' || !id) return fail(`unexpected SSE event: ${data}`);
        deliver({ id: message.message_id, chatId: message.chat_id, cursor: id });
      },
      fail,
    ),
};

const legacyWs: Feed = {
  name: 'legacy WebSocket (one connection)',
  perUser: true,
  reconnectEveryMs: null,
  async open({ endpoint, user, deliver, fail }) {
    const socket = new WebSocket(`${wsBase(endpoint)}/ws/${user.id}?token=${user.token}`);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as LegacyMessage;
      if (message.message_id) {
        deliver({ id: message.message_id, chatId: message.chat_id, cursor: null });
      }
    });
    socket.on('error', fail);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await withTimeout(
      new Promise((resolve) => socket.once('open', resolve)),
      'legacy WebSocket',
      TIMEOUT,
    );
    return async () => {
      socket.close();
      await closed;
    };
  },
};

const feeds: Feed[] = [
  graphqlWs(messageAdded),
  graphqlWs(chatEvents),
  graphqlSse(messageAdded),
  graphqlSse(chatEvents),
  legacySse,
  legacyWs,
];

// --- the subscriber --------------------------------------------------------------------------

/**
 * A client of `feed`: each connection goes to the next endpoint and resumes after the cursor of
 * the last item received; items arriving on a connection it has dropped are ignored.
 */
function subscriber(feed: Feed, endpoints: Endpoint[], user: TestUser, chatId: string) {
  const received: Item[] = [];
  const errors: unknown[] = [];
  let cursor: string | null = null;
  let connections = 0;
  /** When the current connection opened, and whether anything arrived on it. */
  let openedAt = 0;
  let deliveredOnThis = false;
  let close: () => Promise<void> = async () => undefined;
  let running = true;

  const connect = async () => {
    let open = true;
    openedAt = Date.now();
    deliveredOnThis = false;
    const closeConnection = await feed.open({
      endpoint: endpoints[connections++ % endpoints.length]!,
      user,
      chatId,
      after: cursor,
      deliver: (item) => {
        if (!open) return;
        received.push(item);
        deliveredOnThis = true;
        cursor = item.cursor ?? cursor;
      },
      fail: (error) => open && errors.push(error),
    });
    close = async () => {
      open = false;
      await closeConnection();
    };
  };

  let reconnecting: Promise<void> = Promise.resolve();
  return {
    received,
    errors,
    connections: () => connections,
    connect,
    /**
     * Drops and reconnects every `feed.reconnectEveryMs` until stopped — once the connection has
     * received something (or been open for PROGRESS_MS): on a loaded machine a resumed
     * connection can take longer than the period to replay its first event, and a client that
     * always dropped it before then would never get anywhere.
     */
    startReconnecting() {
      const every = feed.reconnectEveryMs;
      if (every === null) return;
      reconnecting = (async () => {
        while (running) {
          await sleep(every);
          while (running && !deliveredOnThis && Date.now() - openedAt < PROGRESS_MS) {
            await sleep(10);
          }
          if (!running) break;
          await close();
          await connect().catch((error: unknown) => errors.push(error));
        }
      })();
    },
    async stop() {
      running = false;
      await reconnecting;
      await close();
      close = async () => undefined;
    },
  };
}

// --- senders, history ------------------------------------------------------------------------

async function send(
  endpoint: Endpoint,
  user: TestUser,
  chatId: string,
  content: string,
  legacy: boolean,
) {
  if (legacy) {
    const response = await fetch(`${endpoint.url}/api/send/${user.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
      body: JSON.stringify({ chat_id: chatId, content }),
      signal: AbortSignal.timeout(TIMEOUT),
    });
    const body = (await response.json()) as { message_id?: string };
    if (!body.message_id) throw new Error(`legacy send failed: ${JSON.stringify(body)}`);
    return body.message_id;
  }
  const response = await endpoint.gql<{ sendMessage: { id: string } }>(
    SEND,
    { chatId, content, clientMessageId: randomUUID() },
    user.token,
  );
  if (!response.data?.sendMessage) throw new Error(`send failed: ${JSON.stringify(response)}`);
  return response.data.sendMessage.id;
}

const HISTORY = /* GraphQL */ `
  query ($chatId: ID!, $after: String) {
    chat(id: $chatId) {
      messages(first: 100, after: $after) {
        edges {
          cursor
          node {
            id
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`;

interface HistoryPage {
  chat: {
    messages: {
      edges: { cursor: string; node: { id: string } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  } | null;
}

/** The chat's message ids, oldest first, paged forwards from the start. */
async function history(endpoint: Endpoint, user: TestUser, chatId: string): Promise<string[]> {
  const ids: string[] = [];
  for (let after: string | null = null; ;) {
    const response: GraphQLResponse<HistoryPage> = await endpoint.gql<HistoryPage>(
      HISTORY,
      { chatId, after },
      user.token,
    );
    const page = response.data?.chat?.messages;
    if (!page) throw new Error(`history failed: ${JSON.stringify(response)}`);
    ids.push(...page.edges.map((edge) => edge.node.id));
    if (!page.pageInfo.hasNextPage) return ids;
    after = page.pageInfo.endCursor;
  }
}

/** How `received` differs from `expected`, in counts. */
function compare(chat: string, expected: string[], received: Item[]) {
  const rank = new Map(expected.map((id, index) => [id, index]));
  const ids = received.map((item) => item.id!);
  const seen = new Set<string>();
  let duplicated = 0;
  let outOfOrder = 0;
  let highest = -1;
  for (const id of ids) {
    if (seen.has(id)) {
      duplicated += 1;
      continue;
    }
    seen.add(id);
    const position = rank.get(id);
    if (position === undefined) continue;
    if (position < highest) outOfOrder += 1;
    else highest = position;
  }
  const seqs = received.flatMap((item) => (item.seq == null ? [] : [item.seq]));
  return {
    chat,
    expected: expected.length,
    received: ids.length,
    missing: expected.filter((id) => !seen.has(id)).length,
    duplicated,
    outOfOrder,
    notInHistory: ids.filter((id) => !rank.has(id)).length,
    seqNotIncreasing: seqs.filter((seq, index) => index > 0 && seq <= seqs[index - 1]!).length,
  };
}

// --- the scenario ----------------------------------------------------------------------------

async function scenario(endpoints: Endpoint[], feed: Feed): Promise<void> {
  const [first] = endpoints as [Endpoint];
  const recipient = await registerUser(first);
  const others = [await registerUser(first), await registerUser(first)];
  const chats = await Promise.all(
    others.slice(0, feed.perUser ? 2 : 1).map(async (other) => ({
      id: await createChat(first, other, recipient),
      senders: [other, recipient],
    })),
  );
  const [watched] = chats as [(typeof chats)[number]];

  // Live first: probes until the first connection has seen one.
  const follower = subscriber(feed, endpoints, recipient, watched.id);
  const probes = new Set<string>();
  await follower.connect();
  try {
    await waitFor(
      async () => {
        if (follower.errors.length) throw new Error(JSON.stringify(follower.errors));
        probes.add(await send(first, watched.senders[0]!, watched.id, 'probe', false));
        await sleep(100);
        return follower.received.some((item) => item.id && probes.has(item.id));
      },
      `${feed.name} to go live`,
      TIMEOUT,
    );
    await sleep(100);

    // Concurrent senders, spread over the instances, while the subscriber reconnects.
    follower.startReconnecting();
    let sends = 0;
    await Promise.all(
      chats.flatMap((chat) => {
        let left = MESSAGES / chats.length;
        return chat.senders.flatMap((sender) =>
          Array.from({ length: LANES }, async (_, lane) => {
            // Each lane takes the next message; a failed send stops them all.
            while (left > 0) {
              const [endpoint, content] = [endpoints[sends++ % endpoints.length]!, `${--left}`];
              await send(endpoint, sender, chat.id, content, lane === 0).catch((error: unknown) => {
                left = 0;
                throw error;
              });
            }
          }),
        );
      }),
    );

    // Bounded catch-up: everything, or the newest of every chat and then silence.
    const expected = new Map<string, string[]>();
    for (const chat of chats) {
      const ids = await history(first, recipient, chat.id);
      expected.set(
        chat.id,
        ids.filter((id) => !probes.has(id)),
      );
    }
    const deadline = Date.now() + CATCH_UP_MS;
    let count = -1;
    let quietSince = Date.now();
    for (;;) {
      const got = new Set(follower.received.map((item) => item.id));
      const lists = [...expected.values()];
      if (lists.every((ids) => ids.every((id) => got.has(id)))) break;
      if (follower.received.length !== count) {
        [count, quietSince] = [follower.received.length, Date.now()];
      }
      const newest = lists.every((ids) => ids.length === 0 || got.has(ids.at(-1)));
      if (Date.now() > deadline || (newest && Date.now() - quietSince > QUIET_MS)) break;
      await sleep(50);
    }
    await sleep(GRACE_MS);
    await follower.stop();

    const reports = chats.map((chat, index) =>
      compare(
        `chat ${index + 1}`,
        expected.get(chat.id)!,
        follower.received.filter(
          (item) => item.id && !probes.has(item.id) && item.chatId === chat.id,
        ),
      ),
    );
    const perfect = reports.map((report) => ({
      ...report,
      received: report.expected,
      missing: 0,
      duplicated: 0,
      outOfOrder: 0,
      notInHistory: 0,
      seqNotIncreasing: 0,
    }));
    const summary = [
      `${feed.name}, ${follower.connections()} connection(s)`,
      ...reports.map(
        (r) =>
          `${r.chat}: ${r.received} received of ${r.expected} stored, ${r.missing} missing, ` +
          `${r.duplicated} duplicated, ${r.outOfOrder} out of order, ` +
          `${r.notInHistory} not in history, ${r.seqNotIncreasing} seq not increasing`,
      ),
    ].join('; ');
    expect({ errors: follower.errors, reports }, summary).toEqual({ errors: [], reports: perfect });
  } finally {
    await follower.stop();
  }
}

// --- the tests -------------------------------------------------------------------------------

describe.each(topologies)('concurrent senders, reconnecting subscriber: $name', (topology) => {
  let endpoints: Endpoint[];
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ endpoints, stop } = await topology.start());
  }, 120_000);
  afterAll(() => stop?.(), 60_000);

  it.each(feeds)(
    '$name: every stored message exactly once, in history order',
    async (feed) => {
      await scenario(endpoints, feed);
    },
    60_000,
  );
});
