import type { UserResume } from '../timeline/follow.js';
import type { LegacyMessageEvent } from './json.js';

/** An admitted connection of one user. */
export interface LegacySession {
  userId: string;
  /** Re-checked for every message a WebSocket sends, so logout and expiry stop sending. */
  token: string | null;
  clientIp: string;
  /**
   * Holds presence and hands over each message of the user's chats (in each chat's order, each
   * once; with `resume`, first those stored after it) until the returned function is called.
   * `end` is called when the token expires or is revoked, or the stream fails.
   */
  follow(
    deliver: (event: LegacyMessageEvent) => void,
    end: (reason: string) => void,
    resume?: UserResume,
  ): () => void;
}
