/**
 * Storing events in a chat's timeline under the chat's next number. Message events are the
 * first kind.
 *
 * Storing a message: its event is stored under the next number (the record of what was sent),
 * then its copy in `messages` and the chat's summary (./derived.ts), then it is published — also
 * when a later write failed, since the event is stored and will be read back anyway. A send that
 * dies after storing its event leaves the copy and summary to the first reader that finds the
 * event missing from the bus (./reader.ts), or to its retry.
 */
import type { App } from '../app.js';
import { randomUUID } from 'node:crypto';
import type {
  ChatDoc,
  GroupChange,
  GroupState,
  MessageChangeType,
  MessageDoc,
  PublicUser,
  ReactionSnapshot,
  TimelineEventDoc,
} from '../db/documents.js';
import type { Database } from '../db/mongo.js';
import { newTraceId } from '../observability/tracing.js';
import { derivableOf, stateOf, storeDerived, type NumberedMessage } from './derived.js';
import {
  eventExists,
  eventKey,
  findEvent,
  findEventByClientKey,
  findGroupEventsBetween,
  findMessageChangesBefore,
  insertEvent,
} from './repository.js';
import type { Sequencer } from './sequencer.js';

/** A send's idempotency key: the same client message id from the same sender in the same chat. */
export const clientKeyOf = (chatId: string, senderId: string, clientMessageId: string) =>
  `${chatId}:${senderId}:${clientMessageId}`;

/**
 * Stores `message` as the chat's next event. With `clientKey`, the event of a send stored before
 * under the same key is returned instead, and nothing new is stored.
 */
async function storeMessageEvent(
  db: Database,
  sequencer: Sequencer,
  chat: ChatDoc,
  message: Omit<MessageDoc, 'seq'>,
  clientKey: string | undefined,
): Promise<TimelineEventDoc> {
  const chatId = chat.chat_id;
  return sequencer.claim<TimelineEventDoc>(
    chatId,
    chat.last_seq ?? 0,
    async (seq) => {
      const event: TimelineEventDoc = {
        _id: eventKey(chatId, seq),
        chat_id: chatId,
        seq,
        type: 'message',
        at: new Date(),
        ...(clientKey ? { client_key: clientKey } : {}),
        message: { ...message, seq },
      };
      if ((await insertEvent(db, event)) === 'stored') {
        return { done: event, took: true };
      }
      const holder = await findEvent(db, chatId, seq);
      if (holder) {
        const ours = clientKey !== undefined && holder.client_key === clientKey;
        return ours ? { done: holder, took: true } : 'taken';
      }
      // The number is free: what was refused is the key, stored before by an earlier attempt.
      const first = clientKey ? await findEventByClientKey(db, clientKey) : null;
      if (!first)
        throw new Error(
          `event ${eventKey(chatId, seq)} refused, yet neither it nor its key is stored`,
        );
      return { done: first, took: false };
    },
    (seq) => eventExists(db, chatId, seq),
  );
}

/**
 * Publishes a stored event once what it leaves is written (also when that failed). `sender`: the
 * sender of the event's message.
 */
async function finish(
  app: App,
  chat: ChatDoc,
  sender: PublicUser,
  event: TimelineEventDoc,
  traceId: string,
) {
  const derivable = derivableOf(event);
  const { message } = derivable;
  let summaryChanged: boolean | undefined;
  try {
    summaryChanged = await storeDerived(app.db, app.sequencer, derivable);
  } finally {
    app.bus.publishChatEvent({
      type: event.type,
      chatId: chat.chat_id,
      seq: event.seq,
      group: chat.kind === 'group',
      message,
      sender,
      ...(event.group ? { change: event.group } : {}),
      ...(event.message_change
        ? { messageChange: event.message_change, summaryChanged: summaryChanged ?? true }
        : {}),
      traceId,
    });
  }
  return message;
}

/**
 * Stores a message in its chat's timeline and publishes it (with `traceId`, which its deliveries
 * log); resolves once it is stored, with the message as stored (numbered). A retry of a send
 * stored before returns that send's message.
 */
export async function addMessage(
  app: App,
  chat: ChatDoc,
  sender: PublicUser,
  message: Omit<MessageDoc, 'seq'>,
  options: { clientKey?: string; traceId: string },
): Promise<NumberedMessage> {
  const { clientKey, traceId } = options;
  const event = await storeMessageEvent(app.db, app.sequencer, chat, message, clientKey);
  return (await finish(app, chat, sender, event, traceId)) as NumberedMessage;
}

/** A group event to store: what changed, the group after it, and its words in history. */
export interface GroupEventDraft {
  type: 'members' | 'renamed';
  change: GroupChange;
  /** The SYSTEM message's text. */
  content: string;
}

/** A group as of its event `seq` (0: as the chat was created, before any event). */
export interface GroupAt {
  seq: number;
  state: GroupState;
}

/**
 * Stores a group event, decided against the group exactly as it stands just before the number
 * the event takes: `decide` is called with that state (and the number) for every number tried (another event,
 * maybe a change of the group, may have taken the one before), and returns the event, or null
 * when nothing is to change, or throws when the change is refused. The unique number is what
 * makes two changes that race (two adds at the member cap) see each other: the one that loses a
 * number decides again with the other's change in the state. Resolves with the stored event and
 * the group after it, or null.
 */
export async function addGroupEvent(
  app: App,
  chat: ChatDoc,
  actor: PublicUser,
  decide: (group: GroupAt, seq: number) => GroupEventDraft | null,
): Promise<{ message: NumberedMessage; group: GroupAt } | null> {
  const { db, sequencer } = app;
  const chatId = chat.chat_id;
  let group: GroupAt = { seq: chat.group_seq ?? 0, state: groupStateOf(chat) };
  const event = await sequencer.claim<TimelineEventDoc | null>(
    chatId,
    chat.last_seq ?? 0,
    async (seq) => {
      // Changes of the group stored since the state known here, up to the number tried.
      const later = await findGroupEventsBetween(db, chatId, group.seq, seq - 1);
      const newest = later.at(-1);
      if (newest?.group) group = { seq: newest.seq, state: newest.group.state };
      const draft = decide(group, seq);
      if (!draft) return { done: null, took: false };
      const stored: TimelineEventDoc = {
        _id: eventKey(chatId, seq),
        chat_id: chatId,
        seq,
        type: draft.type,
        at: new Date(),
        message: {
          message_id: randomUUID(),
          chat_id: chatId,
          sender_id: actor.user_id,
          content: draft.content,
          timestamp: new Date(),
          message_type: 'system',
          seq,
        },
        group: draft.change,
      };
      return (await insertEvent(db, stored)) === 'stored' ? { done: stored, took: true } : 'taken';
    },
    (seq) => eventExists(db, chatId, seq),
  );
  if (!event) return null;
  const message = (await finish(app, chat, actor, event, newTraceId())) as NumberedMessage;
  return { message, group: { seq: event.seq, state: event.group!.state } };
}

/** A change of a message to store: its kind, the message after it, and for reactions those. */
export interface MessageChangeDraft {
  type: MessageChangeType;
  message: MessageDoc;
  reactions?: ReactionSnapshot[];
}

/**
 * Stores a change of `target` (edit, deletion, reactions) as the chat's next event, decided, like
 * a group event, against the message exactly as the events before that number leave it: `decide`
 * gets the message after every change stored before the number tried (a deletion that took the
 * number first is there) and returns the change, null when nothing is to change (the message is
 * returned as it stands), or throws when it is refused. So an edit racing a deletion is either
 * stored before it (and erased by it) or refused: a deleted message stays deleted. `sender`: the
 * message's sender. Resolves with the message after the change (as it stands, when nothing
 * changed).
 */
export async function addMessageChange(
  app: App,
  chat: ChatDoc,
  actor: PublicUser,
  sender: PublicUser,
  target: MessageDoc,
  decide: (current: MessageDoc) => MessageChangeDraft | null | Promise<MessageChangeDraft | null>,
): Promise<MessageDoc> {
  const { db, sequencer } = app;
  const chatId = chat.chat_id;
  let current = target;
  const event = await sequencer.claim<TimelineEventDoc | null>(
    chatId,
    chat.last_seq ?? 0,
    async (seq) => {
      for (const change of await findMessageChangesBefore(db, chatId, target.message_id, seq)) {
        current = { ...current, ...stateOf(change.message) };
      }
      const draft = await decide(current);
      if (!draft) return { done: null, took: false };
      const stored: TimelineEventDoc = {
        _id: eventKey(chatId, seq),
        chat_id: chatId,
        seq,
        type: draft.type,
        at: new Date(),
        target_id: target.message_id,
        message: withoutId(draft.message),
        message_change: {
          actor_id: actor.user_id,
          ...(draft.reactions ? { reactions: draft.reactions } : {}),
        },
      };
      return (await insertEvent(db, stored)) === 'stored' ? { done: stored, took: true } : 'taken';
    },
    (seq) => eventExists(db, chatId, seq),
  );
  if (!event) return current;
  return finish(app, chat, sender, event, newTraceId());
}

const withoutId = ({ _id, ...message }: MessageDoc): Omit<MessageDoc, '_id'> => message;

/** A group's state as its chat document shows it (a one-to-one chat has none). */
export const groupStateOf = (chat: ChatDoc): GroupState => ({
  title: chat.title ?? '',
  members: chat.members ?? [],
});
