/**
 * `GET /sse/{user_id}`: the SSE-era client's stream. Unnamed events only (a named event is
 * ignored by that client); every message carries an `id:` so that a reconnect with
 * Last-Event-ID gets what it missed.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../app.js';
import { findChatsOf } from '../chats/repository.js';
import type { MessageEvent } from '../events/bus.js';
import { asMessageEvents, findInboxAfter, type TimelinePosition } from '../messages/repository.js';
import { cursorOf, toPosition } from '../messages/service.js';
import { CLOSE_GRACE_MS, SLOW_CONSUMER_BYTES } from '../transport/socket-policy.js';
import { sseMessageText } from './json.js';
import type { LegacySession } from './session.js';

const REPLAY_LIMIT = 1000;

export function createLegacySse(app: App) {
  /** Ends a stream for shutdown, resolving once it is closed. */
  const enders = new Set<() => Promise<void>>();

  return {
    open(request: FastifyRequest, reply: FastifyReply, session: LegacySession): void {
      const response = reply.raw;
      // Hijacking skips the onSend hooks, but @fastify/cors set its headers in onRequest.
      const cors = Object.entries(reply.getHeaders()).filter(
        ([name]) => name.startsWith('access-control-') || name === 'vary',
      );
      reply.hijack();
      // A client gone during admission has had its 'close' already: nothing to hold for it.
      if (response.destroyed) return;
      response.writeHead(200, {
        ...Object.fromEntries(cors),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      response.flushHeaders();

      const write = (chunk: string) => {
        if (response.writableEnded || response.destroyed) return;
        if (response.writableLength > SLOW_CONSUMER_BYTES) response.destroy();
        else response.write(chunk);
      };
      const replayed = new Set<string>();
      const send = (event: MessageEvent) => {
        if (replayed.has(event.message.message_id)) return;
        write(`id: ${cursorOf(event.message)}\ndata: ${sseMessageText(event)}\n\n`);
      };

      const after = replayPosition(request);
      // Live events wait here until the replay is out, so none falls in between.
      let backlog: MessageEvent[] | null = after ? [] : null;
      const stop = session.follow(
        (event) => (backlog ? backlog.push(event) : send(event)),
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

      write(`data: ${JSON.stringify({ type: 'connected', user_id: session.userId })}\n\n`);
      if (!after) return;
      missedSince(app, session.userId, after).then(
        (missed) => {
          for (const event of missed) {
            send(event);
            replayed.add(event.message.message_id);
          }
          for (const event of backlog ?? []) send(event);
          backlog = null;
        },
        (error: unknown) => {
          // The client reconnects with the same Last-Event-ID and gets another try.
          app.logger.error({ err: error }, 'SSE replay failed');
          response.end();
        },
      );
    },

    async close(): Promise<void> {
      await Promise.all([...enders].map((end) => end()));
    },
  };
}

/** From the Last-Event-ID header, or `lastEventId` in the query; an id not ours means none. */
function replayPosition(request: FastifyRequest): TimelinePosition | null {
  const header = request.headers['last-event-id'];
  const cursor =
    (typeof header === 'string' && header) ||
    new URL(request.url, 'http://localhost').searchParams.get('lastEventId');
  if (!cursor) return null;
  try {
    return toPosition(cursor, 'Last-Event-ID');
  } catch {
    return null;
  }
}

/** The user's messages after `after`, across all their chats, oldest first. */
async function missedSince(
  app: App,
  userId: string,
  after: TimelinePosition,
): Promise<MessageEvent[]> {
  const chats = await findChatsOf(app.db, userId);
  const chatIds = chats.map((chat) => chat.chat_id);
  const messages = await findInboxAfter(app.db, chatIds, after, REPLAY_LIMIT);
  return asMessageEvents(app.db, chats, messages);
}
