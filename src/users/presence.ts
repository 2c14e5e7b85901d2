/**
 * Live connections and online status. A user is online while at least one live connection of
 * theirs exists (GraphQL WebSocket or SSE subscription, legacy WebSocket or SSE stream), or since
 * their last login until their last connection closes or they log out.
 *
 * One instance decides alone. With leases (Redis, several instances) "exists" means on any
 * instance: the leases decide, and each decision's number orders the database writes, so the
 * stored status is the latest decision whichever instance writes last.
 *
 * A connection authenticated by a token also ends when that token expires, or when the user's
 * tokens are revoked (logout, account recovery) on any server sharing the event bus.
 */
import type { Logger } from 'pino';
import type { Decision, PresenceLeases } from '../cluster/presence-leases.js';
import type { Database } from '../db/mongo.js';
import { toPublicUser } from '../db/documents.js';
import { storeOnlineStatus } from './repository.js';
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

/** One live connection of a user (a socket, a stream). */
interface LiveConnection {
  readonly userId: string;
  readonly expiresAt?: number | null;
  readonly end?: ConnectionOptions['end'];
  released?: boolean;
}

/**
 * Ends each connection when its token expires, with one timer per distinct expiry time: the
 * sockets of one token (a user's tabs and subscriptions) share it.
 */
class ExpirySchedule {
  private readonly due = new Map<
    number,
    { connections: Set<LiveConnection>; cancel: () => void }
  >();

  add(connection: LiveConnection & { expiresAt: number }): void {
    const { expiresAt } = connection;
    if (expiresAt * 1000 <= Date.now()) return connection.end?.('Token expired');
    let group = this.due.get(expiresAt);
    if (!group) {
      const connections = new Set<LiveConnection>();
      const cancel = atExpiry(expiresAt, () => {
        this.due.delete(expiresAt);
        connections.forEach((expired) => expired.end?.('Token expired'));
      });
      group = { connections, cancel };
      this.due.set(expiresAt, group);
    }
    group.connections.add(connection);
  }

  remove(connection: LiveConnection & { expiresAt: number }): void {
    const group = this.due.get(connection.expiresAt);
    if (!group?.connections.delete(connection) || group.connections.size > 0) return;
    group.cancel();
    this.due.delete(connection.expiresAt);
  }
}

const expires = (
  connection: LiveConnection,
): connection is LiveConnection & { expiresAt: number } =>
  Boolean(connection.end && connection.expiresAt);

/** Rounds of correcting a write that a later decision overtook, before leaving it to the next one. */
const MAX_CORRECTIONS = 5;

export function createPresence(
  db: Database,
  bus: EventBus,
  logger: Logger,
  leases?: PresenceLeases,
) {
  const liveConnections = new Map<string, Set<LiveConnection>>();
  const expiry = new ExpirySchedule();

  function release(connection: LiveConnection): void {
    if (connection.released) return;
    connection.released = true;
    if (expires(connection)) expiry.remove(connection);
    const { userId } = connection;
    const connections = liveConnections.get(userId);
    if (!connections?.delete(connection) || connections.size > 0) return;
    liveConnections.delete(userId);
    void disconnected(userId);
  }
  /** Status writes under way (for settled()). */
  const pending = new Set<Promise<void>>();
  /** Writes per user run one after another here: the last one written is the latest decided. */
  const queues = new Map<string, Promise<void>>();

  /** Stores the status and announces a change; with `seq`, unless a later decision is stored. */
  async function write(userId: string, online: boolean, seq?: number): Promise<void> {
    const before = await storeOnlineStatus(db, userId, online, seq);
    if (before && (before.is_online ?? false) !== online) {
      bus.publishPresence({ user: toPublicUser({ ...before, is_online: online }) });
    }
  }

  /**
   * Stores a decision, then any later one: another instance's write of it may have come first
   * and been overwritten (MongoDB refuses the older write by its number; FerretDB's
   * findAndModify is not atomic and does not).
   */
  async function apply(decision: Decision): Promise<void> {
    let current = decision;
    for (let round = 0; round < MAX_CORRECTIONS; round += 1) {
      await write(current.userId, current.online, current.seq);
      const latest = await leases?.latest(current.userId);
      if (!latest || latest.seq <= current.seq) return;
      current = latest;
    }
  }

  function track(work: Promise<unknown>, userId?: string): Promise<void> {
    const done = work.then(
      () => undefined,
      (error: unknown) => logger.warn({ err: error, userId }, 'presence update failed'),
    );
    pending.add(done);
    void done.finally(() => pending.delete(done));
    return done;
  }

  function enqueue(userId: string, work: () => Promise<void>): Promise<void> {
    const next = track((queues.get(userId) ?? Promise.resolve()).then(work), userId);
    queues.set(userId, next);
    void next.finally(() => {
      if (queues.get(userId) === next) queues.delete(userId);
    });
    return next;
  }

  /** Decisions arrive in the order they were made here, and are written in that order. */
  const applyAll = (decided: Decision[]) =>
    Promise.all(decided.map((decision) => enqueue(decision.userId, () => apply(decision))));

  const settled = () => Promise.all([...pending]).then(() => undefined);

  const isConnected = (userId: string) => (liveConnections.get(userId)?.size ?? 0) > 0;
  const writeConnected = (userId: string) =>
    enqueue(userId, () => write(userId, isConnected(userId)));

  /** The first live connection here: online. */
  const connected = (userId: string) =>
    leases ? track(leases.renew([userId]).then(applyAll), userId) : writeConnected(userId);
  /** The last live connection here closed: offline unless connected elsewhere. */
  const disconnected = (userId: string) =>
    leases
      ? track(
          leases.release(userId).then((decision) => decision && applyAll([decision])),
          userId,
        )
      : writeConnected(userId);
  const set = (userId: string, online: boolean) =>
    leases
      ? track(
          leases.decide(userId, online).then((decision) => applyAll([decision])),
          userId,
        )
      : enqueue(userId, () => write(userId, online));

  const stopRevocations = bus.onRevocation(({ userId }) => {
    for (const connection of liveConnections.get(userId) ?? []) connection.end?.('Token revoked');
  });

  // Renew this instance's leases, and end those of instances that stopped renewing theirs.
  let beating: Promise<void> | null = null;
  const heartbeat =
    leases &&
    setInterval(() => {
      beating ??= track(
        (async () => {
          await applyAll(await leases.renew([...liveConnections.keys()]));
          await applyAll(await leases.sweep());
        })(),
      ).finally(() => {
        beating = null;
      });
    }, leases.heartbeatMs);
  heartbeat?.unref();

  return {
    /** Counts a live connection; call the returned function once when it closes. */
    connect(userId: string, { expiresAt, end }: ConnectionOptions = {}): () => void {
      const connection: LiveConnection = { userId, expiresAt, end };
      const connections = liveConnections.get(userId) ?? new Set();
      liveConnections.set(userId, connections);
      connections.add(connection);
      if (connections.size === 1) void connected(userId);
      if (expires(connection)) expiry.add(connection);
      return () => release(connection);
    },
    loggedIn: (userId: string) => set(userId, true),
    /** Ends every connection of the user, on every server, and marks them offline. */
    async revoked(userId: string): Promise<void> {
      bus.publishRevocation({ userId });
      await set(userId, false);
    },
    /** Waits for status writes under way (tests and shutdown). */
    settled,
    /** Ends the background work, once what is under way is done. */
    async stop() {
      clearInterval(heartbeat);
      stopRevocations();
      await settled();
    },
  };
}

export type Presence = ReturnType<typeof createPresence>;
