/**
 * Reading a chat's timeline back: replays for subscribers that resume, and the bus's reads of
 * events it did not receive (see TimelineReader).
 */
import DataLoader from 'dataloader';
import {
  toPublicUser,
  type MessageChange,
  type ChatDoc,
  type GroupChange,
  type MessageDoc,
  type TimelineEventDoc,
} from '../db/documents.js';
import type { Database } from '../db/mongo.js';
import type { ChatEvent, TimelineReader } from '../events/bus.js';
import { findChatsByIds, findChatsOf, isDirect } from '../chats/repository.js';
import {
  findMessageById,
  findMessagesByIds,
  findRankedSlice,
  findUnnumberedOfChats,
  findUnnumberedSlice,
  rankOf,
} from '../messages/repository.js';
import { findUsersByIds } from '../users/repository.js';
import { derivableOf, storeDerived } from './derived.js';
import { isNumbered, START, type Position, type UnnumberedPosition } from './position.js';
import { findEventsAfter, findEventsOfChats } from './repository.js';
import type { Sequencer } from './sequencer.js';

/** Events read per query when replaying. */
const REPLAY_PAGE = 100;
/** Events read per query when reading a range back. */
const READ_PAGE = 1000;
/** At most this many events are read back for one topic after a Redis outage. */
const READ_BACK_LIMIT = 10_000;

/** What a subscriber receives is built from: a stored event, or a message stored before numbering. */
interface Stored {
  type: ChatEvent['type'];
  seq: number | null;
  message: MessageDoc;
  change?: GroupChange;
  messageChange?: MessageChange;
}

const fromEvent = (event: TimelineEventDoc): Stored => ({
  ...derivableOf(event),
  messageChange: event.message_change,
});
const fromMessage = (message: MessageDoc): Stored => ({
  type: 'message',
  seq: message.seq ?? null,
  message,
});

/**
 * Message events with their messages as they read now (edited, or deleted), as history shows
 * them: for the old clients, which are never sent the changes that follow them. (A deletion
 * erases the message in its event too, so every replay shows that.)
 */
async function asTheyReadNow(db: Database, stored: Stored[]): Promise<Stored[]> {
  const ids = stored.flatMap((each) => (each.type === 'message' ? [each.message.message_id] : []));
  if (ids.length === 0) return stored;
  const now = new Map((await findMessagesByIds(db, ids)).map((copy) => [copy.message_id, copy]));
  return stored.map((each) => {
    const copy = each.type === 'message' ? now.get(each.message.message_id) : undefined;
    if (!copy || copy.state_seq === undefined) return each;
    const { content, edited_at, deleted_at } = copy;
    return { ...each, message: { ...each.message, content, edited_at, deleted_at } };
  });
}

/**
 * Stored events as subscribers receive them: with their senders' public fields (one query) and
 * whether their chats are groups (the chats given, or one query). An event whose chat is gone is
 * left out.
 */
async function asChatEvents(
  db: Database,
  stored: Stored[],
  chats?: ChatDoc[],
): Promise<ChatEvent[]> {
  if (stored.length === 0) return [];
  const chatIds = [...new Set(stored.map((each) => each.message.chat_id))];
  const senderIds = [...new Set(stored.map((each) => each.message.sender_id))];
  const [foundChats, foundSenders] = await Promise.all([
    chats ?? findChatsByIds(db, chatIds),
    findUsersByIds(db, senderIds),
  ]);
  const chatById = new Map(foundChats.map((chat) => [chat.chat_id, chat]));
  const senderById = new Map(foundSenders.map((user) => [user.user_id, toPublicUser(user)]));
  return stored.flatMap(({ type, seq, message, change, messageChange }) => {
    const chat = chatById.get(message.chat_id);
    if (!chat) return [];
    const event: ChatEvent = {
      type,
      chatId: message.chat_id,
      seq,
      group: chat.kind === 'group',
      message,
      sender: senderById.get(message.sender_id) ?? null,
      ...(change ? { change } : {}),
      ...(messageChange ? { messageChange } : {}),
    };
    return [event];
  });
}

/**
 * A chat's stored events from `from` on, page after page: first any messages stored before
 * numbering (when `from` is among them), then numbered events after the position reached.
 */
export async function* replayChat(
  db: Database,
  chat: ChatDoc,
  from: Position,
  positions: ReadonlyMap<string, number>,
): AsyncIterable<ChatEvent[]> {
  if (!isNumbered(from) && chat.legacy_messages !== false) {
    yield* replayUnnumbered(db, chat, from);
  }
  const paged = { chatId: chat.chat_id, paged: chat.paged === true };
  for (;;) {
    const after = positions.get(chat.chat_id) ?? 0;
    const page = await findEventsAfter(db, paged, after, REPLAY_PAGE);
    yield await asChatEvents(db, page.map(fromEvent), [chat]);
    if (page.length < REPLAY_PAGE) break;
  }
}

/** A chat's messages stored before numbering after `from`, page after page. */
async function* replayUnnumbered(
  db: Database,
  chat: ChatDoc,
  from: UnnumberedPosition,
): AsyncIterable<ChatEvent[]> {
  const placed = chat.paged
    ? from.messageId === START.messageId
      ? -Infinity
      : (await findMessageById(db, from.messageId))?.legacy_pos
    : undefined;
  if (placed !== undefined) {
    // A paged chat: its messages from before numbering are placed 1 - n … 0.
    const range = { before: 1, lowest: 1 - (chat.legacy_count ?? 0), highest: 0 };
    for (let after = placed; ;) {
      const page = await findRankedSlice(
        db,
        chat.chat_id,
        { ...range, after },
        'oldest',
        REPLAY_PAGE,
      );
      yield await asChatEvents(db, page.map(fromMessage), [chat]);
      if (page.length < REPLAY_PAGE) return;
      after = rankOf(page.at(-1)!);
    }
  }
  for (let after: UnnumberedPosition = from; ;) {
    const page = await findUnnumberedSlice(db, chat.chat_id, { after }, 'oldest', REPLAY_PAGE);
    yield await asChatEvents(db, page.map(fromMessage), [chat]);
    const last = page.at(-1);
    if (!last || page.length < REPLAY_PAGE) return;
    after = { timestamp: last.timestamp, messageId: last.message_id };
  }
}

/**
 * Up to `limit` of a user's stored events: after the known position in each chat of `positions`,
 * and those stored since `since` in their other chats (per chat in order).
 */
async function userEventsAfter(
  db: Database,
  chats: ChatDoc[],
  positions: ReadonlyMap<string, number>,
  since: Date,
  limit: number,
): Promise<{ events: ChatEvent[]; more: boolean }> {
  const known = new Map<string, number>();
  const others: string[] = [];
  for (const chat of chats) {
    const seq = positions.get(chat.chat_id);
    if (seq === undefined) others.push(chat.chat_id);
    else known.set(chat.chat_id, seq);
  }
  const page = await findEventsOfChats(db, known, { chatIds: others, since }, limit);
  const stored = await asTheyReadNow(db, interleaved(page).map(fromEvent));
  const events = await asChatEvents(db, stored, chats);
  return { events, more: page.length === limit };
}

/**
 * Events of several chats, each chat's in number order, interleaved by when they were stored:
 * the order a client saw them arrive (the page is read by chat and number, so that a page's end
 * never skips an event).
 */
function interleaved(events: TimelineEventDoc[]): TimelineEventDoc[] {
  const byChat = new Map<string, TimelineEventDoc[]>();
  for (const event of events) {
    const chat = byChat.get(event.chat_id) ?? [];
    chat.push(event);
    byChat.set(event.chat_id, chat);
  }
  const queues = [...byChat.values()].map((queue) => ({ queue, next: 0 }));
  const merged: TimelineEventDoc[] = [];
  while (merged.length < events.length) {
    let earliest = queues[0]!;
    for (const each of queues) {
      const head = each.queue[each.next];
      const best = earliest.queue[earliest.next];
      if (head && (!best || head.at < best.at)) earliest = each;
    }
    merged.push(earliest.queue[earliest.next++]!);
  }
  return merged;
}

/**
 * A user's stored events of their one-to-one chats (what the old clients follow) after
 * `positions` (see userEventsAfter), page after page; first, with `unnumberedAfter`, their
 * messages stored before numbering after that position.
 */
export async function* replayUser(
  db: Database,
  userId: string,
  positions: ReadonlyMap<string, number>,
  since: Date,
  unnumberedAfter?: UnnumberedPosition,
): AsyncIterable<ChatEvent[]> {
  const chats = (await findChatsOf(db, userId)).filter(isDirect);
  const chatIds = chats.map((chat) => chat.chat_id);
  for (let after = unnumberedAfter; after;) {
    const page = await findUnnumberedOfChats(db, chatIds, after, REPLAY_PAGE);
    yield await asChatEvents(db, page.map(fromMessage), chats);
    const last = page.at(-1);
    after =
      last && page.length === REPLAY_PAGE
        ? { timestamp: last.timestamp, messageId: last.message_id }
        : undefined;
  }
  for (let more = true; more;) {
    const page = await userEventsAfter(db, chats, positions, since, REPLAY_PAGE);
    yield page.events;
    more = page.more;
  }
}

/** A chat's events numbered in (afterSeq, upToSeq], in order, read a page at a time. */
async function storedBetween(
  db: Database,
  chat: { chatId: string; paged: boolean },
  afterSeq: number,
  upToSeq: number,
): Promise<TimelineEventDoc[]> {
  const events: TimelineEventDoc[] = [];
  for (let after = afterSeq; after < upToSeq;) {
    const page = await findEventsAfter(db, chat, after, READ_PAGE, upToSeq);
    events.push(...page);
    if (page.length < READ_PAGE) break;
    after = page.at(-1)!.seq;
  }
  return events;
}

const eventsBetween = async (
  db: Database,
  chat: { chatId: string; paged: boolean },
  afterSeq: number,
  upToSeq: number,
) => asChatEvents(db, (await storedBetween(db, chat, afterSeq, upToSeq)).map(fromEvent));

/** The bus's access to stored events (see TimelineReader). */
export function createTimelineReader(db: Database, sequencer: Sequencer): TimelineReader {
  // Topics started together (a user's chats, a reconnect wave) read their chats in one query.
  const chatsNow = new DataLoader<string, { seq: number; members: string[]; paged: boolean }>(
    async (chatIds) => {
      const chats = new Map(
        (await findChatsByIds(db, chatIds)).map((chat) => [chat.chat_id, chat]),
      );
      return chatIds.map((chatId) => {
        const chat = chats.get(chatId);
        return {
          seq: chat?.last_seq ?? 0,
          members: chat?.participants ?? [],
          paged: chat?.paged === true,
        };
      });
    },
    { cache: false, batchScheduleFn: (dispatch) => setImmediate(dispatch) },
  );
  const chatOf = async (chatId: string) => ({
    chatId,
    paged: (await chatsNow.load(chatId)).paged,
  });
  return {
    /**
     * From the chat's document: `last_seq` is written after its event is stored, so it is never
     * ahead of the timeline (a topic starting there may hand on an event stored just before).
     */
    chatNow: async (chatId) => {
      const { seq, members } = await chatsNow.load(chatId);
      return { seq, members };
    },
    chatsOf: async (userId) =>
      new Map((await findChatsOf(db, userId)).map((chat) => [chat.chat_id, chat.last_seq ?? 0])),
    async eventsAfter(positions) {
      const page = await findEventsOfChats(
        db,
        positions,
        { chatIds: [], since: new Date() },
        READ_BACK_LIMIT,
      );
      return asChatEvents(db, page.map(fromEvent));
    },
    eventsBetween: async (chatId, afterSeq, upToSeq) =>
      eventsBetween(db, await chatOf(chatId), afterSeq, upToSeq),
    /**
     * Read when an event did not come over the bus: its sender may have died before writing
     * the history copy and the summary, so those are written here (again, harmlessly).
     */
    async missingEvents(chatId, afterSeq, upToSeq) {
      const stored = await storedBetween(db, await chatOf(chatId), afterSeq, upToSeq);
      await Promise.all(stored.map((event) => storeDerived(db, sequencer, derivableOf(event))));
      return asChatEvents(db, stored.map(fromEvent));
    },
    async missedSince(chatId, position, since) {
      const page = await findEventsOfChats(
        db,
        position === undefined ? new Map() : new Map([[chatId, position]]),
        { chatIds: position === undefined ? [chatId] : [], since },
        READ_BACK_LIMIT,
      );
      return asChatEvents(db, page.map(fromEvent));
    },
  };
}
