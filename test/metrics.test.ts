/**
 * `GET /metrics` (issue 18, item 3): the exposition parses as Prometheus parses it, a send moves
 * the counters it should (and only by one), it is refused without the token and absent without
 * METRICS_TOKEN, and no label value names a user or a chat.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricFamily } from 'parse-prometheus-text-format';
import { METRICS_TOKEN, metrics, parse, scrape, sumOf, valueOf } from './support/metrics.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createChat, registerUser, SEND, type TestUser } from './support/users.js';
import { subscribeMessages, type Live, type TimelineMessage } from './support/groups.js';
import { cleanupAfterEach, waitFor } from './support/wait.js';

describe('metrics', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let chatId: string;
  const cleanups = cleanupAfterEach();

  beforeAll(async () => {
    server = await startTestServer({ METRICS_TOKEN });
    alice = await registerUser(server);
    bob = await registerUser(server);
    chatId = await createChat(server, alice, bob);
  });
  afterAll(() => server?.stop());

  /** Sends from alice until bob's subscription has seen one: then it is live. */
  async function live(subscription: Live<TimelineMessage>) {
    await waitFor(async () => {
      const sent = await server.gql(SEND, { chatId, content: 'probe' }, alice.token);
      expect(sent.errors).toBeUndefined();
      return waitFor(() => subscription.items.length > 0, 'a probe', 300).catch(() => false);
    }, "bob's subscription to start");
  }

  it('counts a GraphQL send, its graphql-ws delivery, the request and the connection', async () => {
    const subscription = subscribeMessages(server, bob, chatId);
    cleanups.push(() => subscription.close());
    await live(subscription);
    const delivered = subscription.items.length;

    const before = await metrics(server);
    const sent = await server.gql(SEND, { chatId, content: 'counted once' }, alice.token);
    expect(sent.errors).toBeUndefined();
    await waitFor(() => subscription.items.length > delivered, 'the delivery');
    const after = await metrics(server);

    const delta = (name: string, labels: Record<string, string>) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(delta('zerohour_messages_sent_total', { transport: 'graphql' })).toBe(1);
    expect(delta('zerohour_messages_sent_total', { transport: 'legacy-ws' })).toBe(0);
    expect(delta('zerohour_deliveries_total', { transport: 'graphql-ws' })).toBe(1);
    expect(delta('zerohour_deliveries_total', { transport: 'legacy-sse' })).toBe(0);
    expect(delta('zerohour_delivery_lag_seconds_count', { transport: 'graphql-ws' })).toBe(1);
    expect(delta('zerohour_send_duration_seconds_count', { transport: 'graphql' })).toBe(1);
    // The send, and the first scrape.
    expect(
      delta('zerohour_http_requests_total', { method: 'POST', route: '/graphql', status: '200' }),
    ).toBe(1);
    expect(
      delta('zerohour_http_requests_total', { method: 'GET', route: '/metrics', status: '200' }),
    ).toBe(1);
    expect(
      delta('zerohour_graphql_operations_total', {
        type: 'mutation',
        operation: 'Send',
        outcome: 'ok',
      }),
    ).toBe(1);
    expect(
      valueOf(after, 'zerohour_connections', { transport: 'graphql-ws' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      valueOf(after, 'zerohour_subscriptions', { transport: 'graphql-ws' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      valueOf(after, 'zerohour_graphql_operations_total', {
        type: 'subscription',
        operation: 'MessageAdded',
        outcome: 'ok',
      }),
    ).toBeGreaterThanOrEqual(1);
    // The database commands of the send, by name.
    const inserts = (families: MetricFamily[]) =>
      sumOf(families, 'zerohour_db_command_duration_seconds_count', { command: 'insert' });
    expect(inserts(after)).toBeGreaterThan(inserts(before));
    // prom-client's defaults: event-loop lag and heap.
    expect(after.some((family) => family.name === 'nodejs_eventloop_lag_p99_seconds')).toBe(true);
    expect(valueOf(after, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('counts rate-limit refusals by limit, and routes as patterns', async () => {
    const limited = await startTestServer({ METRICS_TOKEN, RATE_LIMIT_AUTH_PER_IP: '1' });
    try {
      await registerUser(limited);
      const refused = await limited.gql(
        'mutation { login(username: "nobody", password: "wrong") { accessToken } }',
      );
      expect(refused.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      const user = encodeURIComponent('some-user-id');
      await fetch(`${limited.url}/api/chats/${user}/messages?limit=5&token=abc`);
      const families = parse(await (await scrape(limited)).text());
      expect(valueOf(families, 'zerohour_rate_limit_refusals_total', { limit: 'authPerIp' })).toBe(
        1,
      );
      expect(
        valueOf(families, 'zerohour_http_requests_total', {
          route: '/api/chats/:chat_id/messages',
          status: '401',
        }),
      ).toBe(1);
    } finally {
      await limited.stop();
    }
  });

  it('names no user, chat or raw path in any label', async () => {
    const text = await (await scrape(server)).text();
    const families = parse(text);
    const values = families.flatMap((family) =>
      family.metrics.flatMap((sample) => Object.values(sample.labels ?? {})),
    );
    expect(values.length).toBeGreaterThan(0);
    for (const id of [alice.id, bob.id, chatId, alice.username, bob.username]) {
      expect(text).not.toContain(id);
    }
    // Label values are transports, routes as patterns, names the server or schema defines.
    for (const value of values) expect(value).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/i);
    expect(text).not.toContain('?');
  });

  it('refuses /metrics without the token, or with another', async () => {
    for (const token of [null, 'not-the-metrics-token-0000', alice.token]) {
      const response = await scrape(server, token);
      expect(response.status).toBe(401);
      expect(await response.text()).not.toContain('zerohour_');
    }
  });

  it('has no /metrics, and collects nothing, without METRICS_TOKEN', async () => {
    const plain = await startTestServer();
    try {
      expect(plain.service.app.telemetry.metrics).toBeNull();
      for (const token of [null, METRICS_TOKEN]) {
        const response = await scrape(plain, token);
        expect(response.status).toBe(404);
        expect(await response.json()).toEqual({ detail: 'Not Found' });
      }
    } finally {
      await plain.stop();
    }
  });
});
