import type DataLoader from 'dataloader';
import type { ChatDoc, MessageDoc, UserDoc } from './db/documents.js';
import { loaderByField } from './db/batch.js';
import type { Database } from './db/mongo.js';
import { createLastMessageLoader } from './messages/loaders.js';

/**
 * Per-request (and per-subscription-event) DataLoaders: batching within, no caching beyond.
 * Each is made on first use: a subscription holds its scope for hours and most never need one.
 */
export class Loaders {
  private made: {
    users?: DataLoader<string, UserDoc | null>;
    usersByUsername?: DataLoader<string, UserDoc | null>;
    chats?: DataLoader<string, ChatDoc | null>;
    lastMessages?: DataLoader<ChatDoc, MessageDoc | null, string>;
  } = {};

  /** A user already read (the caller), answered without a query until forget(). */
  private known: UserDoc | undefined;

  constructor(
    private readonly db: Database,
    private readonly batch = true,
  ) {}

  know(user: UserDoc): void {
    this.known = user;
    this.made.users?.prime(user.user_id, user);
  }

  get users() {
    if (!this.made.users) {
      this.made.users = loaderByField(this.db.users, 'user_id', { batch: this.batch });
      if (this.known) this.made.users.prime(this.known.user_id, this.known);
    }
    return this.made.users;
  }

  get usersByUsername() {
    return (this.made.usersByUsername ??= loaderByField(this.db.users, 'username', {
      batch: this.batch,
    }));
  }

  get chats() {
    return (this.made.chats ??= loaderByField(this.db.chats, 'chat_id', { batch: this.batch }));
  }

  get lastMessages() {
    return (this.made.lastMessages ??= createLastMessageLoader(this.db, this.batch));
  }

  /** Forgets everything read so far (the next subscription event reads afresh). */
  forget(): void {
    this.made = {};
    this.known = undefined;
  }
}
