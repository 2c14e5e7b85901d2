/**
 * `GET /sse/{user_id}`: the SSE-era client's stream. Unnamed events only (a named event is
 * ignored by that client). Every message carries an `id:` so that a reconnect with Last-Event-ID
 * gets what it missed, exactly once: the id says how far the stream got in each of the user's
 * chats (their timelines are numbered per chat, not across chats) and since when it has been
 * following, so that chats it has not delivered from yet are read from that time on.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { App } from '../app.js';
import { CLOCK_MARGIN_MS } from '../events/catch-up.js';
import { decodeCursor, encodeCursor } from '../pagination.js';
import type { UserResume } from '../timeline/follow.js';
import { cursorOf, decodePosition, isNumbered } from '../timeline/position.js';
import { CLOSE_GRACE_MS, SLOW_CONSUMER_BYTES } from '../transport/socket-policy.js';
import { sseMessageText, type LegacyMessageEvent } from './json.js';
import type { LegacySession } from './session.js';
import { REQUEST_ID_HEADER } from '../observability/tracing.js';

/** Where a stream stands: since when it follows, and the last number it sent per chat. */
const streamPosition = z.object({
  t: z.number().int(),
  p: z.record(z.string(), z.number().int().nonnegative()),
});

const eventId = (since: number, positions: Map<string, number>) =>
  encodeCursor({ t: since, p: Object.fromEntries(positions) });

/** Where a reconnecting client stopped, and since when its stream has followed. */
export type SseResume = UserResume & { followingSince: number };

/** Where a reconnecting client stopped, from its Last-Event-ID; null for none (or not ours). */
export function resumeOf(request: FastifyRequest): SseResume | null {
  const header = request.headers['last-event-id'];
  const lastId =
    (typeof header === 'string' && header) ||
    new URL(request.url, 'http://localhost').searchParams.get('lastEventId');
  if (!lastId) return null;
  try {
    const { t, p } = decodeCursor(streamPosition, lastId, 'Last-Event-ID');
    return {
      followingSince: t,
      positions: new Map(Object.entries(p)),
      since: new Date(t - CLOCK_MARGIN_MS),
    };
  } catch {
    // An id from before numbering: a message's position by (time, id).
  }
  try {
    const position = decodePosition(lastId, 'Last-Event-ID');
    if (isNumbered(position)) return null;
    const at = position.timestamp.getTime();
    return {
      followingSince: at,
      positions: new Map(),
      since: position.timestamp,
      unnumberedAfter: position,
    };
  } catch {
    return null;
  }
}

export function createLegacySse(app: App) {
  /** Ends a stream for shutdown, resolving once it is closed. */
  const enders = new Set<() => Promise<void>>();

  return {
    /** Open streams. */
    count: () => enders.size,

    open(
      request: FastifyRequest,
      reply: FastifyReply,
      session: LegacySession,
      resume: SseResume | null,
    ): void {
      const response = reply.raw;
      // Hijacking skips the onSend hooks, but @fastify/cors set its headers in onRequest.
      const cors = Object.entries(reply.getHeaders()).filter(
        ([name]) =>
          name.startsWith('access-control-') || name === 'vary' || name === REQUEST_ID_HEADER,
      );
      reply.hijack();
      // A client gone during admission has had its 'close' already: nothing to hold for it.
      if (response.destroyed) return session.release();
      response.writeHead(200, {
        ...Object.fromEntries(cors),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      response.flushHeaders();
      app.telemetry.requestAnswered(request, reply);

      /** Whether the chunk was written (not when the stream is gone or has fallen behind). */
      const write = (chunk: string) => {
        if (response.writableEnded || response.destroyed) return false;
        if (response.writableLength > SLOW_CONSUMER_BYTES) {
          response.destroy();
          app.telemetry.slowConsumer('legacy-sse');
          return false;
        }
        response.write(chunk);
        return true;
      };
      const followingSince = resume?.followingSince ?? Date.now();
      const positions = new Map(resume?.positions);
      const send = (event: LegacyMessageEvent) => {
        if (event.seq !== null) positions.set(event.chatId, event.seq);
        // A message from before numbering (replayed for an old id) keeps an id of its own kind.
        const id =
          event.seq === null ? cursorOf(event.message) : eventId(followingSince, positions);
        if (write(`id: ${id}\ndata: ${sseMessageText(event)}\n\n`)) {
          app.telemetry.delivered('legacy-sse', event);
        }
      };

      write(`data: ${JSON.stringify({ type: 'connected', user_id: session.userId })}\n\n`);
      const stop = session.attach(
        send,
        // The browser reconnects by itself; with a revoked or expired token it is then refused.
        () => response.end(),
      );
      const keepAlive = setInterval(
        () => write(': keepalive\n\n'),
        app.config.sseKeepAliveSeconds * 1000,
      );
      const end = () =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => response.destroy(), CLOSE_GRACE_MS);
          response.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          response.end();
        });
      enders.add(end);
      response.once('close', () => {
        stop();
        clearInterval(keepAlive);
        enders.delete(end);
      });
    },

    async close(): Promise<void> {
      await Promise.all([...enders].map((end) => end()));
    },
  };
}
