import type { Resolvers } from '../generated/graphql.js';
import type { GraphQLContext } from '../graphql/context.js';
import { perViewer } from '../graphql/viewer-dependence.js';
import type { ChatDoc } from '../db/documents.js';
import {
  addChatMembers,
  createGroupChat,
  leaveChat,
  listMembers,
  removeChatMember,
  renameChat,
  roleOf,
  setChatMemberRole,
} from './service.js';

export const groupsResolvers: Resolvers = {
  Mutation: {
    createGroupChat: (_parent, args, ctx) => createGroupChat(ctx, args),
    renameChat: (_parent, args, ctx) => renameChat(ctx, args.chatId, args.title),
    addChatMembers: (_parent, args, ctx) => addChatMembers(ctx, args),
    removeChatMember: (_parent, args, ctx) => removeChatMember(ctx, args.chatId, args.userId),
    leaveChat: (_parent, args, ctx) => leaveChat(ctx, args.chatId),
    setChatMemberRole: (_parent, args, ctx) => setChatMemberRole(ctx, args),
  },
  Chat: {
    kind: (chat) => (chat.kind === 'group' ? 'GROUP' : 'DIRECT'),
    title: (chat) => chat.title ?? null,
    members: (chat, args) => listMembers(chat, args),
    viewerRole: perViewer((chat: ChatDoc, _args: unknown, ctx: GraphQLContext) =>
      roleOf(chat, ctx.viewer?.user_id),
    ),
  },
  ChatMember: {
    user: async (member, _args, ctx) => {
      const user = await ctx.loaders.users.load(member.user_id);
      if (!user) throw new Error(`member ${member.user_id} is missing`);
      return user;
    },
    role: (member) => member.role,
    joinedAt: (member) => member.joined_at,
  },
};
