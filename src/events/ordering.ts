/**
 * Timeline order for the events of one topic on this instance. Events reach an instance in
 * whatever order their senders published them (two sends in flight, three instances on Redis),
 * but every chat's events are numbered without gaps in the order they were stored. So per chat
 * the next number expected is known: an event that comes early waits for the ones before it,
 * one seen before is dropped, and each is handed on once, in order.
 *
 * Where a chat's order starts on a topic is where the chat stood when the topic was first
 * followed here (`startsAt`): events stored after that are handed on even if they arrive out of
 * order; a chat the topic did not know then starts at the first event seen of it.
 *
 * An event that does not come (its sender died after storing it, Redis lost it) is stored all
 * the same: after GAP_WAIT_MS the missing numbers are read from the database. A number the
 * database does not have either (it never should: a number is taken by storing its event) is
 * skipped after that read, so a chat never stalls, and anything with it that turns up later is
 * dropped: nothing is handed on after an event numbered later was.
 */
import type { Logger } from 'pino';

/** Where an event stands: its chat and number. Null for events outside any timeline. */
export interface Sequenced {
  chatId: string;
  seq: number;
}

/**
 * How long an instance waits for a missing event before reading it from the database. Sends
 * publish within milliseconds of storing (p99 under load is tens of ms), so a reorder resolves
 * well inside this; only an event whose publisher died, or that Redis lost, costs the wait.
 * Longer would hold later events back longer after a crash; much shorter would read the
 * database for events merely published late.
 */
export const GAP_WAIT_MS = 1000;

/** Events waiting for an earlier one, per chat, beyond which the gap is read at once. */
const MAX_WAITING = 1024;

export interface OrderingSource<T> {
  positionOf(event: T): Sequenced | null;
  /**
   * Where a topic starts: the last number of each chat it follows, as it stands now; and what
   * to note on each event it hands on (in order), from that start.
   */
  startsAt(
    topic: string,
  ): Promise<{ positions: Map<string, number>; annotate?: (event: T) => void }>;
  /** The stored events of a chat numbered in (afterSeq, upToSeq], in order. */
  fetch(chatId: string, afterSeq: number, upToSeq: number): Promise<T[]>;
  logger: Logger;
}

interface ChatState<T> {
  /** The last number handed on. */
  delivered: number;
  waiting: Map<number, T>;
  timer: NodeJS.Timeout | null;
  filling: boolean;
}

const newState = <T>(delivered: number): ChatState<T> => ({
  delivered,
  waiting: new Map(),
  timer: null,
  filling: false,
});

export class Ordering<T> {
  private readonly chats = new Map<string, ChatState<T>>();
  private closed = false;
  /** Events that came while the starting positions were read. */
  private early: T[] | null = [];
  private annotate: ((event: T) => void) | undefined;

  constructor(
    private readonly source: OrderingSource<T>,
    topic: string,
    private readonly emit: (event: T) => void,
  ) {
    source.startsAt(topic).then(
      ({ positions, annotate }) => {
        for (const [chatId, seq] of positions) this.chats.set(chatId, newState(seq));
        this.annotate = annotate;
        this.start();
      },
      (error: unknown) => {
        source.logger.warn({ err: error, topic }, 'reading where a topic starts failed');
        this.start();
      },
    );
  }

  private start(): void {
    const early = this.early ?? [];
    this.early = null;
    for (const event of early) this.push(event);
  }

  push(event: T): void {
    if (this.closed) return;
    if (this.early) return void this.early.push(event);
    const position = this.source.positionOf(event);
    if (!position) return this.emit(event);
    let state = this.chats.get(position.chatId);
    if (!state) {
      // A chat the topic did not know: the first event seen of it starts its order here.
      state = newState(position.seq - 1);
      this.chats.set(position.chatId, state);
    }
    if (position.seq <= state.delivered) return;
    if (position.seq === state.delivered + 1) {
      this.hand(state, event);
      this.drain(state);
    } else {
      state.waiting.set(position.seq, event);
      if (state.waiting.size > MAX_WAITING) this.fill(position.chatId, state);
      else state.timer ??= setTimeout(() => this.fill(position.chatId, state), GAP_WAIT_MS);
    }
  }

  /** The last number of `chatId` handed on, if known. */
  position(chatId: string): number | undefined {
    return this.chats.get(chatId)?.delivered;
  }

  /** The last number handed on per chat: where a catch-up after lost events starts. */
  positions(): Map<string, number> {
    return new Map([...this.chats].map(([chatId, state]) => [chatId, state.delivered]));
  }

  close(): void {
    this.closed = true;
    for (const state of this.chats.values()) if (state.timer) clearTimeout(state.timer);
    this.chats.clear();
  }

  private hand(state: ChatState<T>, event: T): void {
    state.delivered += 1;
    this.annotate?.(event);
    this.emit(event);
  }

  private drain(state: ChatState<T>): void {
    if (this.closed) return;
    for (let next = state.waiting.get(state.delivered + 1); next;) {
      state.waiting.delete(state.delivered + 1);
      this.hand(state, next);
      next = state.waiting.get(state.delivered + 1);
    }
    if (state.waiting.size === 0 && state.timer) {
      clearTimeout(state.timer);
      state.timer = null;
    }
  }

  /** Reads the missing numbers below the earliest waiting event, then hands on what it can. */
  private fill(chatId: string, state: ChatState<T>): void {
    if (state.timer) clearTimeout(state.timer);
    state.timer = null;
    if (state.filling || state.waiting.size === 0 || this.closed) return;
    state.filling = true;
    const upTo = Math.min(...state.waiting.keys()) - 1;
    const from = state.delivered;
    this.source
      .fetch(chatId, from, upTo)
      .then(
        (found) => {
          for (const event of found) {
            const seq = this.source.positionOf(event)?.seq;
            if (seq !== undefined && seq > state.delivered) state.waiting.set(seq, event);
          }
          this.drain(state);
          if (state.delivered < upTo) {
            this.source.logger.warn(
              { chatId, from: state.delivered + 1, to: upTo },
              'timeline events neither delivered nor stored: skipped',
            );
            state.delivered = upTo;
            this.drain(state);
          }
        },
        (error: unknown) => {
          this.source.logger.error(
            { err: error, chatId },
            'reading missing timeline events failed',
          );
        },
      )
      .finally(() => {
        state.filling = false;
        // Still waiting (the read failed, or more went missing meanwhile): try again later.
        if (state.waiting.size > 0 && !this.closed) {
          state.timer ??= setTimeout(() => this.fill(chatId, state), GAP_WAIT_MS);
        }
      });
  }
}
