/** Chats: opening one per pair, listing them by activity, and who may see them. */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ChatDoc, MessageDoc } from '../db/documents.js';
import { reaches, removes, type ChatEvent, type UserEvent } from '../events/bus.js';
import { isDuplicateKeyError } from '../db/mongo.js';
import { badInput, forbidden, notFound } from '../errors.js';
import { requireViewer, type RequestScope } from '../request/scope.js';
import {
  buildPage,
  checkPageSize,
  decodeCursor,
  encodeCursor,
  type Edge,
  type Page,
} from '../pagination.js';
import { id, parseInput } from '../validation.js';
import {
  findChatByKey,
  findChatOfPair,
  findChatsOf,
  insertChat,
  isDirect,
  pairKey,
} from './repository.js';
import { lastActivityAsOf } from '../messages/repository.js';

export type ChatPage = Page<ChatDoc>;
export type ChatPageEdge = Edge<ChatDoc>;

/** A change to a user's chat list (`myChats`): the chat itself, or its id to read it by. */
export interface ChatListEntry {
  change: 'ADDED' | 'UPDATED' | 'REMOVED';
  chatId: string;
  chat?: ChatDoc;
}

export const MAX_CHATS_PAGE = 100;

export async function createChat(scope: RequestScope, otherUserId: string): Promise<ChatDoc> {
  const viewer = requireViewer(scope);
  const otherId = parseInput(id, otherUserId);
  if (otherId === viewer.user_id)
    throw badInput('Cannot create a chat with yourself', 'otherUserId');
  const other = await scope.loaders.users.load(otherId);
  if (!other) throw notFound('User not found');

  const existing = await findChatOfPair(scope.app.db, viewer.user_id, otherId);
  if (existing) return existing;
  const key = pairKey(viewer.user_id, otherId);
  const chat: ChatDoc = {
    chat_id: randomUUID(),
    participants: [viewer.user_id, otherId],
    created_at: new Date(),
    last_message: null,
    last_message_time: null,
    legacy_messages: false,
    paged: true,
  };
  try {
    await insertChat(scope.app.db, key, chat);
    scope.app.bus.publishChatListChange({
      type: 'chat-list',
      change: 'ADDED',
      chat,
      userIds: chat.participants,
      from: 0,
    });
    return chat;
  } catch (error) {
    // Both sides of the pair opened the chat at once: the first insert won.
    if (!isDuplicateKeyError(error)) throw error;
    const winner = await findChatByKey(scope.app.db, key);
    if (!winner) throw error;
    return winner;
  }
}

/** The chat, if it exists and the caller takes part in it. */
export async function findChat(scope: RequestScope, chatId: string): Promise<ChatDoc | null> {
  const viewer = requireViewer(scope);
  const chat = await scope.loaders.chats.load(parseInput(id, chatId));
  return chat?.participants.includes(viewer.user_id) ? chat : null;
}

/** The chat, or NOT_FOUND / FORBIDDEN when it is missing or the caller is not in it. */
export async function requireMembership(scope: RequestScope, chatId: string): Promise<ChatDoc> {
  const viewer = requireViewer(scope);
  const chat = await scope.loaders.chats.load(parseInput(id, chatId));
  if (!chat) throw notFound('Chat not found');
  if (!chat.participants.includes(viewer.user_id)) throw forbidden('User not in chat');
  return chat;
}

/** A one-to-one chat the caller is in; a group is NOT_FOUND (for the old clients). */
export async function requireDirectChat(scope: RequestScope, chatId: string): Promise<ChatDoc> {
  const chat = await requireMembership(scope, chatId);
  if (!isDirect(chat)) throw notFound('Chat not found');
  return chat;
}

/**
 * The first event of a chat `userId` may see: a group member added without its history sees
 * from their own addition on; everyone else all of it.
 */
export const visibleFrom = (chat: ChatDoc, userId: string): number =>
  chat.members?.find((member) => member.user_id === userId)?.visible_from ?? 1;

/** Whether `userId` may see a message of `chat` (one from before numbering: with all history). */
export const seesMessage = (chat: ChatDoc, userId: string, message: Pick<MessageDoc, 'seq'>) =>
  (message.seq ?? 1) >= visibleFrom(chat, userId);

/** The participant of a one-to-one chat who is not `userId`. */
export const otherParticipantId = (chat: ChatDoc, userId: string) =>
  chat.participants.find((participant) => participant !== userId);

/**
 * The caller's chat list as it changes, live: a chat opened with them or a group they were added
 * to (ADDED), a chat whose entry changed (UPDATED, in each chat's timeline order: a new message or
 * group event, an edit of the message its summary shows, a deletion, a new unread count), a group
 * they left or were removed from (REMOVED). Membership is checked per event.
 */
export function followChatList(scope: RequestScope) {
  const userId = requireViewer(scope).user_id;
  scope.loaders.forget();
  return scope.app.bus.userEvents(userId, {
    // Their removal itself shows as REMOVED, from their own topic.
    accepts: (event) =>
      event.type === 'chat-list' ||
      event.type === 'unread' ||
      (reaches(event, userId) && !removes(event, userId) && changesEntry(event)),
  });
}

/**
 * Whether a timeline event changes its chat's entry: not a reaction, nor an edit of a message the
 * summary does not show; a deletion may change the unread count whatever the summary shows.
 */
const changesEntry = (event: ChatEvent) =>
  event.type === 'deleted' || (event.type !== 'reactions' && event.summaryChanged !== false);

/** A user event as the chat-list change it makes (a new event, their unread count: UPDATED). */
export const chatListEntryOf = (event: UserEvent): ChatListEntry =>
  event.type === 'chat-list'
    ? { change: event.change, chatId: event.chat.chat_id, chat: event.chat }
    : { change: 'UPDATED', chatId: event.chatId };

/** Everyone the caller shares a chat with. */
export async function contactIds(scope: RequestScope): Promise<Set<string>> {
  const viewer = requireViewer(scope);
  const chats = await findChatsOf(scope.app.db, viewer.user_id);
  const ids = new Set(chats.flatMap((chat) => chat.participants));
  ids.delete(viewer.user_id);
  return ids;
}

/**
 * How long a message may take from getting its timestamp to showing on its chat (insert, then
 * summary update). Chats active within this window of the first page are recorded in the cursor.
 */
const SETTLE_MS = 10_000;

const chatCursor = z.object({
  at: z.number(),
  id: z.string(),
  /** Chats whose activity is older than this are ranked by the activity they show now. */
  asOf: z.number(),
  /** Activity of the chats that were newer than `asOf` when the first page was read. */
  recent: z.record(z.string(), z.number()),
});
type ChatCursor = z.infer<typeof chatCursor>;

const activityOf = (chat: ChatDoc) => (chat.last_message_time ?? chat.created_at).getTime();

/**
 * Where each chat stood when the first page was read. Chats active since `asOf` are ranked by the
 * activity the cursor recorded for them, or — if they were not active then — by their newest
 * message up to `asOf`; chats created since are left out (they were not in the list).
 */
async function rankAsOfFirstPage(scope: RequestScope, chats: ChatDoc[], cursor: ChatCursor) {
  const changed = chats.filter(
    (chat) => activityOf(chat) > cursor.asOf && !(chat.chat_id in cursor.recent),
  );
  const older = changed.filter((chat) => chat.created_at.getTime() <= cursor.asOf);
  const pastActivity = older.length
    ? await lastActivityAsOf(
        scope.app.db,
        older.map((chat) => chat.chat_id),
        new Date(cursor.asOf),
      )
    : new Map<string, Date>();
  return chats.flatMap((chat) => {
    const recorded = cursor.recent[chat.chat_id];
    if (recorded !== undefined) return [{ chat, at: recorded }];
    if (activityOf(chat) <= cursor.asOf) return [{ chat, at: activityOf(chat) }];
    if (chat.created_at.getTime() > cursor.asOf) return [];
    return [{ chat, at: (pastActivity.get(chat.chat_id) ?? chat.created_at).getTime() }];
  });
}

/**
 * The caller's chats, newest activity first, paged so that a chat which receives a message while
 * a client pages through the list is neither skipped nor repeated: later pages rank every chat as
 * it stood when the first page was read (the new activity shows on the next first page, and
 * through subscriptions meanwhile).
 *
 * All of a user's chats are read in one query and ranked here: one-to-one chat lists are small,
 * and FerretDB has no `$ifNull` sort key or `$lookup` to do better on the server.
 */
export async function listChats(
  scope: RequestScope,
  args: { first?: number | null; after?: string | null },
  only: (chat: ChatDoc) => boolean = () => true,
): Promise<ChatPage> {
  const viewer = requireViewer(scope);
  const size = checkPageSize(args.first, 'first', MAX_CHATS_PAGE) ?? 20;
  const after = args.after ? decodeCursor(chatCursor, args.after, 'after') : null;
  const chats = (await findChatsOf(scope.app.db, viewer.user_id)).filter(only);

  const asOf = after?.asOf ?? Date.now() - SETTLE_MS;
  const recent =
    after?.recent ??
    Object.fromEntries(
      chats
        .filter((chat) => activityOf(chat) > asOf)
        .map((chat) => [chat.chat_id, activityOf(chat)]),
    );
  const ranked = (
    after
      ? await rankAsOfFirstPage(scope, chats, after)
      : chats.map((chat) => ({ chat, at: activityOf(chat) }))
  ).sort((a, b) => b.at - a.at || (a.chat.chat_id < b.chat.chat_id ? 1 : -1));

  const remaining = after
    ? ranked.filter(({ at, chat }) => at < after.at || (at === after.at && chat.chat_id < after.id))
    : ranked;
  const edges = remaining.slice(0, size).map(({ chat, at }) => ({
    cursor: encodeCursor({ at, id: chat.chat_id, asOf, recent }),
    node: chat,
  }));
  return buildPage(edges, remaining.length > size, remaining.length < ranked.length);
}
