/** The context of a GraphQL operation: the request scope, plus what its transport hands over. */
import type { YogaInitialContext } from 'graphql-yoga';
import type { Authenticated, RequestScope } from '../request/scope.js';
import type { SharedBatches } from '../request/loaders.js';
import type { ChatFeedEvent } from '../events/bus.js';

/** Where a GraphQL operation's token comes from, by transport. */
export interface TransportContext {
  /** graphql-ws: the `connection_init` payload, or the `extensions.headers` of a subscribe message (GraphiQL). */
  authorization?: string | null;
  clientIp: string;
  /** The HTTP request's id, or the graphql-ws connection's (src/observability/tracing.ts). */
  requestId?: string;
  /** `performance.now()` when the request, or the graphql-ws operation, arrived. */
  receivedAt?: number;
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
   * graphql-ws: writes a `next` message with this serialized payload (of `event`) straight to the
   * operation's socket (see ./shared-delivery.ts).
   */
  sendNext?: (payloadJson: string, event: ChatFeedEvent) => void;
}

/** What resolvers receive. */
export type GraphQLContext = RequestScope & TransportContext & Partial<YogaInitialContext>;
