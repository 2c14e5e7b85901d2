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
import type { ChatDoc, MessageDoc, PublicUser, TimelineEventDoc } from '../db/documents.js';
import type { Database } from '../db/mongo.js';
import { numbered, storeDerived, type NumberedMessage } from './derived.js';
import {
  eventExists,
  eventKey,
  findEvent,
  findEventByClientKey,
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

/** The chat as a message left it: what subscribers of the chat list are shown. */
const withSummary = (chat: ChatDoc, message: NumberedMessage): ChatDoc => ({
  ...chat,
  last_message: message.content,
  last_message_time: message.timestamp,
  last_message_id: message.message_id,
  last_seq: message.seq,
});

/**
 * Stores a message in its chat's timeline and publishes it; resolves once it is stored, with the
 * message as stored (numbered). A retry of a send stored before returns that send's message.
 */
export async function addMessage(
  app: App,
  chat: ChatDoc,
  sender: PublicUser,
  message: Omit<MessageDoc, 'seq'>,
  clientKey?: string,
): Promise<NumberedMessage> {
  const { db, sequencer, bus } = app;
  const event = await storeMessageEvent(db, sequencer, chat, message, clientKey);
  const stored = numbered(event);
  try {
    await storeDerived(db, sequencer, stored);
  } finally {
    bus.publishChatEvent({
      type: 'message',
      chatId: chat.chat_id,
      seq: stored.seq,
      message: stored,
      sender,
      chat: withSummary(chat, stored),
    });
  }
  return stored;
}
