/**
 * The request scope, built in one place for every transport: who is calling (from the bearer
 * token) and fresh DataLoaders. GraphQL resolvers get it inside their context; the legacy API
 * uses the same scope with the same domain functions.
 */
import type { App } from '../app.js';
import type { UserDoc } from '../db/documents.js';
import { AppError, unauthenticated } from '../errors.js';
import { Loaders, type SharedBatches } from './loaders.js';
import { bearerToken, verifyAccessToken } from '../auth/tokens.js';
import type { RequestOrigin } from '../observability/tracing.js';

export interface RequestScope {
  app: App;
  loaders: Loaders;
  viewer: UserDoc | null;
  /** Why a presented token was refused; reported when an operation needs a user. */
  authError: AppError | null;
  /** Seconds since the epoch when the caller's token expires. */
  tokenExpiresAt: number | null;
  /** The client's address, for per-address rate limits. */
  clientIp: string;
  /** The request (or connection) behind the scope, for the log and the metrics. */
  origin?: RequestOrigin;
}

/** Resolves the user behind a token: valid signature, not expired, user exists, not revoked. */
export async function authenticate(
  app: App,
  loaders: Pick<Loaders, 'usersByUsername'>,
  token: string,
) {
  const { secretKey, previousSecretKey } = app.config;
  const claims = await verifyAccessToken(
    { current: secretKey, previous: previousSecretKey },
    token,
  );
  const user = await loaders.usersByUsername.load(claims.username);
  if (!user) throw unauthenticated('User not found');
  if (claims.tokenVersion !== (user.token_version ?? 0)) throw unauthenticated('Token revoked');
  return { user, expiresAt: claims.expiresAt };
}

/** A caller already authenticated on this connection (graphql-ws `connection_init`). */
export interface Authenticated {
  authorization: string;
  user: UserDoc;
  expiresAt: number;
}

export async function createScope(
  app: App,
  authorization: string | null | undefined,
  clientIp: string,
  options: {
    authenticated?: Authenticated;
    sharedBatches?: SharedBatches;
    origin?: RequestOrigin;
  } = {},
): Promise<RequestScope> {
  const { authenticated, sharedBatches, origin } = options;
  const loaders = new Loaders(app.db, app.batchLoads, sharedBatches);
  const scope: RequestScope = {
    app,
    loaders,
    viewer: null,
    authError: null,
    tokenExpiresAt: null,
    clientIp,
    origin,
  };
  const token = bearerToken(authorization);
  if (authorization && !token) scope.authError = unauthenticated('Invalid credentials');
  if (!token) return scope;
  try {
    // The connection ends when its token expires or is revoked, so its identity stays valid.
    const { user, expiresAt } =
      authenticated && authenticated.authorization === authorization
        ? authenticated
        : await authenticate(app, loaders, token);
    loaders.know(user);
    scope.viewer = user;
    scope.tokenExpiresAt = expiresAt;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    scope.authError = error;
  }
  return scope;
}

/** The caller, or UNAUTHENTICATED (with the reason a token was refused, if one was presented). */
export function requireViewer(scope: RequestScope): UserDoc {
  if (scope.viewer) return scope.viewer;
  throw scope.authError ?? unauthenticated();
}

/** Forgets what the loaders read, before the next subscription event: nothing is cached for the life of a socket. */
export function renewLoaders(scope: RequestScope): void {
  scope.loaders.forget();
}
