/**
 * What an event leaves besides itself: its message's copy in `messages` (what history, and the
 * old server, read), its chat's summary, for a group event the group's state on the chat, and for
 * a message change the changed message's state on its copy. All can be written again without
 * harm, so a reader that finds an event whose sender died before writing them writes them too.
 */
import {
  isMessageChange,
  type GroupChange,
  type MessageDoc,
  type TimelineEventDoc,
  type TimelineEventType,
} from '../db/documents.js';
import type { Database } from '../db/mongo.js';
import {
  recordDeletionInSummary,
  recordEditInSummary,
  recordGroupState,
  recordLastMessage,
  recordLastSeq,
} from '../chats/repository.js';
import {
  findNewestLiveMessage,
  insertMessageCopy,
  recordMessageState,
  type MessageState,
} from '../messages/repository.js';
import { deleteReactionsOf } from '../reactions/repository.js';
import { eraseFromEvents, findMessageChangesAfter } from './repository.js';
import type { Sequencer } from './sequencer.js';

export type NumberedMessage = MessageDoc & { seq: number };

/** The message of a message or group event, numbered as the event. */
const numbered = (event: TimelineEventDoc): NumberedMessage => ({
  ...event.message,
  seq: event.seq,
});

/** A stored event, as what it leaves is written from. */
export interface Derivable {
  type: TimelineEventType;
  seq: number;
  /** The message (of a message change: the changed message, after it). */
  message: MessageDoc;
  change?: GroupChange;
}

/** What a stored event leaves is written from (its message numbered, unless it changes one). */
export const derivableOf = (event: TimelineEventDoc): Derivable => ({
  type: event.type,
  seq: event.seq,
  message: isMessageChange(event.type) ? event.message : numbered(event),
  change: event.group,
});

/** Rounds of writing a state again after another instance's older write won. */
const MAX_STATE_WRITES = 5;

/** A state as of an event: its number and what it says. */
interface StateAt<State> {
  seq: number;
  state: State;
}

/**
 * Writes the newest standing of a state derived from events (a group's on its chat, a message's
 * on its copy), on FerretDB too, whose conditional updates are not atomic: an older write from
 * another instance may land after a newer one and pass its condition. So after each write, the
 * newest event is read back if `newer` can (an event is stored before anything derived from it is
 * written) and written in turn, until the document shows (`write` says true) the newest there is:
 * whichever writer's write lands last finds the newer event and writes it again. (A group's
 * writes take turns across instances instead: Sequencer.latest.) Resolves with the state written.
 */
async function settle<State>(
  first: StateAt<State>,
  write: (at: StateAt<State>) => Promise<boolean>,
  newer: (seq: number) => Promise<StateAt<State> | null>,
  what: string,
): Promise<State> {
  let at = first;
  for (let round = 0; round < MAX_STATE_WRITES; round += 1) {
    const shown = await write(at);
    const next = await newer(at.seq);
    if (next) at = next;
    else if (shown) return at.state;
  }
  throw new Error(`${what} did not settle`);
}

/**
 * A group's state on its chat, the newest standing: one write at a time for the chat (across
 * instances too, with Redis: see Sequencer.latest), written again while an older one is shown.
 */
async function storeGroupState(
  db: Database,
  sequencer: Sequencer,
  chatId: string,
  seq: number,
  change: GroupChange,
) {
  await sequencer.latest('group', chatId, seq, async () => {
    await settle(
      { seq, state: change.state },
      (at) => recordGroupState(db, chatId, at.seq, at.state),
      async () => null,
      `the state of group ${chatId} at event ${seq}`,
    );
  });
}

/** What an edit or deletion leaves on a message (absent fields stay absent). */
export const stateOf = ({
  content,
  edited_at,
  deleted_at,
}: Omit<MessageDoc, '_id'>): MessageState => ({
  content,
  ...(edited_at ? { edited_at } : {}),
  ...(deleted_at ? { deleted_at } : {}),
});

/**
 * A message change: the message's state on its copy, the newest standing (see settle; never an
 * edit over a deletion); then, after what that state is — whichever change's writer gets there —
 * for a deletion its content erased from the timeline and its reactions removed, and the summary
 * if it shows the message. Resolves with whether the summary changed (false when a later change
 * of the message wrote it instead).
 */
async function storeMessageChange(db: Database, sequencer: Sequencer, event: Derivable) {
  const { message, seq } = event;
  const chatId = message.chat_id;
  const messageId = message.message_id;
  if (event.type === 'reactions') {
    await sequencer.latest('position', chatId, seq, () => recordLastSeq(db, chatId, seq));
    return false;
  }
  let summaryChanged = false;
  await sequencer.latest(`message ${messageId}`, chatId, seq, async () => {
    const state = await settle(
      { seq, state: stateOf(message) },
      (at) => recordMessageState(db, messageId, at.seq, at.state),
      async (after) => {
        const newest = (await findMessageChangesAfter(db, chatId, messageId, after)).at(-1);
        return newest ? { seq: newest.seq, state: stateOf(newest.message) } : null;
      },
      `the state of message ${messageId} at event ${seq}`,
    );
    if (state.deleted_at) {
      await Promise.all([
        eraseFromEvents(db, message, state.deleted_at),
        deleteReactionsOf(db, messageId),
      ]);
      const newest = await findNewestLiveMessage(db, chatId);
      summaryChanged = await recordDeletionInSummary(db, chatId, messageId, newest);
    } else {
      summaryChanged = await recordEditInSummary(db, chatId, messageId, state.content);
    }
    await recordLastSeq(db, chatId, seq);
  });
  return summaryChanged;
}

/**
 * Everything an event leaves; all may be written again. Resolves with whether the chat's summary
 * changed (for a message change; a message or group event always moves it).
 */
export async function storeDerived(
  db: Database,
  sequencer: Sequencer,
  event: Derivable,
): Promise<boolean> {
  if (isMessageChange(event.type)) return storeMessageChange(db, sequencer, event);
  const message = { ...event.message, seq: event.seq };
  await Promise.all([
    insertMessageCopy(db, message),
    sequencer.latest('summary', message.chat_id, message.seq, () => recordLastMessage(db, message)),
    event.change && storeGroupState(db, sequencer, message.chat_id, message.seq, event.change),
  ]);
  return true;
}
