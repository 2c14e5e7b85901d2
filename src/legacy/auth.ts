/**
 * Who may use the legacy realtime endpoints (`/ws/{user_id}`, `/sse/{user_id}`,
 * `/api/send/{user_id}`). The old server trusted the user id in the path; now a token for that
 * same user is required, unless LEGACY_REALTIME_AUTH=off restores the old behaviour.
 */
import type { IncomingMessage } from 'node:http';
import type { App } from '../app.js';
import { createScope, requireViewer, type RequestScope } from '../request/scope.js';
import { forbidden, notFound } from '../errors.js';
import { bearerToken } from '../auth/tokens.js';
import type { RequestOrigin } from '../observability/tracing.js';

/** Browsers cannot set headers on WebSocket or EventSource: these are the places a token may be. */
export function legacyToken(request: IncomingMessage): string | null {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const fromQuery = url.searchParams.get('token');
  if (fromQuery) return fromQuery;
  const fromHeader = bearerToken(request.headers.authorization);
  if (fromHeader) return fromHeader;
  // `new WebSocket(url, ['bearer', token])` sends "bearer, <token>".
  const protocols = (request.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((value) => value.trim());
  const bearerAt = protocols.findIndex((value) => value.toLowerCase() === 'bearer');
  return bearerAt >= 0 ? (protocols[bearerAt + 1] ?? null) : null;
}

/** The scope of the user named in the path, or UNAUTHENTICATED / FORBIDDEN / NOT_FOUND. */
export async function authorizeLegacyUser(
  app: App,
  userId: string,
  token: string | null,
  clientIp: string,
  origin?: RequestOrigin,
): Promise<RequestScope> {
  if (app.config.legacyRealtimeAuth) {
    const scope = await createScope(app, token ? `Bearer ${token}` : null, clientIp, { origin });
    const viewer = requireViewer(scope);
    if (viewer.user_id !== userId) throw forbidden('Token does not belong to this user');
    return scope;
  }
  const scope = await createScope(app, null, clientIp, { origin });
  const user = await scope.loaders.users.load(userId);
  if (!user) throw notFound('User not found');
  scope.viewer = user;
  return scope;
}
