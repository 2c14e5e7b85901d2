import type { Resolvers } from '../generated/graphql.js';
import type { GraphQLContext } from '../graphql/context.js';
import { attachmentLink, createUpload, type AttachmentModel } from './service.js';

const KIND = { image: 'IMAGE', file: 'FILE' } as const;

export const attachmentsResolvers: Resolvers = {
  Mutation: {
    createUpload: (_parent, args, ctx) => createUpload(ctx, args),
  },
  Message: {
    attachments: (message) =>
      (message.attachments ?? []).map((attachment) => ({
        ...attachment,
        chat_id: message.chat_id,
      })),
  },
  Attachment: {
    id: (attachment) => attachment.attachment_id,
    kind: (attachment) => KIND[attachment.kind],
    fileName: (attachment) => attachment.file_name,
    contentType: (attachment) => attachment.content_type,
    width: (attachment) => attachment.width ?? null,
    height: (attachment) => attachment.height ?? null,
    url: async (attachment: AttachmentModel, _args: unknown, ctx: GraphQLContext) =>
      (await attachmentLink(ctx, attachment, 'original'))!,
    thumbnailUrl: (attachment: AttachmentModel, _args: unknown, ctx: GraphQLContext) =>
      attachmentLink(ctx, attachment, 'thumbnail'),
  },
};
