/**
 * Replay from a position, then live: the one way a subscriber that knows where it stopped
 * (`chatEvents`/`messageAdded` with `after`, legacy SSE with Last-Event-ID) gets every event
 * after it exactly once and in order.
 *
 * The live subscription is taken first, so nothing falls between it and the replay; its events
 * wait while the stored ones are read. Then each live event is placed by its chat's number: one
 * already handed on is dropped, the next is handed on, and one beyond it (the live stream began
 * after the replay's last read) has the numbers in between read first. Positions advance on every
 * event, including those the consumer does not take, so that what a consumer does not want
 * never looks like a gap.
 */
import type { Sequenced } from './ordering.js';
import { Outlet, type Selector, type TopicSubscription } from './outlet.js';

/**
 * Catch-ups by time (a chat not followed before, a Redis outage) start this much earlier: the
 * clocks of the instances that stored events may run behind the one reading them.
 */
export const CLOCK_MARGIN_MS = 5_000;

export interface CatchUpSource<T> {
  positionOf(event: T): Sequenced | null;
  /** Stored events, page after page, after the positions (which advance as pages are handed on). */
  replay(positions: ReadonlyMap<string, number>): AsyncIterable<T[]>;
  /** A chat's stored events numbered in (afterSeq, upToSeq], in order. */
  fill(chatId: string, afterSeq: number, upToSeq: number): Promise<T[]>;
}

class CatchUp<T> extends Outlet<T> {
  /** Live events not yet placed. */
  private readonly inbox: T[] = [];
  /** Replaying, or reading a gap: live events wait in the inbox. */
  private busy = true;

  constructor(
    private readonly live: TopicSubscription<T>,
    private readonly source: CatchUpSource<T>,
    /** The last number handed on (or skipped) per chat. */
    private readonly positions: Map<string, number>,
    selector: Selector<T>,
  ) {
    super(selector);
    live.pipeTo({
      push: (event) => {
        this.inbox.push(event);
        this.pump();
      },
      end: (error) => this.finish(error),
    });
    void this.replay();
  }

  private async replay(): Promise<void> {
    try {
      for await (const page of this.source.replay(this.positions)) {
        if (this.isEnded) return;
        for (const event of page) this.place(event);
      }
    } catch (error) {
      return this.finish(error);
    }
    this.busy = false;
    this.pump();
  }

  private pump(): void {
    while (!this.busy && !this.isEnded && this.inbox.length > 0) {
      const event = this.inbox.shift()!;
      const position = this.source.positionOf(event);
      const known = position ? this.positions.get(position.chatId) : undefined;
      if (!position || known === undefined || position.seq <= known + 1) {
        this.place(event);
        continue;
      }
      this.busy = true;
      this.source.fill(position.chatId, known, position.seq - 1).then(
        (missed) => {
          for (const each of missed) this.place(each);
          this.place(event);
          this.busy = false;
          this.pump();
        },
        (error: unknown) => this.finish(error),
      );
    }
  }

  /** Hands an event on unless its number was handed on already. */
  private place(event: T): void {
    const position = this.source.positionOf(event);
    if (position) {
      const known = this.positions.get(position.chatId);
      if (known !== undefined && position.seq <= known) return;
      this.positions.set(position.chatId, position.seq);
    }
    this.offer(event);
  }

  protected release(): void {
    void this.live.return();
  }
}

/**
 * The stored events after `positions` (per chat, the last number the subscriber has), then the
 * live ones of `live` — which must be subscribed before this is called and let every event
 * through: `selector` says which the consumer receives (the others still move positions on).
 */
export function catchUp<T>(
  live: TopicSubscription<T>,
  source: CatchUpSource<T>,
  positions: Map<string, number>,
  selector: Selector<T> = {},
): TopicSubscription<T> {
  return new CatchUp(live, source, positions, selector);
}
