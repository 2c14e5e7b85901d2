/**
 * Taking a chat's next number, per process. A number is taken by storing the event under it
 * (the unique `_id` decides between writers, here or on other instances); this module only
 * decides which number to try. Sends of one chat in this process take their numbers one after
 * another, so they never compete with each other; another instance's writer makes an attempt
 * fail, and the next number is tried. Numbers are tried upwards from the last one known taken,
 * so a chat's numbers stay free of gaps.
 */

/** Chats whose last number is remembered; beyond, the chat's own hint (`last_seq`) is used. */
const MAX_REMEMBERED_CHATS = 10_000;
/** Attempts one by one before searching for the first free number (a stale hint). */
const STEPS_BEFORE_SEARCH = 4;

/** Runs tasks given for one key one after another, in the order given. */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

/** An attempt at storing under a number: done (with its result), or the number is taken. */
export type Attempt<R> = { done: R; took: boolean } | 'taken';

export class Sequencer {
  private readonly claims = new KeyedQueue();
  private readonly writes = new KeyedQueue();
  /** The highest number known taken, per chat, most recently used last. */
  private readonly last = new Map<string, number>();

  /**
   * Stores something under the chat's next free number: calls `attempt` with numbers from one
   * past the highest known taken (at least `hint`) upwards until it is done. `exists` tells
   * whether a number is taken, for the search past a stale hint.
   */
  claim<R>(
    chatId: string,
    hint: number,
    attempt: (seq: number) => Promise<Attempt<R>>,
    exists: (seq: number) => Promise<boolean>,
  ): Promise<R> {
    return this.claims.run(chatId, async () => {
      let seq = Math.max(this.last.get(chatId) ?? 0, hint) + 1;
      for (let step = 1; ; step += 1) {
        const outcome = await attempt(seq);
        if (outcome !== 'taken') {
          if (outcome.took) this.remember(chatId, seq);
          return outcome.done;
        }
        this.remember(chatId, seq);
        seq = step < STEPS_BEFORE_SEARCH ? seq + 1 : await firstFree(seq, exists);
      }
    });
  }

  /**
   * Runs a chat's follow-up writes (its summary) one after another, in the order their numbers
   * were taken here: FerretDB's conditional updates are not atomic, so two at once could leave
   * the older standing.
   */
  inOrder<T>(chatId: string, write: () => Promise<T>): Promise<T> {
    return this.writes.run(chatId, write);
  }

  private remember(chatId: string, seq: number): void {
    const known = this.last.get(chatId) ?? 0;
    this.last.delete(chatId);
    this.last.set(chatId, Math.max(known, seq));
    if (this.last.size > MAX_REMEMBERED_CHATS) {
      this.last.delete(this.last.keys().next().value!);
    }
  }
}

/**
 * The lowest free number above `taken`: taken numbers form a prefix (no gaps), so gallop up to a
 * free one, then halve the distance back to the first free. O(log distance) `_id` lookups.
 */
async function firstFree(taken: number, exists: (seq: number) => Promise<boolean>) {
  let low = taken;
  let step = 1;
  let high = taken + step;
  while (await exists(high)) {
    low = high;
    step *= 2;
    high = taken + step;
  }
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (await exists(middle)) low = middle;
    else high = middle;
  }
  return high;
}
