/** Live GraphQL connections end when their token expires or is revoked (logout, recovery). */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { sleep, withTimeout } from './support/wait.js';
import { openAckedSocket } from './support/graphql-ws.js';
import { startTestServer, TEST_SECRET, type TestServer } from './support/server.js';
import { createChat, registerUser, type TestUser } from './support/users.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

/** A graphql-transport-ws socket authenticated in connection_init; resolves once acknowledged. */
const openSocket = (token: string) =>
  openAckedSocket(server.wsUrl, { authorization: `Bearer ${token}` });

const tokenExpiringIn = (user: TestUser, seconds: number) =>
  new SignJWT({ tv: 0 })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user.username)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + seconds)
    .sign(new TextEncoder().encode(TEST_SECRET));

it('logout closes every graphql-ws socket of the user with 4403', async () => {
  const user = await registerUser(server);
  const other = await registerUser(server);
  const [first, second] = await Promise.all([openSocket(user.token), openSocket(user.token)]);
  const bystander = await openSocket(other.token);

  await server.gql('mutation { logout }', {}, user.token);
  expect(await withTimeout(first.closed, 'close')).toEqual({ code: 4403, reason: 'Token revoked' });
  expect(await withTimeout(second.closed, 'close')).toEqual({
    code: 4403,
    reason: 'Token revoked',
  });
  expect(bystander.socket.readyState).toBe(WebSocket.OPEN);
  bystander.socket.close();
});

it('logout closes a socket whose subscription carried the token per subscribe (GraphiQL)', async () => {
  const user = await registerUser(server);
  const other = await registerUser(server);
  const chatId = await createChat(server, user, other);
  const { socket, closed, messages } = await openAckedSocket(server.wsUrl, {});
  socket.send(
    JSON.stringify({
      id: '1',
      type: 'subscribe',
      payload: {
        query: `subscription { messageAdded(chatId: "${chatId}") { id } }`,
        extensions: { headers: { Authorization: `Bearer ${user.token}` } },
      },
    }),
  );
  // The probe arrives once the subscription is live.
  for (let attempt = 0; !messages.some((m) => m.type === 'next'); attempt += 1) {
    expect(attempt, 'the subscription to go live').toBeLessThan(50);
    await server.gql(
      'mutation ($c: ID!) { sendMessage(chatId: $c, content: "probe") { id } }',
      { c: chatId },
      other.token,
    );
    await sleep(100);
  }

  await server.gql('mutation { logout }', {}, user.token);
  expect(await withTimeout(closed, 'close')).toEqual({ code: 4403, reason: 'Token revoked' });
});

it('a socket whose token expires is closed with 4403', async () => {
  const user = await registerUser(server);
  const { closed } = await openSocket(await tokenExpiringIn(user, 2));
  expect(await withTimeout(closed, 'close at expiry')).toEqual({
    code: 4403,
    reason: 'Token expired',
  });
});

it('account recovery ends a running SSE subscription', async () => {
  const user = await registerUser(server);
  const other = await registerUser(server);
  const chatId = await createChat(server, user, other);
  const response = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${user.token}`,
    },
    body: JSON.stringify({ query: `subscription { messageAdded(chatId: "${chatId}") { id } }` }),
  });
  expect(response.status).toBe(200);
  // Resolves when the server ends the stream.
  const drained = response.text();
  const recovery = await server.gql(
    /* GraphQL */ `
      mutation ($u: String!, $p: String!) {
        recoverAccount(username: $u, securityPhrase: $p, newPassword: "another-password") {
          accessToken
        }
      }
    `,
    { u: user.username, p: user.securityPhrase },
  );
  expect(recovery.errors).toBeUndefined();
  await withTimeout(drained, 'stream end');
});
