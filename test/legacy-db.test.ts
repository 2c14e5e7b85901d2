/** A database written by the Python backend keeps working, and its tokens do too. */
import { jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_SECRET, type TestServer } from './support/server.js';
import { LEGACY_29000_HASH, LEGACY_PASSWORD, legacyToken, legacyUser } from './support/legacy.js';

const LOGIN = /* GraphQL */ `
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      accessToken
      user {
        id
        isOnline
        createdAt
      }
    }
  }
`;
const ME = '{ me { id username } }';

let server: TestServer;
beforeAll(async () => {
  // Above passlib's 29000, so that old hashes count as weaker and get upgraded.
  server = await startTestServer({ PASSWORD_HASH_ROUNDS: '30000' });
});
afterAll(() => server?.stop());

describe('users written by the old server', () => {
  it('log in with their 29000-round passlib hash, which is then re-hashed at the current cost', async () => {
    const old = legacyUser();
    await server.service.app.db.users.insertOne(old);
    const response = await server.gql<{ login: { user: Record<string, unknown> } }>(LOGIN, {
      username: old.username,
      password: LEGACY_PASSWORD,
    });
    expect(response.errors).toBeUndefined();
    expect(response.data?.login.user).toMatchObject({
      id: old.user_id,
      isOnline: true,
      createdAt: '2024-01-01T10:00:00.000Z',
    });
    const stored = await server.service.app.db.users.findOne({ user_id: old.user_id });
    expect(stored?.password_hash).toMatch(/^\$pbkdf2-sha256\$30000\$/);
    // The upgraded hash still verifies the same password.
    const again = await server.gql(LOGIN, { username: old.username, password: LEGACY_PASSWORD });
    expect(again.errors).toBeUndefined();
  });

  it('keep their hash when a login fails', async () => {
    const old = legacyUser();
    await server.service.app.db.users.insertOne(old);
    const response = await server.gql(LOGIN, { username: old.username, password: 'nope' });
    expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const stored = await server.service.app.db.users.findOne({ user_id: old.user_id });
    expect(stored?.password_hash).toBe(LEGACY_29000_HASH);
  });

  it('recover with their plain-text security phrase, which is then stored hashed', async () => {
    const old = legacyUser();
    await server.service.app.db.users.insertOne(old);
    const response = await server.gql(
      /* GraphQL */ `
        mutation ($u: String!) {
          recoverAccount(username: $u, securityPhrase: "Test Phrase", newPassword: "n3w-pass") {
            accessToken
          }
        }
      `,
      { u: old.username },
    );
    expect(response.errors).toBeUndefined();
    const stored = await server.service.app.db.users.findOne({ user_id: old.user_id });
    expect(stored?.security_phrase).toMatch(/^\$pbkdf2-sha256\$/);
    const login = await server.gql(LOGIN, { username: old.username, password: 'n3w-pass' });
    expect(login.errors).toBeUndefined();
  });
});

describe('tokens', () => {
  const sign = (claims: Record<string, unknown>, alg = 'HS256', secret = TEST_SECRET) =>
    new SignJWT(claims).setProtectedHeader({ alg }).sign(new TextEncoder().encode(secret));

  it('accepts a token issued by the old server with the same secret', async () => {
    const old = legacyUser();
    await server.service.app.db.users.insertOne(old);
    const response = await server.gql<{ me: { id: string } }>(
      ME,
      {},
      await legacyToken(old.username),
    );
    expect(response.data?.me.id).toBe(old.user_id);
  });

  it('refuses expired, unsigned, wrongly signed, other-algorithm and exp-less tokens', async () => {
    const old = legacyUser();
    await server.service.app.db.users.insertOne(old);
    const now = Math.floor(Date.now() / 1000);
    const unsigned = [
      Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url'),
      Buffer.from(JSON.stringify({ sub: old.username, exp: now + 600 })).toString('base64url'),
      '',
    ].join('.');
    const cases: [string, string][] = [
      [await legacyToken(old.username, TEST_SECRET, -60), 'Token expired'],
      [unsigned, 'Invalid credentials'],
      [
        await legacyToken(old.username, 'another-secret-another-secret-another'),
        'Invalid credentials',
      ],
      [await sign({ sub: old.username, exp: now + 600 }, 'HS512'), 'Invalid credentials'],
      [await sign({ sub: old.username }), 'Invalid credentials'],
      [await sign({ sub: 'no-such-user', exp: now + 600 }), 'User not found'],
    ];
    for (const [token, message] of cases) {
      const response = await server.gql(ME, {}, token);
      expect(response.data).toBeNull();
      expect(response.errors?.[0]).toMatchObject({
        message,
        extensions: { code: 'UNAUTHENTICATED' },
      });
    }
  });
});

describe('rotating SECRET_KEY (SECRET_KEY_PREVIOUS)', () => {
  const PREVIOUS = 'the-previous-secret-key-of-this-deployment-0123';
  let rotated: TestServer;
  beforeAll(async () => {
    // A server after the rotation: new secret, the old one accepted for a while.
    rotated = await startTestServer({ SECRET_KEY_PREVIOUS: PREVIOUS });
  });
  afterAll(() => rotated?.stop());

  it('accepts tokens signed with either secret, issues new ones with the new, refuses others', async () => {
    const old = legacyUser();
    await rotated.service.app.db.users.insertOne(old);
    for (const secret of [PREVIOUS, TEST_SECRET]) {
      const response = await rotated.gql<{ me: { id: string } }>(
        ME,
        {},
        await legacyToken(old.username, secret),
      );
      expect(response.data?.me.id, secret).toBe(old.user_id);
    }
    const other = await rotated.gql(
      ME,
      {},
      await legacyToken(old.username, 'a-third-secret-nobody-configured-0123456789'),
    );
    expect(other.errors?.[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    // A token the rotated server issues is signed with the new secret only.
    const login = await rotated.gql<{ login: { accessToken: string } }>(
      'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }',
      { u: old.username, p: LEGACY_PASSWORD },
    );
    const issued = login.data!.login.accessToken;
    const key = (secret: string) => new TextEncoder().encode(secret);
    expect((await jwtVerify(issued, key(TEST_SECRET))).payload.sub).toBe(old.username);
    await expect(jwtVerify(issued, key(PREVIOUS))).rejects.toThrow();
  });
});
