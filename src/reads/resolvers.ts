import type { Resolvers } from '../generated/graphql.js';
import type { MessageModel, UserModel } from '../db/documents.js';
import type { GraphQLContext } from '../graphql/context.js';
import { ownerRelative, perViewer, sameOwner } from '../graphql/viewer-dependence.js';
import type { ReadStateEvent } from '../events/bus.js';
import { requireViewer } from '../request/scope.js';
import {
  markChatRead,
  markChatUnread,
  readersOf,
  readPositionCursor,
  readPositions,
  setReadReceipts,
  unreadChatsCount,
  unreadCount,
} from './service.js';

export const readsResolvers: Resolvers = {
  Mutation: {
    markChatRead: (_parent, args, ctx) => markChatRead(ctx, args),
    markChatUnread: (_parent, args, ctx) => markChatUnread(ctx, args),
    setReadReceipts: (_parent, args, ctx) => setReadReceipts(ctx, args.enabled),
  },
  Chat: {
    unreadCount: perViewer((chat, _args: unknown, ctx: GraphQLContext) => unreadCount(ctx, chat)),
    readPositions: perViewer((chat, _args: unknown, ctx: GraphQLContext) =>
      readPositions(ctx, chat),
    ),
  },
  User: {
    unreadChatsCount: ownerRelative(
      async (user: UserModel, _args: unknown, ctx: GraphQLContext) => {
        if (requireViewer(ctx).user_id !== user.user_id) return null;
        return unreadChatsCount(ctx);
      },
    ),
  },
  Message: {
    readBy: (message: MessageModel, args, ctx) => readersOf(ctx, message, args.first),
  },
  ReadPosition: {
    user: async (doc, _args, ctx) => {
      const user = await ctx.loaders.users.load(doc.user_id);
      if (!user) throw new Error(`user ${doc.user_id} of a read position is missing`);
      return user;
    },
    cursor: (doc) => readPositionCursor(doc),
    readAt: (doc) => doc.read_at,
  },
  ReadStateChanged: {
    cursor: (event) => event.cursor,
    chatId: (event) => event.chatId,
    seq: () => null,
    user: sameOwner((event: ReadStateEvent) => event.user),
  },
};
