import type { Resolvers } from '../generated/graphql.js';
import type { UserModel } from '../db/documents.js';
import type { PresenceEvent } from '../events/bus.js';
import type { GraphQLContext } from '../graphql/context.js';
import { ownerRelative } from '../graphql/viewer-dependence.js';
import { requireViewer } from '../request/scope.js';
import { contactIds } from '../chats/service.js';
import { findUser, searchUsers } from './service.js';

/** Email and phone number are the user's own business. */
async function privateField(user: UserModel, ctx: GraphQLContext, field: 'email' | 'mobile_no') {
  if (ctx.viewer?.user_id !== user.user_id) return null;
  return user[field] ?? (await ctx.loaders.users.load(user.user_id))?.[field] ?? null;
}

export const usersResolvers: Resolvers = {
  Query: {
    me: (_parent, _args, ctx) => requireViewer(ctx),
    user: (_parent, args, ctx) => findUser(ctx, args.id),
    searchUsers: (_parent, args, ctx) => searchUsers(ctx, args.query, args.first),
  },
  Subscription: {
    presenceChanged: {
      subscribe: async (_parent, args, ctx) => {
        requireViewer(ctx);
        const watched = args.userIds ? new Set(args.userIds) : await contactIds(ctx);
        return ctx.app.bus.presenceChanges((event) => watched.has(event.user.user_id));
      },
      resolve: (event: PresenceEvent) => event.user,
    },
  },
  User: {
    id: (user) => user.user_id,
    firstName: (user) => user.first_name,
    lastName: (user) => user.last_name,
    isOnline: (user) => user.is_online ?? false,
    createdAt: (user) => user.created_at ?? null,
    email: ownerRelative((user: UserModel, _args: unknown, ctx: GraphQLContext) =>
      privateField(user, ctx, 'email'),
    ),
    mobileNo: ownerRelative((user: UserModel, _args: unknown, ctx: GraphQLContext) =>
      privateField(user, ctx, 'mobile_no'),
    ),
  },
};
