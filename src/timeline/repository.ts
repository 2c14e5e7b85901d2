/** The `chat_events` collection: each chat's numbered events (see TimelineEventDoc). */
import type { Filter } from 'mongodb';
import type { TimelineEventDoc } from '../db/documents.js';
import { isDuplicateKeyError, type Database } from '../db/mongo.js';
import { readByWindows, windowsOf } from './pages.js';

export const eventKey = (chatId: string, seq: number) => `${chatId}:${seq}`;

/**
 * Stores an event under its number. 'taken': another event holds the number, or (with a
 * `client_key`) the same send was stored before — the unique indexes refused it.
 */
export async function insertEvent(
  { events }: Database,
  event: TimelineEventDoc,
): Promise<'stored' | 'taken'> {
  try {
    await events.insertOne({ ...event, window: windowsOf(event.seq) });
    return 'stored';
  } catch (error) {
    if (isDuplicateKeyError(error)) return 'taken';
    throw error;
  }
}

/** Whether a chat's event `seq` is stored (an `_id` lookup, the cheapest read there is). */
export async function eventExists({ events }: Database, chatId: string, seq: number) {
  const found = await events.findOne({ _id: eventKey(chatId, seq) }, { projection: { _id: 1 } });
  return found !== null;
}

export function findEvent({ events }: Database, chatId: string, seq: number) {
  return events.findOne({ _id: eventKey(chatId, seq) });
}

export function findEventByClientKey({ events }: Database, clientKey: string) {
  return events.findOne({ client_key: clientKey });
}

const inOrder = (limit: number) =>
  ({ sort: { chat_id: 1, seq: 1 }, limit, batchSize: limit, singleBatch: true }) as const;

/** One window of a chat's events (see ./pages.ts). */
export function findEventsOfWindow({ events }: Database, chatId: string, window: number) {
  return events.find({ chat_id: chatId, window }, { batchSize: 1000 }).toArray();
}

/**
 * Up to `limit` events of a chat numbered after `afterSeq` (and up to `upToSeq`), in order; of a
 * paged chat (ChatDoc.paged) read by windows.
 */
export function findEventsAfter(
  db: Database,
  chat: { chatId: string; paged: boolean },
  afterSeq: number,
  limit: number,
  upToSeq = Infinity,
): Promise<TimelineEventDoc[]> {
  const { chatId, paged } = chat;
  if (paged) {
    return readByWindows(
      (window) => findEventsOfWindow(db, chatId, window),
      (event) => event.seq,
      { after: afterSeq, before: upToSeq + 1, lowest: 1, highest: upToSeq, gapless: true },
      'oldest',
      limit,
    );
  }
  return db.events
    .find(
      { chat_id: chatId, seq: { $gt: afterSeq, $lte: Math.min(upToSeq, Number.MAX_SAFE_INTEGER) } },
      inOrder(limit),
    )
    .toArray();
}

/** A chat's group events (members, renamed) numbered in (afterSeq, upToSeq], in order. */
export function findGroupEventsBetween(
  { events }: Database,
  chatId: string,
  afterSeq: number,
  upToSeq: number,
): Promise<TimelineEventDoc[]> {
  if (upToSeq <= afterSeq) return Promise.resolve([]);
  return events
    .find(
      {
        chat_id: chatId,
        seq: { $gt: afterSeq, $lte: upToSeq },
        type: { $in: ['members', 'renamed'] },
      },
      { sort: { seq: 1 } },
    )
    .toArray();
}

/** The changes (edits, deletion, reactions) of a message numbered below `beforeSeq`, in order. */
export function findMessageChangesBefore(
  { events }: Database,
  chatId: string,
  messageId: string,
  beforeSeq: number,
): Promise<TimelineEventDoc[]> {
  return events
    .find({ target_id: messageId, chat_id: chatId, seq: { $lt: beforeSeq } }, { sort: { seq: 1 } })
    .toArray();
}

/** The changes of a message numbered above `afterSeq`, in order. */
export function findMessageChangesAfter(
  { events }: Database,
  chatId: string,
  messageId: string,
  afterSeq: number,
): Promise<TimelineEventDoc[]> {
  return events
    .find({ target_id: messageId, chat_id: chatId, seq: { $gt: afterSeq } }, { sort: { seq: 1 } })
    .toArray();
}

/**
 * Erases a deleted message's content from every event that carries it: its own (when numbered)
 * and its changes. What was said is gone from the timeline, not only hidden.
 */
export async function eraseFromEvents(
  { events }: Database,
  message: { chat_id: string; message_id: string; seq?: number },
  deletedAt: Date,
): Promise<void> {
  const erased = {
    $set: { 'message.content': '', 'message.deleted_at': deletedAt },
    $unset: { 'message.attachments': '' as const },
  };
  await Promise.all([
    message.seq !== undefined &&
      events.updateOne({ _id: eventKey(message.chat_id, message.seq) }, erased),
    events.updateMany({ target_id: message.message_id, chat_id: message.chat_id }, erased),
  ]);
}

/**
 * Up to `limit` events of several chats: after the known number in each of `known`, and those
 * stored since `since` in `others`; per chat in order.
 */
export function findEventsOfChats(
  { events }: Database,
  known: ReadonlyMap<string, number>,
  others: { chatIds: string[]; since: Date },
  limit: number,
): Promise<TimelineEventDoc[]> {
  const branches: Filter<TimelineEventDoc>[] = [...known].map(([chatId, seq]) => ({
    chat_id: chatId,
    seq: { $gt: seq },
  }));
  if (others.chatIds.length > 0) {
    branches.push({ chat_id: { $in: others.chatIds }, at: { $gte: others.since } });
  }
  if (branches.length === 0) return Promise.resolve([]);
  return events
    .find(branches.length === 1 ? branches[0]! : { $or: branches }, inOrder(limit))
    .toArray();
}

/** A chat's events stored before windows. */
export function findUnwindowedEvents({ events }: Database, chatId: string) {
  return events
    .find({ chat_id: chatId, window: { $exists: false } }, { projection: { _id: 1, seq: 1 } })
    .toArray();
}

/** Sets events' windows by `_id`. */
export async function setEventWindows(
  { events }: Database,
  updates: { _id: string; window: number[] }[],
) {
  await Promise.all(
    updates.map(({ _id, window }) => events.updateOne({ _id }, { $set: { window } })),
  );
}
