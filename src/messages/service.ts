/** Sending messages (stored, then broadcast) and reading a chat's history page by page. */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { Repeater } from 'graphql-yoga';
import { toPublicUser, type MessageModel } from '../db/documents.js';
import type { EventBus, MessageEvent } from '../events/bus.js';
import type { MessageDoc } from '../db/documents.js';
import { isDuplicateKeyError } from '../db/mongo.js';
import { badInput } from '../errors.js';
import { requireViewer, type RequestScope } from '../request/scope.js';
import { recordLastMessage } from '../chats/repository.js';
import { requireMembership } from '../chats/service.js';
import {
  buildPage,
  checkPageSize,
  decodeCursor,
  encodeCursor,
  type Edge,
  type Page,
} from '../pagination.js';
import { id, parseInput, userText } from '../validation.js';
import {
  findMessageById,
  findMessageByKey,
  findTimelineSlice,
  idempotencyKey,
  insertMessage,
  type TimelinePosition,
} from './repository.js';

export type MessagePage = Page<MessageModel>;
export type MessagePageEdge = Edge<MessageModel>;

const DEFAULT_PAGE = 50;

const sendInput = z.object({
  chatId: id,
  content: userText('messageContent').refine((text) => text.trim().length > 0, 'must not be empty'),
  clientMessageId: z
    .string()
    .regex(/^[\x21-\x7E]{1,100}$/, 'must be 1 to 100 printable ASCII characters')
    .nullish(),
});

/**
 * Stores a message, moves the chat's summary forward and broadcasts it. The message is durable
 * before anyone is told about it. A retry with the same clientMessageId returns the stored message.
 */
export async function sendMessage(
  scope: RequestScope,
  input: { chatId: string; content: string; clientMessageId?: string | null },
): Promise<MessageModel> {
  const viewer = requireViewer(scope);
  const fields = parseInput(sendInput, input);
  await scope.app.rateLimits.consume('sendsPerUser', viewer.user_id);
  const chat = await requireMembership(scope, fields.chatId);
  const { db, bus } = scope.app;

  const message: MessageDoc = {
    message_id: randomUUID(),
    chat_id: chat.chat_id,
    sender_id: viewer.user_id,
    content: fields.content,
    timestamp: new Date(),
    message_type: 'text',
    ...(fields.clientMessageId ? { client_message_id: fields.clientMessageId } : {}),
  };
  const key = fields.clientMessageId
    ? idempotencyKey(chat.chat_id, viewer.user_id, fields.clientMessageId)
    : undefined;
  try {
    await insertMessage(db, message, key);
  } catch (error) {
    const original = key && isDuplicateKeyError(error) ? await findMessageByKey(db, key) : null;
    if (!original) throw error;
    // A retry: the first attempt may have failed after storing, so finish its summary update.
    await recordLastMessage(db, original);
    return original;
  }
  await recordLastMessage(db, message);
  const sender = toPublicUser(viewer);
  bus.publishMessage({ message, sender, participants: chat.participants });
  return { ...message, sender };
}

const messageCursor = z.tuple([z.number().int(), z.string()]);
export const toPosition = (cursor: string, field: string): TimelinePosition => {
  const [time, messageId] = decodeCursor(messageCursor, cursor, field);
  return { timestamp: new Date(time), messageId };
};
export const cursorOf = (message: MessageDoc) =>
  encodeCursor([message.timestamp.getTime(), message.message_id]);

export interface MessagePageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/**
 * A page of a chat's messages, oldest first. `first`/`after` page forwards, `last`/`before`
 * backwards; with neither size, the newest messages. Cursors are (timestamp, id) positions,
 * so concurrent inserts never shift a page.
 */
export async function listMessages(
  scope: RequestScope,
  chatId: string,
  args: MessagePageArgs,
  maxPage = 100,
): Promise<MessagePage> {
  const chat = await requireMembership(scope, chatId);
  const first = checkPageSize(args.first, 'first', maxPage);
  const last = checkPageSize(args.last, 'last', maxPage);
  if (first !== undefined && last !== undefined) {
    throw badInput('Pass either first or last, not both', 'last');
  }
  const range = {
    after: args.after ? toPosition(args.after, 'after') : undefined,
    before: args.before ? toPosition(args.before, 'before') : undefined,
  };
  const forwards = first !== undefined || (last === undefined && !!range.after && !range.before);
  const size = first ?? last ?? DEFAULT_PAGE;
  const found = await findTimelineSlice(
    scope.app.db,
    chat.chat_id,
    range,
    forwards ? 'oldest' : 'newest',
    size + 1,
  );
  const more = found.length > size;
  const slice = found.slice(0, size);
  const ordered = forwards ? slice : slice.reverse();
  const edges = ordered.map((node) => ({ cursor: cursorOf(node), node }));
  return forwards
    ? buildPage(edges, more, Boolean(range.after))
    : buildPage(edges, Boolean(range.before), more);
}

export const MAX_HISTORY = 1000;

/**
 * The old server's history: the newest `limit` messages (older than `beforeMessageId` when given),
 * oldest first. The old code returned the oldest 1000, so chats past 1000 messages froze.
 */
export async function listRecentMessages(
  scope: RequestScope,
  chatId: string,
  options: { limit: number; beforeMessageId?: string },
): Promise<MessageDoc[]> {
  const chat = await requireMembership(scope, chatId);
  let before: string | undefined;
  if (options.beforeMessageId) {
    const anchor = await findMessageById(scope.app.db, options.beforeMessageId);
    if (anchor?.chat_id !== chat.chat_id)
      throw badInput('before: no such message in this chat', 'before');
    before = cursorOf(anchor);
  }
  const page = await listMessages(
    scope,
    chat.chat_id,
    { last: options.limit, before },
    MAX_HISTORY,
  );
  return page.edges.map((edge) => edge.node);
}

/** A new message for a subscriber: live events carry the sender and participants along. */
export type MessageAddedPayload = Pick<MessageEvent, 'message'> & Partial<MessageEvent>;

const CATCH_UP_PAGE = 100;

/** Subscribes to a chat's live messages that the user may receive. */
const liveMessagesFor = (bus: EventBus, chatId: string, userId: string) => () =>
  bus.chatMessages(chatId, (event) => event.participants.includes(userId));

/**
 * The messages of one chat as they arrive. With `after`, first every message stored after that
 * position (paged from the database), then live ones; live events that arrive meanwhile wait,
 * and none is delivered twice. Membership is checked now and again for every live event.
 */
export async function followChat(
  scope: RequestScope,
  chatId: string,
  after?: string | null,
): Promise<AsyncIterable<MessageAddedPayload>> {
  const viewer = requireViewer(scope);
  const chat = await requireMembership(scope, chatId);
  const from = after ? toPosition(after, 'after') : null;
  // The subscription may live for hours: it keeps the ids it needs, not what it read to start.
  scope.loaders.forget();
  const { bus, db } = scope.app;
  const follow = liveMessagesFor(bus, chat.chat_id, viewer.user_id);
  if (!from) return follow();

  // Runs on the first next(): a stream never read never subscribes.
  return new Repeater<MessageAddedPayload>(async (push, stop) => {
    // Subscribed before the database is read below: nothing falls in between.
    const live = follow();
    const replayed = new Set<string>();
    let backlog: MessageEvent[] | null = [];
    const deliver = (event: MessageAddedPayload) =>
      replayed.has(event.message.message_id) ? undefined : push(event);
    const pumped = (async () => {
      for (let next = await live.next(); !next.done; next = await live.next()) {
        if (backlog) backlog.push(next.value);
        else await deliver(next.value);
      }
    })();
    let position = from;
    for (;;) {
      const page = await findTimelineSlice(
        db,
        chat.chat_id,
        { after: position },
        'oldest',
        CATCH_UP_PAGE,
      );
      for (const message of page) {
        await push({ message });
        replayed.add(message.message_id);
      }
      const last = page.at(-1);
      if (page.length < CATCH_UP_PAGE || !last) break;
      position = { timestamp: last.timestamp, messageId: last.message_id };
    }
    for (const event of backlog) await deliver(event);
    backlog = null;
    await stop;
    await live.return();
    await pumped;
  });
}
