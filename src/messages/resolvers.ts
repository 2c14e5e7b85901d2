import type { Resolvers } from '../generated/graphql.js';
import type { MessageModel } from '../db/documents.js';
import type { GraphQLContext } from '../graphql/context.js';
import { renewLoaders } from '../request/scope.js';
import { cursorOf, followChat, sendMessage, type MessageAddedPayload } from './service.js';

export const messagesResolvers: Resolvers = {
  Mutation: {
    sendMessage: (_parent, args, ctx) => sendMessage(ctx, args),
  },
  Subscription: {
    messageAdded: {
      subscribe: (_parent, args, ctx) => followChat(ctx, args.chatId, args.after),
      resolve: (event: MessageAddedPayload, _args: unknown, ctx: GraphQLContext): MessageModel => {
        renewLoaders(ctx);
        return event.sender ? { ...event.message, sender: event.sender } : event.message;
      },
    },
  },
  Message: {
    id: (message) => message.message_id,
    createdAt: (message) => message.timestamp,
    clientMessageId: (message) => message.client_message_id ?? null,
    cursor: (message) => cursorOf(message),
    isOwn: (message, _args, ctx) => ctx.viewer?.user_id === message.sender_id,
    sender: async (message, _args, ctx) => {
      const sender = message.sender ?? (await ctx.loaders.users.load(message.sender_id));
      if (!sender)
        throw new Error(`sender ${message.sender_id} of message ${message.message_id} is missing`);
      return sender;
    },
    chat: async (message, _args, ctx) => {
      const chat = await ctx.loaders.chats.load(message.chat_id);
      if (!chat)
        throw new Error(`chat ${message.chat_id} of message ${message.message_id} is missing`);
      return chat;
    },
  },
};
