import DataLoader from 'dataloader';
import type {
  ChatDoc,
  MessageDoc,
  ReactionDoc,
  ReactionSnapshot,
  UserDoc,
} from '../db/documents.js';
import type { Database } from '../db/mongo.js';
import { findChatsByIds, rememberLastMessageId } from '../chats/repository.js';
import { findLatestMessage, findMessagesByIds } from '../messages/repository.js';
import { findReactionsOf, snapshotOf } from '../reactions/repository.js';
import { findUsersByIds, findUsersByUsernames } from '../users/repository.js';

type BatchFind<Doc> = (db: Database, keys: readonly string[]) => Promise<Doc[]>;

interface LoaderOptions {
  batch?: boolean;
  sharedBy?: 'request' | 'process';
}

/** Batching as asked; shared by a process: no cache, a batch per turn of the event loop. */
const loaderOptions = (options: LoaderOptions) => ({
  batch: options.batch ?? true,
  maxBatchSize: 1000,
  ...(options.sharedBy === 'process'
    ? { cache: false, batchScheduleFn: (dispatch: () => void) => setImmediate(dispatch) }
    : {}),
});

/**
 * A DataLoader answering each batch with one query (`find`), matched back by `keyOf`.
 * `batch: false` exists for the benchmark's N+1 contrast only. `sharedBy: 'process'` makes one
 * that callers across requests share: no cache, and a batch gathers the loads of one turn of the
 * event loop (every socket event read in it), not only of one callback.
 */
function batchLoader<Doc>(
  db: Database,
  find: BatchFind<Doc>,
  keyOf: (doc: Doc) => string,
  options: LoaderOptions = {},
): DataLoader<string, Doc | null> {
  return new DataLoader<string, Doc | null>(async (keys) => {
    const byKey = new Map((await find(db, keys)).map((doc) => [keyOf(doc), doc]));
    return keys.map((key) => byKey.get(key) ?? null);
  }, loaderOptions(options));
}

const usersById = (db: Database, options?: LoaderOptions) =>
  batchLoader(db, findUsersByIds, (user: UserDoc) => user.user_id, options);
const usersByUsername = (db: Database, options?: LoaderOptions) =>
  batchLoader(db, findUsersByUsernames, (user: UserDoc) => user.username, options);
const chatsById = (db: Database, options?: LoaderOptions) =>
  batchLoader(db, findChatsByIds, (chat: ChatDoc) => chat.chat_id, options);

/**
 * Each chat's newest message. Chats hold a copy of it (`last_message_doc`) since a message was
 * last sent in them: no query. Others name it (`last_message_id`), so a page of chats costs one
 * `$in` query. Chats written by the old server only have the text; their newest message is
 * looked up once and its id stored on the chat for next time.
 */
function lastMessageLoader(db: Database, batch: boolean) {
  return new DataLoader<ChatDoc, MessageDoc | null, string>(
    async (chats) => {
      const copyOf = (chat: ChatDoc) =>
        chat.last_message_doc?.message_id === chat.last_message_id ? chat.last_message_doc : null;
      const ids = chats.flatMap((chat) =>
        chat.last_message_id && !copyOf(chat) ? [chat.last_message_id] : [],
      );
      const found = ids.length ? await findMessagesByIds(db, ids) : [];
      const byId = new Map(found.map((message) => [message.message_id, message]));
      return Promise.all(
        chats.map(async (chat) => {
          const copy = copyOf(chat);
          if (copy) return copy;
          if (chat.last_message_id) return byId.get(chat.last_message_id) ?? null;
          if (!chat.last_message_time) return null;
          const latest = await findLatestMessage(db, chat.chat_id);
          if (latest) await rememberLastMessageId(db, chat.chat_id, latest.message_id);
          return latest;
        }),
      );
    },
    { batch, cacheKeyFn: (chat) => chat.chat_id },
  );
}

const messagesById = (db: Database, options?: LoaderOptions) =>
  batchLoader(db, findMessagesByIds, (message: MessageDoc) => message.message_id, options);

/** Each message's reactions, from the reaction documents of a page's messages in one query. */
function reactionsLoader(db: Database, options: LoaderOptions = {}) {
  return new DataLoader<string, ReactionSnapshot[]>(async (messageIds) => {
    const byMessage = new Map<string, ReactionDoc[]>();
    for (const reaction of await findReactionsOf(db, messageIds)) {
      byMessage.set(reaction.message_id, [...(byMessage.get(reaction.message_id) ?? []), reaction]);
    }
    return messageIds.map((messageId) => snapshotOf(byMessage.get(messageId) ?? []));
  }, loaderOptions(options));
}

/**
 * Process-wide batchers without a cache, for what many connections read at the same moment (a
 * reconnect wave after a restart: every socket authenticates and checks its chat; an event whose
 * selection is executed for each member, like a message's reactions with `reactedByMe` or what it
 * replies to): the reads of one turn of the event loop go out as one query per collection.
 */
export class SharedBatches {
  readonly users: DataLoader<string, UserDoc | null>;
  readonly usersByUsername: DataLoader<string, UserDoc | null>;
  readonly chats: DataLoader<string, ChatDoc | null>;
  readonly messages: DataLoader<string, MessageDoc | null>;
  readonly reactions: DataLoader<string, ReactionSnapshot[]>;

  constructor(db: Database, batch = true) {
    const shared = { batch, sharedBy: 'process' } as const;
    this.users = usersById(db, shared);
    this.usersByUsername = usersByUsername(db, shared);
    this.chats = chatsById(db, shared);
    this.messages = messagesById(db, shared);
    this.reactions = reactionsLoader(db, shared);
  }
}

/** A request's loader that reads through a shared batcher (keeping its own cache). */
function through<Value>(shared: DataLoader<string, Value>): DataLoader<string, Value> {
  return new DataLoader<string, Value>((keys) => shared.loadMany(keys));
}

/**
 * Per-request (and per-subscription-event) DataLoaders: batching within, no caching beyond.
 * Each is made on first use: a subscription holds its scope for hours and most never need one.
 * With `shared`, users, chats, messages and reactions are read through process-wide batches (see
 * SharedBatches).
 */
export class Loaders {
  private made: {
    users?: DataLoader<string, UserDoc | null>;
    usersByUsername?: DataLoader<string, UserDoc | null>;
    chats?: DataLoader<string, ChatDoc | null>;
    lastMessages?: DataLoader<ChatDoc, MessageDoc | null, string>;
    messages?: DataLoader<string, MessageDoc | null>;
    reactions?: DataLoader<string, ReactionSnapshot[]>;
  } = {};

  /** Loaders of feature domains (memo()), made on first use, dropped by forget(). */
  private domain = new Map<string, unknown>();

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
        : usersById(this.db, { batch: this.batch });
      if (this.known) this.made.users.prime(this.known.user_id, this.known);
    }
    return this.made.users;
  }

  get usersByUsername() {
    return (this.made.usersByUsername ??= this.shared
      ? through(this.shared.usersByUsername)
      : usersByUsername(this.db, { batch: this.batch }));
  }

  get chats() {
    return (this.made.chats ??= this.shared
      ? through(this.shared.chats)
      : chatsById(this.db, { batch: this.batch }));
  }

  get lastMessages() {
    return (this.made.lastMessages ??= lastMessageLoader(this.db, this.batch));
  }

  /** A feature domain's loader, named `key`, made with `make` on first use in this scope. */
  memo<T>(key: string, make: (db: Database, batch: boolean) => T): T {
    if (!this.domain.has(key)) this.domain.set(key, make(this.db, this.batch));
    return this.domain.get(key) as T;
  }

  /** Messages by id (the ones replies quote). */
  get messages() {
    return (this.made.messages ??= this.shared
      ? through(this.shared.messages)
      : messagesById(this.db, { batch: this.batch }));
  }

  /** Each message's reactions. */
  get reactions() {
    return (this.made.reactions ??= this.shared
      ? through(this.shared.reactions)
      : reactionsLoader(this.db, { batch: this.batch }));
  }

  /** Forgets everything read so far (the next subscription event reads afresh). */
  forget(): void {
    this.made = {};
    this.domain = new Map();
    this.known = undefined;
  }
}
