import type { MessageEvent } from '../events/bus.js';

/** An admitted connection of one user. */
export interface LegacySession {
  userId: string;
  /** Re-checked for every message a WebSocket sends, so logout and expiry stop sending. */
  token: string | null;
  clientIp: string;
  /**
   * Holds presence and hands over each inbox event until the returned function is called;
   * `end` is called when the token expires or is revoked.
   */
  follow(deliver: (event: MessageEvent) => void, end: (reason: string) => void): () => void;
}
