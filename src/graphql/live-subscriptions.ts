import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { RequestScope } from '../request/scope.js';
import type { TransportContext } from './context.js';
import type { Presence } from '../users/presence.js';

/**
 * Every running GraphQL subscription over SSE. Each is a live connection of its user — online
 * until it ends, and ended when their token expires or is revoked — and all of them end at
 * shutdown. (A graphql-ws socket does all of that for its operations itself.)
 */
export function trackLiveSubscriptions(presence: Presence) {
  const running = new Set<() => void>();

  const plugin: Plugin<RequestScope & TransportContext> = {
    onSubscribe: ({ args }) => {
      if (args.contextValue.connectionTracked) return undefined;
      return {
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
      };
    },
  };

  return {
    plugin,
    endAll: () => running.forEach((end) => end()),
    /** How many are running. */
    count: () => running.size,
  };
}
