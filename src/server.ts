/**
 * The HTTP server and everything on its one port: GraphQL over HTTP and SSE (Yoga), GraphQL over
 * WebSocket (graphql-ws) on the same path, CORS, and an orderly shutdown.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import { WebSocketServer } from 'ws';
import type { App } from './app.js';
import type { RequestScope } from './request/scope.js';
import { isReachable } from './db/mongo.js';
import { createLegacyRealtime } from './legacy/realtime.js';
import { restRoutes } from './legacy/routes.js';
import { attachmentRoutes } from './attachments/routes.js';
import { MAX_FRAME_BYTES } from './transport/socket-policy.js';
import { attachGraphQLWebSocket } from './transport/graphql-ws.js';
import { trackLiveSubscriptions } from './graphql/live-subscriptions.js';
import { routeUpgrades } from './transport/upgrades.js';
import { graphqlOverHttp } from './transport/graphql-http.js';
import { answerUnknownRoutes } from './transport/unknown-routes.js';
import { createGraphQLServer, GRAPHQL_PATH } from './graphql/yoga.js';
import { operationMetrics } from './observability/graphql.js';
import { observeHttp, RequestLog } from './observability/http.js';
import {
  REQUEST_ID_HEADER,
  requestIdFrom,
  traceAcceptedUpgrades,
} from './observability/tracing.js';

export interface Server {
  http: FastifyInstance;
  /** Listens and resolves with the bound port. */
  listen(): Promise<number>;
  close(): Promise<void>;
}

export function createServer(app: App): Server {
  const http = Fastify({
    loggerInstance: app.logger as FastifyBaseLogger,
    // One line per request with its route pattern: URLs can carry tokens (legacy `?token=`).
    logController: new RequestLog(app.telemetry),
    genReqId: (request) => requestIdFrom(request.headers[REQUEST_ID_HEADER]),
    trustProxy: app.config.trustProxy,
  });
  observeHttp(http, app.telemetry, app.config.metricsToken);
  const liveSubscriptions = trackLiveSubscriptions(app.presence);
  app.telemetry.countConnections('graphql-sse', liveSubscriptions.count);
  app.telemetry.countSubscriptions('graphql-sse', liveSubscriptions.count);
  const yoga = createGraphQLServer(app, [
    liveSubscriptions.plugin,
    ...operationMetrics<RequestScope>(app.telemetry),
  ]);

  const { corsOrigins } = app.config;
  void http.register(cors, {
    origin: corsOrigins === '*' ? '*' : corsOrigins,
    credentials: corsOrigins !== '*',
    methods: ['GET', 'POST', 'PUT', 'OPTIONS'],
    maxAge: 600,
  });

  void http.register(graphqlOverHttp(yoga));

  answerUnknownRoutes(http);
  // Liveness: the process serves. Readiness: the database answers too.
  http.get('/healthz', async () => ({ status: 'ok' }));
  http.get('/readyz', async (_request, reply) =>
    (await isReachable(app.db))
      ? { status: 'ready' }
      : reply.code(503).send({ status: 'unavailable', detail: 'The database is unavailable' }),
  );

  void http.register(restRoutes(app));
  if (app.attachments.gridfs) void http.register(attachmentRoutes(app, app.attachments.gridfs));
  const legacyRealtime = createLegacyRealtime(app);
  void http.register(legacyRealtime.routes);

  const graphqlSockets = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
  });
  traceAcceptedUpgrades(graphqlSockets);
  app.telemetry.countConnections('graphql-ws', () => graphqlSockets.clients.size);
  const graphqlWs = attachGraphQLWebSocket(app, yoga, graphqlSockets);

  routeUpgrades(app, http.server, {
    legacy: legacyRealtime,
    graphqlPath: GRAPHQL_PATH,
    graphql: graphqlSockets,
  });

  return {
    http,
    async listen() {
      await http.listen({ host: app.config.host, port: app.config.port });
      const address = http.server.address();
      const port = typeof address === 'object' && address ? address.port : app.config.port;
      const host = ['0.0.0.0', '::'].includes(app.config.host) ? '127.0.0.1' : app.config.host;
      app.attachments.listening(`http://${host.includes(':') ? `[${host}]` : host}:${port}`);
      return port;
    },
    /**
     * Graceful stop: streams and sockets end (WebSockets with 1001 "going away", so clients
     * reconnect elsewhere), requests in flight finish, then the server stops listening.
     */
    async close() {
      liveSubscriptions.endAll();
      // Keep-alive connections that go idle once their stream or request ends are closed too.
      const idleSweep = setInterval(() => http.server.closeIdleConnections(), 100);
      try {
        await Promise.all([graphqlWs.dispose(), legacyRealtime.close(), http.close()]);
      } finally {
        clearInterval(idleSweep);
      }
    },
  };
}
