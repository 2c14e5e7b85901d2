/** The GraphQL engine: schema, context, error masking and the playground, composed in one place. */
import { createYoga, type Plugin, type YogaInitialContext } from 'graphql-yoga';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { App } from '../app.js';
import { createScope, type RequestScope } from '../request/scope.js';
import { graphqlLimits } from '../security/graphql-limits.js';
import type { TransportContext } from './context.js';
import { createErrorMasker } from './errors.js';
import { schema } from './schema.js';
import { shareFeedResults } from './shared-delivery.js';
import { WELCOME_DOCUMENT } from './welcome.js';

export const GRAPHQL_PATH = '/graphql';

export function createGraphQLServer(app: App, plugins: Plugin<RequestScope>[] = []) {
  const maskClientError = createErrorMasker(app.logger);
  const yoga = createYoga<TransportContext & Partial<YogaInitialContext>, RequestScope>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    // CORS is answered by the HTTP layer, for GraphQL and REST alike.
    cors: false,
    // The HTTP layer reads GraphQL bodies whole, up to its own limit (src/transport/graphql-http.ts).
    maxRequestBodySize: false,
    landingPage: false,
    graphiql: {
      subscriptionsProtocol: 'WS',
      title: 'ZeroHour Chat GraphQL',
      defaultQuery: WELCOME_DOCUMENT,
    },
    renderGraphiQL,
    plugins: [...graphqlLimits(app.config), ...plugins, shareFeedResults(maskClientError)],
    maskedErrors: { maskError: maskClientError },
    logging: {
      debug: (...args) => app.logger.debug(args),
      info: (...args) => app.logger.info(args),
      warn: (...args) => app.logger.warn(args),
      error: (...args) => app.logger.error(args),
    },
    context: ({
      request,
      authorization,
      clientIp,
      authenticated,
      sharedBatches,
      requestId,
      receivedAt,
    }) =>
      createScope(app, authorization ?? request?.headers.get('authorization'), clientIp, {
        authenticated,
        sharedBatches,
        origin: requestId
          ? { requestId, transport: 'graphql', receivedAt: receivedAt ?? performance.now() }
          : undefined,
      }),
  });
  return yoga;
}

export type GraphQLServer = ReturnType<typeof createGraphQLServer>;
