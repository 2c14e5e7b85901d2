/**
 * The start-up pass that pages the chats stored before windows (./pages.ts): in each chat not
 * yet paged, the messages stored before numbering are placed once (`legacy_pos`, in the order
 * history has always shown them: timestamp, then id), and every message and event gets its
 * `window`; then the chat is marked paged and its reads go by windows. Every write can be made
 * again with the same result, and a chat is marked only once all of it is written, so a pass that
 * is interrupted (a stop, a crash) is simply run again by the next start.
 */
import type { Logger } from 'pino';
import { findChatsToPage, markPaged } from '../chats/repository.js';
import type { ChatDoc, MessageDoc } from '../db/documents.js';
import type { Database } from '../db/mongo.js';
import {
  findUnnumberedOfChat,
  findUnwindowedNumbered,
  setMessageFields,
} from '../messages/repository.js';
import { windowsOf } from './pages.js';
import { findUnwindowedEvents, setEventWindows } from './repository.js';
import type { Sequencer } from './sequencer.js';

/**
 * Updates in flight at once. One by one, not in a bulk write: FerretDB 1.24.2 on PostgreSQL
 * never answers an update command of 50 statements (10 take 14–69 ms).
 */
const WRITE_BATCH = 8;

export interface PagingPass {
  /** Resolves when the pass is over: done, stopped or failed (failures are logged). */
  done: Promise<void>;
  /** Stops after the write in flight; what is written stays. */
  stop(): Promise<void>;
}

/** Thrown inside the pass when it was asked to stop. */
class Stopped extends Error {}

/** Places the old messages and windows the documents of every chat not yet paged. */
export async function pageOldChats(
  db: Database,
  sequencer: Sequencer,
  shouldStop: () => boolean = () => false,
): Promise<{ chats: number; placed: number; windowed: number }> {
  const totals = { chats: 0, placed: 0, windowed: 0 };
  for (const chat of await findChatsToPage(db)) {
    const { placed, windowed } = await pageChat(db, sequencer, chat, shouldStop);
    totals.chats += 1;
    totals.placed += placed;
    totals.windowed += windowed;
  }
  return totals;
}

async function pageChat(
  db: Database,
  sequencer: Sequencer,
  chat: ChatDoc,
  shouldStop: () => boolean,
) {
  const inBatches = async <Item>(items: Item[], write: (batch: Item[]) => Promise<void>) => {
    for (let start = 0; start < items.length; start += WRITE_BATCH) {
      if (shouldStop()) throw new Stopped();
      await write(items.slice(start, start + WRITE_BATCH));
    }
  };
  // Oldest first, as history has shown them: the newest is 0, the oldest 1 - n.
  const old = (await findUnnumberedOfChat(db, chat.chat_id)).sort(byTimeThenId);
  const placing = old.flatMap((message, index) => {
    const position = index - old.length + 1;
    const window = windowsOf(position);
    if (message.legacy_pos === position && sameWindows(message.window, window)) return [];
    return [{ _id: message._id!, fields: { legacy_pos: position, window } }];
  });
  const numbered = (await findUnwindowedNumbered(db, chat.chat_id)).map((message) => ({
    _id: message._id!,
    fields: { window: windowsOf(message.seq!) },
  }));
  const events = await findUnwindowedEvents(db, chat.chat_id);
  await inBatches([...placing, ...numbered], (batch) => setMessageFields(db, batch));
  await inBatches(
    events.map((event) => ({ _id: event._id, window: windowsOf(event.seq) })),
    (batch) => setEventWindows(db, batch),
  );
  if (shouldStop()) throw new Stopped();
  // One write at a time to a chat's document (see Sequencer.latest).
  await sequencer.latest('paged', chat.chat_id, 0, () => markPaged(db, chat.chat_id, old.length));
  return { placed: placing.length, windowed: numbered.length + events.length };
}

const sameWindows = (a: number[] | undefined, b: number[]) =>
  a?.length === b.length && a.every((value, index) => value === b[index]);

function byTimeThenId(a: MessageDoc, b: MessageDoc) {
  return (
    a.timestamp.getTime() - b.timestamp.getTime() ||
    (a.message_id < b.message_id ? -1 : a.message_id > b.message_id ? 1 : 0)
  );
}

/** Runs the pass in the background, logging what it did. */
export function startPagingPass(db: Database, sequencer: Sequencer, logger: Logger): PagingPass {
  let stopping = false;
  const started = Date.now();
  const done = pageOldChats(db, sequencer, () => stopping).then(
    (totals) => {
      if (totals.chats > 0) {
        logger.info(
          { ...totals, ms: Date.now() - started },
          'paged the chats stored before windows',
        );
      }
    },
    (error: unknown) => {
      if (error instanceof Stopped) {
        logger.info('paging of old chats stopped; the next start goes on with it');
      } else {
        logger.error({ err: error }, 'paging of old chats failed; the next start tries again');
      }
    },
  );
  return {
    done,
    async stop() {
      stopping = true;
      await done;
    },
  };
}
