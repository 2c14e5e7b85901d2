/**
 * Read state: where each member has read a chat up to, the unread counts derived from it, and
 * who has seen what ("seen" ticks), with read receipts a user may turn off.
 *
 * A position only moves forward, except by the member's explicit `markChatUnread`. FerretDB's
 * conditional updates are not atomic, so the writes of one (chat, member) run one at a time,
 * across instances too (src/cluster/key-locks.ts); each is then one conditional upsert.
 */
import DataLoader from 'dataloader';
import { z } from 'zod';
import type { App } from '../app.js';
import type { ChatDoc, MessageDoc, ReadPositionDoc, UserDoc } from '../db/documents.js';
import { toPublicUser } from '../db/documents.js';
import { findChatsOf } from '../chats/repository.js';
import { requireMembership, visibleFrom } from '../chats/service.js';
import { badInput } from '../errors.js';
import { findLatestMessage, findUnnumberedSlice } from '../messages/repository.js';
import type { Loaders } from '../request/loaders.js';
import { requireViewer, type RequestScope } from '../request/scope.js';
import {
  START,
  decodePosition,
  encodePosition,
  isNumbered,
  positionOf,
  type Position,
} from '../timeline/position.js';
import { updateReadReceipts } from '../users/repository.js';
import { id, parseInput } from '../validation.js';
import {
  countUnread,
  findReadPositionsByKeys,
  findReadPositionsOfChats,
  positionIn,
  readPositionKey,
  writeReadPosition,
} from './repository.js';

/** Unread counts are exact up to this, then this (clients show "99+"). */
export const UNREAD_CAP = 99;
/** Positions of other members a chat shows (the most recent readers). */
export const MAX_READ_POSITIONS = 100;
/** At most this many readers of one message. */
export const MAX_READ_BY = 100;

const markInput = z.object({ chatId: id, upTo: z.string().nullish() });
const unmarkInput = z.object({ chatId: id, from: z.string() });

const receiptsShown = (user: Pick<UserDoc, 'read_receipts'>) => user.read_receipts !== false;

/** Where numbering stands in a chat: its newest numbered message cannot be passed. */
function clamped(chat: ChatDoc, position: Position): Position {
  return isNumbered(position) && position.seq > (chat.last_seq ?? 0)
    ? { seq: chat.last_seq ?? 0 }
    : position;
}

/** The newest message's position (default of `markChatRead`); null in a chat without any. */
async function newestPosition(app: App, chat: ChatDoc): Promise<Position | null> {
  if (chat.last_seq !== undefined) return { seq: chat.last_seq };
  if (chat.legacy_messages === false) return null;
  const latest = await findLatestMessage(app.db, chat.chat_id);
  return latest ? positionOf(latest) : null;
}

/**
 * Writes a member's position, one write of the (chat, member) at a time; tells the chat's other
 * members (unless the member turned receipts off), coalesced. True when it moved.
 */
async function movePosition(
  app: App,
  chat: ChatDoc,
  user: UserDoc,
  position: Position,
  forwardOnly: boolean,
): Promise<boolean> {
  const key = readPositionKey(chat.chat_id, user.user_id);
  const moved = await app.keyLocks.run(key, () =>
    writeReadPosition(app.db, chat.chat_id, user.user_id, position, {
      forwardOnly,
      at: new Date(),
    }),
  );
  if (moved && receiptsShown(user)) {
    app.readEvents.offer(key, {
      type: 'read',
      chatId: chat.chat_id,
      user: toPublicUser(user),
      cursor: encodePosition(position),
    });
  }
  return moved;
}

/** The member's own chat list shows the new unread count (their other devices). */
function announceToSelf(app: App, chat: ChatDoc, userId: string) {
  app.bus.publishUnreadChange(userId, { type: 'unread', chatId: chat.chat_id });
}

export async function markChatRead(
  scope: RequestScope,
  input: { chatId: string; upTo?: string | null },
): Promise<ChatDoc> {
  const viewer = requireViewer(scope);
  const fields = parseInput(markInput, input);
  const chat = await requireMembership(scope, fields.chatId);
  const position = fields.upTo
    ? clamped(chat, decodePosition(fields.upTo, 'upTo'))
    : await newestPosition(scope.app, chat);
  if (position && (await movePosition(scope.app, chat, viewer, position, true))) {
    announceToSelf(scope.app, chat, viewer.user_id);
  }
  return chat;
}

/** Moves the caller's position to just before `from`: the one way back. */
export async function markChatUnread(
  scope: RequestScope,
  input: { chatId: string; from: string },
): Promise<ChatDoc> {
  const viewer = requireViewer(scope);
  const fields = parseInput(unmarkInput, input);
  const chat = await requireMembership(scope, fields.chatId);
  const from = decodePosition(fields.from, 'from');
  let before: Position;
  if (isNumbered(from)) {
    if (from.seq < 1) throw badInput('from: not a message', 'from');
    before = clamped(chat, { seq: from.seq - 1 });
  } else {
    const [previous] = await findUnnumberedSlice(
      scope.app.db,
      chat.chat_id,
      { before: from },
      'newest',
      1,
    );
    before = previous ? positionOf(previous) : START;
  }
  if (await movePosition(scope.app, chat, viewer, before, false)) {
    announceToSelf(scope.app, chat, viewer.user_id);
  }
  return chat;
}

/**
 * Sending marks the chat read up to the message sent, for the sender. The message is stored
 * already: a failure here is logged, not the send's.
 */
export async function markSent(
  app: App,
  chat: ChatDoc,
  sender: UserDoc,
  message: MessageDoc & { seq: number },
): Promise<void> {
  try {
    await movePosition(app, chat, sender, { seq: message.seq }, true);
  } catch (error) {
    app.logger.warn({ err: error, chatId: chat.chat_id }, 'marking a sent message read failed');
  }
}

export async function setReadReceipts(scope: RequestScope, enabled: boolean): Promise<UserDoc> {
  const viewer = requireViewer(scope);
  await updateReadReceipts(scope.app.db, viewer.user_id, enabled);
  const updated = { ...viewer, read_receipts: enabled };
  scope.loaders.know(updated);
  return updated;
}

/** Per request: the caller's own positions, and every position of the chats asked about. */
const ownPositions = (loaders: Loaders) =>
  loaders.memo(
    'reads:own',
    (db, batch) =>
      new DataLoader<string, ReadPositionDoc | null>(
        async (keys) => {
          const found = await findReadPositionsByKeys(db, keys);
          const byKey = new Map(found.map((doc) => [doc._id, doc]));
          return keys.map((key) => byKey.get(key) ?? null);
        },
        { batch },
      ),
  );

const chatPositions = (loaders: Loaders) =>
  loaders.memo(
    'reads:chats',
    (db, batch) =>
      new DataLoader<string, ReadPositionDoc[]>(
        async (chatIds) => {
          const found = await findReadPositionsOfChats(db, chatIds);
          return chatIds.map((chatId) => found.filter((doc) => doc.chat_id === chatId));
        },
        { batch },
      ),
  );

/** Per request: the caller's unread count per chat, for all the chats asked about at once. */
const unreadCounts = (loaders: Loaders, viewerId: string) =>
  loaders.memo(
    'reads:unread',
    (db, batch) =>
      new DataLoader<ChatDoc, number, string>(
        async (chats) => {
          const positions = await ownPositions(loaders).loadMany(
            chats.map((chat) => readPositionKey(chat.chat_id, viewerId)),
          );
          const counts = await countUnread(
            db,
            viewerId,
            chats.map((chat, index) => {
              const doc = positions[index];
              return {
                chatId: chat.chat_id,
                after: doc && !(doc instanceof Error) ? positionIn(doc) : null,
                firstVisible: visibleFrom(chat, viewerId),
                unnumbered: chat.legacy_messages !== false,
              };
            }),
          );
          return chats.map((chat) => Math.min(counts.get(chat.chat_id) ?? 0, UNREAD_CAP));
        },
        { batch, cacheKeyFn: (chat) => chat.chat_id },
      ),
  );

export function unreadCount(scope: RequestScope, chat: ChatDoc): Promise<number> {
  const viewer = requireViewer(scope);
  return unreadCounts(scope.loaders, viewer.user_id).load(chat);
}

/** How many of the caller's chats hold unread messages. */
export async function unreadChatsCount(scope: RequestScope): Promise<number> {
  const viewer = requireViewer(scope);
  const chats = await findChatsOf(scope.app.db, viewer.user_id);
  const counts = await unreadCounts(scope.loaders, viewer.user_id).loadMany(chats);
  return counts.filter((count) => typeof count === 'number' && count > 0).length;
}

/**
 * The other members' positions that may be shown (receipts on, still members), most recent
 * first, with their users.
 */
async function shownPositions(scope: RequestScope, chat: ChatDoc) {
  const viewer = requireViewer(scope);
  const positions = (await chatPositions(scope.loaders).load(chat.chat_id)).filter(
    (doc) => doc.user_id !== viewer.user_id && chat.participants.includes(doc.user_id),
  );
  const users = await scope.loaders.users.loadMany(positions.map((doc) => doc.user_id));
  return positions.flatMap((doc, index) => {
    const user = users[index];
    return user && !(user instanceof Error) && receiptsShown(user) ? [{ doc, user }] : [];
  });
}

export async function readPositions(scope: RequestScope, chat: ChatDoc) {
  return (await shownPositions(scope, chat)).slice(0, MAX_READ_POSITIONS).map(({ doc }) => doc);
}

/** Members other than its sender who have read the message, most recent first. */
export async function readersOf(
  scope: RequestScope,
  message: MessageDoc,
  first: number | null | undefined,
): Promise<UserDoc[]> {
  const limit = Math.min(Math.max(first ?? 20, 0), MAX_READ_BY);
  const chat = await scope.loaders.chats.load(message.chat_id);
  if (!chat) return [];
  const at = positionOf(message);
  return (await shownPositions(scope, chat))
    .filter(({ doc }) => doc.user_id !== message.sender_id && !isBefore(positionIn(doc), at))
    .slice(0, limit)
    .map(({ user }) => user);
}

/** Whether position `a` comes before `b` in a chat's timeline. */
function isBefore(a: Position, b: Position): boolean {
  if (isNumbered(a) || isNumbered(b)) {
    if (!isNumbered(a)) return true;
    if (!isNumbered(b)) return false;
    return a.seq < b.seq;
  }
  const at = a.timestamp.getTime() - b.timestamp.getTime();
  return at < 0 || (at === 0 && a.messageId < b.messageId);
}

export const readPositionCursor = (doc: ReadPositionDoc) => encodePosition(positionIn(doc));
