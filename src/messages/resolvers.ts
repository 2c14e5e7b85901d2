import type { Resolvers } from '../generated/graphql.js';
import type { MessageModel } from '../db/documents.js';
import type { ChatEvent } from '../events/bus.js';
import type { GraphQLContext } from '../graphql/context.js';
import { deliveredPerAudience } from '../graphql/shared-delivery.js';
import { ownerRelative, perViewer, sameOwner } from '../graphql/viewer-dependence.js';
import { renewLoaders } from '../request/scope.js';
import { followChat } from '../timeline/follow.js';
import { cursorOf } from '../timeline/position.js';
import { sendMessage } from './service.js';

/** The message a timeline event carries, with its sender. */
export const messageOf = (event: ChatEvent): MessageModel =>
  event.sender ? { ...event.message, sender: event.sender } : event.message;

const KIND = { text: 'TEXT', system: 'SYSTEM', image: 'IMAGE', file: 'FILE' } as const;

export const messagesResolvers: Resolvers = {
  Mutation: {
    sendMessage: (_parent, args, ctx) => sendMessage(ctx, args),
  },
  Subscription: {
    messageAdded: deliveredPerAudience({
      subscribe: (
        _parent: unknown,
        args: { chatId: string; after?: string | null },
        ctx: GraphQLContext,
      ) => followChat(ctx, args.chatId, args.after),
      resolve: (event: ChatEvent, _args: unknown, ctx: GraphQLContext): MessageModel => {
        renewLoaders(ctx);
        return messageOf(event);
      },
    }),
  },
  Message: {
    id: (message) => message.message_id,
    kind: (message) => KIND[message.message_type],
    createdAt: (message) => message.timestamp,
    clientMessageId: (message) => message.client_message_id ?? null,
    cursor: (message) => cursorOf(message),
    isOwn: ownerRelative(
      (message: MessageModel, _args: unknown, ctx: GraphQLContext) =>
        ctx.viewer?.user_id === message.sender_id,
    ),
    sender: sameOwner(async (message: MessageModel, _args: unknown, ctx: GraphQLContext) => {
      const sender = message.sender ?? (await ctx.loaders.users.load(message.sender_id));
      if (!sender)
        throw new Error(`sender ${message.sender_id} of message ${message.message_id} is missing`);
      return sender;
    }),
    chat: perViewer(async (message: MessageModel, _args: unknown, ctx: GraphQLContext) => {
      const chat = await ctx.loaders.chats.load(message.chat_id);
      if (!chat)
        throw new Error(`chat ${message.chat_id} of message ${message.message_id} is missing`);
      return chat;
    }),
  },
};
