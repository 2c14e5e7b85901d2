/**
 * Request and event tracing in the log (issue 18, item 4): one JSON line per request with its
 * route pattern, status, duration and request id; one trace id from a message's send to each of
 * its deliveries; and never a token, a password, a security phrase or a message's text, after a
 * whole session (register, login, send, receive over graphql-ws and a legacy SSE stream whose
 * token is in its URL).
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { openEventStream, type SseEvent } from './support/sse.js';
import { subscribeMessages, type Live, type TimelineMessage } from './support/groups.js';
import { createChat, registerUser, SEND, type TestUser } from './support/users.js';
import { cleanupAfterEach, waitFor } from './support/wait.js';

interface LogLine {
  level: number;
  msg: string;
  requestId?: string;
  traceId?: string;
  transport?: string;
  method?: string;
  route?: string;
  status?: number;
  durationMs?: number;
  [key: string]: unknown;
}

const INFO = 30;
const LOGIN = /* GraphQL */ `
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      accessToken
    }
  }
`;

describe('request and event tracing in the log', () => {
  let server: TestServer;
  let captured = '';
  const cleanups = cleanupAfterEach();
  const lines = (): LogLine[] =>
    captured
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LogLine);

  beforeAll(async () => {
    const log = new Writable({
      write(chunk: Buffer, _encoding, done) {
        captured += chunk.toString('utf8');
        done();
      },
    });
    server = await startTestServer({}, { log, logLevel: 'debug' });
  });
  afterAll(() => server?.stop());

  it('follows a session by request id and a message by trace id, and logs no secret', async () => {
    const alice = await registerUser(server);
    const registered = await registerUser(server);
    // Log in (the password travels in the variables) and use the token it gives.
    const login = await server.gql<{ login: { accessToken: string } }>(LOGIN, {
      username: registered.username,
      password: registered.password,
    });
    expect(login.errors).toBeUndefined();
    const bob: TestUser = { ...registered, token: login.data!.login.accessToken };
    const chatId = await createChat(server, alice, bob);

    // Bob follows the chat over graphql-ws and over the legacy SSE stream (token in the URL).
    const subscription: Live<TimelineMessage> = subscribeMessages(server, bob, chatId);
    cleanups.push(() => subscription.close());
    const streamed: SseEvent[] = [];
    const closeStream = await openEventStream(
      `${server.url}/sse/${bob.id}?token=${bob.token}`,
      { headers: { 'x-request-id': 'sse-stream-0001' } },
      (event) => streamed.push(event),
      (error) => {
        throw error;
      },
    );
    cleanups.push(closeStream);
    const sentTexts: string[] = [];
    const received = () =>
      subscription.items.length > 0 && streamed.some((event) => event.data.includes('"message"'));
    await waitFor(async () => {
      const text = `probe ${randomUUID()}`;
      sentTexts.push(text);
      const sent = await server.gql(SEND, { chatId, content: text }, alice.token);
      expect(sent.errors).toBeUndefined();
      return waitFor(received, 'a probe on both', 300).catch(() => false);
    }, 'both of bob’s feeds to start');

    // The message followed, sent with a request id of the client's.
    const text = `the message text ${randomUUID()}`;
    sentTexts.push(text);
    const response = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${alice.token}`,
        'x-request-id': 'client-chosen-id-42',
      },
      body: JSON.stringify({ query: SEND, variables: { chatId, content: text } }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('client-chosen-id-42');
    await waitFor(
      () =>
        subscription.items.some((item) => item.content === text) &&
        streamed.some((event) => event.data.includes(text)),
      'the message on both feeds',
    );
    // A request id that does not look like one is replaced; one is always returned.
    const odd = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'a b\tc' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor(
      () => lines().filter((line) => line.msg === 'delivered').length >= 2 * sentTexts.length,
      'the delivery lines',
    );

    const log = lines();
    // One request line per request: route pattern, status, duration, request id; never a URL.
    const requests = log.filter((line) => line.msg === 'request');
    for (const line of requests) {
      expect(line.level).toBe(INFO);
      expect(typeof line.requestId).toBe('string');
      expect(typeof line.status).toBe('number');
      expect(typeof line.durationMs).toBe('number');
      expect(line.route).not.toContain('?');
    }
    const send = requests.find((line) => line.requestId === 'client-chosen-id-42');
    expect(send).toMatchObject({ method: 'POST', route: '/graphql', status: 200 });
    expect(requests).toContainEqual(
      expect.objectContaining({ requestId: 'sse-stream-0001', route: '/sse/:userId', status: 200 }),
    );
    // The graphql-ws upgrade has its line too.
    expect(requests).toContainEqual(
      expect.objectContaining({ method: 'GET', route: '/graphql', status: 101 }),
    );
    expect(
      requests.filter((line) => line.route === '/graphql' && line.status === 200).length,
    ).toBeGreaterThanOrEqual(4);

    // The message's send and its deliveries share one trace id.
    const stored = log.find(
      (line) => line.msg === 'message stored' && line.requestId === 'client-chosen-id-42',
    );
    expect(stored).toMatchObject({ transport: 'graphql', chatId });
    const traceId = stored!.traceId!;
    expect(traceId).toMatch(/^[0-9a-f-]{36}$/);
    const deliveries = log.filter((line) => line.msg === 'delivered' && line.traceId === traceId);
    expect(deliveries.map((line) => line.transport).sort()).toEqual(['graphql-ws', 'legacy-sse']);
    // Each probe has a trace id of its own.
    const traces = new Set(
      log.filter((line) => line.msg === 'message stored').map((line) => line.traceId),
    );
    expect(traces.size).toBe(sentTexts.length);

    // No secret and no message text, anywhere.
    const secrets = [
      alice.token,
      bob.token,
      registered.token,
      alice.password,
      bob.password,
      bob.securityPhrase,
      bob.securityPhrase.toLowerCase(),
      ...sentTexts,
    ];
    for (const secret of secrets) expect(captured).not.toContain(secret);
    expect(captured).not.toContain('token=');
  });
});
