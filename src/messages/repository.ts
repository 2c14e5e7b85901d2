import type { Filter } from 'mongodb';
import { findIn } from '../db/batch.js';
import type { Database } from '../db/mongo.js';
import { toPublicUser, type ChatDoc, type MessageDoc } from '../db/documents.js';
import type { MessageEvent } from '../events/bus.js';

/** A retried send carries the same key, so the `_id` index refuses the second copy. */
export const idempotencyKey = (chatId: string, senderId: string, clientMessageId: string) =>
  `msg:${chatId}:${senderId}:${clientMessageId}`;

export async function insertMessage(
  { messages }: Database,
  message: MessageDoc,
  key: string | undefined,
): Promise<void> {
  await messages.insertOne(key ? { _id: key, ...message } : { ...message });
}

export function findMessageByKey({ messages }: Database, key: string) {
  return messages.findOne({ _id: key }, { projection: { _id: 0 } });
}

export const findMessagesByIds = ({ messages }: Database, ids: readonly string[]) =>
  findIn(messages, 'message_id', ids);

export function findMessageById({ messages }: Database, messageId: string) {
  return messages.findOne({ message_id: messageId }, { projection: { _id: 0 } });
}

export function findLatestMessage({ messages }: Database, chatId: string) {
  return messages.findOne(
    { chat_id: chatId },
    { sort: { timestamp: -1, message_id: -1 }, projection: { _id: 0 } },
  );
}

/** A position in a chat's timeline: messages are ordered by (timestamp, message_id). */
export interface TimelinePosition {
  timestamp: Date;
  messageId: string;
}

const afterPosition = (p: TimelinePosition): Filter<MessageDoc> => ({
  $or: [
    { timestamp: { $gt: p.timestamp } },
    { timestamp: p.timestamp, message_id: { $gt: p.messageId } },
  ],
});
const beforePosition = (p: TimelinePosition): Filter<MessageDoc> => ({
  $or: [
    { timestamp: { $lt: p.timestamp } },
    { timestamp: p.timestamp, message_id: { $lt: p.messageId } },
  ],
});

/** Up to `limit` messages after `after` and before `before`, from the oldest or the newest end. */
export function findTimelineSlice(
  { messages }: Database,
  chatId: string,
  range: { after?: TimelinePosition; before?: TimelinePosition },
  fromEnd: 'oldest' | 'newest',
  limit: number,
): Promise<MessageDoc[]> {
  const bounds = [
    range.after && afterPosition(range.after),
    range.before && beforePosition(range.before),
  ];
  const conditions = bounds.filter((bound): bound is Filter<MessageDoc> => Boolean(bound));
  const direction = fromEnd === 'oldest' ? 1 : -1;
  return messages
    .find(conditions.length ? { chat_id: chatId, $and: conditions } : { chat_id: chatId }, {
      sort: { timestamp: direction, message_id: direction },
      limit,
      // One round trip: no getMore, no killCursors, whatever the page size.
      batchSize: limit,
      singleBatch: true,
      projection: { _id: 0 },
    })
    .toArray();
}

/** Up to `limit` messages of any of `chatIds` after `after`, oldest first (a user's inbox). */
export function findInboxAfter(
  { messages }: Database,
  chatIds: string[],
  after: TimelinePosition,
  limit: number,
): Promise<MessageDoc[]> {
  return messages
    .find(
      { chat_id: { $in: chatIds }, ...afterPosition(after) },
      {
        sort: { timestamp: 1, message_id: 1 },
        limit,
        batchSize: limit,
        singleBatch: true,
        projection: { _id: 0 },
      },
    )
    .toArray();
}

/**
 * Stored messages as bus events, for subscribers that missed them: each with its sender's public
 * fields (one query for all senders) and its chat's participants. A message whose sender or chat
 * is gone is left out.
 */
export async function asMessageEvents(
  { users }: Database,
  chats: ChatDoc[],
  messages: MessageDoc[],
): Promise<MessageEvent[]> {
  const participantsOf = new Map(chats.map((chat) => [chat.chat_id, chat.participants]));
  const senderIds = [...new Set(messages.map((message) => message.sender_id))];
  const found = await users.find({ user_id: { $in: senderIds } }).toArray();
  const senders = new Map(found.map((user) => [user.user_id, toPublicUser(user)]));
  return messages.flatMap((message) => {
    const sender = senders.get(message.sender_id);
    const participants = participantsOf.get(message.chat_id);
    return sender && participants ? [{ message, sender, participants }] : [];
  });
}

/** When each chat's newest message at or before `asOf` was sent (for a stable chat list). */
export async function lastActivityAsOf(
  { messages }: Database,
  chatIds: string[],
  asOf: Date,
): Promise<Map<string, Date>> {
  const found = await Promise.all(
    chatIds.map((chatId) =>
      messages.findOne(
        { chat_id: chatId, timestamp: { $lte: asOf } },
        { sort: { timestamp: -1 }, projection: { _id: 0, timestamp: 1 } },
      ),
    ),
  );
  const result = new Map<string, Date>();
  chatIds.forEach((chatId, index) => {
    const timestamp = found[index]?.timestamp;
    if (timestamp) result.set(chatId, timestamp);
  });
  return result;
}
