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

export interface TopicSubscription<T> extends AsyncIterableIterator<T> {
  return(): Promise<IteratorResult<T>>;
}

class Subscriber<T> implements TopicSubscription<T> {
  private readonly queue: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private ended = false;

  constructor(
    private readonly accepts: (value: T) => boolean,
    private readonly maxQueued: number,
    private readonly onEnd: () => void,
  ) {}

  deliver(value: T): void {
    if (this.ended || !this.accepts(value)) return;
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

  [Symbol.asyncIterator]() {
    return this;
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd();
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.({ value: undefined, done: true });
  }
}

export function createTopicHub<T>(eventTarget: EventTarget, maxQueued = 1024) {
  const topics = new Map<string, Set<(value: T) => void>>();

  const dispatch = (event: Event) => {
    const detail = (event as CustomEvent<T>).detail;
    const listeners = topics.get(event.type);
    if (listeners) for (const listener of listeners) listener(detail);
  };

  /** Calls `listener` with every event of `topic` until the returned function is called. */
  function listen(topic: string, listener: (value: T) => void): () => void {
    let listeners = topics.get(topic);
    if (!listeners) {
      listeners = new Set();
      topics.set(topic, listeners);
      eventTarget.addEventListener(topic, dispatch);
    }
    listeners.add(listener);
    return () => {
      const current = topics.get(topic);
      if (!current?.delete(listener) || current.size > 0) return;
      topics.delete(topic);
      eventTarget.removeEventListener(topic, dispatch);
    };
  }

  return {
    listen,
    /** The events of `topic` that `accepts` lets through, as a stream, from now until `return()`. */
    subscribe(topic: string, accepts: (value: T) => boolean = () => true): TopicSubscription<T> {
      let stopListening = () => undefined as void;
      const subscriber = new Subscriber<T>(accepts, maxQueued, () => stopListening());
      stopListening = listen(topic, (value) => subscriber.deliver(value));
      return subscriber;
    },
  };
}
