/** This instance's typing state (see ./service.ts): the chats' live feeds, renewals held back. */
import type { EventBus, TypingSignal } from '../events/bus.js';
import { Throttle } from '../events/throttle.js';
import { LiveFeeds, TYPING_RENEWAL_MS, TYPING_TTL_MS } from './live-feeds.js';

/** A renewal, stamped when it was made: it lasts TYPING_TTL_MS from then. */
type Renewal = TypingSignal & { at: number };

export class Typing {
  readonly feeds: LiveFeeds;
  private readonly renewals: Throttle<Renewal>;

  constructor(private readonly bus: EventBus) {
    this.feeds = new LiveFeeds(bus);
    this.renewals = new Throttle(TYPING_RENEWAL_MS, ({ at, ...signal }) =>
      bus.publishLive({ ...signal, ttlMs: Math.max(0, at + TYPING_TTL_MS - Date.now()) }),
    );
  }

  set(chatId: string, user: TypingSignal['user'], typing: boolean): void {
    const key = `${chatId}:${user.user_id}`;
    const signal = { type: 'typing-signal', chatId, user, typing, ttlMs: TYPING_TTL_MS } as const;
    if (typing) return this.renewals.offer(key, { ...signal, at: Date.now() });
    this.renewals.reset(key);
    this.bus.publishLive(signal);
  }

  /** The user sent a message in the chat: that ended their typing (every instance sees it). */
  sent(chatId: string, userId: string): void {
    this.renewals.reset(`${chatId}:${userId}`);
  }

  close(): void {
    this.renewals.close();
    this.feeds.close();
  }
}
