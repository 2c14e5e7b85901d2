import type { Resolvers } from '../generated/graphql.js';
import type { ReactionSnapshot, UserDoc } from '../db/documents.js';
import type { GraphQLContext } from '../graphql/context.js';
import { perViewer } from '../graphql/viewer-dependence.js';
import { checkPageSize } from '../pagination.js';
import { requireViewer } from '../request/scope.js';
import { addReaction, removeReaction } from './service.js';

/** The most users a ReactionGroup lists. */
const MAX_USERS_SHOWN = 100;

export const reactionsResolvers: Resolvers = {
  Mutation: {
    addReaction: (_parent, args, ctx) => addReaction(ctx, args),
    removeReaction: (_parent, args, ctx) => removeReaction(ctx, args),
  },
  ReactionGroup: {
    emoji: (group) => group.emoji,
    count: (group) => group.user_ids.length,
    reactedByMe: perViewer((group: ReactionSnapshot, _args: unknown, ctx: GraphQLContext) =>
      group.user_ids.includes(requireViewer(ctx).user_id),
    ),
    users: async (group, args, ctx) => {
      const first = checkPageSize(args.first, 'first', MAX_USERS_SHOWN) ?? 10;
      const users = await ctx.loaders.users.loadMany(group.user_ids.slice(0, first));
      return users.filter((user): user is UserDoc => user !== null && !(user instanceof Error));
    },
  },
};
