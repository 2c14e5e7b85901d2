/**
 * The end of a subscription a consumer holds: a bounded queue read with next(), or, once piped,
 * a sink events are pushed to as they come. A consumer that falls `maxQueued` events behind is
 * ended rather than allowed to grow the server's memory: its stream completes (a client resumes
 * with `after`); nothing is dropped silently from a stream that goes on.
 */

/** Takes a subscription's events as they come, instead of reading them with next(). */
export interface TopicSink<T> {
  push(value: T): void;
  /** The subscription ended (returned, or ended by its source); with `error` if it failed. */
  end(error?: unknown): void;
}

export interface TopicSubscription<T> extends AsyncIterableIterator<T> {
  return(): Promise<IteratorResult<T>>;
  /** From now on every event (first those queued) goes to `sink`, and the end to `sink.end()`. */
  pipeTo(sink: TopicSink<T>): void;
}

export function isTopicSubscription<T>(source: AsyncIterator<T>): source is TopicSubscription<T> {
  return typeof (source as Partial<TopicSubscription<T>>).pipeTo === 'function';
}

/** Events a consumer may fall behind by before its stream is ended (it resumes with `after`). */
export const MAX_QUEUED = 1024;

/** Which events a consumer receives, and the event after which its stream ends. */
export interface Selector<T> {
  accepts?: (value: T) => boolean;
  lastFor?: (value: T) => boolean;
}

export abstract class Outlet<T> implements TopicSubscription<T> {
  private readonly queue: T[] = [];
  private waiting: {
    resolve: (result: IteratorResult<T>) => void;
    reject: (error: unknown) => void;
  } | null = null;
  private sink: TopicSink<T> | null = null;
  private ended = false;
  private failure: unknown = undefined;

  private readonly accepts: ((value: T) => boolean) | null;
  private readonly lastFor: ((value: T) => boolean) | null;

  constructor(
    selector: Selector<T> = {},
    private readonly maxQueued = MAX_QUEUED,
  ) {
    this.accepts = selector.accepts ?? null;
    this.lastFor = selector.lastFor ?? null;
  }

  protected get isEnded(): boolean {
    return this.ended;
  }

  /** Hands `value` on if the consumer takes it; ends the stream after its last event. */
  protected offer(value: T): void {
    if (this.isEnded) return;
    if (!this.accepts || this.accepts(value)) this.emit(value);
    if (this.lastFor?.(value)) this.finish();
  }

  /** Hands `value` to the consumer: its sink, its pending next(), or the queue. */
  private emit(value: T): void {
    if (this.ended) return;
    if (this.sink) return this.sink.push(value);
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = null;
      waiting.resolve({ value, done: false });
    } else if (this.queue.length < this.maxQueued) {
      this.queue.push(value);
    } else {
      this.finish();
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.ended) {
      return this.failure === undefined
        ? Promise.resolve({ value: undefined, done: true })
        : Promise.reject(this.failure);
    }
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  pipeTo(sink: TopicSink<T>): void {
    this.sink = sink;
    for (const value of this.queue.splice(0)) sink.push(value);
    if (this.ended) sink.end(this.failure);
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /** Ends the stream after what is queued; with `error`, the consumer sees it fail. */
  protected finish(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = error;
    this.release();
    const waiting = this.waiting;
    this.waiting = null;
    if (error === undefined) waiting?.resolve({ value: undefined, done: true });
    else waiting?.reject(error);
    this.sink?.end(error);
  }

  /** Lets go of the source, once, when the stream ends. */
  protected abstract release(): void;
}
