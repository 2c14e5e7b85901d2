/**
 * The Redis connections of one instance (REDIS_URL). Three, because they must behave differently
 * while Redis is away: published events wait and go out on reconnection, the subscription is
 * restored, and commands whose answer is needed now (rate limits, presence leases) fail at once.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/** How long start-up waits for Redis before giving up. */
const CONNECT_TIMEOUT_MS = 30_000;

/** Reconnect soon after Redis comes back: at most 2 s between attempts. */
const retryStrategy = (attempt: number) => Math.min(attempt * 100, 2000);

export interface RedisConnections {
  /** Publishes events; while Redis is away they wait in ioredis's queue. */
  publisher: Redis;
  /** In subscriber mode; re-subscribes after reconnecting. */
  subscriber: Redis;
  /** Rate limits and presence leases: an error at once while Redis is away, never a wait. */
  commands: Redis;
  close(): Promise<void>;
}

function open(url: string, name: string, logger: Logger, options: RedisOptions): Redis {
  const client = new Redis(url, { retryStrategy, connectionName: `zerohour-${name}`, ...options });
  let lost = false;
  // Every failed reconnection attempt is an 'error'; say once that the connection is gone.
  client.on('error', (error) => logger.debug({ err: error, connection: name }, 'Redis error'));
  client.on('reconnecting', () => {
    if (lost) return;
    lost = true;
    logger.warn({ connection: name }, 'Redis connection lost; reconnecting');
  });
  client.on('ready', () => {
    if (!lost) return;
    lost = false;
    logger.info({ connection: name }, 'Redis connection restored');
  });
  return client;
}

function ready(client: Redis, deadline: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`Redis did not answer within ${CONNECT_TIMEOUT_MS / 1000} s`));
    }, deadline - Date.now());
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}

async function shut(client: Redis): Promise<void> {
  // QUIT lets queued commands go out first; without a connection there is nothing to wait for.
  if (client.status === 'ready') await client.quit().catch(() => undefined);
  client.disconnect();
}

export async function connectRedis(url: string, logger: Logger): Promise<RedisConnections> {
  const clients = {
    publisher: open(url, 'publisher', logger, { maxRetriesPerRequest: null }),
    subscriber: open(url, 'subscriber', logger, { maxRetriesPerRequest: null }),
    commands: open(url, 'commands', logger, { enableOfflineQueue: false, maxRetriesPerRequest: 1 }),
  };
  const all = Object.values(clients);
  const close = () => Promise.all(all.map(shut)).then(() => undefined);
  const deadline = Date.now() + CONNECT_TIMEOUT_MS;
  try {
    await Promise.all(all.map((client) => ready(client, deadline)));
  } catch (error) {
    await close();
    throw error;
  }
  return { ...clients, close };
}
