import type { GraphQLResolveInfo } from 'graphql';
import type { Resolvers } from '../generated/graphql.js';
import type { UserDoc } from '../db/documents.js';
import type { ChatEvent, ChatFeedEvent } from '../events/bus.js';
import type { GraphQLContext } from '../graphql/context.js';
import { typeConditionsIn } from '../graphql/selection.js';
import { deliveredPerAudience } from '../graphql/shared-delivery.js';
import { sameOwner } from '../graphql/viewer-dependence.js';
import { messageOf } from '../messages/resolvers.js';
import { renewLoaders } from '../request/scope.js';
import { followChat } from './follow.js';
import { cursorOf, encodePosition } from './position.js';

/** The GraphQL type of each kind of event of a chat. */
const TYPE_OF = {
  message: 'MessageAdded',
  members: 'MembersChanged',
  renamed: 'ChatRenamed',
  read: 'ReadStateChanged',
  typing: 'TypingChanged',
  edited: 'MessageEdited',
  deleted: 'MessageDeleted',
  reactions: 'ReactionsChanged',
} as const satisfies Record<ChatFeedEvent['type'], string>;

/** The fields every timeline event has. */
const common = {
  // A message change is numbered apart from the message it changes.
  cursor: (event: ChatEvent) =>
    event.seq === null ? cursorOf(event.message) : encodePosition({ seq: event.seq }),
  chatId: (event: ChatEvent) => event.chatId,
  seq: (event: ChatEvent) => event.seq,
  message: sameOwner((event: ChatEvent) => messageOf(event)),
  actor: sameOwner(async (event: ChatEvent, _args: unknown, ctx: GraphQLContext) => {
    const actor = event.sender ?? (await ctx.loaders.users.load(event.message.sender_id));
    if (!actor) throw new Error(`the actor of event ${event.chatId}:${event.seq} is missing`);
    return actor;
  }),
};

/** Fields of a message change: who made it (not the message's owner, unless its sender). */
const messageChange = {
  cursor: common.cursor,
  chatId: common.chatId,
  seq: common.seq,
  message: common.message,
  actor: async (event: ChatEvent, _args: unknown, ctx: GraphQLContext) => {
    const actorId = event.messageChange!.actor_id;
    const actor = await ctx.loaders.users.load(actorId);
    if (!actor) throw new Error(`the actor of event ${event.chatId}:${event.seq} is missing`);
    return actor;
  },
};

export const timelineResolvers: Resolvers = {
  Subscription: {
    chatEvents: deliveredPerAudience({
      subscribe: (
        _parent: unknown,
        args: { chatId: string; after?: string | null },
        ctx: GraphQLContext,
        info: GraphQLResolveInfo,
      ) => {
        // Live events go to the subscriptions that select them: others never see their shape.
        const selected = typeConditionsIn(info);
        return followChat(ctx, args.chatId, args.after, {
          read: selected.has('ReadStateChanged'),
          typing: selected.has('TypingChanged'),
        });
      },
      resolve: (event: ChatFeedEvent, _args: unknown, ctx: GraphQLContext) => {
        renewLoaders(ctx);
        return event;
      },
    }),
  },
  ChatEvent: {
    __resolveType: (event) => TYPE_OF[event.type],
  },
  MessageAdded: {
    cursor: common.cursor,
    chatId: common.chatId,
    seq: common.seq,
    message: common.message,
  },
  MembersChanged: {
    ...common,
    change: (event) => event.change!.change!,
    role: (event) => event.change?.role ?? null,
    users: async (event, _args, ctx) => {
      const users = await ctx.loaders.users.loadMany(event.change!.user_ids);
      return users.filter((user): user is UserDoc => user !== null && !(user instanceof Error));
    },
  },
  ChatRenamed: {
    ...common,
    title: (event) => event.change!.state.title,
  },
  MessageEdited: {
    cursor: messageChange.cursor,
    chatId: messageChange.chatId,
    seq: messageChange.seq,
    message: messageChange.message,
  },
  MessageDeleted: messageChange,
  ReactionsChanged: messageChange,
};
