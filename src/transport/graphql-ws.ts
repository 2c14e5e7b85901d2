/**
 * GraphQL over WebSocket (graphql-ws protocol) on the GraphQL path, executed by Yoga's envelop
 * so that the same schema, context, plugins and error masking apply as over HTTP.
 *
 * The token comes from the `connection_init` payload (`authorization`, Apollo and graphql-ws
 * clients) or, per operation, from a subscribe message's `extensions.headers` (GraphiQL). A bad
 * token in `connection_init` closes the socket with 4403; a socket without one may still open.
 */
import type { ExecutionArgs } from 'graphql';
import { GraphQLError, getOperationAST } from 'graphql';
import { isAsyncIterable } from 'graphql-yoga';
import type { WebSocket, WebSocketServer } from 'ws';
import type { App } from '../app.js';
import { authenticate, type Authenticated } from '../request/scope.js';
import { AppError } from '../errors.js';
import { SharedBatches } from '../request/loaders.js';
import { bearerToken } from '../auth/tokens.js';
import { clientAddress } from '../security/client-address.js';
import type { GraphQLServer } from '../graphql/yoga.js';
import type { ChatFeedEvent } from '../events/bus.js';
import type { Telemetry } from '../observability/telemetry.js';
import { requestIdOfUpgrade } from '../observability/tracing.js';
import { serveGraphQLWs } from './graphql-ws-sockets.js';
import { CLOSE, cutOffIfBehind } from './socket-policy.js';

/** Reads a header from a plain object, whatever the case of its name. */
function headerOf(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name && typeof value === 'string') return value;
  }
  return undefined;
}

const MAX_OPERATIONS_PER_SOCKET = 100;

interface EnvelopedArgs extends ExecutionArgs {
  rootValue: {
    execute: (args: ExecutionArgs) => unknown;
    subscribe: (args: ExecutionArgs) => unknown;
  };
}

/** Writes `next` messages of one operation whose payload is already serialized. */
function nextSender(socket: WebSocket, id: string, telemetry: Telemetry) {
  // Joined, not concatenated: one flat string for the operation's life, not a tree of parts.
  const prefix = ['{"id":', JSON.stringify(id), ',"type":"next","payload":'].join('');
  return (payloadJson: string, event: ChatFeedEvent) => {
    if (socket.readyState !== socket.OPEN) return;
    if (cutOffIfBehind(socket)) return telemetry.slowConsumer('graphql-ws');
    socket.send(prefix + payloadJson + '}');
    telemetry.delivered('graphql-ws', event);
  };
}

/** What the operations of one socket share (graphql-ws `ctx.extra`). */
interface SocketState {
  socket: WebSocket;
  clientIp: string;
  /** The upgrade's request id (src/observability/tracing.ts). */
  requestId: string | undefined;
  /** Who `connection_init` authenticated: its operations need no second lookup. */
  identity?: Authenticated;
  /** The presence the socket holds, one per user it authenticated as (usually one). */
  presence?: { userId: string; release: () => void }[];
}

export function attachGraphQLWebSocket(app: App, yoga: GraphQLServer, wsServer: WebSocketServer) {
  /** Sockets that connect together (a reconnect wave) read their users and chats together. */
  const sharedBatches = new SharedBatches(app.db, app.batchLoads);
  /** The socket is a live connection of the user until it closes, their token expires or is revoked. */
  function holdPresence(state: SocketState, userId: string, expiresAt: number | null) {
    const held = (state.presence ??= []);
    if (held.some((entry) => entry.userId === userId)) return;
    const end = (reason: string) => state.socket.close(CLOSE.forbidden, reason);
    held.push({ userId, release: app.presence.connect(userId, { expiresAt, end }) });
  }

  return serveGraphQLWs<SocketState>(
    wsServer,
    {
      execute: (args) => (args as EnvelopedArgs).rootValue.execute(args) as never,
      subscribe: (args) => (args as EnvelopedArgs).rootValue.subscribe(args) as never,
      onConnect: async (ctx) => {
        const authorization = headerOf(ctx.connectionParams, 'authorization');
        if (!authorization) return true;
        const token = bearerToken(authorization);
        if (!token) return false;
        try {
          const { user, expiresAt } = await authenticate(app, sharedBatches, token);
          ctx.extra.identity = { authorization, user, expiresAt };
          holdPresence(ctx.extra, user.user_id, expiresAt);
          return true;
        } catch (error) {
          if (error instanceof AppError) return false;
          throw error;
        }
      },
      onSubscribe: async (ctx, id, payload) => {
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
          clientIp: ctx.extra.clientIp,
          authenticated: ctx.extra.identity,
          sharedBatches,
          connectionTracked: true,
          sendNext: nextSender(ctx.extra.socket, id, app.telemetry),
          requestId: ctx.extra.requestId,
          receivedAt: performance.now(),
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
        if (!getOperationAST(document, payload.operationName)) {
          return [
            new GraphQLError('Unable to identify the operation to run', {
              extensions: { code: 'OPERATION_RESOLUTION_FAILURE' },
            }),
          ];
        }
        const contextValue = await contextFactory();
        if (contextValue.viewer) {
          holdPresence(ctx.extra, contextValue.viewer.user_id, contextValue.tokenExpiresAt);
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
      onOperation: (_ctx, _id, payload, _args, result) => {
        if (isAsyncIterable(result)) app.telemetry.wsSubscriptionStarted(payload);
      },
      onComplete: (_ctx, _id, payload) => app.telemetry.wsOperationEnded(payload),
      onNext: (ctx) => {
        const { socket } = ctx.extra;
        if (socket.readyState === socket.OPEN && cutOffIfBehind(socket)) {
          app.telemetry.slowConsumer('graphql-ws');
        }
      },
      onClose: (ctx) => {
        const held = ctx.extra.presence;
        ctx.extra.presence = undefined;
        held?.forEach((entry) => entry.release());
      },
    },
    (socket, request) => ({
      socket,
      clientIp: clientAddress(request, app.config.trustProxy),
      requestId: requestIdOfUpgrade(request),
    }),
    { logger: app.logger, pingMs: app.config.wsPingSeconds * 1000 },
  );
}
