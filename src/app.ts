import type { Logger } from 'pino';
import { createPresenceLeases } from './cluster/presence-leases.js';
import type { Config } from './config.js';
import type { Database } from './db/mongo.js';
import { createEventBus, type EventBus } from './events/bus.js';
import { createClusterEventTarget } from './events/cluster-target.js';
import { storedSince } from './events/read-back.js';
import { connectRedis } from './events/redis.js';
import { createRateLimits, type RateLimits } from './security/rate-limits.js';
import { createPresence, type Presence } from './users/presence.js';

/** The long-lived parts every request shares. */
export interface App {
  config: Config;
  db: Database;
  bus: EventBus;
  presence: Presence;
  logger: Logger;
  rateLimits: RateLimits;
  /** Benchmark switch: DataLoaders without batching, to show the N+1 they prevent. */
  batchLoads: boolean;
  /** Stops background work and closes the Redis connections (after the server has closed). */
  close(): Promise<void>;
}

/** One instance alone, or with REDIS_URL one of several sharing events, presence and limits. */
export async function createApp(config: Config, db: Database, logger: Logger): Promise<App> {
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, logger) : null;
  const bus = createEventBus(
    redis
      ? createClusterEventTarget({
          publisher: redis.publisher,
          subscriber: redis.subscriber,
          logger,
          missed: (since, topics) => storedSince(db, logger, since, topics),
        })
      : undefined,
  );
  const presence = createPresence(
    db,
    bus,
    logger,
    redis ? createPresenceLeases(redis.commands, config.presenceLeaseSeconds) : undefined,
  );
  return {
    config,
    db,
    bus,
    presence,
    rateLimits: createRateLimits(config, redis?.commands),
    logger,
    batchLoads: true,
    async close() {
      await presence.stop();
      await redis?.close();
    },
  };
}
