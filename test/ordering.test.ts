/**
 * Timeline order on a topic (src/events/ordering.ts), driven through the topic hub and a plain
 * EventTarget as the bus drives it, with a stand-in for the stored timeline: events that arrive
 * out of order, twice, never, or after their number was given up.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/logger.js';
import { GAP_WAIT_MS } from '../src/events/ordering.js';
import { createTopicHub } from '../src/events/topic-hub.js';

interface Event {
  chatId: string;
  seq: number;
}

const TOPIC = 'chat:c';

/** A topic whose timeline holds `stored`, starting after `startsAt` in each chat. */
function setUp(stored: Event[], startsAt: Record<string, number> = { c: 0 }) {
  const target = new EventTarget();
  const fetched: [number, number][] = [];
  const hub = createTopicHub<Event>(target, {
    ordered: {
      positionOf: (event) => event,
      startsAt: async () => ({ positions: new Map(Object.entries(startsAt)) }),
      fetch: async (chatId, after, upTo) => {
        fetched.push([after, upTo]);
        return stored.filter((e) => e.chatId === chatId && e.seq > after && e.seq <= upTo);
      },
      logger: createLogger('silent'),
    },
  });
  const seen: string[] = [];
  hub.listen(TOPIC, (event) => seen.push(`${event.chatId}${event.seq}`));
  const publish = (chatId: string, seq: number) =>
    target.dispatchEvent(new CustomEvent(TOPIC, { detail: { chatId, seq } }));
  return { seen, publish, fetched };
}

const events = (chatId: string, ...seqs: number[]) => seqs.map((seq) => ({ chatId, seq }));

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('timeline order on a topic', () => {
  it('hands events on in number order, each once, without reading what arrives in time', async () => {
    const { seen, publish, fetched } = setUp([]);
    await vi.advanceTimersByTimeAsync(0);
    for (const seq of [2, 1, 1, 3, 5, 4, 2]) publish('c', seq);
    await vi.advanceTimersByTimeAsync(GAP_WAIT_MS * 2);
    expect(seen).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
    expect(fetched).toEqual([]);
  });

  it('reads a number that does not come after the wait, then hands on what waited', async () => {
    const { seen, publish, fetched } = setUp(events('c', 1, 2, 3, 4));
    await vi.advanceTimersByTimeAsync(0);
    publish('c', 1);
    publish('c', 3);
    publish('c', 4);
    await vi.advanceTimersByTimeAsync(GAP_WAIT_MS - 1);
    expect(seen).toEqual(['c1']);
    await vi.advanceTimersByTimeAsync(1);
    expect(fetched).toEqual([[1, 2]]);
    expect(seen).toEqual(['c1', 'c2', 'c3', 'c4']);
    // The missing one arriving late is not handed on again.
    publish('c', 2);
    await vi.advanceTimersByTimeAsync(GAP_WAIT_MS);
    expect(seen).toEqual(['c1', 'c2', 'c3', 'c4']);
  });

  it('skips a number stored nowhere, and never hands it on after a later one', async () => {
    const { seen, publish } = setUp(events('c', 1, 3));
    await vi.advanceTimersByTimeAsync(0);
    publish('c', 1);
    publish('c', 3);
    await vi.advanceTimersByTimeAsync(GAP_WAIT_MS);
    expect(seen).toEqual(['c1', 'c3']);
    publish('c', 2);
    publish('c', 4);
    await vi.advanceTimersByTimeAsync(GAP_WAIT_MS);
    expect(seen).toEqual(['c1', 'c3', 'c4']);
  });

  it('starts where the chat stood when the topic was followed; an unknown chat at first sight', async () => {
    const { seen, publish } = setUp([], { c: 7 });
    publish('c', 9); // Arrives while the start is read: it waits for it, then for 8.
    await vi.advanceTimersByTimeAsync(0);
    publish('c', 7); // Stored before the topic was followed.
    publish('c', 8);
    publish('d', 5); // A chat the topic did not know: starts here.
    publish('d', 4);
    publish('d', 6);
    await vi.advanceTimersByTimeAsync(GAP_WAIT_MS);
    expect(seen).toEqual(['c8', 'c9', 'd5', 'd6']);
  });

  it('keeps chats apart: a gap in one holds back only that one', async () => {
    const { seen, publish } = setUp(events('c', 1, 2), { c: 0, d: 0 });
    await vi.advanceTimersByTimeAsync(0);
    publish('c', 2);
    publish('d', 1);
    publish('d', 2);
    expect(seen).toEqual(['d1', 'd2']);
    await vi.advanceTimersByTimeAsync(GAP_WAIT_MS);
    expect(seen).toEqual(['d1', 'd2', 'c1', 'c2']);
  });
});
