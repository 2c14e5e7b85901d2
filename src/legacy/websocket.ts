/**
 * `WS /ws/{user_id}`: every message of the user's chats goes out as the old broadcast JSON;
 * `{"chat_id","content"}` frames are sent as that user. A bad frame gets an error frame, never
 * a closed socket.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { z } from 'zod';
import type { App } from '../app.js';
import { badInput } from '../errors.js';
import { expectedError } from '../expected-errors.js';
import { sendMessage } from '../messages/service.js';
import {
  CLOSE,
  CLOSE_GRACE_MS,
  cutOffIfBehind,
  MAX_FRAME_BYTES,
} from '../transport/socket-policy.js';
import { broadcastText } from './json.js';
import { parseInput } from '../validation.js';
import { authorizeLegacyUser } from './auth.js';
import type { LegacySession } from './session.js';
import { traceAcceptedUpgrades } from '../observability/tracing.js';

/** Frames are handled in order; a client may not queue more than this many. */
const MAX_QUEUED_FRAMES = 32;

const frameSchema = z.object({ chat_id: z.string(), content: z.string() });

export function createLegacyWebSockets(app: App) {
  const server = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
    // Browsers fail the handshake unless one offered protocol is echoed back.
    handleProtocols: (protocols) =>
      [...protocols].find((protocol) => protocol.toLowerCase() === 'bearer') ?? false,
  });
  traceAcceptedUpgrades(server);

  function serve(socket: WebSocket, session: LegacySession): void {
    const stop = session.attach(
      (event) => {
        if (socket.readyState !== WebSocket.OPEN) return;
        if (cutOffIfBehind(socket)) return app.telemetry.slowConsumer('legacy-ws');
        socket.send(broadcastText(event));
        app.telemetry.delivered('legacy-ws', event);
      },
      (reason) =>
        socket.close(reason === CLOSE.failed.reason ? CLOSE.failed.code : CLOSE.forbidden, reason),
    );

    let queued = 0;
    let queue = Promise.resolve();
    socket.on('message', (data) => {
      if (queued >= MAX_QUEUED_FRAMES) {
        sendError(socket, 'Too many messages in flight');
        return;
      }
      queued += 1;
      const receivedAt = performance.now();
      queue = queue
        .then(() => handleFrame(socket, session, data, receivedAt))
        .finally(() => {
          queued -= 1;
        });
    });
    socket.on('error', (error) => app.logger.debug({ err: error }, 'legacy WebSocket error'));
    socket.on('close', stop);
  }

  async function handleFrame(
    socket: WebSocket,
    session: LegacySession,
    data: RawData,
    receivedAt: number,
  ) {
    try {
      const frame = parseInput(frameSchema, parseJson(data));
      const origin = session.requestId
        ? { requestId: session.requestId, transport: 'legacy-ws' as const, receivedAt }
        : undefined;
      const scope = await authorizeLegacyUser(
        app,
        session.userId,
        session.token,
        session.clientIp,
        origin,
      );
      await sendMessage(
        scope,
        { chatId: frame.chat_id, content: frame.content },
        { directOnly: true },
      );
    } catch (error) {
      const expected = expectedError(error);
      if (expected) return sendError(socket, expected.message);
      app.logger.error({ err: error }, 'legacy WebSocket send failed');
      sendError(socket, 'Internal Server Error');
    }
  }

  return {
    /** Open connections. */
    count: () => server.clients.size,

    accept(request: IncomingMessage, socket: Duplex, head: Buffer, session: LegacySession): void {
      // A client gone during admission: the upgrade never completes, nothing to hold for it.
      if (socket.destroyed) return session.release();
      server.handleUpgrade(request, socket, head, (ws) => serve(ws, session));
    },

    async close(): Promise<void> {
      await Promise.all(
        [...server.clients].map(
          (socket) =>
            new Promise<void>((resolve) => {
              // A peer that never answers the close frame must not hold up shutdown.
              const timer = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
              socket.once('close', () => {
                clearTimeout(timer);
                resolve();
              });
              socket.close(CLOSE.shuttingDown.code, CLOSE.shuttingDown.reason);
            }),
        ),
      );
    },
  };
}

function parseJson(data: RawData): unknown {
  try {
    // The default binaryType ('nodebuffer') delivers every frame as one Buffer.
    return JSON.parse((data as Buffer).toString('utf8'));
  } catch {
    throw badInput('Invalid JSON');
  }
}

function sendError(socket: WebSocket, detail: string): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'error', detail }));
}
