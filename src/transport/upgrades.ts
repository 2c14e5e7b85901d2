/**
 * Routes WebSocket upgrades on the one port: the legacy `/ws/{user_id}`, graphql-ws on the GraphQL
 * path, nothing else. The Origin is checked here for both (cross-site WebSocket hijacking: a page
 * on another site must not open a socket with the user's credentials).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { App } from '../app.js';
import { forbidden, notFound } from '../errors.js';
import { clientAddress } from '../security/client-address.js';
import { pathOf, refusalFor, refusalOf, rejectUpgrade } from './http.js';

/** The route pattern of an upgrade's path (never the path: it holds a user id). */
function routeOf(url: string | undefined, graphqlPath: string): string | undefined {
  const path = pathOf(url);
  if (path === graphqlPath) return graphqlPath;
  return path && /^\/ws\/[^/]+$/.test(path) ? '/ws/:user_id' : undefined;
}

/** Takes an upgrade it serves (returning true) or leaves it to the next (false). */
export interface UpgradeHandler {
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean;
}

export function routeUpgrades(
  app: App,
  server: Server,
  routes: { legacy: UpgradeHandler; graphqlPath: string; graphql: WebSocketServer },
): void {
  server.on('upgrade', (request, socket, head) => {
    // Node leaves an upgrading socket without an error listener; a reset must not crash us.
    socket.on('error', () => undefined);
    app.telemetry.traceUpgrade(request, routeOf(request.url, routes.graphqlPath));
    try {
      route(request, socket, head);
    } catch (error) {
      app.logger.error({ err: error }, 'WebSocket upgrade failed');
      rejectUpgrade(socket, { status: 400, detail: 'Bad Request', headers: {} });
    }
  });

  function route(request: IncomingMessage, socket: Duplex, head: Buffer) {
    const { corsOrigins } = app.config;
    const origin = request.headers.origin;
    if (origin && corsOrigins !== '*' && !corsOrigins.includes(origin)) {
      return rejectUpgrade(socket, refusalOf(forbidden('Origin not allowed')));
    }
    if (routes.legacy.handleUpgrade(request, socket, head)) return;
    if (pathOf(request.url) !== routes.graphqlPath) {
      return rejectUpgrade(socket, refusalOf(notFound('Not Found')));
    }
    app.rateLimits.consume('connectionsPerIp', clientAddress(request, app.config.trustProxy)).then(
      () =>
        routes.graphql.handleUpgrade(request, socket, head, (ws) => {
          routes.graphql.emit('connection', ws, request);
        }),
      (error: unknown) =>
        rejectUpgrade(socket, refusalFor(error, app.logger, 'WebSocket upgrade failed')),
    );
  }
}
