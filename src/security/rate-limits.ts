/**
 * Rate limits against brute force and floods, on rate-limiter-flexible. The counters live in
 * memory, or in Redis when a client is given so that every instance shares them.
 */
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';

export type LimitName = keyof Config['rateLimits'];

/** Too many attempts; `retryAfterSeconds` says when the next one is allowed. */
export class RateLimitedError extends AppError {
  override name = 'RateLimitedError';
  constructor(readonly retryAfterSeconds: number) {
    super('RATE_LIMITED', 'Too many requests, try again later');
  }
}

export interface RateLimits {
  /** Counts one attempt against `name` for `key`; throws RateLimitedError over the limit. */
  consume(name: LimitName, key: string): Promise<void>;
}

export function createRateLimits(
  config: Config,
  redis?: unknown,
  refused: (name: LimitName) => void = () => undefined,
): RateLimits {
  const limiters = new Map<LimitName, RateLimiterAbstract>();
  for (const [name, rule] of Object.entries(config.rateLimits) as [
    LimitName,
    { points: number; seconds: number },
  ][]) {
    const options = { keyPrefix: `zerohour:${name}`, points: rule.points, duration: rule.seconds };
    limiters.set(
      name,
      redis
        ? new RateLimiterRedis({ ...options, storeClient: redis })
        : new RateLimiterMemory(options),
    );
  }
  return {
    async consume(name, key) {
      try {
        await limiters.get(name)!.consume(key);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          refused(name);
          throw new RateLimitedError(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
        }
        // Shared counters cannot be checked while Redis is away: refuse as unavailable (fail
        // closed), rather than allow without limit or fail as an unexpected error.
        if (redis)
          throw new AppError('SERVICE_UNAVAILABLE', 'Temporarily unavailable; try again shortly');
        throw rejection;
      }
    },
  };
}
