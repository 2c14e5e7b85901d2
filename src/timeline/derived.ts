/**
 * What a message event leaves besides itself: its copy in `messages` (what history, and the old
 * server, read) and its chat's summary. Both can be written again without harm, so a reader that
 * finds an event whose sender died before writing them writes them too.
 */
import type { MessageDoc, TimelineEventDoc } from '../db/documents.js';
import type { Database } from '../db/mongo.js';
import { recordLastMessage } from '../chats/repository.js';
import { insertMessageCopy } from '../messages/repository.js';
import type { Sequencer } from './sequencer.js';

export type NumberedMessage = MessageDoc & { seq: number };

export const numbered = (event: TimelineEventDoc): NumberedMessage => ({
  ...event.message,
  seq: event.seq,
});

/** The copy history reads and the chat's summary; both may be written again harmlessly. */
export function storeDerived(db: Database, sequencer: Sequencer, message: NumberedMessage) {
  return Promise.all([
    insertMessageCopy(db, message),
    sequencer.summarize(message.chat_id, message.seq, () => recordLastMessage(db, message)),
  ]);
}
