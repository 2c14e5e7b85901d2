/**
 * Writes of one key, one at a time: in this process through a queue, and across instances (with
 * Redis) under a short lock. For documents that FerretDB updates without isolation, where two
 * conditional writes at once could both pass (read positions: src/reads/).
 *
 * Keys under `zerohour:lock:`. A lock lapses after HOLD_MS, so an instance that dies holding one
 * holds up the others that long at most. While Redis cannot be reached, writes are serialized
 * in the process only (and that is logged).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { KeyedQueue } from '../timeline/sequencer.js';

const PREFIX = 'zerohour:lock:';
/** Far longer than one database write takes. */
const HOLD_MS = 5000;
/** Between attempts at a lock another instance holds. */
const RETRY_MS = 5;
/** KEYS: the lock; ARGV: the holder's token. Deletes it only if it is still theirs. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface KeyLocks {
  /** Runs `task` once no other task of `key` runs, here or on another instance. */
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
}

export function createKeyLocks(redis: Redis | null, logger: Logger): KeyLocks {
  const queue = new KeyedQueue();
  if (!redis) return { run: (key, task) => queue.run(key, task) };
  const locked = async <T>(key: string, task: () => Promise<T>): Promise<T> => {
    const lock = PREFIX + key;
    const token = randomUUID();
    let held = false;
    try {
      while (!(await redis.set(lock, token, 'PX', HOLD_MS, 'NX'))) await sleep(RETRY_MS);
      held = true;
    } catch (error) {
      logger.warn({ err: error, key }, 'Redis lock unavailable: writing without it');
    }
    try {
      return await task();
    } finally {
      if (held) await redis.eval(RELEASE, 1, lock, token).catch(() => undefined);
    }
  };
  return { run: (key, task) => queue.run(key, () => locked(key, task)) };
}
