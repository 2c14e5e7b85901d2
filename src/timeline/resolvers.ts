import type { Resolvers } from '../generated/graphql.js';
import type { ChatEvent } from '../events/bus.js';
import type { GraphQLContext } from '../graphql/context.js';
import { deliveredPerAudience } from '../graphql/shared-delivery.js';
import { sameOwner } from '../graphql/viewer-dependence.js';
import { messageOf } from '../messages/resolvers.js';
import { renewLoaders } from '../request/scope.js';
import { followChat } from './follow.js';
import { cursorOf } from './position.js';

/** The GraphQL type of each kind of timeline event. */
const TYPE_OF = { message: 'MessageAdded' } as const satisfies Record<ChatEvent['type'], string>;

export const timelineResolvers: Resolvers = {
  Subscription: {
    chatEvents: deliveredPerAudience({
      subscribe: (
        _parent: unknown,
        args: { chatId: string; after?: string | null },
        ctx: GraphQLContext,
      ) => followChat(ctx, args.chatId, args.after),
      resolve: (event: ChatEvent, _args: unknown, ctx: GraphQLContext) => {
        renewLoaders(ctx);
        return event;
      },
    }),
  },
  ChatEvent: {
    __resolveType: (event) => TYPE_OF[event.type],
  },
  MessageAdded: {
    cursor: (event) => cursorOf(event.message),
    chatId: (event) => event.chatId,
    seq: (event) => event.seq,
    message: sameOwner((event: ChatEvent) => messageOf(event)),
  },
};
