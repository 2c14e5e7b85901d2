/** The GraphQL engine: schema, context, error masking and the playground, composed in one place. */
import { GraphQLError } from 'graphql';
import { createYoga, maskError, type Plugin, type YogaInitialContext } from 'graphql-yoga';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { App } from './app.js';
import {
  createScope,
  type Authenticated,
  type GraphQLContext,
  type RequestScope,
} from './context.js';
import { expectedError } from './expected-errors.js';
import type { SharedBatches } from './loaders.js';
import { shareMessageAddedResults } from './messages/shared-delivery.js';
import { schema } from './schema.js';
import { RateLimitedError } from './security/rate-limits.js';
import { graphqlLimits } from './security/graphql-limits.js';

export const GRAPHQL_PATH = '/graphql';

/** Where a GraphQL operation's token comes from, by transport. */
export interface TransportContext {
  /** graphql-ws: the `connection_init` payload, or the `extensions.headers` of a subscribe message (GraphiQL). */
  authorization?: string | null;
  clientIp: string;
  /** graphql-ws: who `connection_init` authenticated, reused while the token is the same. */
  authenticated?: Authenticated;
  /** graphql-ws: users and chats are read in batches shared by every socket (reconnect waves). */
  sharedBatches?: SharedBatches;
  /**
   * graphql-ws: the socket itself holds its users' presence and closes when a token expires or
   * is revoked (and at shutdown), so its operations need no tracking of their own.
   */
  connectionTracked?: boolean;
  /**
   * graphql-ws: writes a `next` message with this serialized payload straight to the operation's
   * socket (see src/messages/shared-delivery.ts).
   */
  sendNext?: (payloadJson: string) => void;
}

function toClientError(error: unknown, message: string): Error {
  const original = expectedError(error instanceof GraphQLError ? error.originalError : error);
  if (original) {
    return new GraphQLError(original.message, {
      nodes: error instanceof GraphQLError ? error.nodes : undefined,
      path: error instanceof GraphQLError ? error.path : undefined,
      extensions: {
        code: original.code,
        ...(original.field ? { field: original.field } : {}),
        ...(original instanceof RateLimitedError ? { retryAfter: original.retryAfterSeconds } : {}),
      },
    });
  }
  // Errors graphql-js raises about the request itself (e.g. a missing variable) pass unmasked.
  const fromGraphQL =
    error instanceof GraphQLError &&
    (!error.originalError || error.originalError instanceof GraphQLError);
  if (fromGraphQL && !error.extensions.code) {
    return new GraphQLError(error.message, {
      nodes: error.nodes,
      path: error.path,
      extensions: { ...error.extensions, code: 'BAD_USER_INPUT' },
    });
  }
  // Never a stack trace or a driver message, whatever the environment.
  return maskError(error, message, false);
}

/** What a client may see of an error (logged when unexpected), for every GraphQL result. */
export type ErrorMasker = (error: unknown, message: string) => Error;

export function createGraphQLServer(app: App, plugins: Plugin<RequestScope>[] = []) {
  const maskClientError: ErrorMasker = (error, message) => {
    const clientError = toClientError(error, message);
    if (
      !(clientError instanceof GraphQLError) ||
      clientError.extensions.code === 'INTERNAL_SERVER_ERROR'
    ) {
      app.logger.error({ err: error }, 'unexpected GraphQL error');
    }
    return clientError;
  };
  const yoga = createYoga<TransportContext & Partial<YogaInitialContext>, RequestScope>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    // CORS is answered by the HTTP layer, for GraphQL and REST alike.
    cors: false,
    // The HTTP layer reads GraphQL bodies whole, up to its own limit (src/transport/graphql-http.ts).
    maxRequestBodySize: false,
    landingPage: false,
    graphiql: { subscriptionsProtocol: 'WS', title: 'ZeroHour Chat GraphQL' },
    renderGraphiQL,
    plugins: [...graphqlLimits(app.config), ...plugins, shareMessageAddedResults(maskClientError)],
    maskedErrors: { maskError: maskClientError },
    logging: {
      debug: (...args) => app.logger.debug(args),
      info: (...args) => app.logger.info(args),
      warn: (...args) => app.logger.warn(args),
      error: (...args) => app.logger.error(args),
    },
    context: ({ request, authorization, clientIp, authenticated, sharedBatches }) =>
      createScope(
        app,
        authorization ?? request?.headers.get('authorization'),
        clientIp,
        authenticated,
        sharedBatches,
      ),
  });
  return yoga;
}

export type GraphQLServer = ReturnType<typeof createGraphQLServer>;
export type { GraphQLContext };
