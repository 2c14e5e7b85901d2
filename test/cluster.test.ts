/**
 * Three instances on one database and one Redis (the third a child process), as behind a load
 * balancer: events reach subscribers on every instance once, presence means "connected to any
 * instance", a killed instance's users go offline when its leases expire, and a Redis restart
 * loses no acknowledged message.
 *
 * A subscription has no "started" signal: each test first sends probes until every subscriber
 * has seen one; everything sent after that must arrive.
 */
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ChatEvent } from '../src/events/bus.js';
import { eventCodec } from '../src/events/codec.js';
import { startCluster, type Cluster, type Instance } from './support/cluster.js';
import { METRICS_TOKEN, metrics, valueOf } from './support/metrics.js';
import { openAckedSocket } from './support/graphql-ws.js';
import { openEventStream } from './support/sse.js';
import { createChat, registerUser, SEND } from './support/users.js';
import { cleanupAfterEach, sleep, waitFor as waitUpTo, withTimeout } from './support/wait.js';

const LEASE_SECONDS = 2;
const TIMEOUT = 10_000;
/** How long to keep listening for something that must not arrive. */
const GRACE = 500;
/** The Redis connections each instance reports in its metrics (src/app.ts). */
const REDIS_CONNECTIONS = ['publisher', 'subscriber', 'commands'];

let cluster: Cluster;
let one: Instance;
let two: Instance;
let three: Instance;
beforeAll(async () => {
  cluster = await startCluster({
    mongoUrl: inject('mongoUrl'),
    processes: [2],
    env: { PRESENCE_LEASE_SECONDS: String(LEASE_SECONDS), METRICS_TOKEN },
  });
  [one, two, three] = cluster.instances as [Instance, Instance, Instance];
}, 120_000);
afterAll(() => cluster?.stop(), 60_000);

const cleanups = cleanupAfterEach();
/** Cluster hops (and the child process) take longer than one server: a roomier bound. */
const waitFor = <T>(check: () => T | Promise<T>, what: string, timeout = TIMEOUT) =>
  waitUpTo(check, what, timeout);

// --- users, chats, messages ------------------------------------------------------------------

interface User {
  id: string;
  token: string;
  username: string;
}

async function pair(): Promise<{ a: User; b: User; chatId: string }> {
  const [a, b] = [await registerUser(one), await registerUser(two)];
  return { a, b, chatId: await createChat(three, a, b) };
}

type Sent = { id: string } | { error: string; code: unknown };

async function send(instance: Instance, user: User, chatId: string, content: string) {
  const response = await instance.gql<{ sendMessage: { id: string } }>(
    SEND,
    { chatId, content, clientMessageId: randomUUID() },
    user.token,
  );
  return response.data?.sendMessage
    ? { id: response.data.sendMessage.id }
    : {
        error: JSON.stringify(response.errors ?? response),
        code: response.errors?.[0]?.extensions?.code,
      };
}

async function sendOk(instance: Instance, user: User, chatId: string, content: string) {
  const sent = await send(instance, user, chatId, content);
  if ('error' in sent) throw new Error(`send failed: ${sent.error}`);
  return sent.id;
}

async function isOnlineInDb(user: User): Promise<boolean | undefined> {
  return (await cluster.db.users.findOne({ user_id: user.id }))?.is_online;
}

// --- subscribers on the three transports -----------------------------------------------------

/** A subscriber, seen as the ids of the messages it received, in order. */
interface Receiver {
  name: string;
  ids(): string[];
}

function graphqlClient(instance: Instance, user: User, lazy = true): Client {
  const client = createClient({
    url: instance.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${user.token}` },
    lazy,
    retryAttempts: 0,
    onNonLazyError: () => undefined,
  });
  cleanups.push(() => client.dispose());
  return client;
}

function subscribe<Data>(client: Client, query: string, variables: Record<string, unknown>) {
  const results: Data[] = [];
  const errors: unknown[] = [];
  const unsubscribe = client.subscribe<Data>(
    { query, variables },
    {
      next: (result) => (result.data ? results.push(result.data) : errors.push(result.errors)),
      error: (error) => errors.push(error),
      complete: () => undefined,
    },
  );
  cleanups.push(unsubscribe);
  return { results, errors };
}

function graphqlReceiver(instance: Instance, user: User, chatId: string): Receiver {
  const { results } = subscribe<{ messageAdded: { id: string } }>(
    graphqlClient(instance, user),
    'subscription ($chatId: ID!) { messageAdded(chatId: $chatId) { id content createdAt } }',
    { chatId },
  );
  return {
    name: `graphql-ws on ${instance.name}`,
    ids: () => results.map((r) => r.messageAdded.id),
  };
}

async function legacySocket(instance: Instance, user: User): Promise<Receiver> {
  const socket = new WebSocket(`ws://127.0.0.1:${instance.port}/ws/${user.id}?token=${user.token}`);
  const ids: string[] = [];
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as { message_id?: string };
    if (frame.message_id) ids.push(frame.message_id);
  });
  cleanups.push(() => socket.close());
  await waitFor(() => socket.readyState === WebSocket.OPEN, 'the legacy WebSocket to open');
  return { name: `legacy WebSocket on ${instance.name}`, ids: () => ids };
}

async function legacyStream(instance: Instance, user: User): Promise<Receiver> {
  const ids: string[] = [];
  const errors: unknown[] = [];
  const close = await openEventStream(
    `${instance.url}/sse/${user.id}?token=${user.token}`,
    {},
    ({ data }) => {
      const event = JSON.parse(data) as { message_id?: string };
      if (event.message_id) ids.push(event.message_id);
    },
    (error) => errors.push(error),
  );
  cleanups.push(close);
  return { name: `legacy SSE on ${instance.name}`, ids: () => ids };
}

/** Sends probes until every receiver has seen one. */
async function untilLive(receivers: Receiver[], probe: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    const id = await probe();
    const seen = () => receivers.every((receiver) => receiver.ids().includes(id));
    if (await waitFor(seen, 'a probe', 500).catch(() => false)) return;
    if (Date.now() > deadline) {
      const missing = receivers.filter((receiver) => !receiver.ids().includes(id));
      throw new Error(`not live: ${missing.map((receiver) => receiver.name).join(', ')}`);
    }
  }
}

const count = (ids: string[], id: string) => ids.filter((each) => each === id).length;

/** Every receiver gets every id exactly once. */
async function expectDeliveredOnce(receivers: Receiver[], ids: string[]): Promise<void> {
  for (const receiver of receivers) {
    await waitFor(
      () => ids.every((id) => receiver.ids().includes(id)),
      `${receiver.name} to receive ${ids.length} message(s)`,
    );
  }
  await sleep(GRACE);
  for (const receiver of receivers) {
    for (const id of ids) expect(count(receiver.ids(), id), `${receiver.name}: ${id}`).toBe(1);
  }
}

// --- presence --------------------------------------------------------------------------------

const PRESENCE = 'subscription ($ids: [ID!]) { presenceChanged(userIds: $ids) { id isOnline } }';

/** A's presence as a watcher on `instance` sees it, once A's changes reach it; A ends offline. */
async function watchPresence(instance: Instance, a: User, watcher: User) {
  const { results } = subscribe<{ presenceChanged: { id: string; isOnline: boolean } }>(
    graphqlClient(instance, watcher),
    PRESENCE,
    { ids: [a.id] },
  );
  const deadline = Date.now() + TIMEOUT;
  while (results.length === 0) {
    if (Date.now() > deadline) throw new Error('the presence subscription did not go live');
    const probe = await connect(one, a);
    await waitFor(async () => (await isOnlineInDb(a)) === true, 'A online');
    await disconnect(probe);
    await waitFor(async () => (await isOnlineInDb(a)) === false, 'A offline');
    await waitFor(() => results.length > 0, 'a presence event', 300).catch(() => undefined);
  }
  await sleep(GRACE);
  const seen = results.length;
  return { changes: () => results.slice(seen).map((result) => result.presenceChanged.isOnline) };
}

/** A graphql-ws connection of the user (authenticated in connection_init): a live connection. */
async function connect(instance: Instance, user: User): Promise<Client> {
  const client = graphqlClient(instance, user, false);
  await new Promise<void>((resolve, reject) => {
    client.on('connected', () => resolve());
    client.on('closed', () => reject(new Error('closed before connection_ack')));
  });
  return client;
}

async function disconnect(client: Client): Promise<void> {
  const closed = new Promise<void>((resolve) => client.on('closed', () => resolve()));
  await client.dispose();
  await closed;
}

// --- the tests -------------------------------------------------------------------------------

describe('events across instances', () => {
  it('revives dates after the trip through Redis, and leaves date-like text alone', async () => {
    const { a, chatId } = await pair();
    const received: ChatEvent[] = [];
    const events = one.service!.app.bus.chatEvents(chatId)[Symbol.asyncIterator]();
    cleanups.push(() => events.return?.());
    const collect = (async () => {
      for (let next = await events.next(); !next.done; next = await events.next()) {
        received.push(next.value);
      }
    })();
    // Unnumbered (seq null), so that they pass through the timeline ordering as they come.
    const event = (content: string): ChatEvent => ({
      type: 'message',
      chatId,
      seq: null,
      message: {
        message_id: randomUUID(),
        chat_id: chatId,
        sender_id: a.id,
        content,
        timestamp: new Date(),
        message_type: 'text',
      },
      sender: { user_id: a.id, username: a.username, first_name: 'A', last_name: 'B' },
      group: false,
    });
    const sent = [event('2024-01-01T00:00:00.000Z'), event('{"$date":"2024-01-01"}')];
    const deadline = Date.now() + TIMEOUT;
    while (received.length === 0 && Date.now() < deadline) {
      two.service!.app.bus.publishChatEvent(event('probe'));
      await sleep(100);
    }
    for (const each of sent) two.service!.app.bus.publishChatEvent(each);
    const ids = sent.map((each) => each.message.message_id);
    const arrived = () => received.filter((each) => ids.includes(each.message.message_id));
    await waitFor(() => arrived().length === sent.length, 'the events');
    expect(arrived()).toEqual(sent);
    expect(arrived()[0]!.message.timestamp).toBeInstanceOf(Date);
    expect(eventCodec.parse(eventCodec.stringify(sent))).toEqual(sent);
    await events.return?.();
    await collect;
  });

  it('delivers a message sent to instance 1 exactly once over graphql-ws, legacy WS and SSE elsewhere', async () => {
    const { a, b, chatId } = await pair();
    const receivers = [
      graphqlReceiver(three, b, chatId),
      await legacySocket(two, b),
      await legacyStream(three, b),
      graphqlReceiver(one, a, chatId),
    ];
    await untilLive(receivers, () => sendOk(one, a, chatId, 'probe'));
    const ids = [await sendOk(one, a, chatId, 'hello'), await sendOk(two, b, chatId, 'hi')];
    await expectDeliveredOnce(receivers, ids);
  });

  it('closes the graphql-ws socket on instance 2 with 4403 when the user logs out on instance 1', async () => {
    const user = await registerUser(one);
    const { socket, closed } = await openAckedSocket(
      two.wsUrl,
      { authorization: `Bearer ${user.token}` },
      TIMEOUT,
    );
    cleanups.push(() => socket.terminate());
    const logout = await one.gql<{ logout: boolean }>('mutation { logout }', {}, user.token);
    expect(logout.errors).toBeUndefined();
    expect(await withTimeout(closed, 'the socket to close', TIMEOUT)).toEqual({
      code: 4403,
      reason: 'Token revoked',
    });
    const me = await three.gql('{ me { id } }', {}, user.token);
    expect(me.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('counts sends on every instance against one per-user limit', async () => {
    const limited = await cluster.addInstance({ env: { RATE_LIMIT_SENDS_PER_USER: '3' } });
    const { a, chatId } = await pair();
    for (const instance of [one, two, three]) await sendOk(instance, a, chatId, instance.name);
    const refused = await send(limited, a, chatId, 'one too many');
    expect('error' in refused && refused.error).toContain('RATE_LIMITED');
  });
});

describe('presence across instances', () => {
  it('stays online while a connection moves from instance 1 to 2, offline after the last closes', async () => {
    const { a, b } = await pair();
    const { changes } = await watchPresence(three, a, b);

    const first = await connect(one, a);
    await waitFor(() => changes().length === 1, 'the online event');
    const second = await connect(two, a);
    await disconnect(first);
    await sleep(GRACE);
    expect(await isOnlineInDb(a)).toBe(true);
    expect(changes()).toEqual([true]);

    await disconnect(second);
    await waitFor(() => changes().length === 2, 'the offline event');
    await sleep(GRACE);
    expect(changes()).toEqual([true, false]);
    expect(await isOnlineInDb(a)).toBe(false);
  });

  it('stores the latest status when instances decide at the same moment, again and again', async () => {
    const { a } = await pair();
    const [first, second] = [one.service!.app.presence, two.service!.app.presence];
    const settled = () => Promise.all([first.settled(), second.settled()]);
    let release = first.connect(a.id);
    for (let round = 0; round < 20; round += 1) {
      // The connection moves: one instance decides offline, the other online, concurrently.
      release();
      release = (round % 2 ? first : second).connect(a.id);
      await settled();
      await waitFor(async () => (await isOnlineInDb(a)) === true, `A online after move ${round}`);
    }
    release();
    await settled();
    await waitFor(async () => (await isOnlineInDb(a)) === false, 'A offline at the end');
  });

  it('takes a killed instance’s users offline once its lease expires', async () => {
    const { a, b } = await pair();
    const doomed = await cluster.addInstance({ process: true });
    const { changes } = await watchPresence(one, a, b);
    await connect(doomed, a);
    await waitFor(() => changes().length === 1, 'the online event');

    const killedAt = Date.now();
    await doomed.kill();
    await waitFor(() => changes().length === 2, 'the offline event');
    const elapsed = Date.now() - killedAt;
    // The lease was renewed at most a third of it before the kill; sweeps run as often.
    expect(elapsed).toBeGreaterThan(LEASE_SECONDS * 1000 * (2 / 3) - 200);
    expect(elapsed).toBeLessThan(LEASE_SECONDS * 1000 * (4 / 3) + 2000);
    await sleep(GRACE);
    expect(changes()).toEqual([true, false]);
    expect(await isOnlineInDb(a)).toBe(false);
  }, 60_000);
});

describe('Redis restarts', () => {
  it('reconnects after a restart while idle, and delivers again on every transport', async () => {
    const { a, b, chatId } = await pair();
    const receivers = [
      graphqlReceiver(three, b, chatId),
      await legacySocket(two, b),
      await legacyStream(one, b),
    ];
    await untilLive(receivers, () => sendOk(one, a, chatId, 'probe'));
    const redisMetrics = async () => {
      const families = await metrics(one);
      return REDIS_CONNECTIONS.map((connection) => ({
        connection,
        connected: valueOf(families, 'zerohour_redis_connected', { connection }),
        reconnects: valueOf(families, 'zerohour_redis_reconnects_total', { connection }),
      }));
    };
    const before = await redisMetrics();
    expect(before.map(({ connected }) => connected)).toEqual([1, 1, 1]);

    await cluster.redis.stop();
    // What an operator's "Redis disconnected" alert reads.
    await waitFor(
      async () => (await redisMetrics()).every(({ connected }) => connected === 0),
      'every Redis connection reported down',
    );
    await cluster.redis.start();

    // Sends fail until the instance's own connection is back; then everything arrives.
    const sent = await waitFor(async () => {
      const attempt = await send(one, a, chatId, 'after the restart');
      return 'id' in attempt ? attempt.id : null;
    }, 'a send to succeed after the restart');
    await expectDeliveredOnce(receivers, [sent]);
    const more = [await sendOk(two, b, chatId, 'again'), await sendOk(three, a, chatId, 'more')];
    await expectDeliveredOnce(receivers, more);
    const after = await waitFor(async () => {
      const now = await redisMetrics();
      return now.every(({ connected }) => connected === 1) ? now : null;
    }, 'every Redis connection reported up again');
    expect(after.map(({ reconnects }, index) => reconnects - before[index]!.reconnects)).toEqual([
      1, 1, 1,
    ]);
  }, 60_000);

  it('loses no acknowledged send when Redis restarts during a stream of sends', async () => {
    const { a, b, chatId } = await pair();
    const receivers = [graphqlReceiver(three, b, chatId), await legacySocket(two, b)];
    await untilLive(receivers, () => sendOk(one, a, chatId, 'probe'));

    const outcomes: Sent[] = [];
    let sending = true;
    const sender = (async () => {
      for (let index = 0; sending; index += 1) {
        outcomes.push(await send(index % 2 ? one : three, a, chatId, `message ${index}`));
      }
    })();
    await sleep(300);
    await cluster.redis.stop();
    await sleep(1500);
    await cluster.redis.start();
    // Keep sending until sends succeed again, and a little longer.
    await waitFor(() => 'id' in (outcomes.at(-1) ?? {}), 'sends to succeed again');
    await sleep(500);
    sending = false;
    await sender;

    const acknowledged = outcomes.flatMap((outcome) => ('id' in outcome ? [outcome.id] : []));
    const failed = outcomes.filter((outcome) => 'error' in outcome);
    // The outage was seen: some sends failed, loudly (an error at once, not a hang)...
    expect(failed.length).toBeGreaterThan(0);
    for (const outcome of failed) expect(outcome).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    // ...and every acknowledged one is stored and reaches every subscriber, once.
    const stored = await cluster.db.messages
      .find({ chat_id: chatId, message_id: { $in: acknowledged } })
      .toArray();
    expect(stored).toHaveLength(acknowledged.length);
    await expectDeliveredOnce(receivers, acknowledged);
    // Nothing arrives that was not stored.
    const all = new Set(
      (await cluster.db.messages.find({ chat_id: chatId }).toArray()).map((m) => m.message_id),
    );
    for (const receiver of receivers) {
      expect(receiver.ids().filter((id) => !all.has(id))).toEqual([]);
      expect(new Set(receiver.ids()).size).toBe(receiver.ids().length);
    }
  }, 60_000);
});
