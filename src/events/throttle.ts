/**
 * At most one send per key per interval: the first value at once, and the latest of those offered
 * meanwhile when the interval ends (so the last word always goes out). For live events that
 * change faster than they are worth passing on (read positions, typing).
 */
interface Slot<T> {
  timer: NodeJS.Timeout;
  pending: T | null;
}

export class Throttle<T> {
  private readonly slots = new Map<string, Slot<T>>();

  constructor(
    private readonly intervalMs: number,
    private readonly send: (value: T) => void,
  ) {}

  offer(key: string, value: T): void {
    const slot = this.slots.get(key);
    if (slot) {
      slot.pending = value;
      return;
    }
    this.send(value);
    this.open(key);
  }

  /** Drops what waits for `key`: its next value goes out at once. */
  reset(key: string): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    clearTimeout(slot.timer);
    this.slots.delete(key);
  }

  close(): void {
    for (const slot of this.slots.values()) clearTimeout(slot.timer);
    this.slots.clear();
  }

  private open(key: string): void {
    const slot: Slot<T> = {
      pending: null,
      timer: setTimeout(() => {
        this.slots.delete(key);
        if (slot.pending !== null) this.offer(key, slot.pending);
      }, this.intervalMs),
    };
    slot.timer.unref();
    this.slots.set(key, slot);
  }
}
