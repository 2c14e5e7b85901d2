/**
 * How a benchmark message identifies itself: its content starts with a marker, an id and the
 * sender's CLOCK_MONOTONIC timestamp, so that a receiver finds both with a string search and
 * without parsing the frame (`bench|fixed.17|123456.789|xxxx…`).
 */
const MARK = 'bench|';

export function messageContent(msgId: string, sentAt: number, bytes: number): string {
  const head = `${MARK}${msgId}|${sentAt.toFixed(3)}|`;
  return head.length >= bytes ? head : head + 'x'.repeat(bytes - head.length);
}

export interface Mark {
  msgId: string;
  sentAt: number;
}

/** The first benchmark marker in a frame (a WebSocket message, an SSE event), if any. */
export function readMark(frame: string): Mark | null {
  const start = frame.indexOf(MARK);
  if (start < 0) return null;
  const idStart = start + MARK.length;
  const idEnd = frame.indexOf('|', idStart);
  const timeEnd = idEnd < 0 ? -1 : frame.indexOf('|', idEnd + 1);
  if (timeEnd < 0) return null;
  return { msgId: frame.slice(idStart, idEnd), sentAt: Number(frame.slice(idEnd + 1, timeEnd)) };
}

/** A message id names its phase: `<phase>.<n>`. */
export const phaseOf = (msgId: string) => msgId.slice(0, msgId.indexOf('.'));

export type Transport = 'graphql-ws' | 'legacy-ws' | 'sse';

/** One subscriber connection: whose it is and which chat it follows. */
export interface ConnectionSpec {
  userId: string;
  token: string;
  chatId: string;
  /** The server it connects to, when not the one of the `connect` call (several instances). */
  baseUrl?: string;
}

/** One way to send: a participant's token and one of their chats. */
export interface SenderSpec {
  userId: string;
  token: string;
  chatId: string;
}

/** A growable Float64Array for latency samples. */
export class Samples {
  private data = new Float64Array(1024);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }
  toArray(): Float64Array {
    return this.data.slice(0, this.length);
  }
  clear(): void {
    this.length = 0;
  }
}
