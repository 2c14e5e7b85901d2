import { filter, pipe } from 'graphql-yoga';
import type { Resolvers } from '../generated/graphql.js';
import type { MessageModel } from '../db/documents.js';
import type { MessageEvent } from '../events/bus.js';
import { renewLoaders, requireViewer, type GraphQLContext } from '../context.js';
import { requireMembership } from '../chats/service.js';
import { sendMessage } from './service.js';

export const messagesResolvers: Resolvers = {
  Mutation: {
    sendMessage: (_parent, args, ctx) => sendMessage(ctx, args),
  },
  Subscription: {
    messageAdded: {
      // Membership is checked before the stream starts and again for every event.
      subscribe: async (_parent, args, ctx) => {
        const viewer = requireViewer(ctx);
        const chat = await requireMembership(ctx, args.chatId);
        return pipe(
          ctx.app.bus.chatMessages(chat.chat_id),
          filter((event: MessageEvent) => event.participants.includes(viewer.user_id)),
        );
      },
      resolve: (event: MessageEvent, _args: unknown, ctx: GraphQLContext): MessageModel => {
        renewLoaders(ctx);
        return { ...event.message, sender: event.sender };
      },
    },
  },
  Message: {
    id: (message) => message.message_id,
    createdAt: (message) => message.timestamp,
    clientMessageId: (message) => message.client_message_id ?? null,
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
