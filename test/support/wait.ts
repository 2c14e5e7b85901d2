/** Bounded waiting and per-test cleanup, shared by the suites that drive live connections. */
import { afterEach } from 'vitest';

export const DEFAULT_WAIT_MS = 5000;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns something truthy; fails after `timeout` ms. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  timeout = DEFAULT_WAIT_MS,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** `promise`, or a failure naming `what` after `ms`. */
export function withTimeout<T>(
  promise: Promise<T>,
  what: string,
  ms = DEFAULT_WAIT_MS,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Functions registered here run after each test, newest first, whether it passed or not. */
export function cleanupAfterEach(): (() => unknown)[] {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch {
        // Already closed.
      }
    }
  });
  return cleanups;
}
