/** Brute force and floods meet a limit with a clear answer on every transport, never a silent drop. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestServer, type TestServer } from './support/server.js';
import { createChat, registerUser, SEND, type TestUser } from './support/users.js';

const LOGIN = /* GraphQL */ `
  mutation ($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      accessToken
    }
  }
`;

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let chatId: string;

beforeAll(async () => {
  server = await startTestServer({
    RATE_LIMIT_LOGIN_PER_USERNAME: '5',
    RATE_LIMIT_AUTH_PER_IP: '40',
    RATE_LIMIT_SENDS_PER_USER: '5',
    RATE_LIMIT_CONNECTIONS_PER_IP: '20',
  });
  [alice, bob] = [await registerUser(server), await registerUser(server)];
  chatId = await createChat(server, alice, bob);
});
afterAll(() => server?.stop());

describe('login brute force', () => {
  it('limits attempts per username over GraphQL with RATE_LIMITED and a retry hint', async () => {
    const victim = await registerUser(server);
    const codes: unknown[] = [];
    for (let attempt = 0; attempt < 7; attempt += 1) {
      const response = await server.gql(LOGIN, { username: victim.username, password: 'guess' });
      codes.push(response.errors?.[0]?.extensions?.code);
    }
    expect(codes.slice(0, 5)).toEqual(Array(5).fill('UNAUTHENTICATED'));
    expect(codes.slice(5)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
    // The right password is refused too while the limit holds.
    const right = await server.gql(LOGIN, { username: victim.username, password: victim.password });
    expect(right.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(right.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(0);
  });

  it('counts every aliased login in one document', async () => {
    const victim = await registerUser(server);
    const aliases = Array.from(
      { length: 7 },
      (_, index) =>
        `a${index}: login(username: "${victim.username}", password: "${victim.password}") { accessToken }`,
    ).join('\n');
    const response = await server.gql(`mutation { ${aliases} }`);
    // Five logins pass, the sixth alias meets the limit and ends the document.
    expect(response.errors?.map((error) => error.extensions?.code)).toEqual(['RATE_LIMITED']);
    expect(response.errors?.[0]?.path).toEqual(['a5']);
  });

  it('answers REST over the limit with 429 and Retry-After', async () => {
    const victim = await registerUser(server);
    let last: Response | undefined;
    for (let attempt = 0; attempt < 6; attempt += 1) {
      last = await fetch(`${server.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: victim.username, password: 'guess' }),
      });
    }
    expect(last?.status).toBe(429);
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await last?.json()).toEqual({ detail: 'Too many requests, try again later' });
  });
});

describe('message floods', () => {
  it('limits sends per user across GraphQL and the legacy endpoints, storing nothing over it', async () => {
    const before = await server.service.app.db.messages.countDocuments({ chat_id: chatId });
    const results = [];
    for (let index = 0; index < 5; index += 1) {
      results.push(await server.gql(SEND, { chatId, content: `m${index}` }, alice.token));
    }
    expect(results.every((result) => !result.errors)).toBe(true);
    const over = await server.gql(SEND, { chatId, content: 'one too many' }, alice.token);
    expect(over.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    const rest = await fetch(`${server.url}/api/send/${alice.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` },
      body: JSON.stringify({ chat_id: chatId, content: 'legacy flood' }),
    });
    expect(rest.status).toBe(429);
    expect(await server.service.app.db.messages.countDocuments({ chat_id: chatId })).toBe(
      before + 5,
    );
    // Another user is not affected.
    const other = await server.gql(SEND, { chatId, content: 'from bob' }, bob.token);
    expect(other.errors).toBeUndefined();
  });
});

describe('connection floods', () => {
  it('refuses WebSocket upgrades over the per-address limit with 429', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 25; attempt += 1) {
      statuses.push(
        await new Promise<number>((resolve) => {
          const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
          socket.once('open', () => {
            socket.close();
            resolve(101);
          });
          socket.once('unexpected-response', (_request, response) =>
            resolve(response.statusCode ?? 0),
          );
          socket.once('error', () => undefined);
        }),
      );
    }
    expect(statuses.filter((status) => status === 101).length).toBeLessThanOrEqual(20);
    expect(statuses.at(-1)).toBe(429);
  });
});
