import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { RequestScope } from '../context.js';
import type { Presence } from '../users/presence.js';

/**
 * Every running GraphQL subscription, whatever carries it (graphql-ws or SSE). Each is a live
 * connection of its user — online until it ends, and ended when their token expires or is
 * revoked — and all of them end at shutdown.
 */
export function trackLiveSubscriptions(presence: Presence) {
  const running = new Set<() => void>();

  const plugin: Plugin<RequestScope> = {
    onSubscribe: () => ({
      onSubscribeResult: ({ args, result }) => {
        if (!isAsyncIterable(result)) return;
        const iterator = result as AsyncIterableIterator<unknown>;
        const end = () => void iterator.return?.();
        const { viewer, tokenExpiresAt } = args.contextValue;
        const release = viewer
          ? presence.connect(viewer.user_id, { expiresAt: tokenExpiresAt, end })
          : () => undefined;
        running.add(end);
        return {
          onEnd: () => {
            running.delete(end);
            release();
          },
        };
      },
    }),
  };

  return {
    plugin,
    endAll: () => running.forEach((end) => end()),
  };
}
