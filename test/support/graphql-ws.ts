/** A raw graphql-transport-ws socket, for tests that need to see its frames and close codes. */
import { WebSocket } from 'ws';
import { DEFAULT_WAIT_MS, withTimeout } from './wait.js';

export interface GraphQLWsMessage {
  type: string;
  [key: string]: unknown;
}

export interface AckedSocket {
  socket: WebSocket;
  /** Resolves with the close code and reason once the socket closes. */
  closed: Promise<{ code: number; reason: string }>;
  /** Every message received, parsed, from the connection_ack on. */
  messages: GraphQLWsMessage[];
}

/**
 * Opens a graphql-transport-ws socket to `wsUrl`, sends `connection_init` with `payload` and
 * resolves once the server acknowledges it (failing after `ms`).
 */
export async function openAckedSocket(
  wsUrl: string,
  payload: Record<string, unknown>,
  ms = DEFAULT_WAIT_MS,
): Promise<AckedSocket> {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  const messages: GraphQLWsMessage[] = [];
  const acked = new Promise<void>((resolve) =>
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as GraphQLWsMessage;
      messages.push(message);
      if (message.type === 'connection_ack') resolve();
    }),
  );
  try {
    await withTimeout(
      (async () => {
        await new Promise((resolve) => socket.once('open', resolve));
        socket.send(JSON.stringify({ type: 'connection_init', payload }));
        await acked;
      })(),
      'connection_ack',
      ms,
    );
  } catch (error) {
    socket.terminate();
    throw error;
  }
  return { socket, closed, messages };
}
