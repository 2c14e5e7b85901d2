import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { createSchema } from 'graphql-yoga';
import type { Resolvers } from '../generated/graphql.js';
import type { GraphQLContext } from './context.js';
import { attachmentsResolvers } from '../attachments/resolvers.js';
import { authResolvers } from '../auth/resolvers.js';
import { chatsResolvers } from '../chats/resolvers.js';
import { messagesResolvers } from '../messages/resolvers.js';
import { reactionsResolvers } from '../reactions/resolvers.js';
import { groupsResolvers } from '../groups/resolvers.js';
import { readsResolvers } from '../reads/resolvers.js';
import { timelineResolvers } from '../timeline/resolvers.js';
import { typingResolvers } from '../typing/resolvers.js';
import { usersResolvers } from '../users/resolvers.js';

const schemaDir = fileURLToPath(new URL('../../schema/', import.meta.url));

/** The SDL under schema/, the contract the generated types are made from. */
const typeDefs = readdirSync(schemaDir)
  .filter((file) => file.endsWith('.graphql'))
  .sort()
  .map((file) => readFileSync(schemaDir + file, 'utf8'));

const parseDate = (value: unknown) => {
  const date = typeof value === 'string' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw new GraphQLError('DateTime must be an ISO 8601 string', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  return date;
};

const scalarResolvers: Resolvers = {
  DateTime: new GraphQLScalarType<Date, string>({
    name: 'DateTime',
    serialize: (value) => (value instanceof Date ? value : new Date(value as string)).toISOString(),
    parseValue: parseDate,
    parseLiteral: (ast) => parseDate(ast.kind === Kind.STRING ? ast.value : undefined),
  }),
};

export const schema = createSchema<GraphQLContext>({
  typeDefs,
  resolvers: [
    scalarResolvers,
    usersResolvers,
    authResolvers,
    chatsResolvers,
    groupsResolvers,
    messagesResolvers,
    reactionsResolvers,
    timelineResolvers,
    readsResolvers,
    typingResolvers,
    attachmentsResolvers,
  ],
});
