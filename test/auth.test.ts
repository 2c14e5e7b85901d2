import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { REGISTER, registerUser, registrationInput } from './support/users.js';

const LOGIN = /* GraphQL */ `
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      accessToken
      tokenType
      user {
        id
        username
        email
        isOnline
      }
    }
  }
`;
const ME = /* GraphQL */ `
  {
    me {
      id
      username
      email
      mobileNo
    }
  }
`;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

describe('register', () => {
  it('creates the user and returns a working token', async () => {
    const input = registrationInput();
    const response = await server.gql<{
      register: { accessToken: string; tokenType: string; user: Record<string, unknown> };
    }>(REGISTER, { input });
    expect(response.errors).toBeUndefined();
    const payload = response.data!.register;
    expect(payload.tokenType).toBe('bearer');
    expect(payload.user).toMatchObject({
      username: input.username,
      firstName: input.firstName,
      email: input.email,
      mobileNo: input.mobileNo,
      isOnline: true,
    });
    const me = await server.gql<{ me: { id: string } }>(ME, {}, payload.accessToken);
    expect(me.data?.me.id).toBe(payload.user.id);

    const stored = await server.service.app.db.users.findOne({ username: input.username });
    expect(stored?.password_hash).toMatch(/^\$pbkdf2-sha256\$2000\$/);
    expect(stored?.security_phrase).toMatch(/^\$pbkdf2-sha256\$/);
    expect(stored?.user_id).toBe(payload.user.id);
  });

  it('rejects invalid fields with BAD_USER_INPUT naming the field', async () => {
    const response = await server.gql(REGISTER, {
      input: registrationInput({ email: 'not-an-email' }),
    });
    expect(response.data).toBeNull();
    expect(response.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'email',
    });
  });

  it('lets exactly one of two racing registrations of the same username through', async () => {
    const first = registrationInput();
    const second = registrationInput({ username: first.username });
    const results = await Promise.all(
      [first, second].map((input) => server.gql(REGISTER, { input })),
    );
    const failures = results.filter((result) => result.errors);
    expect(results.filter((result) => result.data?.register)).toHaveLength(1);
    expect(failures).toHaveLength(1);
    expect(failures[0]!.errors![0]!.message).toBe('Username or email already registered');
    expect(failures[0]!.errors![0]!.extensions?.code).toBe('CONFLICT');
    expect(await server.service.app.db.users.countDocuments({ username: first.username })).toBe(1);
  });

  it('refuses a second account with the same email', async () => {
    const first = registrationInput();
    await server.gql(REGISTER, { input: first });
    const response = await server.gql(REGISTER, {
      input: registrationInput({ email: first.email }),
    });
    expect(response.errors?.[0]?.message).toBe('Username or email already registered');
  });
});

describe('login', () => {
  it('returns a token for the right password', async () => {
    const user = await registerUser(server);
    const response = await server.gql<{ login: { accessToken: string; user: { id: string } } }>(
      LOGIN,
      { username: user.username, password: user.password },
    );
    expect(response.data?.login.user.id).toBe(user.id);
    const me = await server.gql<{ me: { email: string } }>(
      ME,
      {},
      response.data!.login.accessToken,
    );
    expect(me.data?.me.email).toMatch(/@example\.com$/);
  });

  it('refuses a wrong password and an unknown user alike', async () => {
    const user = await registerUser(server);
    for (const credentials of [
      { username: user.username, password: 'wrong' },
      { username: 'nobody-by-this-name', password: 'whatever' },
    ]) {
      const response = await server.gql(LOGIN, credentials);
      expect(response.data).toBeNull();
      expect(response.errors?.[0]).toMatchObject({
        message: 'Incorrect username or password',
        extensions: { code: 'UNAUTHENTICATED' },
      });
    }
  });

  it('refuses operations without a token, and with a forged one', async () => {
    const missing = await server.gql(ME);
    expect(missing.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const user = await registerUser(server);
    const [header, payload] = user.token.split('.');
    const forged = await server.gql(ME, {}, `${header}.${payload}.AAAA`);
    expect(forged.errors?.[0]).toMatchObject({
      message: 'Invalid credentials',
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });
});

describe('logout', () => {
  it('revokes every token issued before it, and marks the user offline', async () => {
    const user = await registerUser(server);
    const second = await server.gql<{ login: { accessToken: string } }>(LOGIN, {
      username: user.username,
      password: user.password,
    });
    const logout = await server.gql<{ logout: boolean }>('mutation { logout }', {}, user.token);
    expect(logout.data?.logout).toBe(true);

    for (const token of [user.token, second.data!.login.accessToken]) {
      const me = await server.gql(ME, {}, token);
      expect(me.errors?.[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    }
    const stored = await server.service.app.db.users.findOne({ user_id: user.id });
    expect(stored?.is_online).toBe(false);

    const again = await server.gql<{ login: { accessToken: string } }>(LOGIN, {
      username: user.username,
      password: user.password,
    });
    const me = await server.gql<{ me: { id: string } }>(ME, {}, again.data!.login.accessToken);
    expect(me.data?.me.id).toBe(user.id);
  });
});

describe('recoverAccount', () => {
  const RECOVER = /* GraphQL */ `
    mutation Recover($username: String!, $securityPhrase: String!, $newPassword: String!) {
      recoverAccount(
        username: $username
        securityPhrase: $securityPhrase
        newPassword: $newPassword
      ) {
        accessToken
        user {
          id
        }
      }
    }
  `;

  it('sets a new password with the security phrase (any case and spacing) and revokes old tokens', async () => {
    const user = await registerUser(server);
    const response = await server.gql<{ recoverAccount: { accessToken: string } }>(RECOVER, {
      username: user.username,
      securityPhrase: '  my FAVOURITE   colour is blue ',
      newPassword: 'brand-new-password',
    });
    expect(response.errors).toBeUndefined();

    const old = await server.gql(ME, {}, user.token);
    expect(old.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const fresh = await server.gql<{ me: { id: string } }>(
      ME,
      {},
      response.data!.recoverAccount.accessToken,
    );
    expect(fresh.data?.me.id).toBe(user.id);

    const oldPassword = await server.gql(LOGIN, {
      username: user.username,
      password: user.password,
    });
    expect(oldPassword.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const newPassword = await server.gql<{ login: { user: { id: string } } }>(LOGIN, {
      username: user.username,
      password: 'brand-new-password',
    });
    expect(newPassword.data?.login.user.id).toBe(user.id);
  });

  it('refuses a wrong phrase and changes nothing', async () => {
    const user = await registerUser(server);
    const before = await server.service.app.db.users.findOne({ user_id: user.id });
    const response = await server.gql(RECOVER, {
      username: user.username,
      securityPhrase: 'wrong answer',
      newPassword: 'brand-new-password',
    });
    expect(response.errors?.[0]).toMatchObject({
      message: 'Incorrect username or security phrase',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    const after = await server.service.app.db.users.findOne({ user_id: user.id });
    expect(after?.password_hash).toBe(before?.password_hash);
    const me = await server.gql(ME, {}, user.token);
    expect(me.errors).toBeUndefined();
  });
});
