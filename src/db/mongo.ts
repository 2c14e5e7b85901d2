import {
  MongoClient,
  MongoServerError,
  type Collection,
  type Db,
  type MongoClientOptions,
} from 'mongodb';
import type { ChatDoc, MessageDoc, UserDoc } from './documents.js';

export interface Database {
  client: MongoClient;
  db: Db;
  users: Collection<UserDoc>;
  chats: Collection<ChatDoc>;
  messages: Collection<MessageDoc>;
}

export async function connectDatabase(
  url: string,
  dbName: string,
  options: MongoClientOptions = {},
): Promise<Database> {
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: 5000,
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
  };
  await ensureIndexes(database);
  return database;
}

/**
 * The seed's indexes, with the default names the old server's `create_index` gave them. Uniqueness of username and email is enforced here, so two racing
 * registrations yield one user. Idempotency of chats and messages rides on the `_id` index,
 * which every MongoDB and FerretDB has (FerretDB has no partial indexes).
 */
async function ensureIndexes({ users, chats, messages }: Database): Promise<void> {
  await users.createIndex({ username: 1 }, { unique: true });
  await users.createIndex({ email: 1 }, { unique: true });
  await users.createIndex({ user_id: 1 });
  await users.createIndex({ first_name: 1, last_name: 1 });
  await chats.createIndex({ chat_id: 1 });
  await chats.createIndex({ participants: 1 });
  await messages.createIndex({ message_id: 1 });
  await messages.createIndex({ chat_id: 1, timestamp: 1 });
}

export function isDuplicateKeyError(error: unknown): error is MongoServerError {
  return error instanceof MongoServerError && error.code === 11000;
}
