import type { Logger } from 'pino';
import { createKeyLocks, type KeyLocks } from './cluster/key-locks.js';
import { createAttachments, type Attachments } from './attachments/setup.js';
import { createPresenceLeases } from './cluster/presence-leases.js';
import type { Config } from './config.js';
import type { Database } from './db/mongo.js';
import {
  createEventBus,
  type EventBus,
  type ReadStateEvent,
  type TimelineReader,
} from './events/bus.js';
import { createClusterEventTarget } from './events/cluster-target.js';
import { connectRedis } from './events/redis.js';
import { Telemetry } from './observability/telemetry.js';
import { createRateLimits, type RateLimits } from './security/rate-limits.js';
import { startPagingPass, type PagingPass } from './timeline/positions.js';
import { Sequencer } from './timeline/sequencer.js';
import { createTimelineReader } from './timeline/reader.js';
import { Throttle } from './events/throttle.js';
import { Typing } from './typing/state.js';
import { createPresence, type Presence } from './users/presence.js';

/** The long-lived parts every request shares. */
export interface App {
  config: Config;
  db: Database;
  bus: EventBus;
  /** Takes chats' timeline numbers for this process (./timeline/sequencer.ts). */
  sequencer: Sequencer;
  /** Reads stored timeline events back, for subscribers that missed or resume. */
  timeline: TimelineReader;
  /** The start-up pass paging chats stored before windows (./timeline/positions.ts). */
  paging: PagingPass;
  presence: Presence;
  /** Writes of one key one at a time, across instances with Redis (read positions). */
  keyLocks: KeyLocks;
  /** Read positions passed on to the chat, at most one per member and chat per READ_EVENT_MS. */
  readEvents: Throttle<ReadStateEvent>;
  /** Who is typing, per chat, on this instance (./typing/). */
  typing: Typing;
  logger: Logger;
  /** Metrics (with METRICS_TOKEN) and the trace lines of the log: ./observability/. */
  telemetry: Telemetry;
  rateLimits: RateLimits;
  /** Where attachment bytes are kept, and links to them (./attachments/). */
  attachments: Attachments;
  /** Benchmark switch: DataLoaders without batching, to show the N+1 they prevent. */
  batchLoads: boolean;
  /** Stops background work and closes the Redis connections (after the server has closed). */
  close(): Promise<void>;
}

/** How often a member's read position is passed on to a chat at most. */
const READ_EVENT_MS = 1000;

/** One instance alone, or with REDIS_URL one of several sharing events, presence and limits. */
export async function createApp(config: Config, db: Database, logger: Logger): Promise<App> {
  const telemetry = new Telemetry(logger, { metrics: config.metricsToken !== undefined });
  telemetry.watchDatabase(db.client);
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, logger) : null;
  if (redis) {
    const { publisher, subscriber, commands } = redis;
    telemetry.watchRedis({ publisher, subscriber, commands });
  }
  const keyLocks = createKeyLocks(redis?.commands ?? null, logger);
  const sequencer = new Sequencer(keyLocks);
  const timeline = createTimelineReader(db, sequencer);
  const paging = startPagingPass(db, sequencer, logger);
  const bus: EventBus = createEventBus({
    eventTarget: redis
      ? createClusterEventTarget({
          publisher: redis.publisher,
          subscriber: redis.subscriber,
          logger,
          resubscribed: async (since) => {
            const count = await bus.catchUp(since);
            if (count > 0) logger.info({ count }, 'read back events missed while Redis was away');
          },
        })
      : undefined,
    timeline,
    logger,
  });
  const presence = createPresence(
    db,
    bus,
    logger,
    redis ? createPresenceLeases(redis.commands, config.presenceLeaseSeconds) : undefined,
  );
  const readEvents = new Throttle<ReadStateEvent>(READ_EVENT_MS, (event) => bus.publishLive(event));
  const typing = new Typing(bus);
  return {
    config,
    db,
    bus,
    sequencer,
    timeline,
    paging,
    presence,
    keyLocks,
    readEvents,
    typing,
    rateLimits: createRateLimits(config, redis?.commands, (limit) => telemetry.rateLimited(limit)),
    attachments: createAttachments(config, db),
    logger,
    telemetry,
    batchLoads: true,
    async close() {
      await paging.stop();
      readEvents.close();
      typing.close();
      await presence.stop();
      await redis?.close();
    },
  };
}
