import FindMyWay from 'find-my-way';
import type { FastifyInstance } from 'fastify';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * Unknown routes answer as FastAPI did: 405 with `Allow` when the path exists under another
 * method, else 404 `{"detail": "Not Found"}`. Call before any route is registered.
 */
export function answerUnknownRoutes(http: FastifyInstance): void {
  const known = FindMyWay();
  http.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if ((METHODS as readonly string[]).includes(method)) {
        known.on(method as (typeof METHODS)[number], route.url ?? route.path, () => undefined);
      }
    }
  });
  http.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = METHODS.filter((method) => known.find(method, path));
    if (request.method !== 'OPTIONS' && allowed.length > 0) {
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send({ detail: 'Method Not Allowed' });
    }
    return reply.code(404).send({ detail: 'Not Found' });
  });
}
