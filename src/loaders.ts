import { loaderByField } from './db/batch.js';
import type { Database } from './db/mongo.js';
import { createLastMessageLoader } from './messages/loaders.js';

/** Per-request (and per-subscription-event) DataLoaders: batching within, no caching beyond. */
export function createLoaders(db: Database, batch = true) {
  return {
    users: loaderByField(db.users, 'user_id', { batch }),
    usersByUsername: loaderByField(db.users, 'username', { batch }),
    chats: loaderByField(db.chats, 'chat_id', { batch }),
    lastMessages: createLastMessageLoader(db, batch),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
