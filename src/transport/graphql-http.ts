/** GraphQL over HTTP (and SSE) at the GraphQL path, handed to Yoga. */
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TransportContext } from '../graphql/context.js';
import { GRAPHQL_PATH, type GraphQLServer } from '../graphql/yoga.js';

/** The largest GraphQL request body read (queries are capped at 2,000 tokens, messages at 4,000 characters). */
const MAX_GRAPHQL_BODY_BYTES = 1024 * 1024;

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

/** A request refused before Yoga sees it, as a GraphQL error. */
function refuse(reply: FastifyReply, status: number, message: string) {
  const code = status === 413 ? 'REQUEST_ENTITY_TOO_LARGE' : 'BAD_REQUEST';
  return reply.code(status).send({ errors: [{ message, extensions: { code } }] });
}

/**
 * The fetch-API request Yoga executes, over the body already read. Only the path and query of
 * the URL matter to Yoga. (No abort signal: a stream ends when its response is cancelled.)
 */
function toFetchRequest(yoga: GraphQLServer, request: FastifyRequest) {
  const body = request.body as Buffer<ArrayBuffer> | undefined;
  return new yoga.fetchAPI.Request(`http://localhost${request.url}`, {
    method: request.method,
    headers: request.headers as Record<string, string>,
    body: body?.length ? body : undefined,
  });
}

/**
 * Yoga's `handleRequest` as it is at run time: it merges the context parts it is given into one
 * new object. Given a single part, it would make that part the prototype of a new object, a new
 * prototype per request, which V8 handles slowly (a quarter of a `{ __typename }` request's CPU).
 */
type HandleRequest = (
  request: Request,
  ...context: [TransportContext, { waitUntil: GraphQLServer['waitUntil'] }]
) => Response | Promise<Response>;

export function graphqlOverHttp(yoga: GraphQLServer): FastifyPluginAsync {
  return async (graphql) => {
    const handleRequest = yoga.handleRequest as HandleRequest;
    // The adapter's own waitUntil, so that work deferred by a request is awaited at dispose.
    const adapterContext = { waitUntil: yoga.waitUntil };
    // The body is read here, whole and up to the limit; Yoga (its own limit off) validates it
    // and answers with GraphQL-over-HTTP status codes. Yoga's reader would pipe every body
    // through web streams to count its bytes.
    graphql.removeAllContentTypeParsers();
    graphql.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: MAX_GRAPHQL_BODY_BYTES },
      (_request, body, done) => done(null, body),
    );
    graphql.setErrorHandler((error: FastifyError, _request, reply) => {
      const status = error.statusCode ?? 500;
      if (status >= 400 && status < 500) return refuse(reply, status, error.message);
      throw error;
    });
    graphql.route({
      url: GRAPHQL_PATH,
      method: ['GET', 'POST'],
      exposeHeadRoute: false,
      handler: async (request, reply) => {
        const problem = request.method === 'GET' ? badQueryParameter(request.query) : null;
        if (problem) return refuse(reply, 400, problem);
        const response = await handleRequest(
          toFetchRequest(yoga, request),
          {
            clientIp: request.ip,
            requestId: request.id,
            receivedAt: performance.now() - reply.elapsedTime,
          },
          adapterContext,
        );
        reply.code(response.status);
        response.headers.forEach((value, name) => reply.header(name, value));
        // Streams (SSE, multipart) are piped; a single result goes out as one string (asking
        // for `response.body` would wrap it in a stream).
        const type = response.headers.get('content-type') ?? '';
        if (STREAMED.some((prefix) => type.startsWith(prefix))) return reply.send(response.body);
        return reply.send(await response.text());
      },
    });
  };
}
