/** WebSocket hardening: origin checks, frame size, protocol order, limits per connection. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestServer, type TestServer } from './support/server.js';
import { registerUser, type TestUser } from './support/users.js';

const APP_ORIGIN = 'http://localhost:3000';
let server: TestServer;
let user: TestUser;

beforeAll(async () => {
  server = await startTestServer({ CORS_ORIGINS: APP_ORIGIN });
  user = await registerUser(server);
});
afterAll(() => server?.stop());

/** Opens a socket; resolves with 101 on open or the HTTP status of a refused upgrade. */
function handshake(url: string, headers: Record<string, string> = {}) {
  const protocols = url.includes('/graphql') ? ['graphql-transport-ws'] : [];
  return new Promise<{ status: number; socket: WebSocket }>((resolve) => {
    const socket = new WebSocket(url, protocols, { headers });
    socket.once('open', () => resolve({ status: 101, socket }));
    socket.once('unexpected-response', (_request, response) =>
      resolve({ status: response.statusCode ?? 0, socket }),
    );
    socket.once('error', () => undefined);
  });
}

const closeOf = (socket: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );

describe('Origin (cross-site WebSocket hijacking)', () => {
  it('refuses a foreign origin on the GraphQL and legacy sockets and accepts the app and non-browser clients', async () => {
    const legacyUrl = `ws://127.0.0.1:${new URL(server.url).port}/ws/${user.id}?token=${user.token}`;
    for (const url of [server.wsUrl, legacyUrl]) {
      const foreign = await handshake(url, { origin: 'https://evil.example' });
      expect(foreign.status).toBe(403);
      const own = await handshake(url, { origin: APP_ORIGIN });
      expect(own.status).toBe(101);
      own.socket.close();
      const noOrigin = await handshake(url);
      expect(noOrigin.status).toBe(101);
      noOrigin.socket.close();
    }
  });
});

describe('graphql-ws protocol limits', () => {
  it('closes a frame over 64 KiB with 1009', async () => {
    const { socket } = await handshake(server.wsUrl);
    const closed = closeOf(socket);
    socket.send('x'.repeat(70 * 1024));
    expect((await closed).code).toBe(1009);
  });

  it('closes a subscribe before connection_ack with 4401', async () => {
    const { socket } = await handshake(server.wsUrl);
    const closed = closeOf(socket);
    socket.send(
      JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ __typename }' } }),
    );
    expect((await closed).code).toBe(4401);
  });

  it('closes a connection that never sends connection_init with 4408', async () => {
    const { socket } = await handshake(server.wsUrl);
    expect((await closeOf(socket)).code).toBe(4408);
  }, 10_000);
});

describe('graphql-ws keep-alive', () => {
  let pinging: TestServer;
  beforeAll(async () => {
    pinging = await startTestServer({ WS_PING_SECONDS: '0.3' });
  });
  afterAll(() => pinging?.stop());

  /** An acknowledged graphql-ws socket; with `autoPong: false` it never answers a ping. */
  async function acknowledged(options: { autoPong: boolean }) {
    const socket = new WebSocket(pinging.wsUrl, ['graphql-transport-ws'], options);
    let pings = 0;
    socket.on('ping', () => (pings += 1));
    await new Promise((resolve) => socket.once('open', resolve));
    const acked = new Promise((resolve) => socket.once('message', resolve));
    socket.send(JSON.stringify({ type: 'connection_init' }));
    await acked;
    return { socket, pings: () => pings };
  }

  it('pings every socket, keeps the ones that answer and drops one that stops answering', async () => {
    const answering = await acknowledged({ autoPong: true });
    const silent = await acknowledged({ autoPong: false });
    const silentClosed = closeOf(silent.socket);

    // Dropped without a close frame (a dead peer cannot answer one): 1006 at the client.
    expect((await silentClosed).code).toBe(1006);
    expect(silent.pings()).toBeGreaterThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(answering.pings()).toBeGreaterThanOrEqual(3);
    expect(answering.socket.readyState).toBe(WebSocket.OPEN);
    answering.socket.close();
  });
});
