import DataLoader from 'dataloader';
import type { Database } from '../db/mongo.js';
import type { ChatDoc, MessageDoc } from '../db/documents.js';
import { findLatestMessage } from './repository.js';

/**
 * Each chat's newest message. Chats written by this server name it (`last_message_id`), so a
 * page of chats costs one `$in` query. Chats written by the old server only have the text; their
 * newest message is looked up once and its id stored on the chat for next time.
 */
export function createLastMessageLoader(db: Database, batch = true) {
  return new DataLoader<ChatDoc, MessageDoc | null, string>(
    async (chats) => {
      const ids = chats.flatMap((chat) => (chat.last_message_id ? [chat.last_message_id] : []));
      const found = ids.length
        ? await db.messages
            .find(
              { message_id: { $in: ids } },
              { projection: { _id: 0 }, batchSize: ids.length + 1 },
            )
            .toArray()
        : [];
      const byId = new Map(found.map((message) => [message.message_id, message]));
      return Promise.all(
        chats.map(async (chat) => {
          if (chat.last_message_id) return byId.get(chat.last_message_id) ?? null;
          if (!chat.last_message_time) return null;
          const latest = await findLatestMessage(db, chat.chat_id);
          if (latest) {
            await db.chats.updateOne(
              { chat_id: chat.chat_id, last_message_id: { $exists: false } },
              { $set: { last_message_id: latest.message_id } },
            );
          }
          return latest;
        }),
      );
    },
    { batch, cacheKeyFn: (chat) => chat.chat_id },
  );
}
