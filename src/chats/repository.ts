import { findIn } from '../db/batch.js';
import type { Database } from '../db/mongo.js';
import type { ChatDoc, GroupState, MessageDoc } from '../db/documents.js';
import { textOf } from '../messages/text.js';

/** A one-to-one chat: what the old clients know (a group would break them). */
export const isDirect = (chat: ChatDoc) => chat.kind !== 'group';

/** New chats are keyed by their pair, so the `_id` index lets only one chat per pair exist. */
export const pairKey = (a: string, b: string) => `chat:${[a, b].sort().join(':')}`;

export const findChatsByIds = ({ chats }: Database, ids: readonly string[]) =>
  findIn(chats, 'chat_id', ids);

export function findChatOfPair({ chats }: Database, a: string, b: string) {
  // A group with both of them in it is not their one-to-one chat.
  return chats.findOne(
    { participants: { $all: [a, b] }, kind: { $exists: false } },
    { projection: { _id: 0 } },
  );
}

export function findChatByKey({ chats }: Database, key: string) {
  return chats.findOne({ _id: key }, { projection: { _id: 0 } });
}

export async function insertChat({ chats }: Database, key: string, chat: ChatDoc): Promise<void> {
  await chats.insertOne({ _id: key, ...chat });
}

/** A user's whole chat list usually fits in one round trip. */
const CHATS_BATCH = 1000;

export function findChatsOf({ chats }: Database, userId: string): Promise<ChatDoc[]> {
  return chats
    .find({ participants: userId }, { projection: { _id: 0 }, batchSize: CHATS_BATCH })
    .toArray();
}

/**
 * Moves the chat's last-message summary to a numbered message, unless it shows a later one
 * already. (On FerretDB two such writes at once can both pass the condition; callers write a
 * chat's document one at a time: Sequencer.latest.)
 */
export async function recordLastMessage(
  { chats }: Database,
  message: MessageDoc & { seq: number },
): Promise<void> {
  await chats.updateOne(
    {
      chat_id: message.chat_id,
      $or: [{ last_seq: { $exists: false } }, { last_seq: { $lt: message.seq } }],
    },
    {
      $set: {
        last_message: textOf(message),
        last_message_time: message.timestamp,
        last_message_id: message.message_id,
        last_message_doc: message,
        last_seq: message.seq,
      },
    },
  );
}

/**
 * A message was edited: the summary shows its new text if it shows that message; true if so.
 * (A summary moving on to a later message meanwhile is written after this one in this process.)
 */
export async function recordEditInSummary(
  { chats }: Database,
  chatId: string,
  messageId: string,
  content: string,
): Promise<boolean> {
  const { matchedCount } = await chats.updateOne(
    { chat_id: chatId, last_message_id: messageId },
    // The copy of the message shows it before the edit: read it from `messages` until the next.
    { $set: { last_message: content }, $unset: { last_message_doc: '' } },
  );
  return matchedCount > 0;
}

/**
 * A message was deleted: a summary showing it (or naming none: the old server's) falls back to
 * `newest`, the newest message left (null: none); true if it did.
 */
export async function recordDeletionInSummary(
  { chats }: Database,
  chatId: string,
  messageId: string,
  newest: MessageDoc | null,
): Promise<boolean> {
  const showing = [{ last_message_id: messageId }, { last_message_id: { $exists: false } }];
  const { matchedCount } = await chats.updateOne(
    { chat_id: chatId, $or: showing },
    {
      $set: {
        last_message: newest?.content ?? null,
        last_message_time: newest?.timestamp ?? null,
        last_message_id: newest?.message_id ?? null,
        ...(newest ? { last_message_doc: newest } : {}),
      },
      ...(newest ? {} : { $unset: { last_message_doc: '' as const } }),
    },
  );
  return matchedCount > 0;
}

/**
 * Moves the chat's last number to `seq` (an event that leaves the summary as it is), unless it
 * is there already. (Not atomic on FerretDB; a number behind only makes the next send search.)
 */
export async function recordLastSeq({ chats }: Database, chatId: string, seq: number) {
  await chats.updateOne(
    { chat_id: chatId, $or: [{ last_seq: { $exists: false } }, { last_seq: { $lt: seq } }] },
    { $set: { last_seq: seq } },
  );
}

/** Names the newest message of a chat written by the old server (which kept only its text). */
export async function rememberLastMessageId(
  { chats }: Database,
  chatId: string,
  messageId: string,
): Promise<void> {
  await chats.updateOne(
    { chat_id: chatId, last_message_id: { $exists: false } },
    { $set: { last_message_id: messageId } },
  );
}

/**
 * Records a group's state as of its event `seq` on the chat (title, members, participants),
 * unless a later state is recorded; true when the chat shows `seq` or later afterwards. (On
 * FerretDB two such writes at once can both pass the condition: callers check and write again.)
 */
export async function recordGroupState(
  { chats }: Database,
  chatId: string,
  seq: number,
  state: GroupState,
): Promise<boolean> {
  await chats.updateOne(
    { chat_id: chatId, $or: [{ group_seq: { $exists: false } }, { group_seq: { $lt: seq } }] },
    {
      $set: {
        title: state.title,
        members: state.members,
        participants: state.members.map((member) => member.user_id),
        group_seq: seq,
        ...(state.members.length === 0 ? { closed: true } : {}),
      },
    },
  );
  const stored = await chats.findOne({ chat_id: chatId }, { projection: { group_seq: 1 } });
  return (stored?.group_seq ?? 0) >= seq;
}

/** Chats whose documents are not all windowed yet (see ../timeline/positions.ts). */
export function findChatsToPage({ chats }: Database): Promise<ChatDoc[]> {
  return chats
    .find({ paged: { $exists: false } }, { projection: { _id: 0, chat_id: 1 } })
    .toArray();
}

/** Marks a chat paged, with how many of its messages were stored before numbering. */
export async function markPaged({ chats }: Database, chatId: string, legacyCount: number) {
  await chats.updateOne({ chat_id: chatId }, { $set: { paged: true, legacy_count: legacyCount } });
}
