import type { Resolvers } from '../generated/graphql.js';
import type { GraphQLContext } from '../graphql/context.js';
import { login, logout, recoverAccount, register, type AuthResult } from './service.js';

/** The rest of the operation runs as the user who just signed in (so they see their own email). */
function signedIn(ctx: GraphQLContext, result: AuthResult): AuthResult {
  ctx.viewer = result.user;
  return result;
}

export const authResolvers: Resolvers = {
  Mutation: {
    register: async (_parent, args, ctx) => signedIn(ctx, await register(ctx, args.input)),
    login: async (_parent, args, ctx) => signedIn(ctx, await login(ctx, args)),
    logout: async (_parent, _args, ctx) => {
      await logout(ctx);
      return true;
    },
    recoverAccount: async (_parent, args, ctx) => signedIn(ctx, await recoverAccount(ctx, args)),
  },
  AuthPayload: {
    tokenType: () => 'bearer',
  },
};
