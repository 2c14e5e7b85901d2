/** Read positions (`read_positions`) and the unread counts derived from them and `messages`. */
import type { Filter } from 'mongodb';
import type { MessageDoc, ReadPositionDoc } from '../db/documents.js';
import { isDuplicateKeyError, type Database } from '../db/mongo.js';
import { isNumbered, type Position } from '../timeline/position.js';

export const readPositionKey = (chatId: string, userId: string) => `${chatId}:${userId}`;

/** The position a document holds. */
export const positionIn = (doc: ReadPositionDoc): Position =>
  doc.seq !== undefined
    ? { seq: doc.seq }
    : { timestamp: doc.timestamp ?? new Date(0), messageId: doc.message_id ?? '' };

/** Documents holding a position before `position`. */
function behind(position: Position): Filter<ReadPositionDoc> {
  if (isNumbered(position)) {
    return { $or: [{ seq: { $lt: position.seq } }, { seq: { $exists: false } }] };
  }
  return {
    seq: { $exists: false },
    $or: [
      { timestamp: { $lt: position.timestamp } },
      { timestamp: position.timestamp, message_id: { $lt: position.messageId } },
    ],
  };
}

function fieldsOf(position: Position): {
  set: Partial<ReadPositionDoc>;
  unset: Partial<Record<keyof ReadPositionDoc, ''>>;
} {
  return isNumbered(position)
    ? { set: { seq: position.seq }, unset: { timestamp: '', message_id: '' } }
    : {
        set: { timestamp: position.timestamp, message_id: position.messageId },
        unset: { seq: '' },
      };
}

/**
 * Writes a member's read position: with `forwardOnly`, only over a position before it (an
 * upsert whose filter misses a document that is ahead fails on the `_id`: nothing moves). One
 * command. Not atomic on FerretDB: callers write one key at a time (./service.ts). True when the
 * stored position changed.
 */
export async function writeReadPosition(
  { readPositions }: Database,
  chatId: string,
  userId: string,
  position: Position,
  options: { forwardOnly: boolean; at: Date },
): Promise<boolean> {
  const { set, unset } = fieldsOf(position);
  try {
    const result = await readPositions.updateOne(
      {
        _id: readPositionKey(chatId, userId),
        ...(options.forwardOnly ? behind(position) : {}),
      },
      {
        $set: { chat_id: chatId, user_id: userId, read_at: options.at, ...set },
        $unset: unset,
      },
      { upsert: true },
    );
    return result.modifiedCount + result.upsertedCount > 0;
  } catch (error) {
    if (options.forwardOnly && isDuplicateKeyError(error)) return false;
    throw error;
  }
}

export const findReadPositionsByKeys = ({ readPositions }: Database, keys: readonly string[]) =>
  readPositions.find({ _id: { $in: [...keys] } }, { batchSize: keys.length + 1 }).toArray();

/** Every read position of the chats, most recent first. */
export const findReadPositionsOfChats = ({ readPositions }: Database, chatIds: readonly string[]) =>
  readPositions
    .find({ chat_id: { $in: [...chatIds] } }, { sort: { read_at: -1 }, batchSize: 1000 })
    .toArray();

/** Which messages of one chat are unread: those after a position, from what the member may see. */
export interface UnreadRange {
  chatId: string;
  /** The member's read position; null when they have read nothing. */
  after: Position | null;
  /** The first timeline number they may see (group members added without history). */
  firstVisible: number;
  /** The chat may hold messages stored before numbering. */
  unnumbered: boolean;
}

const afterUnnumbered = (p: { timestamp: Date; messageId: string }): Filter<MessageDoc> => ({
  $or: [
    { timestamp: { $gt: p.timestamp } },
    { timestamp: p.timestamp, message_id: { $gt: p.messageId } },
  ],
});

/** The messages of a range, as `$or` branches: numbered ones by number, older ones by time. */
function unreadBranches(range: UnreadRange): Filter<MessageDoc>[] {
  const { chatId, after, firstVisible } = range;
  const fromSeq = Math.max(after && isNumbered(after) ? after.seq : 0, firstVisible - 1);
  const numbered: Filter<MessageDoc> = { chat_id: chatId, seq: { $gt: fromSeq } };
  if (!range.unnumbered || (after && isNumbered(after)) || firstVisible > 1) return [numbered];
  const older: Filter<MessageDoc> = {
    chat_id: chatId,
    seq: { $exists: false },
    ...(after ? afterUnnumbered(after) : {}),
  };
  return [numbered, older];
}

/**
 * Per chat, how many messages in its range others wrote (TEXT ones, not deleted): one aggregate
 * for all the chats, counted from numbers and times, never from counters.
 */
export async function countUnread(
  { messages }: Database,
  viewerId: string,
  ranges: readonly UnreadRange[],
): Promise<Map<string, number>> {
  if (ranges.length === 0) return new Map();
  const counted = await messages
    .aggregate<{ _id: string; count: number }>([
      {
        $match: {
          sender_id: { $ne: viewerId },
          message_type: { $ne: 'system' },
          // A deleted message is not unread.
          deleted_at: { $exists: false },
          $or: ranges.flatMap(unreadBranches),
        },
      },
      { $group: { _id: '$chat_id', count: { $sum: 1 } } },
    ])
    .toArray();
  return new Map(counted.map((each) => [each._id, each.count]));
}
