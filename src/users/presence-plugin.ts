import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { RequestScope } from '../context.js';
import type { Presence } from './presence.js';

/**
 * Every running subscription is a live connection of its user, whatever carries it (graphql-ws
 * or SSE): the user counts as online until it ends, and it ends when their token expires or is
 * revoked.
 */
export function usePresence(presence: Presence): Plugin<RequestScope> {
  return {
    onSubscribe: () => ({
      onSubscribeResult: ({ args, result }) => {
        const { viewer, tokenExpiresAt } = args.contextValue;
        if (!viewer || !isAsyncIterable(result)) return;
        const iterator = result as AsyncIterableIterator<unknown>;
        const release = presence.connect(viewer.user_id, {
          expiresAt: tokenExpiresAt,
          end: () => void iterator.return?.(),
        });
        return { onEnd: release };
      },
    }),
  };
}
