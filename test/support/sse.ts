/** Server-sent event streams read with fetch(), for the suites that follow them. */
import { withTimeout } from './wait.js';

/** How long a stream may take to answer (a cluster on a loaded machine is slow). */
const OPEN_TIMEOUT_MS = 10_000;

/** One event of a stream (comments and other fields are passed over). */
export interface SseEvent {
  event?: string;
  id?: string;
  data: string;
}

/** A fetch() event stream, its events handed to `onEvent`; resolves with its close. */
export async function openEventStream(
  url: string,
  init: RequestInit,
  onEvent: (event: SseEvent) => void,
  fail: (error: unknown) => void,
): Promise<() => Promise<void>> {
  const abort = new AbortController();
  const response = await withTimeout(
    fetch(url, { ...init, signal: abort.signal }),
    url,
    OPEN_TIMEOUT_MS,
  );
  if (response.status !== 200 || !response.body) {
    throw new Error(`${url}: ${response.status} ${await response.text()}`);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const pumped = (async () => {
    let buffer = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      buffer += chunk.value.replace(/\r\n?/g, '\n');
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const fields: Partial<SseEvent> = {};
        for (const line of buffer.slice(0, end).split('\n')) {
          const match = /^(event|id|data): ?(.*)$/.exec(line);
          if (match) fields[match[1] as keyof SseEvent] = match[2];
        }
        buffer = buffer.slice(end + 2);
        if (fields.data !== undefined) onEvent(fields as SseEvent);
      }
    }
  })().catch((error: unknown) => {
    if (!abort.signal.aborted) fail(error);
  });
  return async () => {
    abort.abort();
    await pumped;
  };
}
