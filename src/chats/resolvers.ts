import type { Resolvers } from '../generated/graphql.js';
import type { UserDoc } from '../db/documents.js';
import { requireViewer } from '../request/scope.js';
import { listMessages } from '../messages/service.js';
import type { UserEvent } from '../events/bus.js';
import type { GraphQLContext } from '../graphql/context.js';
import { renewLoaders } from '../request/scope.js';
import {
  chatListEntryOf,
  createChat,
  findChat,
  followChatList,
  listChats,
  otherParticipantId,
} from './service.js';

export const chatsResolvers: Resolvers = {
  Query: {
    chats: (_parent, args, ctx) => listChats(ctx, args),
    chat: (_parent, args, ctx) => findChat(ctx, args.id),
  },
  Mutation: {
    createChat: (_parent, args, ctx) => createChat(ctx, args.otherUserId),
  },
  Subscription: {
    myChats: {
      subscribe: (_parent, _args, ctx) => followChatList(ctx),
      resolve: (event: UserEvent, _args: unknown, ctx: GraphQLContext) => {
        renewLoaders(ctx);
        return chatListEntryOf(event);
      },
    },
  },
  ChatListEvent: {
    change: (entry) => entry.change,
    chat: async (entry, _args, ctx) => {
      const chat = entry.chat ?? (await ctx.loaders.chats.load(entry.chatId));
      if (!chat) throw new Error(`chat ${entry.chatId} is missing`);
      return chat;
    },
  },
  Chat: {
    id: (chat) => chat.chat_id,
    createdAt: (chat) => chat.created_at,
    lastMessagePreview: (chat) => chat.last_message ?? null,
    lastMessageAt: (chat) => chat.last_message_time ?? null,
    participants: async (chat, _args, ctx) => {
      const users = await ctx.loaders.users.loadMany(chat.participants);
      return users.filter((user): user is UserDoc => user !== null && !(user instanceof Error));
    },
    otherUser: (chat, _args, ctx) => {
      if (chat.kind === 'group') return null;
      const viewer = requireViewer(ctx);
      const otherId = otherParticipantId(chat, viewer.user_id);
      return otherId ? ctx.loaders.users.load(otherId) : null;
    },
    lastMessage: (chat, _args, ctx) => ctx.loaders.lastMessages.load(chat),
    messages: (chat, args, ctx) => listMessages(ctx, chat.chat_id, args),
  },
};
