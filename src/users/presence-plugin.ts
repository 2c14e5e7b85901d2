import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { RequestScope } from '../context.js';
import type { Presence } from './presence.js';

/**
 * Every running subscription is a live connection of its user, whatever carries it (graphql-ws
 * or SSE): the user counts as online until it ends.
 */
export function usePresence(presence: Presence): Plugin<RequestScope> {
  return {
    onSubscribe: () => ({
      onSubscribeResult: ({ args, result }) => {
        const viewer = args.contextValue.viewer;
        if (!viewer || !isAsyncIterable(result)) return;
        const release = presence.connect(viewer.user_id);
        return { onEnd: release };
      },
    }),
  };
}
