/**
 * What an event leaves besides itself: its message's copy in `messages` (what history, and the
 * old server, read), its chat's summary, and for a group event the group's state on the chat.
 * All can be written again without harm, so a reader that finds an event whose sender died
 * before writing them writes them too.
 */
import type { GroupChange, MessageDoc, TimelineEventDoc } from '../db/documents.js';
import type { Database } from '../db/mongo.js';
import { recordGroupState, recordLastMessage } from '../chats/repository.js';
import { insertMessageCopy } from '../messages/repository.js';
import type { Sequencer } from './sequencer.js';

export type NumberedMessage = MessageDoc & { seq: number };

export const numbered = (event: TimelineEventDoc): NumberedMessage => ({
  ...event.message,
  seq: event.seq,
});

/** Rounds of writing a group's state again after another instance's older write won. */
const MAX_GROUP_STATE_WRITES = 5;

/**
 * A group's state on its chat, the newest standing: one write at a time here, and written again
 * while an older write from another instance is what the chat shows.
 */
async function storeGroupState(
  db: Database,
  sequencer: Sequencer,
  chatId: string,
  seq: number,
  change: GroupChange,
) {
  await sequencer.latest('group', chatId, seq, async () => {
    for (let round = 0; round < MAX_GROUP_STATE_WRITES; round += 1) {
      if (await recordGroupState(db, chatId, seq, change.state)) return;
    }
    throw new Error(`the state of group ${chatId} did not settle at event ${seq}`);
  });
}

/** The copy history reads, the chat's summary, a group's state; all may be written again. */
export async function storeDerived(
  db: Database,
  sequencer: Sequencer,
  message: NumberedMessage,
  change?: GroupChange,
) {
  await Promise.all([
    insertMessageCopy(db, message),
    sequencer.latest('summary', message.chat_id, message.seq, () => recordLastMessage(db, message)),
    change && storeGroupState(db, sequencer, message.chat_id, message.seq, change),
  ]);
}
