/**
 * The bus's event target when several instances share Redis. Publishing goes to Redis
 * (@graphql-yoga/redis-event-target: one channel per topic), and each instance delivers what
 * comes back to its own listeners; a topic is subscribed in Redis while this instance has a
 * listener on it, so every published event reaches every interested instance once.
 *
 * Redis pub/sub forgets what it could not deliver. When the subscription connection was lost,
 * the messages stored meanwhile are read back from the database once it is in effect again and
 * delivered to the topics listening here; copies seen twice (live and read back, or a publish
 * ioredis resent after reconnecting) are dropped.
 */
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { localEventTarget, messageTopics, type MessageEvent } from './bus.js';
import { eventCodec } from './codec.js';

/** How long a delivered message is remembered, to drop a second copy of it. */
const REMEMBER_MS = 60_000;
/** Read-back starts this long before the connection was lost: publish delays and clock skew. */
const READ_BACK_MARGIN_MS = 5_000;

export interface ClusterTargetOptions {
  publisher: Redis;
  /** Used for nothing else: a Redis connection in subscriber mode. */
  subscriber: Redis;
  logger: Logger;
  /** The message events stored since `since` that some of `topics` follow. */
  missed(since: Date, topics: string[]): Promise<MessageEvent[]>;
}

/**
 * The event target calls publish, subscribe and unsubscribe without handling their promises;
 * a rejection (e.g. "Connection is closed" at shutdown) would end the process.
 */
function handlingRejections(client: Redis, onError: (error: unknown) => void): Redis {
  const commands = new Set<PropertyKey>(['publish', 'subscribe', 'unsubscribe']);
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (!commands.has(property)) return value.bind(target);
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        result.catch(onError);
        return result;
      };
    },
  });
}

const messageIdOf = (payload: unknown): string | undefined => {
  const id = (payload as Partial<MessageEvent> | null)?.message?.message_id;
  return typeof id === 'string' ? id : undefined;
};

export function createClusterEventTarget(options: ClusterTargetOptions): EventTarget {
  const { publisher, subscriber, logger } = options;
  const redis = createRedisEventTarget<CustomEvent>({
    publishClient: handlingRejections(publisher, (error) =>
      logger.error({ err: error }, 'Redis publish failed: an event was not delivered'),
    ),
    subscribeClient: handlingRejections(subscriber, (error) => {
      // Closed for good (shutdown): the subscriptions go with the connection.
      if (subscriber.status !== 'end') logger.warn({ err: error }, 'Redis subscription failed');
    }),
    serializer: eventCodec,
  });
  const local = localEventTarget();
  const listeners = new Map<string, Set<EventListenerOrEventListenerObject>>();
  /** `topic \n messageId` → when delivered, oldest first. */
  const delivered = new Map<string, number>();
  /** Since when the subscription connection has been lost; null while it is in effect. */
  let lostAt: number | null = null;

  /** Hands the event to the listeners here, unless it is a message they already had. */
  function deliver(topic: string, payload: unknown): boolean {
    const id = messageIdOf(payload);
    if (id !== undefined) {
      const key = `${topic}\n${id}`;
      if (delivered.has(key)) return false;
      const now = Date.now();
      delivered.set(key, now);
      // While disconnected, keep what a read-back may bring again.
      const horizon = Math.min(now, lostAt ?? now) - REMEMBER_MS;
      for (const [old, at] of delivered) {
        if (at >= horizon) break;
        delivered.delete(old);
      }
    }
    local.dispatchEvent(new CustomEvent(topic, { detail: payload }));
    return true;
  }
  const fromRedis = (event: Event) => deliver(event.type, (event as CustomEvent).detail);

  async function readBack(since: number): Promise<void> {
    try {
      // ioredis re-subscribes right after 'ready'; the PING is answered after those SUBSCRIBEs.
      await subscriber.ping();
      const missed = await options.missed(new Date(since - READ_BACK_MARGIN_MS), [
        ...listeners.keys(),
      ]);
      let count = 0;
      for (const event of missed) {
        for (const topic of messageTopics(event)) {
          if (listeners.has(topic) && deliver(topic, event)) count += 1;
        }
      }
      if (count > 0) logger.info({ count }, 'delivered messages missed while Redis was away');
    } catch (error) {
      logger.error({ err: error }, 'reading back missed messages failed');
    }
    // A loss during the read-back leaves lostAt as it was, for the next one.
    if (lostAt === since) lostAt = null;
  }

  subscriber.on('close', () => {
    lostAt ??= Date.now();
  });
  subscriber.on('ready', () => {
    const since = lostAt;
    if (since !== null) setImmediate(() => void readBack(since));
  });

  return {
    addEventListener(topic: string, listener: EventListenerOrEventListenerObject | null) {
      if (!listener) return;
      const set = listeners.get(topic) ?? new Set();
      listeners.set(topic, set);
      set.add(listener);
      local.addEventListener(topic, listener);
      if (set.size === 1) redis.addEventListener(topic, fromRedis);
    },
    removeEventListener(topic: string, listener: EventListenerOrEventListenerObject | null) {
      const set = listeners.get(topic);
      if (!listener || !set?.delete(listener)) return;
      local.removeEventListener(topic, listener);
      if (set.size > 0) return;
      listeners.delete(topic);
      redis.removeEventListener(topic, fromRedis);
    },
    dispatchEvent: (event: Event) => redis.dispatchEvent(event as CustomEvent),
  };
}
