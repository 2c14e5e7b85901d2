/** Chats: opening one per pair, listing them by activity, and who may see them. */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ChatDoc } from '../db/documents.js';
import { isDuplicateKeyError } from '../db/mongo.js';
import { badInput, forbidden, notFound } from '../errors.js';
import { requireViewer, type RequestScope } from '../context.js';
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
  lastActivityAsOf,
  pairKey,
} from './repository.js';

export type ChatPage = Page<ChatDoc>;
export type ChatPageEdge = Edge<ChatDoc>;

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
  };
  try {
    await insertChat(scope.app.db, key, chat);
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

/** The participant of a one-to-one chat who is not `userId`. */
export const otherParticipantId = (chat: ChatDoc, userId: string) =>
  chat.participants.find((participant) => participant !== userId);

/** Everyone the caller shares a chat with. */
export async function contactIds(scope: RequestScope): Promise<Set<string>> {
  const viewer = requireViewer(scope);
  const chats = await findChatsOf(scope.app.db, viewer.user_id);
  const ids = new Set(chats.flatMap((chat) => chat.participants));
  ids.delete(viewer.user_id);
  return ids;
}

const chatCursor = z.object({ at: z.number(), id: z.string(), asOf: z.number() });
const activityOf = (chat: ChatDoc) => (chat.last_message_time ?? chat.created_at).getTime();

/**
 * The caller's chats, newest activity first. Pages are cut from a snapshot: the first page fixes
 * `asOf`, and later pages rank every chat by its activity as of then, so a chat that receives a
 * message mid-pagination is neither skipped nor repeated (it shows up at its old place).
 *
 * All of a user's chats are read in one query and ranked here: one-to-one chat lists are small,
 * and FerretDB has no `$ifNull` sort key or `$lookup` to do better on the server.
 */
export async function listChats(
  scope: RequestScope,
  args: { first?: number | null; after?: string | null },
): Promise<ChatPage> {
  const viewer = requireViewer(scope);
  const size = checkPageSize(args.first, 'first', MAX_CHATS_PAGE) ?? 20;
  const cursor = args.after ? decodeCursor(chatCursor, args.after, 'after') : null;
  const chats = await findChatsOf(scope.app.db, viewer.user_id);
  const asOf = cursor?.asOf ?? Math.max(Date.now(), ...chats.map(activityOf));

  const inSnapshot = chats.filter((chat) => chat.created_at.getTime() <= asOf);
  const moved = inSnapshot.filter((chat) => activityOf(chat) > asOf).map((chat) => chat.chat_id);
  const pastActivity = moved.length
    ? await lastActivityAsOf(scope.app.db, moved, new Date(asOf))
    : new Map<string, Date>();
  const ranked = inSnapshot
    .map((chat) => {
      const at =
        activityOf(chat) > asOf
          ? (pastActivity.get(chat.chat_id) ?? chat.created_at).getTime()
          : activityOf(chat);
      return { chat, at };
    })
    .sort((a, b) => b.at - a.at || (a.chat.chat_id < b.chat.chat_id ? 1 : -1));

  const remaining = cursor
    ? ranked.filter(
        ({ at, chat }) => at < cursor.at || (at === cursor.at && chat.chat_id < cursor.id),
      )
    : ranked;
  const edges = remaining.slice(0, size).map(({ chat, at }) => ({
    cursor: encodeCursor({ at, id: chat.chat_id, asOf }),
    node: chat,
  }));
  return buildPage(edges, remaining.length > size, remaining.length < ranked.length);
}
