/**
 * GraphQL over WebSocket (graphql-ws protocol) on the GraphQL path, executed by Yoga's envelop
 * so that the same schema, context, plugins and error masking apply as over HTTP.
 *
 * The token comes from the `connection_init` payload (`authorization`, Apollo and graphql-ws
 * clients) or, per operation, from a subscribe message's `extensions.headers` (GraphiQL). A bad
 * token in `connection_init` closes the socket with 4403; a socket without one may still open.
 */
import type { ExecutionArgs } from 'graphql';
import { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { App } from '../app.js';
import { authenticate } from '../context.js';
import { AppError } from '../errors.js';
import { createLoaders } from '../loaders.js';
import { bearerToken } from '../auth/tokens.js';
import { clientAddress } from '../security/client-address.js';
import type { GraphQLServer } from '../yoga.js';

/** Reads a header from a plain object, whatever the case of its name. */
function headerOf(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name && typeof value === 'string') return value;
  }
  return undefined;
}

/** A subscriber this far behind is cut off rather than allowed to grow the server's memory. */
const SLOW_CONSUMER_BYTES = 4 * 1024 * 1024;
const MAX_OPERATIONS_PER_SOCKET = 100;

interface EnvelopedArgs extends ExecutionArgs {
  rootValue: {
    execute: (args: ExecutionArgs) => unknown;
    subscribe: (args: ExecutionArgs) => unknown;
  };
}

export function attachGraphQLWebSocket(app: App, yoga: GraphQLServer, wsServer: WebSocketServer) {
  /** The presence each socket holds, one entry per user it authenticated as. */
  const presenceBySocket = new WeakMap<WebSocket, Map<string, () => void>>();

  /** The socket is a live connection of the user until it closes, their token expires or is revoked. */
  function holdPresence(socket: WebSocket, userId: string, expiresAt: number | null) {
    const held = presenceBySocket.get(socket) ?? new Map<string, () => void>();
    presenceBySocket.set(socket, held);
    if (held.has(userId)) return;
    const end = (reason: string) => socket.close(4403, reason);
    held.set(userId, app.presence.connect(userId, { expiresAt, end }));
  }

  return useServer(
    {
      execute: (args) => (args as EnvelopedArgs).rootValue.execute(args) as never,
      subscribe: (args) => (args as EnvelopedArgs).rootValue.subscribe(args) as never,
      onConnect: async (ctx) => {
        const authorization = headerOf(ctx.connectionParams, 'authorization');
        if (!authorization) return true;
        const token = bearerToken(authorization);
        if (!token) return false;
        try {
          const { user, expiresAt } = await authenticate(app, createLoaders(app.db), token);
          holdPresence(ctx.extra.socket, user.user_id, expiresAt);
          return true;
        } catch (error) {
          if (error instanceof AppError) return false;
          throw error;
        }
      },
      onSubscribe: async (ctx, _id, payload) => {
        if (Object.keys(ctx.subscriptions).length >= MAX_OPERATIONS_PER_SOCKET) {
          return [
            new GraphQLError(`At most ${MAX_OPERATIONS_PER_SOCKET} operations per connection`, {
              extensions: { code: 'RATE_LIMITED' },
            }),
          ];
        }
        const authorization =
          headerOf(payload.extensions?.headers, 'authorization') ??
          headerOf(ctx.connectionParams, 'authorization');
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          authorization,
          clientIp: clientAddress(ctx.extra.request, app.config.trustProxy),
        });
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        const contextValue = await contextFactory();
        if (contextValue.viewer) {
          holdPresence(ctx.extra.socket, contextValue.viewer.user_id, contextValue.tokenExpiresAt);
        }
        const args: EnvelopedArgs = {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
        return args;
      },
      onNext: (ctx) => {
        const { socket } = ctx.extra;
        if (socket.bufferedAmount > SLOW_CONSUMER_BYTES) socket.close(1008, 'slow consumer');
      },
      onClose: (ctx) => {
        const held = presenceBySocket.get(ctx.extra.socket);
        presenceBySocket.delete(ctx.extra.socket);
        held?.forEach((release) => release());
      },
    },
    wsServer,
  );
}
