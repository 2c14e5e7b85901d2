import type { Resolvers } from '../generated/graphql.js';
import type { TypingEvent } from '../events/bus.js';
import { perViewer } from '../graphql/viewer-dependence.js';
import { setTyping } from './service.js';

export const typingResolvers: Resolvers = {
  Mutation: {
    setTyping: (_parent, args, ctx) => setTyping(ctx, args),
  },
  TypingChanged: {
    cursor: (event) => event.cursor,
    chatId: (event) => event.chatId,
    seq: () => null,
    // Each of them may see their own private fields.
    users: perViewer((event: TypingEvent) => event.users),
  },
};
