import DataLoader from 'dataloader';
import type { ChatDoc, MessageDoc, UserDoc } from './db/documents.js';
import { loaderByField } from './db/batch.js';
import type { Database } from './db/mongo.js';
import { createLastMessageLoader } from './messages/loaders.js';

/**
 * Process-wide batchers without a cache, for what many connections read at the same moment (a
 * reconnect wave after a restart: every socket authenticates and checks its chat): the reads of
 * one turn of the event loop go out as one query per collection.
 */
export class SharedBatches {
  readonly users: DataLoader<string, UserDoc | null>;
  readonly usersByUsername: DataLoader<string, UserDoc | null>;
  readonly chats: DataLoader<string, ChatDoc | null>;

  constructor(db: Database, batch = true) {
    const shared = { batch, sharedBy: 'process' } as const;
    this.users = loaderByField(db.users, 'user_id', shared);
    this.usersByUsername = loaderByField(db.users, 'username', shared);
    this.chats = loaderByField(db.chats, 'chat_id', shared);
  }
}

/** A request's loader that reads through a shared batcher (keeping its own cache). */
function through<Doc>(shared: DataLoader<string, Doc | null>): DataLoader<string, Doc | null> {
  return new DataLoader<string, Doc | null>((keys) => shared.loadMany(keys));
}

/**
 * Per-request (and per-subscription-event) DataLoaders: batching within, no caching beyond.
 * Each is made on first use: a subscription holds its scope for hours and most never need one.
 * With `shared`, users and chats are read through process-wide batches (see SharedBatches).
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
    private readonly shared: SharedBatches | null = null,
  ) {}

  know(user: UserDoc): void {
    this.known = user;
    this.made.users?.prime(user.user_id, user);
  }

  get users() {
    if (!this.made.users) {
      this.made.users = this.shared
        ? through(this.shared.users)
        : loaderByField(this.db.users, 'user_id', { batch: this.batch });
      if (this.known) this.made.users.prime(this.known.user_id, this.known);
    }
    return this.made.users;
  }

  get usersByUsername() {
    return (this.made.usersByUsername ??= this.shared
      ? through(this.shared.usersByUsername)
      : loaderByField(this.db.users, 'username', { batch: this.batch }));
  }

  get chats() {
    return (this.made.chats ??= this.shared
      ? through(this.shared.chats)
      : loaderByField(this.db.chats, 'chat_id', { batch: this.batch }));
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
