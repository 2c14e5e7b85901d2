/** GraphQL over HTTP (and SSE) at the GraphQL path, handed to Yoga. */
import type { FastifyPluginAsync } from 'fastify';
import { GRAPHQL_PATH, type GraphQLServer } from '../yoga.js';

const STREAMED = ['text/event-stream', 'multipart/'];
const GRAPHQL_PARAMETERS = ['query', 'operationName', 'variables', 'extensions'];

/**
 * What is wrong with a GraphQL GET's parameters, if anything. Yoga answers a repeated parameter
 * or malformed `variables` JSON with a 500; these are the client's mistakes, so a 400.
 */
function badQueryParameter(query: unknown): string | null {
  const parameters = (query ?? {}) as Record<string, unknown>;
  for (const name of GRAPHQL_PARAMETERS) {
    const value = parameters[name];
    if (Array.isArray(value)) return `The ${name} parameter must be given once`;
    if ((name === 'variables' || name === 'extensions') && typeof value === 'string' && value) {
      try {
        JSON.parse(value);
      } catch {
        return `The ${name} parameter must be JSON`;
      }
    }
  }
  return null;
}

export function graphqlOverHttp(yoga: GraphQLServer): FastifyPluginAsync {
  return async (graphql) => {
    // Yoga reads and validates the body itself (GraphQL-over-HTTP status codes and errors).
    graphql.removeAllContentTypeParsers();
    graphql.addContentTypeParser('*', (_request, _payload, done) => done(null));
    graphql.route({
      url: GRAPHQL_PATH,
      method: ['GET', 'POST'],
      exposeHeadRoute: false,
      handler: async (request, reply) => {
        const problem = request.method === 'GET' ? badQueryParameter(request.query) : null;
        if (problem) {
          return reply
            .code(400)
            .send({ errors: [{ message: problem, extensions: { code: 'BAD_REQUEST' } }] });
        }
        const response = await yoga.handleNodeRequestAndResponse(request, reply, {
          clientIp: request.ip,
        });
        reply.code(response.status);
        response.headers.forEach((value, name) => reply.header(name, value));
        // Streams (SSE, multipart) are piped; a single result goes out as one buffer, which
        // spares the web-stream-to-node pipeline on every request.
        if (!response.body) return reply.send();
        const type = response.headers.get('content-type') ?? '';
        if (STREAMED.some((prefix) => type.startsWith(prefix))) return reply.send(response.body);
        return reply.send(Buffer.from(await response.arrayBuffer()));
      },
    });
  };
}
