/**
 * The REST API of the Python backend, served by the same domain layer as GraphQL. Paths, query
 * parameters, JSON shapes, status codes and `detail` texts are the old server's (see
 * legacy-api.md); where the old server had a hole, the domain rule closes it.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { App } from '../app.js';
import { createScope, requireViewer, type RequestScope } from '../request/scope.js';
import type { PublicUser } from '../db/documents.js';
import { AppError, forbidden } from '../errors.js';
import { login, logout, register } from '../auth/service.js';
import { isDirect } from '../chats/repository.js';
import { createChat, listChats, MAX_CHATS_PAGE, otherParticipantId } from '../chats/service.js';
import { authorizeLegacyUser, legacyToken } from './auth.js';
import type { RequestOrigin } from '../observability/tracing.js';
import { listRecentMessages, sendMessage } from '../messages/service.js';
import { MAX_SEARCH_RESULTS, searchUsers } from '../users/service.js';
import { LANDING_PAGE, wantsPage } from '../transport/landing.js';
import { restErrorHandler } from './errors.js';
import {
  chatJson,
  chatListItemJson,
  historyMessageJson,
  userDataJson,
  userSummaryJson,
} from './json.js';
import * as schemas from './schemas.js';
import { compileRequestSchema } from './validators.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Built before the handler on routes that declare `config.scope`; absent on the others. */
    scope: RequestScope;
  }
  interface FastifyContextConfig {
    /**
     * What a handler needs of its caller. `viewer`: the user behind the bearer token (a database
     * lookup; `requireViewer` answers 401 without one). `anonymous`: rate limits and the client's
     * address only, the token is not looked at. Without it the route gets no scope: the status
     * routes and the docs read nothing of the caller, and /api/send authorizes the user in its
     * path by itself.
     */
    scope?: 'viewer' | 'anonymous';
  }
}

const bearer = [{ bearer: [] }];

/** Where a REST request comes from, for the log and the metrics of what it sends. */
const originOf = (request: FastifyRequest, reply: FastifyReply): RequestOrigin => ({
  requestId: request.id,
  transport: 'legacy-rest',
  receivedAt: performance.now() - reply.elapsedTime,
});
const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((code) => [code, schemas.detailError]));

async function loadUsers(scope: RequestScope, ids: string[]): Promise<Map<string, PublicUser>> {
  const users = await scope.loaders.users.loadMany(ids);
  return new Map(
    users.flatMap((user) => (user && !(user instanceof Error) ? [[user.user_id, user]] : [])),
  );
}

function authRoutes(api: FastifyInstance) {
  api.post<{ Body: Record<string, string> }>(
    '/api/auth/register',
    {
      config: { scope: 'anonymous' },
      schema: {
        tags: ['auth'],
        summary: 'Register a user',
        body: schemas.registerBody,
        response: { 200: schemas.tokenResponse, ...errors(400) },
      },
    },
    async (request) => {
      const body = request.body;
      const result = await register(request.scope, {
        firstName: body.first_name!,
        lastName: body.last_name!,
        mobileNo: body.mobile_no!,
        email: body.email!,
        username: body.username!,
        password: body.password!,
        securityPhrase: body.security_phrase!,
      });
      return {
        access_token: result.accessToken,
        token_type: 'bearer',
        user_data: userDataJson(result.user),
      };
    },
  );

  api.post<{ Body: { username: string; password: string } }>(
    '/api/auth/login',
    {
      config: { scope: 'anonymous' },
      schema: {
        tags: ['auth'],
        summary: 'Log in; marks the user online',
        body: schemas.loginBody,
        response: { 200: schemas.tokenResponse, ...errors(401) },
      },
    },
    async (request) => {
      const result = await login(request.scope, request.body);
      return {
        access_token: result.accessToken,
        token_type: 'bearer',
        user_data: userDataJson(result.user),
      };
    },
  );

  api.post(
    '/api/auth/logout',
    {
      config: { scope: 'viewer' },
      schema: {
        tags: ['auth'],
        summary: "Log out: revokes the caller's tokens and marks them offline",
        security: bearer,
        response: { 200: schemas.apiStatus, ...errors(401) },
      },
    },
    async (request) => {
      await logout(request.scope);
      return { message: 'Successfully logged out' };
    },
  );
}

function userRoutes(api: FastifyInstance) {
  api.get<{ Querystring: { query: string } }>(
    '/api/users/search',
    {
      config: { scope: 'viewer' },
      schema: {
        tags: ['users'],
        summary: `Search users by username, first or last name (max ${MAX_SEARCH_RESULTS})`,
        security: bearer,
        querystring: schemas.searchQuery,
        response: { 200: schemas.userList, ...errors(401) },
      },
    },
    async (request) => {
      const users = await searchUsers(request.scope, request.query.query);
      return users.map(userSummaryJson);
    },
  );
}

function chatRoutes(api: FastifyInstance) {
  const listSchema = {
    tags: ['chats'],
    summary: "The caller's chats, newest activity first (max 100)",
    security: bearer,
    response: { 200: schemas.chatListResponse, ...errors(401) },
  };
  const listHandler = async (request: FastifyRequest) => {
    const viewer = requireViewer(request.scope);
    // The old clients know one-to-one chats only.
    const page = await listChats(request.scope, { first: MAX_CHATS_PAGE }, isDirect);
    const chats = page.edges.map((edge) => edge.node);
    const others = await loadUsers(
      request.scope,
      chats.flatMap((chat) => otherParticipantId(chat, viewer.user_id) ?? []),
    );
    return chats.flatMap((chat) => {
      const other = others.get(otherParticipantId(chat, viewer.user_id) ?? '');
      return other ? [chatListItemJson(chat, other)] : [];
    });
  };
  // The old route was /api/chats/ and the React client calls /api/chats: both answer directly.
  const config = { scope: 'viewer' } as const;
  api.get('/api/chats/', { config, schema: listSchema }, listHandler);
  api.get('/api/chats', { config, schema: { ...listSchema, hide: true } }, listHandler);

  api.post<{ Querystring: { other_user_id: string } }>(
    '/api/chats/create',
    {
      config: { scope: 'viewer' },
      schema: {
        tags: ['chats'],
        summary: 'Open the chat with another user, or return the existing one',
        security: bearer,
        querystring: schemas.createChatQuery,
        response: { 200: schemas.chatResponse, ...errors(400, 401, 404) },
      },
    },
    async (request) => chatJson(await createChat(request.scope, request.query.other_user_id)),
  );

  api.get<{ Params: { chat_id: string }; Querystring: { limit: number; before?: string } }>(
    '/api/chats/:chat_id/messages',
    {
      config: { scope: 'viewer' },
      schema: {
        tags: ['chats'],
        summary: 'The newest messages of a chat (default 1000), oldest first',
        security: bearer,
        params: schemas.chatParams,
        querystring: schemas.historyQuery,
        response: { 200: schemas.historyResponse, ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const viewer = requireViewer(request.scope);
      const messages = await listRecentMessages(request.scope, request.params.chat_id, {
        limit: request.query.limit,
        beforeMessageId: request.query.before,
      }).catch((error: unknown) => {
        // The React client goes back to its dashboard on 403, whatever the reason.
        if (
          error instanceof AppError &&
          (error.code === 'NOT_FOUND' || error.code === 'FORBIDDEN')
        ) {
          throw forbidden('Access denied');
        }
        throw error;
      });
      const senders = await loadUsers(request.scope, [
        ...new Set(messages.map((m) => m.sender_id)),
      ]);
      return messages.flatMap((message) => {
        const sender = senders.get(message.sender_id);
        return sender ? [historyMessageJson(message, sender, viewer.user_id)] : [];
      });
    },
  );
}

function sendRoute(api: FastifyInstance, app: App) {
  api.post<{ Params: { user_id: string }; Body: { chat_id: string; content: string } }>(
    '/api/send/:user_id',
    {
      schema: {
        tags: ['realtime'],
        summary: 'Send a message as {user_id}; delivered to every realtime listener',
        security: bearer,
        params: schemas.userParams,
        body: schemas.sendBody,
        response: { 200: schemas.sendResponse, ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const scope = await authorizeLegacyUser(
        app,
        request.params.user_id,
        legacyToken(request.raw),
        request.ip,
        originOf(request, reply),
      );
      const message = await sendMessage(
        scope,
        { chatId: request.body.chat_id, content: request.body.content },
        { directOnly: true },
      );
      return {
        status: 'success',
        message_id: message.message_id,
        timestamp: message.timestamp.toISOString(),
      };
    },
  );
}

export function restRoutes(app: App): FastifyPluginAsync {
  return async (api) => {
    api.setErrorHandler(restErrorHandler);
    api.setValidatorCompiler(compileRequestSchema);
    // Routes without a body schema never read the body, as in FastAPI: curl scripts send them
    // `Content-Type: application/json` and nothing else. Routes with one keep Fastify's 422 for
    // an empty body (FST_ERR_CTP_EMPTY_JSON_BODY, "JSON decode error").
    const parseJson = api.getDefaultJsonParser('error', 'error');
    api.addContentTypeParser<string>(
      'application/json',
      { parseAs: 'string' },
      (request, body, done) => {
        if (body === '' && !request.routeOptions.schema?.body) return done(null, undefined);
        return parseJson(request, body, done);
      },
    );
    api.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_request, body, done) => done(null, body === '' ? undefined : body),
    );
    await api.register(swagger, {
      openapi: {
        info: {
          title: 'ZeroHour Chat API',
          version: '1.0.0',
          description:
            'The REST API of the Python backend, kept for its clients. New clients: GraphQL at /graphql.',
        },
        components: {
          securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        },
      },
    });
    await api.register(swaggerUi, { routePrefix: '/docs' });
    api.get('/openapi.json', { schema: { hide: true } }, async () => api.swagger());

    api.decorateRequest('scope');
    // Only the routes that declare `config.scope` get a hook that builds it; it runs after
    // validation, so a 422 still comes before a 401.
    api.addHook('onRoute', (route) => {
      const needs = route.config?.scope;
      if (!needs) return;
      const buildScope = async (request: FastifyRequest, reply: FastifyReply) => {
        const authorization = needs === 'viewer' ? request.headers.authorization : null;
        request.scope = await createScope(app, authorization, request.ip, {
          origin: originOf(request, reply),
        });
      };
      route.preHandler = [buildScope, ...[route.preHandler ?? []].flat()];
    });

    const running = { schema: { tags: ['status'], response: { 200: schemas.apiStatus } } };
    const status = async () => ({ message: 'ZeroHour Chat API is running!' });
    api.get('/api/', running, status);
    // The old server's `/` answered JSON; a person in a browser gets the way to the APIs.
    api.get('/', { schema: { ...running.schema, hide: true } }, async (request, reply) => {
      reply.header('vary', 'accept');
      if (!wantsPage(request.headers.accept)) return status();
      return reply.type('text/html; charset=utf-8').send(LANDING_PAGE);
    });

    authRoutes(api);
    userRoutes(api);
    chatRoutes(api);
    sendRoute(api, app);
  };
}
