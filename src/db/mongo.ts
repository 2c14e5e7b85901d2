import {
  MongoClient,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type Collection,
  type Db,
  type MongoClientOptions,
} from 'mongodb';
import { AppError } from '../errors.js';
import type {
  ChatDoc,
  MessageDoc,
  ReadPositionDoc,
  ReactionDoc,
  ReactionEmojiDoc,
  TimelineEventDoc,
  UploadClaimDoc,
  UploadDoc,
  UserDoc,
} from './documents.js';

export interface Database {
  client: MongoClient;
  db: Db;
  users: Collection<UserDoc>;
  chats: Collection<ChatDoc>;
  messages: Collection<MessageDoc>;
  events: Collection<TimelineEventDoc>;
  /** One document per (chat, member): where they have read up to (src/reads/). */
  readPositions: Collection<ReadPositionDoc>;
  uploads: Collection<UploadDoc>;
  uploadClaims: Collection<UploadClaimDoc>;
  reactions: Collection<ReactionDoc>;
  reactionEmoji: Collection<ReactionEmojiDoc>;
}

export async function connectDatabase(
  url: string,
  dbName: string,
  options: MongoClientOptions = {},
): Promise<Database> {
  const client = new MongoClient(url, {
    // While the database is down, requests fail within this bound instead of hanging.
    serverSelectionTimeoutMS: 2000,
    maxPoolSize: 50,
    ...options,
  });
  await client.connect();
  const db = client.db(dbName);
  const database: Database = {
    client,
    db,
    users: db.collection<UserDoc>('users'),
    chats: db.collection<ChatDoc>('chats'),
    messages: db.collection<MessageDoc>('messages'),
    events: db.collection<TimelineEventDoc>('chat_events'),
    readPositions: db.collection<ReadPositionDoc>('read_positions'),
    uploads: db.collection<UploadDoc>('uploads'),
    uploadClaims: db.collection<UploadClaimDoc>('upload_claims'),
    reactions: db.collection<ReactionDoc>('reactions'),
    reactionEmoji: db.collection<ReactionEmojiDoc>('reaction_emoji'),
  };
  await ensureIndexes(database);
  return database;
}

/**
 * The seed's indexes, with the default names the old server's `create_index` gave them, and the
 * timeline's. Uniqueness of username and email is enforced here, so two racing registrations
 * yield one user. One chat per pair and one event per timeline number ride on the `_id` index,
 * which every MongoDB and FerretDB has; one event per retried send on a sparse unique index
 * (FerretDB has no partial indexes, and counts a missing field as distinct anyway). Reactions:
 * one per (message, user, emoji) on `_id`, and the per-message limits on unique slots.
 */
async function ensureIndexes({
  users,
  chats,
  messages,
  events,
  readPositions,
  uploads,
  reactions,
  reactionEmoji,
}: Database): Promise<void> {
  await users.createIndex({ username: 1 }, { unique: true });
  await users.createIndex({ email: 1 }, { unique: true });
  await users.createIndex({ user_id: 1 });
  await users.createIndex({ first_name: 1, last_name: 1 });
  await chats.createIndex({ chat_id: 1 });
  await chats.createIndex({ participants: 1 });
  await messages.createIndex({ message_id: 1 });
  await messages.createIndex({ chat_id: 1, timestamp: 1 });
  await messages.createIndex({ chat_id: 1, seq: 1 });
  await messages.createIndex({ chat_id: 1, window: 1 });
  await events.createIndex({ chat_id: 1, seq: 1 });
  await events.createIndex({ chat_id: 1, window: 1 });
  await events.createIndex({ client_key: 1 }, { unique: true, sparse: true });
  await readPositions.createIndex({ chat_id: 1 });
  await uploads.createIndex({ owner_id: 1, created_at: 1 });
  await uploads.createIndex({ created_at: 1 });
  await events.createIndex({ target_id: 1 }, { sparse: true });
  await reactions.createIndex({ message_id: 1, user_id: 1, slot: 1 }, { unique: true });
  await reactionEmoji.createIndex({ message_id: 1, slot: 1 }, { unique: true });
}

export function isDuplicateKeyError(error: unknown): error is MongoServerError {
  return error instanceof MongoServerError && error.code === 11000;
}

/** The database cannot be reached: clients get SERVICE_UNAVAILABLE (503), not a masked 500. */
export function isUnavailable(error: unknown): boolean {
  return (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError
  );
}

export const databaseUnavailable = () =>
  new AppError('SERVICE_UNAVAILABLE', 'The database is unavailable; try again shortly');

/** Whether the database answers a ping within the server selection bound. */
export async function isReachable({ db }: Database): Promise<boolean> {
  try {
    await db.command({ ping: 1 });
    return true;
  } catch {
    return false;
  }
}
