/**
 * Each user's events on this instance, for the connections that follow a user rather than one
 * chat (the legacy WebSocket and SSE streams, `myChats`): the timeline events of every chat the
 * user is in, and changes to their chat list.
 *
 * A chat's events are published once, on the chat's topic, however many members it has. Here a
 * user with connections on this instance follows the topics of their chats — once for all their
 * connections — and their own topic, which says when a chat is added (follow it, from where the
 * user's part of it starts) or removed (stop). Each chat's events come in its timeline order.
 */
import type { Logger } from 'pino';
import { catchUp } from './catch-up.js';
import type { Sequenced } from './ordering.js';
import { Outlet, type TopicSubscription } from './outlet.js';
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
  /** The chats a user is in now. */
  chatsOf(userId: string): Promise<string[]>;
  /** A chat's stored events numbered in (afterSeq, upToSeq], in order. */
  eventsBetween(chatId: string, afterSeq: number, upToSeq: number): Promise<T[]>;
  logger: Logger;
}

/** One connection's stream of a user's events. */
class Connection<T> extends Outlet<T> {
  constructor(
    private readonly feed: UserFeed<T>,
    private readonly accepts: ((event: T) => boolean) | null,
  ) {
    super();
  }

  deliver(event: T): void {
    if (!this.accepts || this.accepts(event)) this.emit(event);
  }

  protected release(): void {
    this.feed.remove(this);
  }
}

/** A user's chats followed on this instance, for all of that user's connections here. */
class UserFeed<T> {
  readonly connections = new Set<Connection<T>>();
  /** Per chat followed: how to stop. */
  private readonly chats = new Map<string, () => void>();
  private readonly stopUserTopic: () => void;
  private closed = false;

  constructor(
    private readonly hub: TopicHub<T>,
    private readonly source: UserFeedSource<T>,
    private readonly userId: string,
    private readonly onEmpty: () => void,
  ) {
    this.stopUserTopic = hub.listen(source.userTopic(userId), (event) => this.fromUser(event));
    source.chatsOf(userId).then(
      (chatIds) => chatIds.forEach((chatId) => this.follow(chatId)),
      (error: unknown) =>
        source.logger.error({ err: error, userId }, 'reading chats to follow failed'),
    );
  }

  /** Follows chats that are the user's now and were not followed (after events may have been lost). */
  async refresh(): Promise<void> {
    for (const chatId of await this.source.chatsOf(this.userId)) this.follow(chatId, 0);
  }

  remove(connection: Connection<T>): void {
    if (!this.connections.delete(connection) || this.connections.size > 0) return;
    this.closed = true;
    this.stopUserTopic();
    for (const stop of this.chats.values()) stop();
    this.chats.clear();
    this.onEmpty();
  }

  private fromUser(event: T): void {
    const change = this.source.chatListChange(event);
    if (change?.change === 'ADDED') this.follow(change.chatId, change.from);
    this.hand(event);
    if (change?.change === 'REMOVED') this.unfollow(change.chatId);
  }

  /**
   * Follows a chat's topic: from the topic's order now, or with `from` from that number on (the
   * chat is new to the user: what happened in it before its topic was followed here is read).
   */
  private follow(chatId: string, from?: number): void {
    if (this.closed || this.chats.has(chatId)) return;
    const topic = this.source.chatTopic(chatId);
    if (from === undefined) {
      this.chats.set(
        chatId,
        this.hub.listen(topic, (event) => this.hand(event)),
      );
      return;
    }
    const events: TopicSubscription<T> = catchUp(
      this.hub.subscribe(topic),
      {
        positionOf: this.source.positionOf,
        replay: (positions) => this.readAfter(chatId, positions.get(chatId) ?? from),
        fill: (id, afterSeq, upToSeq) => this.source.eventsBetween(id, afterSeq, upToSeq),
      },
      new Map([[chatId, from]]),
    );
    events.pipeTo({
      push: (event) => this.hand(event),
      end: (error) => {
        if (error) this.source.logger.error({ err: error, chatId }, 'following a chat failed');
      },
    });
    this.chats.set(chatId, () => void events.return());
  }

  private async *readAfter(chatId: string, afterSeq: number): AsyncIterable<T[]> {
    yield await this.source.eventsBetween(chatId, afterSeq, Number.MAX_SAFE_INTEGER);
  }

  private unfollow(chatId: string): void {
    this.chats.get(chatId)?.();
    this.chats.delete(chatId);
  }

  private hand(event: T): void {
    for (const connection of this.connections) connection.deliver(event);
  }
}

export class UserFeeds<T> {
  private readonly feeds = new Map<string, UserFeed<T>>();

  constructor(
    private readonly hub: TopicHub<T>,
    private readonly source: UserFeedSource<T>,
  ) {}

  /** A user's events that `accepts` lets through, as a stream, from now until `return()`. */
  subscribe(userId: string, accepts?: (event: T) => boolean): TopicSubscription<T> {
    let feed = this.feeds.get(userId);
    if (!feed) {
      feed = new UserFeed(this.hub, this.source, userId, () => this.feeds.delete(userId));
      this.feeds.set(userId, feed);
    }
    const connection = new Connection(feed, accepts ?? null);
    feed.connections.add(connection);
    return connection;
  }

  /** Every user followed here follows the chats they are in now (after a Redis outage). */
  async refresh(): Promise<void> {
    await Promise.all([...this.feeds.values()].map((feed) => feed.refresh()));
  }
}
