/**
 * Many local subscribers of one event-target topic. Yoga's `createPubSub` gives every subscriber
 * its own event-target listener and Repeater, so a message to a chat with thousands of sockets
 * costs thousands of listener calls and several promise hops each. Here one listener per topic
 * hands the event to plain queues.
 * Each subscriber's end is an Outlet (./outlet.ts): a bounded queue, or a sink once piped.
 */

import { Ordering, type OrderingSource } from './ordering.js';
import { MAX_QUEUED, Outlet, type Selector, type TopicSubscription } from './outlet.js';

export { isTopicSubscription, type TopicSink, type TopicSubscription } from './outlet.js';

/** What a topic hands its events to. */
interface Listener<T> {
  deliver(value: T): void;
}

class Subscriber<T> extends Outlet<T> implements Listener<T> {
  constructor(
    private readonly hub: TopicHub<T>,
    private readonly topic: string,
    selector: Selector<T>,
    maxQueued: number,
  ) {
    super(selector, maxQueued);
  }

  deliver(value: T): void {
    this.offer(value);
  }

  protected release(): void {
    this.hub.remove(this.topic, this);
  }
}

interface Topic<T> {
  listeners: Set<Listener<T>>;
  /** Puts a timeline's events in order before they reach the listeners (ordered hubs). */
  ordering: Ordering<T> | null;
}

/**
 * One event-target listener per topic with subscribers, handing each event to them (in timeline
 * order, for a hub made with an ordering source). A stream subscriber is its own listener: an
 * idle one is a small object and, while it waits, one promise.
 */
class TopicHub<T> {
  private readonly topics = new Map<string, Topic<T>>();

  constructor(
    private readonly eventTarget: EventTarget,
    private readonly maxQueued: number,
    private readonly ordered: OrderingSource<T> | null,
  ) {}

  private readonly dispatch = (event: Event) => {
    const detail = (event as CustomEvent<T>).detail;
    const topic = this.topics.get(event.type);
    if (!topic) return;
    if (topic.ordering) topic.ordering.push(detail);
    else for (const listener of topic.listeners) listener.deliver(detail);
  };

  add(name: string, listener: Listener<T>): void {
    let topic = this.topics.get(name);
    if (!topic) {
      const listeners = new Set<Listener<T>>();
      const ordering =
        this.ordered &&
        new Ordering(this.ordered, name, (value: T) => {
          for (const each of listeners) each.deliver(value);
        });
      topic = { listeners, ordering };
      this.topics.set(name, topic);
      this.eventTarget.addEventListener(name, this.dispatch);
    }
    topic.listeners.add(listener);
  }

  remove(name: string, listener: Listener<T>): void {
    const topic = this.topics.get(name);
    if (!topic?.listeners.delete(listener) || topic.listeners.size > 0) return;
    this.topics.delete(name);
    topic.ordering?.close();
    this.eventTarget.removeEventListener(name, this.dispatch);
  }

  /** The last number of `chatId` the ordering of `topic` handed on, if it follows both. */
  positionOf(topic: string, chatId: string): number | undefined {
    return this.topics.get(topic)?.ordering?.position(chatId);
  }

  /** Calls `listener` with every event of `topic` until the returned function is called. */
  listen(topic: string, listener: (value: T) => void): () => void {
    const entry = { deliver: listener };
    this.add(topic, entry);
    return () => this.remove(topic, entry);
  }

  /** The events of `topic` the selector takes, as a stream, from now until `return()`. */
  subscribe(topic: string, selector: Selector<T> = {}): TopicSubscription<T> {
    const subscriber = new Subscriber<T>(this, topic, selector, this.maxQueued);
    this.add(topic, subscriber);
    return subscriber;
  }

  /**
   * After events may have been lost (the Redis subscription was down): `missed` reads, per
   * topic followed here, what was stored after the positions its ordering reached, and each
   * goes through the ordering like a live event (so none is handed on twice).
   */
  async catchUp(
    missed: (topic: string, positions: Map<string, number>) => Promise<T[]>,
  ): Promise<number> {
    let count = 0;
    for (const [name, topic] of this.topics) {
      if (!topic.ordering) continue;
      for (const event of await missed(name, topic.ordering.positions())) {
        topic.ordering.push(event);
        count += 1;
      }
    }
    return count;
  }
}

export function createTopicHub<T>(
  eventTarget: EventTarget,
  options: { maxQueued?: number; ordered?: OrderingSource<T> } = {},
): TopicHub<T> {
  return new TopicHub<T>(eventTarget, options.maxQueued ?? MAX_QUEUED, options.ordered ?? null);
}

export type { TopicHub };
