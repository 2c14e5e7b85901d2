import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Database } from './db/mongo.js';
import { createEventBus, type EventBus } from './events/bus.js';
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
}

export function createApp(config: Config, db: Database, logger: Logger): App {
  const bus = createEventBus();
  return {
    config,
    db,
    bus,
    presence: createPresence(db, bus, logger),
    rateLimits: createRateLimits(config),
    logger,
    batchLoads: true,
  };
}
