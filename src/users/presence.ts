/**
 * Online status: a user is online while at least one live connection of theirs exists on this
 * server (GraphQL WebSocket or SSE subscription, legacy WebSocket or SSE stream), or since their
 * last login until their last connection closes or they log out.
 */
import type { Logger } from 'pino';
import type { Database } from '../db/mongo.js';
import { toPublicUser } from '../db/documents.js';
import type { EventBus } from '../events/bus.js';

export function createPresence(db: Database, bus: EventBus, logger: Logger) {
  const liveConnections = new Map<string, number>();
  /** Writes per user run one after another, so the last state written is the current one. */
  const pendingWrites = new Map<string, Promise<void>>();

  async function write(userId: string, online: boolean): Promise<void> {
    // No projection: FerretDB does not implement one on findAndModify.
    const before = await db.users.findOneAndUpdate(
      { user_id: userId },
      { $set: { is_online: online } },
    );
    if (before && (before.is_online ?? false) !== online) {
      bus.publishPresence({ user: toPublicUser({ ...before, is_online: online }) });
    }
  }

  function enqueue(userId: string, decide: () => boolean): Promise<void> {
    const previous = pendingWrites.get(userId) ?? Promise.resolve();
    const next = previous
      .then(() => write(userId, decide()))
      .catch((error: unknown) => logger.warn({ err: error, userId }, 'presence update failed'));
    pendingWrites.set(userId, next);
    void next.finally(() => {
      if (pendingWrites.get(userId) === next) pendingWrites.delete(userId);
    });
    return next;
  }

  const isConnected = (userId: string) => (liveConnections.get(userId) ?? 0) > 0;

  return {
    /** Counts a live connection; call the returned function once when it closes. */
    connect(userId: string): () => void {
      const count = (liveConnections.get(userId) ?? 0) + 1;
      liveConnections.set(userId, count);
      if (count === 1) void enqueue(userId, () => isConnected(userId));
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const remaining = (liveConnections.get(userId) ?? 1) - 1;
        if (remaining > 0) {
          liveConnections.set(userId, remaining);
          return;
        }
        liveConnections.delete(userId);
        void enqueue(userId, () => isConnected(userId));
      };
    },
    loggedIn: (userId: string) => enqueue(userId, () => true),
    loggedOut: (userId: string) => enqueue(userId, () => false),
    /** Waits for queued status writes (tests and shutdown). */
    settled: () => Promise.all([...pendingWrites.values()]).then(() => undefined),
  };
}

export type Presence = ReturnType<typeof createPresence>;
