/**
 * HTTP requests in the log and the metrics, and the metrics endpoint.
 *
 * One JSON line per request at `info`: its request id, method, route pattern (`/sse/:userId`,
 * never the URL: URLs can carry tokens, `?token=`), status and duration (until the response
 * starts; a stream is logged as it opens). Fastify's own request logging would write the URL;
 * `RequestLog` replaces it (Fastify's LogController is the hook for that) and leaves the URL out
 * of its error lines too.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Telemetry } from './telemetry.js';
import { REQUEST_ID_HEADER } from './tracing.js';

const routeOf = (request: FastifyRequest): string | undefined => request.routeOptions.url;

function isStream(payload: unknown): boolean {
  if (!payload || typeof payload !== 'object') return false;
  return (
    typeof (payload as { pipe?: unknown }).pipe === 'function' ||
    typeof (payload as { getReader?: unknown }).getReader === 'function'
  );
}

/** Fastify's request logging, replaced: the route pattern and no URL, ever. */
export class RequestLog extends LogController {
  constructor(private readonly telemetry: Telemetry) {
    super({ requestIdLogLabel: 'requestId' });
  }

  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error) reply.log.warn({ err: error, route: routeOf(request) }, 'response failed');
    this.telemetry.requestAnswered(request, reply);
  }

  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    if (reply.statusCode >= 500) {
      reply.log.error({ err: error, route: routeOf(request) }, 'request failed');
    }
  }

  override routeNotFound(): void {}

  override writeHeadError(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    reply.log.warn({ err: error, route: routeOf(request) }, 'writing the response head failed');
  }
}

/** Compares a presented bearer token with the expected one in constant time. */
function tokenMatches(authorization: string | undefined, expected: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]!), digest(expected));
}

/**
 * Request ids on every response, request lines for streams as they open, and `GET /metrics`
 * (only when a token is configured: without one the path is unknown, 404).
 */
export function observeHttp(
  http: FastifyInstance,
  telemetry: Telemetry,
  metricsToken: string | undefined,
): void {
  http.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  http.addHook('onSend', (request, reply, payload, done) => {
    // A stream may last hours, or be cut by the client before it finishes: logged now.
    if (isStream(payload)) telemetry.requestAnswered(request, reply);
    done(null, payload);
  });

  const metrics = telemetry.metrics;
  if (!metrics || !metricsToken) return;
  http.get('/metrics', { exposeHeadRoute: false }, async (request, reply) => {
    if (!tokenMatches(request.headers.authorization, metricsToken)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ detail: 'Not authenticated' });
    }
    return reply.header('content-type', metrics.contentType).send(await metrics.scrape());
  });
}
