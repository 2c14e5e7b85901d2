/**
 * How every long-lived connection is treated, whatever its protocol (graphql-ws, GraphQL SSE,
 * legacy WebSocket and SSE): the one statement of these limits and close codes.
 */

/** The largest WebSocket frame a client may send (per-message deflate is off). */
export const MAX_FRAME_BYTES = 64 * 1024;

/**
 * A client this far behind is not reading: it is disconnected rather than allowed to grow the
 * server's memory (it reconnects and resumes from its last cursor).
 */
export const SLOW_CONSUMER_BYTES = 4 * 1024 * 1024;

/** How long a peer has to answer a close before its connection is cut. */
export const CLOSE_GRACE_MS = 2000;

/** WebSocket close codes, with the reason sent along. */
export const CLOSE = {
  /** The server stops: clients reconnect, elsewhere if they can. */
  shuttingDown: { code: 1001, reason: 'Server shutting down' },
  /** The server could not go on serving the stream (a database read failed): reconnect. */
  failed: { code: 1011, reason: 'Stream failed' },
  /** Fallen behind by more than SLOW_CONSUMER_BYTES. */
  slowConsumer: { code: 1008, reason: 'slow consumer' },
  /** The token expired or was revoked (the reason says which), or was refused at init. */
  forbidden: 4403,
} as const;

/** Whether a socket has fallen behind; if so it is closed as a slow consumer. */
export function cutOffIfBehind(socket: {
  bufferedAmount: number;
  close(code: number, reason: string): void;
}): boolean {
  if (socket.bufferedAmount <= SLOW_CONSUMER_BYTES) return false;
  socket.close(CLOSE.slowConsumer.code, CLOSE.slowConsumer.reason);
  return true;
}
