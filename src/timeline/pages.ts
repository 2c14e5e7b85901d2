/**
 * Pages of a chat's timeline. Ranks (an event's `seq`, a message's `seq` or its `legacy_pos` from
 * before numbering) fall in pages of PAGE_SIZE; window w is pages w and w + 1, and every message
 * and event carries the two windows its page is in (`window: [page - 1, page]`). Any
 * PAGE_SIZE + 1 consecutive ranks lie in one window, so a history page or a replay step reads
 * one window by equality on (`chat_id`, `window`) — the filter shape the embedded database
 * (FerretDB on PostgreSQL) answers from an index instead of reading the chat, or the collection,
 * whole; on MongoDB the (chat_id, window) multikey index serves it. Order, ranges and limits are
 * applied here, on at most 2 × PAGE_SIZE documents a window.
 */

export const PAGE_SIZE = 100;

export const pageOf = (rank: number) => Math.floor(rank / PAGE_SIZE);

/** The windows a rank is in (the `window` field). */
export const windowsOf = (rank: number) => [pageOf(rank) - 1, pageOf(rank)];

export interface RankRange {
  /** Exclusive bounds. */
  after: number;
  before: number;
  /** The lowest rank that exists. */
  lowest: number;
  /**
   * The highest rank known to exist: reading stops at its page (Infinity: upwards until a window
   * is not full). Ranks above it in the windows read are kept (a hint may lag behind).
   */
  highest: number;
  /** Ranks without gaps (events): reading upwards also stops at the first window not full. */
  gapless?: boolean;
}

/**
 * Up to `limit` documents ranked in (after, before), from the oldest or the newest end, in that
 * order: windows are read a round at a time, the round being the windows `limit` consecutive
 * ranks can span, in parallel — one query for a page of up to PAGE_SIZE + 1, whatever the size
 * of the chat (more rounds only where ranks have gaps).
 */
export async function readByWindows<Doc>(
  readWindow: (window: number) => Promise<Doc[]>,
  rankOf: (doc: Doc) => number,
  range: RankRange,
  fromEnd: 'oldest' | 'newest',
  limit: number,
): Promise<Doc[]> {
  const low = Math.max(range.after + 1, range.lowest);
  const top = Math.min(range.before - 1, range.highest);
  if (limit <= 0 || low > range.before - 1) return [];
  const upwards = fromEnd === 'oldest';
  // Windows two pages apart do not overlap: upwards from the low page, downwards to the top one.
  const [first, last] = upwards
    ? [pageOf(low), Number.isFinite(top) ? pageOf(top) : Infinity]
    : [pageOf(top) - 1, pageOf(low) - 1];
  const step = upwards ? 2 : -2;
  const perRound = Math.ceil((Math.ceil((limit - 1) / PAGE_SIZE) + 1) / 2);
  const more = (window: number) => (upwards ? window <= last : window >= last);
  const found: Doc[] = [];
  for (let window = first; more(window);) {
    const windows: number[] = [];
    for (; windows.length < perRound && more(window); window += step) windows.push(window);
    const read = await Promise.all(windows.map(readWindow));
    for (const doc of read.flat()) {
      const rank = rankOf(doc);
      if (rank >= low && rank < range.before) found.push(doc);
    }
    if (found.length >= limit) break;
    // Without gaps, a window without its last rank holds the end.
    const full = (docs: Doc[], w: number) =>
      docs.some((doc) => rankOf(doc) === (w + 2) * PAGE_SIZE - 1);
    const gapless = range.gapless || !Number.isFinite(last);
    if (upwards && gapless && !read.every((docs, i) => full(docs, windows[i]!))) break;
  }
  found.sort((a, b) => (upwards ? rankOf(a) - rankOf(b) : rankOf(b) - rankOf(a)));
  return found.slice(0, limit);
}
