/**
 * Live connections and online status. A user is online while at least one live connection of
 * theirs exists on this server (GraphQL WebSocket or SSE subscription, legacy WebSocket or SSE
 * stream), or since their last login until their last connection closes or they log out.
 *
 * A connection authenticated by a token also ends when that token expires, or when the user's
 * tokens are revoked (logout, account recovery) on any server sharing the event bus.
 */
import type { Logger } from 'pino';
import type { Database } from '../db/mongo.js';
import { toPublicUser } from '../db/documents.js';
import type { EventBus } from '../events/bus.js';

export interface ConnectionOptions {
  /** Seconds since the epoch when the connection's token expires. */
  expiresAt?: number | null;
  /** Ends the connection (close the socket, finish the stream); called at expiry or revocation. */
  end?: (reason: 'Token expired' | 'Token revoked') => void;
}

/** setTimeout's ceiling (about 24.8 days); longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function atExpiry(expiresAt: number, expire: () => void): () => void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const wait = expiresAt * 1000 - Date.now();
    if (wait <= 0) return expire();
    timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}

export function createPresence(db: Database, bus: EventBus, logger: Logger) {
  const liveConnections = new Map<string, Set<ConnectionOptions>>();
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

  const isConnected = (userId: string) => (liveConnections.get(userId)?.size ?? 0) > 0;

  const revocations = bus.revocations()[Symbol.asyncIterator]();
  void (async () => {
    for (let next = await revocations.next(); !next.done; next = await revocations.next()) {
      for (const connection of liveConnections.get(next.value.userId) ?? []) {
        connection.end?.('Token revoked');
      }
    }
  })();

  return {
    /** Counts a live connection; call the returned function once when it closes. */
    connect(userId: string, options: ConnectionOptions = {}): () => void {
      const connection = { ...options };
      const connections = liveConnections.get(userId) ?? new Set();
      liveConnections.set(userId, connections);
      connections.add(connection);
      if (connections.size === 1) void enqueue(userId, () => isConnected(userId));
      const { end, expiresAt } = options;
      const cancelExpiry =
        end && expiresAt ? atExpiry(expiresAt, () => end('Token expired')) : null;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        cancelExpiry?.();
        connections.delete(connection);
        if (connections.size > 0) return;
        liveConnections.delete(userId);
        void enqueue(userId, () => isConnected(userId));
      };
    },
    loggedIn: (userId: string) => enqueue(userId, () => true),
    /** Ends every connection of the user, on every server, and marks them offline. */
    async revoked(userId: string): Promise<void> {
      bus.publishRevocation({ userId });
      await enqueue(userId, () => false);
    },
    /** Waits for queued status writes (tests and shutdown). */
    settled: () => Promise.all([...pendingWrites.values()]).then(() => undefined),
    stop: () => void revocations.return?.(),
  };
}

export type Presence = ReturnType<typeof createPresence>;
