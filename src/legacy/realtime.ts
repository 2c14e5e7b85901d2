/**
 * The old server's realtime endpoints: WebSocket `/ws/{user_id}` and SSE `/sse/{user_id}`.
 * Admission (rate limit, token) is decided here once for both, and the session follows the
 * user's one-to-one chats before the transport answers (so that nothing the client does next
 * is missed); the transport then attaches its socket or stream to it.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { App } from '../app.js';
import { AppError } from '../errors.js';
import type { UserEvent } from '../events/bus.js';
import type { TopicSubscription } from '../events/outlet.js';
import { followDirectMessages, type UserResume } from '../timeline/follow.js';
import type { ConnectionOptions } from '../users/presence.js';
import { clientAddress } from '../security/client-address.js';
import { pathOf, refusalFor, rejectUpgrade, type Refusal } from '../transport/http.js';
import { requestIdOfUpgrade } from '../observability/tracing.js';
import { CLOSE } from '../transport/socket-policy.js';
import { authorizeLegacyUser, legacyToken } from './auth.js';
import type { LegacyMessageEvent } from './json.js';
import type { LegacySession } from './session.js';
import { createLegacySse, resumeOf } from './sse.js';
import { createLegacyWebSockets } from './websocket.js';

export interface LegacyRealtime {
  /** Takes the upgrade if its path is `/ws/{user_id}`; false leaves it to others. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Registers `GET /sse/:userId`. */
  routes: FastifyPluginAsync;
  /** Closes every legacy connection (code 1001 for WebSockets). */
  close(): Promise<void>;
}

export function createLegacyRealtime(app: App): LegacyRealtime {
  const sockets = createLegacyWebSockets(app);
  const streams = createLegacySse(app);
  app.telemetry.countConnections('legacy-ws', () => sockets.count());
  app.telemetry.countConnections('legacy-sse', () => streams.count());
  let closing = false;

  async function admit(
    request: IncomingMessage,
    userId: string,
    requestId: string | undefined,
    resume?: UserResume,
  ): Promise<LegacySession> {
    const token = legacyToken(request);
    const clientIp = clientAddress(request, app.config.trustProxy);
    await app.rateLimits.consume('connectionsPerIp', clientIp);
    const { tokenExpiresAt: expiresAt } = await authorizeLegacyUser(app, userId, token, clientIp);
    if (closing) throw new AppError('SERVICE_UNAVAILABLE', 'Server shutting down');
    const events = await followDirectMessages(app, userId, resume);
    return {
      userId,
      token,
      clientIp,
      requestId,
      attach: (deliver, end) => attach(app, userId, events, deliver, { expiresAt, end }),
      release: () => void events.return(),
    };
  }

  const refusal = (error: unknown): Refusal =>
    refusalFor(error, app.logger, 'legacy realtime admission failed');

  return {
    handleUpgrade(request, socket, head) {
      const userId = webSocketUserId(request.url);
      if (userId === null) return false;
      admit(request, userId, requestIdOfUpgrade(request)).then(
        (session) => sockets.accept(request, socket, head, session),
        (error: unknown) => rejectUpgrade(socket, refusal(error)),
      );
      return true;
    },

    routes: async (http) => {
      // No HEAD twin: it would hold a stream open that carries nothing.
      const options = { exposeHeadRoute: false };
      http.get<{ Params: { userId: string } }>('/sse/:userId', options, async (request, reply) => {
        const resume = resumeOf(request);
        let session: LegacySession;
        try {
          session = await admit(
            request.raw,
            request.params.userId,
            request.id,
            resume ?? undefined,
          );
        } catch (error) {
          const { status, detail, headers } = refusal(error);
          return reply.code(status).headers(headers).send({ detail });
        }
        streams.open(request, reply, session, resume);
      });
    },

    async close() {
      closing = true;
      await Promise.all([sockets.close(), streams.close()]);
    },
  };
}

function webSocketUserId(url: string | undefined): string | null {
  const match = /^\/ws\/([^/]+)$/.exec(pathOf(url) ?? '');
  if (!match?.[1]) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

/** Holds presence and hands the session's events to the transport until the returned stop. */
function attach(
  app: App,
  userId: string,
  events: TopicSubscription<UserEvent>,
  deliver: (event: LegacyMessageEvent) => void,
  options: ConnectionOptions & { end: (reason: string) => void },
): () => void {
  const release = app.presence.connect(userId, options);
  events.pipeTo({
    push: (event) => {
      // A failing socket must not stop delivery to the other listeners of the event.
      try {
        // A message whose sender is no longer stored cannot take the old shape.
        if (event.type === 'message' && event.sender) deliver(event as LegacyMessageEvent);
      } catch (error) {
        app.logger.error({ err: error, userId }, 'legacy delivery failed');
      }
    },
    end: (error) => {
      if (error === undefined) return;
      app.logger.error({ err: error, userId }, 'legacy stream failed');
      options.end(CLOSE.failed.reason);
    },
  });
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    release();
    void events.return();
  };
}
