import type { LegacyMessageEvent } from './json.js';

/** An admitted connection of one user. */
export interface LegacySession {
  userId: string;
  /** Re-checked for every message a WebSocket sends, so logout and expiry stop sending. */
  token: string | null;
  clientIp: string;
  /** The request id of its upgrade or SSE request (src/observability/tracing.ts). */
  requestId: string | undefined;
  /**
   * Holds presence and hands over each message of the user's one-to-one chats (in each chat's
   * order, each once; first those stored after where a resumed stream stopped), from admission
   * on, until the returned function is called. `end` is called when the token expires or is
   * revoked, or the stream fails.
   */
  attach(deliver: (event: LegacyMessageEvent) => void, end: (reason: string) => void): () => void;
  /** Lets the session go without attaching (the client left before its answer). */
  release(): void;
}
