/** Hostile GraphQL documents are refused at validation, with a code, on every transport. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { registerUser, type TestUser } from './support/users.js';

const nested = (depth: number) =>
  `{ chats(first: 1) { edges { node { ${'lastMessage { chat { '.repeat(depth)}id${' } }'.repeat(depth)} } } } }`;

describe('in development', () => {
  let server: TestServer;
  let user: TestUser;
  beforeAll(async () => {
    server = await startTestServer();
    user = await registerUser(server);
  });
  afterAll(() => server?.stop());

  it('allows ordinary depth and refuses deep nesting', async () => {
    const shallow = await server.gql(nested(1), {}, user.token);
    expect(shallow.errors).toBeUndefined();
    const deep = await server.gql(nested(6), {}, user.token);
    expect(deep.data).toBeUndefined();
    expect(deep.errors?.[0]?.message).toMatch(/depth/i);
    expect(deep.errors?.[0]?.extensions?.code).toBeTruthy();
  });

  it('refuses too many aliases (aliased login brute force) and oversized documents', async () => {
    const aliases = Array.from(
      { length: 30 },
      (_, index) =>
        `a${index}: login(username: "${user.username}", password: "guess${index}") { accessToken }`,
    ).join('\n');
    const aliased = await server.gql(`mutation { ${aliases} }`);
    expect(aliased.errors?.[0]?.message).toMatch(/alias/i);
    const huge = await server.gql(`{ ${'__typename '.repeat(3000)} }`);
    expect(huge.errors?.[0]?.message).toMatch(/token/i);
  });

  it('reads request bodies up to 1 MiB and refuses larger ones with 413, as a GraphQL error', async () => {
    const post = (padding: number) =>
      fetch(server.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: '{ __typename }',
          variables: { padding: 'x'.repeat(padding) },
        }),
      });
    const near = await post(1024 * 1024 - 100);
    expect(near.status).toBe(200);
    expect(await near.json()).toEqual({ data: { __typename: 'Query' } });
    const over = await post(1024 * 1024);
    expect(over.status).toBe(413);
    expect(await over.json()).toEqual({
      errors: [
        {
          message: expect.stringMatching(/too large/i),
          extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' },
        },
      ],
    });
  });

  it('refuses a cross-site simple POST (CSRF) but serves JSON POSTs and GET queries', async () => {
    const simple = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ query: 'mutation { logout }' }),
    });
    expect(simple.status).toBe(403);
    expect(JSON.stringify(await simple.json())).toContain('CSRF');
    const get = await fetch(`${server.graphqlUrl}?query=${encodeURIComponent('{ __typename }')}`);
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('allows introspection and suggests field names', async () => {
    const introspection = await server.gql('{ __schema { queryType { name } } }');
    expect(introspection.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    const typo = await server.gql('{ mee { id } }', {}, user.token);
    expect(typo.errors?.[0]?.message).toMatch(/Did you mean/);
    expect(typo.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('in production', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Production refuses the test secret: it is published in this repository.
    server = await startTestServer({
      NODE_ENV: 'production',
      PASSWORD_HASH_ROUNDS: '600000',
      SECRET_KEY: randomBytes(48).toString('base64'),
    });
  });
  afterAll(() => server?.stop());

  it('refuses introspection over HTTP and over WebSocket', async () => {
    const http = await server.gql('{ __schema { queryType { name } } }');
    expect(http.errors?.[0]?.message).toMatch(/introspection/i);

    const client = server.wsClient();
    const errors = await new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: '{ __schema { queryType { name } } }' },
        { next: (result) => resolve(result.errors), error: resolve, complete: () => undefined },
      );
    });
    expect(JSON.stringify(errors)).toMatch(/introspection/i);
  });

  it('gives no field suggestions', async () => {
    const typo = await server.gql('{ mee { id } }');
    expect(typo.errors?.[0]?.message).not.toMatch(/Did you mean/);
  });
});
