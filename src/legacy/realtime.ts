/** The old server's realtime endpoints: WebSocket `/ws/{user_id}` and SSE `/sse/{user_id}`. */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { App } from '../app.js';

export interface LegacyRealtime {
  /** Takes the upgrade if its path is `/ws/{user_id}`; false leaves it to others. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Registers `GET /sse/:userId`. */
  routes: FastifyPluginAsync;
  /** Closes every legacy connection (code 1001 for WebSockets). */
  close(): Promise<void>;
}

export function createLegacyRealtime(_app: App): LegacyRealtime {
  return {
    handleUpgrade: () => false,
    routes: async () => undefined,
    close: async () => undefined,
  };
}
