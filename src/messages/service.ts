/** Sending messages (stored in the chat's timeline, then broadcast) and reading a chat's history. */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { toPublicUser, type ChatDoc, type MessageDoc, type MessageModel } from '../db/documents.js';
import type { Database } from '../db/mongo.js';
import { badInput } from '../errors.js';
import { newTraceId } from '../observability/tracing.js';
import { requireViewer, type RequestScope } from '../request/scope.js';
import {
  requireDirectChat,
  requireMembership,
  seesMessage,
  visibleFrom,
} from '../chats/service.js';
import { buildPage, checkPageSize, type Edge, type Page } from '../pagination.js';
import {
  cursorOf,
  decodePosition,
  encodePosition,
  isNumbered,
  positionOf,
  START,
  type Position,
} from '../timeline/position.js';
import { addMessage, clientKeyOf } from '../timeline/service.js';
import { markSent } from '../reads/service.js';
import { id, parseInput, userText } from '../validation.js';
import { attachmentIdsInput, messageTypeOf, takeAttachments } from '../attachments/service.js';
import {
  findMessageById,
  findNumberedSlice,
  findRankedSlice,
  findUnnumberedSlice,
  type SliceOptions,
} from './repository.js';

export type MessagePage = Page<MessageModel>;
export type MessagePageEdge = Edge<MessageModel>;

const DEFAULT_PAGE = 50;

/** What a message may say (sent or edited); a send with attachments may leave it empty. */
const messageText = userText('messageContent');
const notBlank = (text: string) => text.trim().length > 0;
export const messageContent = messageText.refine(notBlank, 'must not be empty');

const sendInput = z
  .object({
    chatId: id,
    content: messageText,
    clientMessageId: z
      .string()
      .regex(/^[\x21-\x7E]{1,100}$/, 'must be 1 to 100 printable ASCII characters')
      .nullish(),
    attachmentIds: attachmentIdsInput.nullish(),
    replyTo: id.nullish(),
  })
  .refine((fields) => notBlank(fields.content) || fields.attachmentIds?.length, {
    message: 'must not be empty',
    path: ['content'],
  });

/**
 * Stores a message in its chat's timeline and broadcasts it; it is durable before anyone is told
 * about it. A retry with the same clientMessageId returns the message stored first. With
 * `directOnly` (the old clients), a group is NOT_FOUND.
 */
export async function sendMessage(
  scope: RequestScope,
  input: {
    chatId: string;
    content: string;
    clientMessageId?: string | null;
    attachmentIds?: string[] | null;
    replyTo?: string | null;
  },
  options: { directOnly?: boolean } = {},
): Promise<MessageModel> {
  const viewer = requireViewer(scope);
  const fields = parseInput(sendInput, input);
  await scope.app.rateLimits.consume('sendsPerUser', viewer.user_id);
  const chat = await (options.directOnly ? requireDirectChat : requireMembership)(
    scope,
    fields.chatId,
  );
  const quoted = fields.replyTo ? await requireQuotable(scope, chat, fields.replyTo) : null;
  const sender = toPublicUser(viewer);
  const traceId = newTraceId();
  const messageId = randomUUID();
  const clientKey = fields.clientMessageId
    ? clientKeyOf(chat.chat_id, viewer.user_id, fields.clientMessageId)
    : undefined;
  const taken = fields.attachmentIds?.length
    ? await takeAttachments(scope, chat, fields.attachmentIds, { messageId, clientKey })
    : null;
  const stored = await addMessage(
    scope.app,
    chat,
    sender,
    {
      message_id: messageId,
      chat_id: chat.chat_id,
      sender_id: viewer.user_id,
      content: fields.content,
      timestamp: new Date(),
      message_type: taken ? messageTypeOf(taken.attachments) : 'text',
      ...(taken ? { attachments: taken.attachments } : {}),
      ...(fields.clientMessageId ? { client_message_id: fields.clientMessageId } : {}),
      ...(quoted ? { reply_to: quoted.message_id } : {}),
    },
    // A send that fails from here keeps its uploads: its retry (same clientMessageId) takes them again.
    { clientKey, traceId },
  );
  await taken?.attached(stored.message_id);
  scope.app.telemetry.messageSent(scope.origin, traceId, stored);
  scope.app.typing.sent(chat.chat_id, viewer.user_id);
  await markSent(scope.app, chat, viewer, stored);
  return { ...stored, sender };
}

/** A message of `chat` the caller sees and that is not deleted, to reply to. */
async function requireQuotable(scope: RequestScope, chat: ChatDoc, messageId: string) {
  const quoted = await findMessageById(scope.app.db, messageId);
  if (
    quoted?.chat_id !== chat.chat_id ||
    !seesMessage(chat, requireViewer(scope).user_id, quoted)
  ) {
    throw badInput('replyTo: no such message in this chat', 'replyTo');
  }
  if (quoted.deleted_at) throw badInput('replyTo: the message is deleted', 'replyTo');
  return quoted;
}

/**
 * Where a position stands in a paged chat (see MessageDoc.legacy_pos): a number, or the place of
 * the message stored before numbering it names (undefined if it names none of this chat).
 */
async function rankOfPosition(
  db: Database,
  chat: ChatDoc,
  position: Position,
): Promise<number | undefined> {
  if (isNumbered(position)) return position.seq;
  if (position.messageId === START.messageId) return -Infinity;
  const message = await findMessageById(db, position.messageId);
  return message?.chat_id === chat.chat_id ? message.legacy_pos : undefined;
}

/**
 * A paged chat's slice (see ../timeline/pages.ts): a page or two read by equality. Undefined
 * when a cursor from before numbering names no placed message of the chat.
 */
async function findPagedSlice(
  db: Database,
  chat: ChatDoc,
  range: { after?: Position; before?: Position; firstVisible: number },
  fromEnd: 'oldest' | 'newest',
  limit: number,
  options: SliceOptions,
): Promise<MessageDoc[] | undefined> {
  const [after, before] = await Promise.all([
    range.after ? rankOfPosition(db, chat, range.after) : -Infinity,
    range.before ? rankOfPosition(db, chat, range.before) : Infinity,
  ]);
  if (after === undefined || before === undefined) return undefined;
  return findRankedSlice(
    db,
    chat.chat_id,
    {
      after: range.firstVisible > 1 ? Math.max(after, range.firstVisible - 1) : after,
      before,
      lowest: 1 - (chat.legacy_count ?? 0),
      highest: chat.last_seq ?? 0,
    },
    fromEnd,
    limit,
    options,
  );
}

/**
 * Up to `limit` of a chat's messages between two positions, from the oldest or the newest end:
 * messages stored before numbering first (by time), then numbered ones (by number).
 */
async function findTimelineSlice(
  db: Database,
  chat: ChatDoc,
  range: { after?: Position; before?: Position; firstVisible: number },
  fromEnd: 'oldest' | 'newest',
  limit: number,
  options: SliceOptions,
): Promise<MessageDoc[]> {
  if (chat.paged) {
    const paged = await findPagedSlice(db, chat, range, fromEnd, limit, options);
    if (paged) return paged;
  }
  const { after, before, firstVisible } = range;
  const unnumbered = {
    wanted: chat.legacy_messages !== false && !(after && isNumbered(after)),
    range: {
      after: after && !isNumbered(after) ? after : undefined,
      before: before && !isNumbered(before) ? before : undefined,
    },
  };
  const numbered = {
    wanted: !(before && !isNumbered(before)),
    range: {
      after: Math.max(after && isNumbered(after) ? after.seq : 0, firstVisible - 1),
      before: before && isNumbered(before) ? before.seq : undefined,
    },
  };
  const readUnnumbered = (size: number) =>
    unnumbered.wanted
      ? findUnnumberedSlice(db, chat.chat_id, unnumbered.range, fromEnd, size, options)
      : [];
  const readNumbered = (size: number) =>
    numbered.wanted
      ? findNumberedSlice(db, chat.chat_id, numbered.range, fromEnd, size, options)
      : [];
  const [first, second] =
    fromEnd === 'oldest' ? [readUnnumbered, readNumbered] : [readNumbered, readUnnumbered];
  const found = await first(limit);
  return found.length >= limit || limit === 0
    ? found
    : [...found, ...(await second(limit - found.length))];
}

export interface MessagePageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/**
 * A page of a chat's messages, oldest first. `first`/`after` page forwards, `last`/`before`
 * backwards; with neither size, the newest messages. Cursors are timeline positions, so
 * concurrent sends never shift a page.
 */
export async function listMessages(
  scope: RequestScope,
  chatId: string,
  args: MessagePageArgs,
  maxPage = 100,
  options: SliceOptions = {},
): Promise<MessagePage> {
  const chat = await requireMembership(scope, chatId);
  const first = checkPageSize(args.first, 'first', maxPage);
  const last = checkPageSize(args.last, 'last', maxPage);
  if (first !== undefined && last !== undefined) {
    throw badInput('Pass either first or last, not both', 'last');
  }
  const range = {
    after: args.after ? decodePosition(args.after, 'after') : undefined,
    before: args.before ? decodePosition(args.before, 'before') : undefined,
    // A group member added without its history sees from their addition on.
    firstVisible: visibleFrom(chat, requireViewer(scope).user_id),
  };
  const forwards = first !== undefined || (last === undefined && !!range.after && !range.before);
  const size = first ?? last ?? DEFAULT_PAGE;
  const found = await findTimelineSlice(
    scope.app.db,
    chat,
    range,
    forwards ? 'oldest' : 'newest',
    size + 1,
    options,
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
 * oldest first. The old code returned the oldest 1000, so chats past 1000 messages froze. One-to-one
 * chats only: the old clients know no groups. Deleted messages are left out (the old clients
 * cannot show a tombstone); edited ones read as edited.
 */
export async function listRecentMessages(
  scope: RequestScope,
  chatId: string,
  options: { limit: number; beforeMessageId?: string },
): Promise<MessageDoc[]> {
  const chat = await requireDirectChat(scope, chatId);
  let before: string | undefined;
  if (options.beforeMessageId) {
    const anchor = await findMessageById(scope.app.db, options.beforeMessageId);
    if (anchor?.chat_id !== chat.chat_id)
      throw badInput('before: no such message in this chat', 'before');
    before = encodePosition(positionOf(anchor));
  }
  const page = await listMessages(
    scope,
    chat.chat_id,
    { last: options.limit, before },
    MAX_HISTORY,
    { liveOnly: true },
  );
  return page.edges.map((edge) => edge.node);
}
