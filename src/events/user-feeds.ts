/**
 * Each user's events on this instance, for the connections that follow a user rather than one
 * chat (the legacy WebSocket and SSE streams, `myChats`): the timeline events of every chat the
 * user is in, and changes to their chat list.
 *
 * A chat's events are published once, on the chat's topic, however many members it has. Here a
 * user with connections on this instance follows the topics of their chats — once for all their
 * connections — and their own topic, which says when a chat is added (followed from where the
 * user's part of it starts) or removed (dropped). Each chat's events come in its timeline order.
 *
 * A feed starts from where each of the user's chats stood when it was read: it listens to their
 * topics, then reads what was stored since that read (one query for all chats), so that an event
 * stored after the read reaches it however its publish and the listening interleave. A feed is
 * ready — and its connection may be handed to the client — once it listens.
 */
import type { Logger } from 'pino';
import { catchUp } from './catch-up.js';
import type { Sequenced } from './ordering.js';
import { Outlet, type Selector, type TopicSubscription } from './outlet.js';
import type { TopicHub } from './topic-hub.js';

export interface UserFeedSource<T> {
  chatTopic(chatId: string): string;
  userTopic(userId: string): string;
  positionOf(event: T): Sequenced | null;
  /** A user event that adds a chat to their list (with where their part starts) or removes one. */
  chatListChange(
    event: T,
  ):
    | { chatId: string; change: 'ADDED'; from: number }
    | { chatId: string; change: 'REMOVED' }
    | null;
  /** The chats a user is in now, each with its last number. */
  chatsOf(userId: string): Promise<Map<string, number>>;
  /** Stored events after the given number of each chat, in order per chat. */
  eventsAfter(positions: ReadonlyMap<string, number>): Promise<T[]>;
  /** A chat's stored events numbered in (afterSeq, upToSeq], in order. */
  eventsBetween(chatId: string, afterSeq: number, upToSeq: number): Promise<T[]>;
  logger: Logger;
}

/** One connection's stream of a user's events. */
class Connection<T> extends Outlet<T> {
  constructor(
    private readonly feed: UserFeed<T>,
    selector: Selector<T>,
  ) {
    super(selector);
  }

  deliver(event: T): void {
    this.offer(event);
  }

  protected release(): void {
    this.feed.remove(this);
  }
}

/** What the topics a feed listens to hand over, in one stream. */
class Merged<T> extends Outlet<T> {
  push(event: T): void {
    this.offer(event);
  }

  protected release(): void {}
}

/** A user's chats followed on this instance, for all of that user's connections here. */
class UserFeed<T> {
  readonly connections = new Set<Connection<T>>();
  /** Resolves once the feed listens to the user's topic and chats. */
  readonly ready: Promise<void>;
  /** Per chat followed: how to stop listening. */
  private readonly chats = new Map<string, () => void>();
  private stopUser: (() => void) | null = null;
  private readonly merged = new Merged<T>();
  /** The last number handed on per chat (shared with the catch-up). */
  private readonly positions = new Map<string, number>();
  private events: TopicSubscription<T> | null = null;
  private closed = false;

  constructor(
    private readonly hub: TopicHub<T>,
    private readonly source: UserFeedSource<T>,
    private readonly userId: string,
    private readonly onEmpty: () => void,
  ) {
    this.ready = this.start();
  }

  private async start(): Promise<void> {
    this.stopUser = this.hub.listen(this.source.userTopic(this.userId), (event) =>
      this.merged.push(event),
    );
    const chats = await this.source.chatsOf(this.userId);
    if (this.closed) return;
    for (const [chatId, seq] of chats) this.listen(chatId, seq);
    // Listening: what is stored from now on arrives; what was stored since the read is read.
    this.events = catchUp(
      this.merged,
      {
        positionOf: this.source.positionOf,
        replay: (positions) => this.readAfter(positions),
        fill: (chatId, afterSeq, upToSeq) => this.source.eventsBetween(chatId, afterSeq, upToSeq),
      },
      this.positions,
    );
    this.events.pipeTo({
      push: (event) => this.take(event),
      end: (error) => {
        if (error)
          this.source.logger.error({ err: error, userId: this.userId }, 'user feed failed');
        for (const connection of this.connections) connection.return();
      },
    });
  }

  private async *readAfter(positions: ReadonlyMap<string, number>): AsyncIterable<T[]> {
    yield await this.source.eventsAfter(positions);
  }

  /** Follows chats that are the user's now and were not followed (after events may have been lost). */
  async refresh(): Promise<void> {
    await this.ready;
    for (const chatId of (await this.source.chatsOf(this.userId)).keys()) this.follow(chatId, 0);
  }

  remove(connection: Connection<T>): void {
    if (!this.connections.delete(connection) || this.connections.size > 0) return;
    this.closed = true;
    this.stopUser?.();
    for (const stop of this.chats.values()) stop();
    this.chats.clear();
    void this.events?.return();
    this.onEmpty();
  }

  private take(event: T): void {
    const change = this.source.chatListChange(event);
    if (change?.change === 'ADDED') this.follow(change.chatId, change.from);
    for (const connection of this.connections) connection.deliver(event);
    if (change?.change === 'REMOVED') this.unfollow(change.chatId);
  }

  private listen(chatId: string, from: number): void {
    this.positions.set(chatId, from);
    const topic = this.source.chatTopic(chatId);
    this.chats.set(
      chatId,
      this.hub.listen(topic, (event) => this.merged.push(event)),
    );
  }

  /** Follows a chat new to the feed from `from` on: what was stored after it is read now. */
  private follow(chatId: string, from: number): void {
    if (this.closed || this.chats.has(chatId)) return;
    this.listen(chatId, from);
    this.source.eventsBetween(chatId, from, Number.MAX_SAFE_INTEGER).then(
      (stored) => stored.forEach((event) => this.merged.push(event)),
      (error: unknown) =>
        this.source.logger.error({ err: error, chatId }, 'reading a chat added to a feed failed'),
    );
  }

  private unfollow(chatId: string): void {
    this.chats.get(chatId)?.();
    this.chats.delete(chatId);
    this.positions.delete(chatId);
  }
}

export class UserFeeds<T> {
  private readonly feeds = new Map<string, UserFeed<T>>();

  constructor(
    private readonly hub: TopicHub<T>,
    private readonly source: UserFeedSource<T>,
  ) {}

  /**
   * A user's events the selector takes, as a stream, from now until `return()`; resolves once
   * the stream listens (hand the connection to its client then, so that nothing it does is
   * missed).
   */
  async subscribe(userId: string, selector: Selector<T> = {}): Promise<TopicSubscription<T>> {
    let feed = this.feeds.get(userId);
    if (!feed) {
      feed = new UserFeed(this.hub, this.source, userId, () => this.feeds.delete(userId));
      this.feeds.set(userId, feed);
    }
    const connection = new Connection(feed, selector);
    feed.connections.add(connection);
    try {
      await feed.ready;
    } catch (error) {
      void connection.return();
      throw error;
    }
    return connection;
  }

  /** Every user followed here follows the chats they are in now (after a Redis outage). */
  async refresh(): Promise<void> {
    await Promise.all([...this.feeds.values()].map((feed) => feed.refresh()));
  }
}
