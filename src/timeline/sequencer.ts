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

interface Queued {
  seq: number;
  write: () => Promise<void>;
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Runs the newest of the writes given for one key: while one runs, those given meanwhile wait,
 * and only the one for the highest number runs next (the ones it supersedes settle with it).
 */
class LatestWins {
  /** Per key with a write running: the write to run next. */
  private readonly running = new Map<string, { queued: Queued | null }>();

  run(key: string, seq: number, write: () => Promise<void>): Promise<void> {
    const slot = this.running.get(key);
    if (!slot) {
      const idle = { queued: null };
      this.running.set(key, idle);
      return this.start(key, idle, write);
    }
    if (!slot.queued) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((ok, fail) => {
        resolve = ok;
        reject = fail;
      });
      slot.queued = { seq, write, promise, resolve, reject };
    } else if (seq > slot.queued.seq) {
      Object.assign(slot.queued, { seq, write });
    }
    return slot.queued.promise;
  }

  private start(key: string, slot: { queued: Queued | null }, write: () => Promise<void>) {
    const done = write();
    void done
      .catch(() => undefined)
      .then(() => {
        const next = slot.queued;
        slot.queued = null;
        if (!next) return void this.running.delete(key);
        this.start(key, slot, next.write).then(next.resolve, next.reject);
      });
    return done;
  }
}

/** An attempt at storing under a number: done (with its result), or the number is taken. */
export type Attempt<R> = { done: R; took: boolean } | 'taken';

/** Runs the tasks of one key one after another (KeyedQueue, or KeyLocks across instances). */
export interface KeySerializer {
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
}

export class Sequencer {
  private readonly claims = new KeyedQueue();
  private readonly writes = new LatestWins();

  /**
   * `chatWrites` serializes the writes to a chat's document: FerretDB applies two updates of one
   * document at once without isolation (one undoes the other, and both may pass a condition), so
   * with several instances they must take turns across instances too.
   */
  constructor(private readonly chatWrites: KeySerializer = new KeyedQueue()) {}
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
   * Writes what stands on a chat's document as of its event `seq` (`what`: its summary, a group's
   * state) unless a later one of the same kind is about to be written. One write at a time per
   * chat, whatever its kind, here and (with Redis) across instances: FerretDB's updates read and rewrite the whole document without
   * isolation, so two at once — even of different fields — can undo one another; and of the
   * writes of one kind that waited, only the newest.
   */
  latest(what: string, chatId: string, seq: number, write: () => Promise<void>): Promise<void> {
    return this.writes.run(`${what}:${chatId}`, seq, () =>
      this.chatWrites.run(`chat:${chatId}`, write),
    );
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
