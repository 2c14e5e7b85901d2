/** Message events rebuilt from the database, for subscribers that may have missed them. */
import type { Logger } from 'pino';
import { toPublicUser } from '../db/documents.js';
import type { Database } from '../db/mongo.js';
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
  const participantsOf = new Map(chats.map((chat) => [chat.chat_id, chat.participants]));
  if (participantsOf.size === 0) return [];
  const messages = await db.messages
    .find(
      { chat_id: { $in: [...participantsOf.keys()] }, timestamp: { $gte: since } },
      { sort: { timestamp: 1, message_id: 1 }, limit: READ_BACK_LIMIT, projection: { _id: 0 } },
    )
    .toArray();
  if (messages.length === READ_BACK_LIMIT) {
    logger.warn({ since }, `over ${READ_BACK_LIMIT} messages to read back: only the oldest go out`);
  }
  const senderIds = [...new Set(messages.map((message) => message.sender_id))];
  const senders = new Map(
    (await db.users.find({ user_id: { $in: senderIds } }).toArray()).map((user) => [
      user.user_id,
      toPublicUser(user),
    ]),
  );
  return messages.flatMap((message) => {
    const sender = senders.get(message.sender_id);
    const participants = participantsOf.get(message.chat_id);
    return sender && participants ? [{ message, sender, participants }] : [];
  });
}
