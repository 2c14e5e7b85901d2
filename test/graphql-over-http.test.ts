/** The GraphQL-over-HTTP audit suite of the graphql-http package, against the full server. */
import { auditServer } from 'graphql-http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

it('passes every audit of the GraphQL-over-HTTP spec', async () => {
  const results = await auditServer({ url: server.graphqlUrl });
  const failed = results.filter((result) => result.status !== 'ok');
  for (const result of failed) console.log(`${result.status}: ${result.name}`);
  expect(results.length).toBeGreaterThan(50);
  expect(failed.map((result) => result.name)).toEqual([]);
});

it('serves GraphiQL, wired to the WebSocket transport, to browsers', async () => {
  const response = await fetch(server.graphqlUrl, { headers: { accept: 'text/html' } });
  expect(response.status).toBe(200);
  const page = await response.text();
  expect(page).toContain('<title>ZeroHour Chat GraphQL</title>');
  expect(page).toContain('"subscriptionsProtocol":"WS"');
  // Assets are inlined, so the playground works without a CDN.
  expect(page).not.toMatch(/<script[^>]+src="https?:/);
});

it('refuses mutations over GET', async () => {
  const get = await fetch(
    `${server.graphqlUrl}?query=${encodeURIComponent('mutation { logout }')}`,
    { headers: { accept: 'application/graphql-response+json' } },
  );
  expect(get.status).toBe(405);
});
