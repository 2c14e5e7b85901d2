import type { Filter, ObjectId, Sort } from 'mongodb';
import { findIn } from '../db/batch.js';
import { isDuplicateKeyError, type Database } from '../db/mongo.js';
import type { MessageDoc } from '../db/documents.js';
import { readByWindows, windowsOf, type RankRange } from '../timeline/pages.js';
import type { UnnumberedPosition } from '../timeline/position.js';

/**
 * Stores the copy of a numbered message that history reads (and the old server could). Its `_id`
 * is its timeline key, so writing it again (a retry finishing a send, a repair) changes nothing.
 */
export async function insertMessageCopy(
  { messages }: Database,
  message: MessageDoc & { seq: number },
) {
  try {
    await messages.insertOne({
      _id: `${message.chat_id}:${message.seq}`,
      ...message,
      window: windowsOf(message.seq),
    });
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
  }
}

export const findMessagesByIds = ({ messages }: Database, ids: readonly string[]) =>
  findIn(messages, 'message_id', ids);

export function findMessageById({ messages }: Database, messageId: string) {
  return messages.findOne({ message_id: messageId }, { projection: { _id: 0 } });
}

/**
 * What an edit or a deletion leaves on a message. A field not set must be absent, not undefined
 * (the driver would write null, and `deleted_at: null` reads as deleted).
 */
export type MessageState = Pick<MessageDoc, 'content' | 'edited_at' | 'deleted_at'>;

/**
 * Writes a message's state as of its change `seq` on its copy, unless a later change is shown
 * (an edit never over a deletion); true when the copy shows `seq`, a later change or a deletion
 * afterwards. (On FerretDB two such writes at once can both pass the condition: callers check
 * and write again.)
 */
export async function recordMessageState(
  { messages }: Database,
  messageId: string,
  seq: number,
  state: MessageState,
): Promise<boolean> {
  await messages.updateOne(
    {
      message_id: messageId,
      $or: [{ state_seq: { $exists: false } }, { state_seq: { $lt: seq } }],
      ...(state.deleted_at ? {} : { deleted_at: { $exists: false } }),
    },
    // A deletion erases the attachments with the text (their bytes: deleteMessage).
    {
      $set: { ...state, state_seq: seq },
      ...(state.deleted_at ? { $unset: { attachments: '' } } : {}),
    },
  );
  const stored = await messages.findOne(
    { message_id: messageId },
    { projection: { state_seq: 1, deleted_at: 1 } },
  );
  return (stored?.state_seq ?? 0) >= seq || (stored?.deleted_at !== undefined && !state.deleted_at);
}

const live = { deleted_at: { $exists: false } } as const;

/** A chat's newest message that is not deleted (numbered ones come after the others). */
export async function findNewestLiveMessage({ messages }: Database, chatId: string) {
  const projection = { _id: 0 } as const;
  return (
    (await messages.findOne(
      { chat_id: chatId, seq: { $exists: true }, ...live },
      { sort: { seq: -1 }, projection },
    )) ??
    (await messages.findOne(
      { chat_id: chatId, seq: { $exists: false }, ...live },
      { sort: { timestamp: -1, message_id: -1 }, projection },
    ))
  );
}

export function findLatestMessage({ messages }: Database, chatId: string) {
  return messages.findOne(
    { chat_id: chatId },
    { sort: { timestamp: -1, message_id: -1 }, projection: { _id: 0 } },
  );
}

/** A message's place in a paged chat: its number, or its place before numbering. */
export const rankOf = (message: MessageDoc) => message.seq ?? message.legacy_pos ?? -Infinity;

/** One window of a chat's messages (see ../timeline/pages.ts). */
export function findMessagesOfWindow({ messages }: Database, chatId: string, window: number) {
  return messages
    .find({ chat_id: chatId, window }, { projection: { _id: 0 }, batchSize: 1000 })
    .toArray();
}

/** Up to `limit` messages of a paged chat ranked in the range, from the oldest or newest end. */
export function findRankedSlice(
  db: Database,
  chatId: string,
  range: RankRange,
  fromEnd: 'oldest' | 'newest',
  limit: number,
  options: SliceOptions = {},
): Promise<MessageDoc[]> {
  return readByWindows(
    async (window) => {
      const found = await findMessagesOfWindow(db, chatId, window);
      return options.liveOnly ? found.filter((message) => !message.deleted_at) : found;
    },
    rankOf,
    range,
    fromEnd,
    limit,
  );
}

const slice = (limit: number, sort: Sort) =>
  // One round trip: no getMore, no killCursors, whatever the page size.
  ({ sort, limit, batchSize: limit, singleBatch: true, projection: { _id: 0 } }) as const;

/** `liveOnly`: deleted messages are left out (what the old clients see). */
export interface SliceOptions {
  liveOnly?: boolean;
}

/** Up to `limit` numbered messages of a chat in (after, before), from the oldest or newest end. */
export function findNumberedSlice(
  { messages }: Database,
  chatId: string,
  range: { after?: number; before?: number },
  fromEnd: 'oldest' | 'newest',
  limit: number,
  options: SliceOptions = {},
): Promise<MessageDoc[]> {
  const direction = fromEnd === 'oldest' ? 1 : -1;
  return messages
    .find(
      {
        chat_id: chatId,
        seq: { $gt: range.after ?? 0, $lt: range.before ?? Number.MAX_SAFE_INTEGER },
        ...(options.liveOnly ? live : {}),
      },
      slice(limit, { seq: direction }),
    )
    .toArray();
}

const afterUnnumbered = (p: UnnumberedPosition): Filter<MessageDoc> => ({
  $or: [
    { timestamp: { $gt: p.timestamp } },
    { timestamp: p.timestamp, message_id: { $gt: p.messageId } },
  ],
});
const beforeUnnumbered = (p: UnnumberedPosition): Filter<MessageDoc> => ({
  $or: [
    { timestamp: { $lt: p.timestamp } },
    { timestamp: p.timestamp, message_id: { $lt: p.messageId } },
  ],
});

/**
 * Up to `limit` messages stored before numbering (ordered by timestamp, then id) in (after,
 * before), from the oldest or newest end.
 */
export function findUnnumberedSlice(
  { messages }: Database,
  chatId: string,
  range: { after?: UnnumberedPosition; before?: UnnumberedPosition },
  fromEnd: 'oldest' | 'newest',
  limit: number,
  options: SliceOptions = {},
): Promise<MessageDoc[]> {
  const bounds = [
    range.after && afterUnnumbered(range.after),
    range.before && beforeUnnumbered(range.before),
  ];
  const conditions = bounds.filter((bound): bound is Filter<MessageDoc> => Boolean(bound));
  const direction = fromEnd === 'oldest' ? 1 : -1;
  return messages
    .find(
      {
        chat_id: chatId,
        seq: { $exists: false },
        ...(conditions.length ? { $and: conditions } : {}),
        ...(options.liveOnly ? live : {}),
      },
      slice(limit, { timestamp: direction, message_id: direction }),
    )
    .toArray();
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

/** Up to `limit` unnumbered messages of any of `chatIds` after `after`, oldest first. */
export function findUnnumberedOfChats(
  { messages }: Database,
  chatIds: string[],
  after: UnnumberedPosition,
  limit: number,
): Promise<MessageDoc[]> {
  return messages
    .find(
      { chat_id: { $in: chatIds }, seq: { $exists: false }, ...afterUnnumbered(after) },
      slice(limit, { timestamp: 1, message_id: 1 }),
    )
    .toArray();
}

/** A chat's messages stored before numbering (placed or not). */
export function findUnnumberedOfChat({ messages }: Database, chatId: string) {
  return messages.find({ chat_id: chatId, seq: { $exists: false } }).toArray();
}

/** A chat's numbered messages without their windows (stored before windows). */
export function findUnwindowedNumbered({ messages }: Database, chatId: string) {
  return messages
    .find({ chat_id: chatId, seq: { $exists: true }, window: { $exists: false } })
    .toArray();
}

/** Sets fields of messages by `_id`. */
export async function setMessageFields(
  { messages }: Database,
  updates: { _id: ObjectId | string; fields: Partial<MessageDoc> }[],
) {
  await Promise.all(
    updates.map(({ _id, fields }) => messages.updateOne({ _id }, { $set: fields })),
  );
}
