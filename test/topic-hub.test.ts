/**
 * The event bus's per-topic fan-out (src/events/topic-hub.ts), driven through a plain EventTarget
 * as the bus drives it: delivery and filtering, the bound on a subscriber that stops reading, and
 * that listeners go away with their last subscriber.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createTopicHub } from '../src/events/topic-hub.js';

const publish = (target: EventTarget, topic: string, detail: number) =>
  target.dispatchEvent(new CustomEvent(topic, { detail }));

describe('topic hub', () => {
  it('streams what the filter accepts, in order, and ends a pending read on return()', async () => {
    const target = new EventTarget();
    const hub = createTopicHub<number>(target);
    const evens = hub.subscribe('t', { accepts: (value) => value % 2 === 0 });
    const all = hub.subscribe('t');
    for (const value of [1, 2, 3, 4]) publish(target, 't', value);
    publish(target, 'other', 6);

    expect([(await evens.next()).value, (await evens.next()).value]).toEqual([2, 4]);
    const pending = evens.next();
    await evens.return();
    expect(await pending).toEqual({ value: undefined, done: true });
    const seen: number[] = [];
    for (let index = 0; index < 4; index += 1) seen.push((await all.next()).value as number);
    expect(seen).toEqual([1, 2, 3, 4]);
    await all.return();
  });

  it('ends a subscriber that falls behind after handing over what it had queued', async () => {
    const target = new EventTarget();
    const hub = createTopicHub<number>(target, { maxQueued: 3 });
    const slow = hub.subscribe('t');
    for (const value of [1, 2, 3, 4, 5]) publish(target, 't', value);
    const results = [];
    for (let index = 0; index < 4; index += 1) results.push(await slow.next());
    expect(results).toEqual([
      { value: 1, done: false },
      { value: 2, done: false },
      { value: 3, done: false },
      { value: undefined, done: true },
    ]);
    expect(getEventListeners(target, 't')).toHaveLength(0);
  });

  it('keeps one event-target listener per topic while anyone listens', () => {
    const target = new EventTarget();
    const hub = createTopicHub<number>(target);
    const received: number[] = [];
    const stopFirst = hub.listen('t', (value) => received.push(value));
    const second = hub.subscribe('t');
    expect(getEventListeners(target, 't')).toHaveLength(1);
    publish(target, 't', 7);
    stopFirst();
    expect(getEventListeners(target, 't')).toHaveLength(1);
    void second.return();
    expect(getEventListeners(target, 't')).toHaveLength(0);
    publish(target, 't', 8);
    expect(received).toEqual([7]);
  });

  it('hands what was queued, then every accepted event, to a sink it is piped to, and ends it', async () => {
    const target = new EventTarget();
    const hub = createTopicHub<number>(target);
    const odd = hub.subscribe('t', { accepts: (value) => value % 2 === 1 });
    publish(target, 't', 1);
    const pushed: number[] = [];
    let ended = 0;
    odd.pipeTo({ push: (value) => pushed.push(value), end: () => (ended += 1) });
    for (const value of [2, 3, 5]) publish(target, 't', value);
    expect(pushed).toEqual([1, 3, 5]);
    await odd.return();
    publish(target, 't', 7);
    expect(pushed).toEqual([1, 3, 5]);
    expect(ended).toBe(1);
    expect(getEventListeners(target, 't')).toHaveLength(0);
  });
});
