/**
 * Many local subscribers of one event-target topic. Yoga's `createPubSub` gives every subscriber
 * its own event-target listener and Repeater, so a message to a chat with thousands of sockets
 * costs thousands of listener calls and several promise hops each. Here one listener per topic
 * hands the event to plain queues.
 *
 * A subscriber that falls `maxQueued` events behind is ended rather than allowed to grow the
 * server's memory: its stream completes (a client resumes with `after`), nothing is dropped
 * silently from a stream that goes on.
 */

/** Takes a subscription's events as they come, instead of reading them with next(). */
export interface TopicSink<T> {
  push(value: T): void;
  /** The subscription ended (returned, or ended by the hub). */
  end(): void;
}

export interface TopicSubscription<T> extends AsyncIterableIterator<T> {
  return(): Promise<IteratorResult<T>>;
  /** From now on every event (first those queued) goes to `sink`, and the end to `sink.end()`. */
  pipeTo(sink: TopicSink<T>): void;
}

export function isTopicSubscription<T>(source: AsyncIterator<T>): source is TopicSubscription<T> {
  return typeof (source as Partial<TopicSubscription<T>>).pipeTo === 'function';
}

/** What a topic hands its events to. */
interface Listener<T> {
  deliver(value: T): void;
}

class Subscriber<T> implements TopicSubscription<T>, Listener<T> {
  private readonly queue: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private sink: TopicSink<T> | null = null;
  private ended = false;

  constructor(
    private readonly hub: TopicHub<T>,
    private readonly topic: string,
    private readonly accepts: ((value: T) => boolean) | null,
    private readonly maxQueued: number,
  ) {}

  deliver(value: T): void {
    if (this.ended || (this.accepts && !this.accepts(value))) return;
    if (this.sink) return this.sink.push(value);
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = null;
      waiting({ value, done: false });
    } else if (this.queue.length < this.maxQueued) {
      this.queue.push(value);
    } else {
      this.end();
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  pipeTo(sink: TopicSink<T>): void {
    this.sink = sink;
    for (const value of this.queue.splice(0)) sink.push(value);
    if (this.ended) sink.end();
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.hub.remove(this.topic, this);
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.({ value: undefined, done: true });
    this.sink?.end();
  }
}

/**
 * One event-target listener per topic with subscribers, handing each event to them. A stream
 * subscriber is its own listener: an idle one is a small object and, while it waits, one promise.
 */
class TopicHub<T> {
  private readonly topics = new Map<string, Set<Listener<T>>>();

  constructor(
    private readonly eventTarget: EventTarget,
    private readonly maxQueued: number,
  ) {}

  private readonly dispatch = (event: Event) => {
    const detail = (event as CustomEvent<T>).detail;
    const listeners = this.topics.get(event.type);
    if (listeners) for (const listener of listeners) listener.deliver(detail);
  };

  add(topic: string, listener: Listener<T>): void {
    let listeners = this.topics.get(topic);
    if (!listeners) {
      listeners = new Set();
      this.topics.set(topic, listeners);
      this.eventTarget.addEventListener(topic, this.dispatch);
    }
    listeners.add(listener);
  }

  remove(topic: string, listener: Listener<T>): void {
    const listeners = this.topics.get(topic);
    if (!listeners?.delete(listener) || listeners.size > 0) return;
    this.topics.delete(topic);
    this.eventTarget.removeEventListener(topic, this.dispatch);
  }

  /** Calls `listener` with every event of `topic` until the returned function is called. */
  listen(topic: string, listener: (value: T) => void): () => void {
    const entry = { deliver: listener };
    this.add(topic, entry);
    return () => this.remove(topic, entry);
  }

  /** The events of `topic` that `accepts` lets through, as a stream, from now until `return()`. */
  subscribe(topic: string, accepts?: (value: T) => boolean): TopicSubscription<T> {
    const subscriber = new Subscriber<T>(this, topic, accepts ?? null, this.maxQueued);
    this.add(topic, subscriber);
    return subscriber;
  }
}

export function createTopicHub<T>(eventTarget: EventTarget, maxQueued = 1024): TopicHub<T> {
  return new TopicHub<T>(eventTarget, maxQueued);
}
