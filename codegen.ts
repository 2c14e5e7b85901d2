import type { CodegenConfig } from '@graphql-codegen/cli';

// Resolver and model types for the SDL in schema/. The mappers tie each GraphQL type to the
// MongoDB document behind it, so resolvers receive documents and map fields explicitly.
const config: CodegenConfig = {
  schema: 'schema/*.graphql',
  generates: {
    'src/generated/graphql.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        useTypeImports: true,
        emitLegacyCommonJSImports: false,
        contextType: '../graphql/context.js#GraphQLContext',
        mappers: {
          User: '../db/documents.js#UserModel',
          Chat: '../db/documents.js#ChatDoc',
          Message: '../db/documents.js#MessageModel',
          AuthPayload: '../auth/service.js#AuthResult',
          ChatConnection: '../chats/service.js#ChatPage',
          ChatEdge: '../chats/service.js#ChatPageEdge',
          MessageConnection: '../messages/service.js#MessagePage',
          MessageEdge: '../messages/service.js#MessagePageEdge',
          ChatEvent: '../events/bus.js#ChatFeedEvent',
          MessageAdded: '../events/bus.js#ChatEvent as ChatEventModel',
          MembersChanged: '../events/bus.js#ChatEvent as ChatEventModel',
          ChatRenamed: '../events/bus.js#ChatEvent as ChatEventModel',
          ReadStateChanged: '../events/bus.js#ReadStateEvent',
          TypingChanged: '../events/bus.js#TypingEvent',
          ReadPosition: '../db/documents.js#ReadPositionDoc',
          MessageEdited: '../events/bus.js#ChatEvent as ChatEventModel',
          MessageDeleted: '../events/bus.js#ChatEvent as ChatEventModel',
          ReactionsChanged: '../events/bus.js#ChatEvent as ChatEventModel',
          ReactionGroup: '../db/documents.js#ReactionSnapshot',
          ChatMember: '../db/documents.js#GroupMember',
          ChatMemberConnection: '../groups/service.js#MemberPage',
          ChatMemberEdge: '../groups/service.js#MemberPageEdge',
          ChatListEvent: '../chats/service.js#ChatListEntry',
          Upload: '../attachments/service.js#UploadTicket',
          Attachment: '../attachments/service.js#AttachmentModel',
        },
        scalars: { DateTime: 'Date', ID: 'string' },
        enumsAsTypes: true,
        avoidOptionals: { field: true, inputValue: false, object: false, defaultValue: false },
        maybeValue: 'T | null',
      },
    },
  },
};

export default config;
