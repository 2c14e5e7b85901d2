/**
 * The bus's event target when several instances share Redis. Publishing goes to Redis
 * (@graphql-yoga/redis-event-target: one channel per topic), and each instance delivers what
 * comes back to its own listeners; a topic is subscribed in Redis while this instance has a
 * listener on it, so every published event reaches every interested instance.
 *
 * Redis pub/sub forgets what it could not deliver, and ioredis may send a queued publish twice.
 * Neither needs handling here: timeline events reach subscribers through the bus's ordering,
 * which drops a number seen before and reads missing ones from the database. When the
 * subscription connection was lost, `resubscribed(since)` is called once it is in effect again,
 * so that what was stored meanwhile is read back even if nothing follows it.
 */
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { localEventTarget } from './bus.js';
import { CLOCK_MARGIN_MS } from './catch-up.js';
import { eventCodec } from './codec.js';

export interface ClusterTargetOptions {
  publisher: Redis;
  /** Used for nothing else: a Redis connection in subscriber mode. */
  subscriber: Redis;
  logger: Logger;
  /** The subscription is in effect again after being lost since `since`: catch up from there. */
  resubscribed(since: Date): Promise<void>;
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
  const fromRedis = (event: Event) =>
    local.dispatchEvent(new CustomEvent(event.type, { detail: (event as CustomEvent).detail }));

  /** Since when the subscription connection has been lost; null while it is in effect. */
  let lostAt: number | null = null;

  async function readBack(since: number): Promise<void> {
    try {
      // ioredis re-subscribes right after 'ready'; the PING is answered after those SUBSCRIBEs.
      await subscriber.ping();
      await options.resubscribed(new Date(since - CLOCK_MARGIN_MS));
    } catch (error) {
      logger.error({ err: error }, 'reading back missed events failed');
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
