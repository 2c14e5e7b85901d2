import type { Resolvers } from '../generated/graphql.js';
import { isMessageChange, type MessageModel } from '../db/documents.js';
import type { ChatEvent } from '../events/bus.js';
import type { GraphQLContext } from '../graphql/context.js';
import { deliveredPerAudience } from '../graphql/shared-delivery.js';
import { ownerRelative, perViewer, sameOwner } from '../graphql/viewer-dependence.js';
import { renewLoaders } from '../request/scope.js';
import { followChat } from '../timeline/follow.js';
import { cursorOf } from '../timeline/position.js';
import { seesMessage } from '../chats/service.js';
import { deleteMessage, editMessage } from './lifecycle.js';
import { sendMessage } from './service.js';

/** The message a timeline event carries, with its sender (and reactions, when it changed them). */
export const messageOf = (event: ChatEvent): MessageModel => ({
  ...event.message,
  ...(event.sender ? { sender: event.sender } : {}),
  ...(event.messageChange?.reactions ? { reactions: event.messageChange.reactions } : {}),
});

/** The events `messageAdded` delivers: the ones that add a message to the chat's history. */
const addsMessage = (event: ChatEvent) => !isMessageChange(event.type);

const KIND = { text: 'TEXT', system: 'SYSTEM', image: 'IMAGE', file: 'FILE' } as const;

export const messagesResolvers: Resolvers = {
  Mutation: {
    sendMessage: (_parent, args, ctx) => sendMessage(ctx, args),
    editMessage: (_parent, args, ctx) => editMessage(ctx, args),
    deleteMessage: (_parent, args, ctx) => deleteMessage(ctx, args.messageId),
  },
  Subscription: {
    messageAdded: deliveredPerAudience({
      subscribe: (
        _parent: unknown,
        args: { chatId: string; after?: string | null },
        ctx: GraphQLContext,
      ) => followChat(ctx, args.chatId, args.after, { only: addsMessage }),
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
    // Erased when deleted; a tombstone read from an event reads the same.
    content: (message) => (message.deleted_at ? '' : message.content),
    editedAt: (message) => message.edited_at ?? null,
    deletedAt: (message) => message.deleted_at ?? null,
    isDeleted: (message) => Boolean(message.deleted_at),
    reactions: (message, _args, ctx) => {
      if (message.deleted_at) return [];
      return message.reactions ?? ctx.loaders.reactions.load(message.message_id);
    },
    // Per viewer: a member who joined without the history does not see what it quotes.
    replyTo: perViewer(async (message: MessageModel, _args: unknown, ctx: GraphQLContext) => {
      if (!message.reply_to) return null;
      const [quoted, chat] = await Promise.all([
        ctx.loaders.messages.load(message.reply_to),
        ctx.loaders.chats.load(message.chat_id),
      ]);
      const viewerId = ctx.viewer?.user_id;
      return quoted && chat && viewerId && seesMessage(chat, viewerId, quoted) ? quoted : null;
    }),
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
