/** Message events rebuilt from the database, for subscribers that may have missed them. */
import type { Logger } from 'pino';
import type { Database } from '../db/mongo.js';
import { asMessageEvents, findInboxAfter } from '../messages/repository.js';
import { followedBy, type MessageEvent } from './bus.js';

/** More than this after an outage, and clients catch up by themselves (history, Last-Event-ID). */
const READ_BACK_LIMIT = 10_000;

/** The messages stored since `since` in the chats that `topics` follow (their own or an inbox's). */
export async function storedSince(
  db: Database,
  logger: Logger,
  since: Date,
  topics: string[],
): Promise<MessageEvent[]> {
  const { chatIds, userIds } = followedBy(topics);
  if (chatIds.length === 0 && userIds.length === 0) return [];
  const chats = await db.chats
    .find(
      { $or: [{ chat_id: { $in: chatIds } }, { participants: { $in: userIds } }] },
      { projection: { _id: 0 } },
    )
    .toArray();
  if (chats.length === 0) return [];
  const messages = await findInboxAfter(
    db,
    chats.map((chat) => chat.chat_id),
    { timestamp: since, messageId: '' },
    READ_BACK_LIMIT,
  );
  if (messages.length === READ_BACK_LIMIT) {
    logger.warn({ since }, `over ${READ_BACK_LIMIT} messages to read back: only the oldest go out`);
  }
  return asMessageEvents(db, chats, messages);
}
