/**
 * The REST contract of the old Python/FastAPI backend, exercised as an unmodified client would:
 * plain `fetch`, no GraphQL. Status codes, `detail` texts, the exact keys (and their order) of
 * every JSON object, timestamps, ordering, limits, validation errors in FastAPI's shape,
 * redaction, databases written by the old server, and CORS. The contract is
 * /work/shared/legacy-api.md and the seed README; where those are silent, the old code.
 */
import { randomUUID } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_SECRET, type TestServer } from './support/server.js';
import {
  USER_DATA_KEYS,
  TOKEN_KEYS,
  USER_SUMMARY_KEYS,
  CHAT_LIST_ITEM_KEYS,
  CHAT_KEYS,
  HISTORY_KEYS,
  SENDER_KEYS,
  SEND_KEYS,
  VALIDATION_ITEM_KEYS,
  LEGACY_PASSWORD,
  legacyMessage,
  legacyToken,
  legacyUser,
} from './support/legacy.js';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const RUNNING = '{"message":"ZeroHour Chat API is running!"}';
const NOT_FOUND = '{"detail":"Not Found"}';

interface UserData {
  user_id: string;
  first_name: string;
  last_name: string;
  mobile_no: string;
  email: string;
  username: string;
  created_at: string;
  is_online: boolean;
}
interface TokenReply {
  access_token: string;
  token_type: string;
  user_data: UserData;
}
interface UserSummary {
  user_id: string;
  username: string;
  first_name: string;
  last_name: string;
  is_online: boolean;
}
interface ChatListItem {
  chat_id: string;
  other_user: UserSummary;
  last_message: string | null;
  last_message_time: string | null;
  created_at: string;
}
interface ChatReply {
  chat_id: string;
  participants: string[];
  created_at: string;
  last_message: string | null;
  last_message_time: string | null;
}
interface HistoryItem {
  message_id: string;
  content: string;
  timestamp: string;
  sender: { user_id: string; username: string; first_name: string; last_name: string };
  is_own_message: boolean;
}
interface SendReply {
  status: string;
  message_id: string;
  timestamp: string;
}
interface Detail {
  detail: string;
}
interface ValidationItem {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
}
interface ValidationReply {
  detail: ValidationItem[];
}
interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
}

// ---------------------------------------------------------------------------------------------
// A plain HTTP client.

interface Reply<T> {
  status: number;
  headers: Headers;
  text: string;
  json: T;
}

interface CallOptions {
  method?: string;
  token?: string;
  /** Sent as JSON with `Content-Type: application/json`. */
  body?: unknown;
  /** Sent as is (no Content-Type unless given in `headers`). */
  rawBody?: string;
  headers?: Record<string, string>;
  /** The server to call; the suite's default one when absent. */
  on?: TestServer;
}

let server: TestServer;

/** Keys no response may hold, at any depth: the old code leaked all three. */
const PRIVATE_KEYS = ['_id', 'password_hash', 'security_phrase'];

function expectRedacted(value: unknown, path: string[] = []): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => expectRedacted(item, [...path, String(index)]));
    return;
  }
  if (!value || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value)) {
    // A 422 echoes the client's own request (FastAPI's `input`): nothing of the database.
    if (path[0] === 'detail' && key === 'input') continue;
    expect(PRIVATE_KEYS, `private key at ${[...path, key].join('.')}`).not.toContain(key);
    expectRedacted(child, [...path, key]);
  }
}

async function call<T = unknown>(path: string, options: CallOptions = {}): Promise<Reply<T>> {
  const target = options.on ?? server;
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.body);
  }
  const response = await fetch(`${target.url}${path}`, {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
    redirect: 'manual',
  });
  const text = await response.text();
  let json: unknown = undefined;
  if ((response.headers.get('content-type') ?? '').includes('json') && text) {
    json = JSON.parse(text);
  }
  if (!path.startsWith('/openapi.json') && !path.startsWith('/docs')) {
    // No stored hash (password or security phrase), and no private key, in any response.
    expect(text, `${path} leaks a password hash`).not.toMatch(/\$pbkdf2-sha256\$/);
    expectRedacted(json);
  }
  return { status: response.status, headers: response.headers, text, json: json as T };
}

const post = <T = unknown>(path: string, body: unknown, token?: string) =>
  call<T>(path, { method: 'POST', body, token });

function expectKeys(value: unknown, keys: string[]): void {
  expect(value).toBeTypeOf('object');
  expect(Object.keys(value as object)).toEqual(keys);
}

function expectDetail(reply: Reply<unknown>, status: number, detail: string): void {
  expect({ status: reply.status, body: reply.json }).toEqual({ status, body: { detail } });
  expectKeys(reply.json, ['detail']);
}

/** A FastAPI 422: `{"detail": [{type, loc, msg, input}, ...]}` with one item at `loc`. */
function expectInvalid(reply: Reply<unknown>, loc: (string | number)[]): ValidationItem {
  expect(reply.status, reply.text).toBe(422);
  expectKeys(reply.json, ['detail']);
  const { detail } = reply.json as ValidationReply;
  expect(Array.isArray(detail), reply.text).toBe(true);
  expect(detail.length).toBeGreaterThan(0);
  for (const item of detail) {
    expect(Object.keys(item)).toEqual(expect.arrayContaining(VALIDATION_ITEM_KEYS));
    expect(Object.keys(item).slice(0, 4)).toEqual(VALIDATION_ITEM_KEYS);
    expect(item.type).toBeTypeOf('string');
    expect(item.msg).toBeTypeOf('string');
    expect(Array.isArray(item.loc)).toBe(true);
  }
  const match = detail.find((item) => JSON.stringify(item.loc) === JSON.stringify(loc));
  expect(match, `no 422 item at ${JSON.stringify(loc)} in ${reply.text}`).toBeDefined();
  return match!;
}

// ---------------------------------------------------------------------------------------------
// Users, chats and messages: through the REST API, or inserted as the old server wrote them.

const randomDigits = (count: number) =>
  Array.from({ length: count }, () => Math.floor(Math.random() * 10)).join('');

function registration(overrides: Record<string, unknown> = {}) {
  const suffix = randomUUID().slice(0, 8);
  return {
    first_name: 'Rest',
    last_name: `Contract${suffix}`,
    mobile_no: `9${randomDigits(9)}`,
    email: `rest-${suffix}@example.com`,
    username: `rest_${suffix}`,
    password: `pw-${suffix}`,
    security_phrase: 'my favorite color is blue',
    ...overrides,
  };
}

interface RestUser {
  id: string;
  token: string;
  username: string;
  password: string;
  email: string;
  mobile: string;
  data: UserData;
}

async function register(overrides: Record<string, unknown> = {}, on?: TestServer) {
  const body = registration(overrides);
  const reply = await call<TokenReply>('/api/auth/register', { method: 'POST', body, on });
  if (reply.status !== 200) throw new Error(`register failed: ${reply.status} ${reply.text}`);
  const user: RestUser = {
    id: reply.json.user_data.user_id,
    token: reply.json.access_token,
    username: body.username,
    password: body.password,
    email: body.email,
    mobile: body.mobile_no,
    data: reply.json.user_data,
  };
  return user;
}

async function openChat(a: RestUser, b: RestUser): Promise<ChatReply> {
  const reply = await call<ChatReply>(`/api/chats/create?other_user_id=${b.id}`, {
    method: 'POST',
    token: a.token,
  });
  if (reply.status !== 200) throw new Error(`create failed: ${reply.status} ${reply.text}`);
  return reply.json;
}

async function send(user: RestUser, chatId: string, content: string) {
  const reply = await post<SendReply>(
    `/api/send/${user.id}`,
    { chat_id: chatId, content },
    user.token,
  );
  if (reply.status !== 200) throw new Error(`send failed: ${reply.status} ${reply.text}`);
  return reply.json;
}

/** A naive datetime as Python/pymongo stored it: the wall-clock value, read back as UTC. */
const naive = (wallClock: string) => new Date(`${wallClock}Z`);

function legacyChat(
  participants: string[],
  createdAt: Date,
  last: { message: string; time: Date } | null = null,
) {
  return {
    _id: new ObjectId(),
    chat_id: randomUUID(),
    participants,
    created_at: createdAt,
    last_message: last?.message ?? null,
    last_message_time: last?.time ?? null,
  };
}

/** Untyped collections: documents go in exactly as the old server wrote them. */
const raw = (name: 'users' | 'chats' | 'messages', on: TestServer = server) =>
  on.service.app.db.db.collection(name);

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

// ---------------------------------------------------------------------------------------------

describe('GET /api/ and GET / (status)', () => {
  it('answer 200 with the running message, byte for byte', async () => {
    for (const path of ['/api/', '/']) {
      // What the old clients send: nothing, axios's JSON Accept, curl's */*.
      for (const accept of [undefined, 'application/json, text/plain, */*', '*/*']) {
        const reply = await call(path, { headers: accept ? { accept } : {} });
        expect(reply.status, path).toBe(200);
        expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
        expect(reply.text).toBe(RUNNING);
      }
    }
  });

  it('show a browser at / the way to GraphiQL and the REST docs', async () => {
    const reply = await call('/', {
      headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^text\/html/);
    expect(reply.headers.get('vary')).toMatch(/accept/i);
    expect(reply.text).toContain('href="/graphql"');
    expect(reply.text).toContain('href="/docs"');
    // /api/ stays the API's: JSON for everyone.
    const api = await call('/api/', { headers: { accept: 'text/html' } });
    expect(api.text).toBe(RUNNING);
  });
});

describe('unknown paths', () => {
  it('answer 404 {"detail":"Not Found"}', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['GET', '/api/nope'],
      ['GET', '/api/chats/x/y/z'],
      ['POST', '/api/unknown'],
      ['GET', '/api/users'],
    ] as const) {
      const reply = await call(path, { method });
      expect(reply.status, `${method} ${path}`).toBe(404);
      expect(reply.text).toBe(NOT_FOUND);
    }
  });

  it('a known path with the wrong method answers 405 {"detail":"Method Not Allowed"} (FastAPI)', async () => {
    const reply = await call('/api/auth/login');
    expectDetail(reply, 405, 'Method Not Allowed');
  });
});

describe('GET /openapi.json and GET /docs', () => {
  it('describe every REST endpoint in OpenAPI 3', async () => {
    const reply = await call<OpenApi>('/openapi.json');
    expect(reply.status).toBe(200);
    expect(reply.json.openapi).toMatch(/^3\./);
    const paths = reply.json.paths;
    const expected: [string | string[], string][] = [
      ['/api/', 'get'],
      ['/api/auth/register', 'post'],
      ['/api/auth/login', 'post'],
      ['/api/auth/logout', 'post'],
      ['/api/users/search', 'get'],
      [['/api/chats/', '/api/chats'], 'get'],
      ['/api/chats/create', 'post'],
      ['/api/chats/{chat_id}/messages', 'get'],
      ['/api/send/{user_id}', 'post'],
    ];
    for (const [candidates, method] of expected) {
      const found = [candidates].flat().some((path) => paths[path]?.[method] !== undefined);
      expect(found, `${method.toUpperCase()} ${String(candidates)} in ${Object.keys(paths)}`).toBe(
        true,
      );
    }
    const params = (path: string, method: string) =>
      (paths[path]?.[method]?.parameters ?? []).map((p) => `${p.in}:${p.name}`);
    expect(params('/api/users/search', 'get')).toContain('query:query');
    expect(params('/api/chats/create', 'post')).toContain('query:other_user_id');
    expect(params('/api/chats/{chat_id}/messages', 'get')).toEqual(
      expect.arrayContaining(['path:chat_id', 'query:limit', 'query:before']),
    );
    expect(params('/api/send/{user_id}', 'post')).toContain('path:user_id');
  });

  it('serve Swagger UI as HTML at /docs', async () => {
    const response = await fetch(`${server.url}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toMatch(/swagger-ui/i);
  });
});

describe("the seed README's curl examples", () => {
  it('register, login and list chats with the exact JSON shown there', async () => {
    // curl -X POST http://localhost:8001/api/auth/register -H "Content-Type: application/json" -d '…'
    const registerBody = `{
    "first_name": "Test",
    "last_name": "User",
    "mobile_no": "1234567890",
    "email": "test@example.com",
    "username": "testuser",
    "password": "password123",
    "security_phrase": "test phrase"
  }`;
    const registered = await call<TokenReply>('/api/auth/register', {
      method: 'POST',
      rawBody: registerBody,
      headers: { 'Content-Type': 'application/json' },
    });
    expect(registered.status, registered.text).toBe(200);
    expectKeys(registered.json, TOKEN_KEYS);
    expect(registered.json.token_type).toBe('bearer');
    expect(registered.json.user_data).toMatchObject({
      username: 'testuser',
      first_name: 'Test',
      last_name: 'User',
      email: 'test@example.com',
    });

    const loggedIn = await call<TokenReply>('/api/auth/login', {
      method: 'POST',
      rawBody: `{
    "username": "testuser",
    "password": "password123"
  }`,
      headers: { 'Content-Type': 'application/json' },
    });
    expect(loggedIn.status, loggedIn.text).toBe(200);
    expect(loggedIn.json.user_data.user_id).toBe(registered.json.user_data.user_id);

    // curl -X GET http://localhost:8001/api/chats -H "Authorization: Bearer TOKEN"
    const chats = await call('/api/chats', {
      headers: { Authorization: `Bearer ${loggedIn.json.access_token}` },
    });
    expect(chats.status, chats.text).toBe(200);
    expect(chats.json).toEqual([]);
  });

  it('register and login with the API reference example (johndoe123)', async () => {
    const body = {
      first_name: 'John',
      last_name: 'Doe',
      mobile_no: '9876543210',
      email: 'john.doe@example.com',
      username: 'johndoe123',
      password: 'password123',
      security_phrase: 'my favorite color is blue',
    };
    const registered = await post<TokenReply>('/api/auth/register', body);
    expect(registered.status, registered.text).toBe(200);
    const login = await post<TokenReply>('/api/auth/login', {
      username: 'johndoe123',
      password: 'password123',
    });
    expect(login.status, login.text).toBe(200);
    expect(login.json.user_data).toMatchObject({
      user_id: registered.json.user_data.user_id,
      username: 'johndoe123',
      first_name: 'John',
      last_name: 'Doe',
      email: 'john.doe@example.com',
    });
  });
});

describe('POST /api/auth/register', () => {
  it('answers 200 {access_token, token_type, user_data} with user_data in the old key order', async () => {
    const body = registration();
    const reply = await post<TokenReply>('/api/auth/register', body);
    expect(reply.status, reply.text).toBe(200);
    expectKeys(reply.json, TOKEN_KEYS);
    expect(reply.json.token_type).toBe('bearer');
    expect(reply.json.access_token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const data = reply.json.user_data;
    expectKeys(data, USER_DATA_KEYS);
    expect(data).toMatchObject({
      first_name: body.first_name,
      last_name: body.last_name,
      mobile_no: body.mobile_no,
      email: body.email,
      username: body.username,
    });
    expect(data.user_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(data.created_at).toMatch(ISO_UTC);
    expect(data.is_online).toBeTypeOf('boolean');

    // The token works at once, and the stored document has the old field names.
    const chats = await call('/api/chats/', { token: reply.json.access_token });
    expect(chats.status).toBe(200);
    const stored = await raw('users').findOne({ user_id: data.user_id });
    expect(stored).toMatchObject({ username: body.username, email: body.email });
    expect(stored?.password_hash).toMatch(/^\$pbkdf2-sha256\$/);
    expect(stored?.security_phrase).not.toBe(body.security_phrase);
  });

  it('answers 400 "Username or email already registered" for a taken username or email', async () => {
    const first = await register();
    const sameUsername = await post(
      '/api/auth/register',
      registration({ username: first.username }),
    );
    expectDetail(sameUsername, 400, 'Username or email already registered');
    const sameEmail = await post('/api/auth/register', registration({ email: first.email }));
    expectDetail(sameEmail, 400, 'Username or email already registered');
  });

  it('answers 422 naming each missing field', async () => {
    for (const field of [
      'first_name',
      'last_name',
      'mobile_no',
      'email',
      'username',
      'password',
      'security_phrase',
    ]) {
      const body: Record<string, unknown> = registration();
      delete body[field];
      const item = expectInvalid(await post('/api/auth/register', body), ['body', field]);
      expect(item.type).toBe('missing');
      expect(item.msg).toBe('Field required');
    }
  });

  it('answers 422 at ["body","email"] for a bad email', async () => {
    const reply = await post('/api/auth/register', registration({ email: 'not-an-email' }));
    expectInvalid(reply, ['body', 'email']);
  });

  it('answers 422 for malformed JSON and for a missing body', async () => {
    const malformed = await call('/api/auth/register', {
      method: 'POST',
      rawBody: '{"first_name": "Test",',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(422);
    const { detail } = malformed.json as ValidationReply;
    expect(detail[0]?.type).toBe('json_invalid');
    expect(detail[0]?.loc[0]).toBe('body');

    const missing = await call('/api/auth/register', { method: 'POST' });
    expect(missing.status, missing.text).toBe(422);
    expect((missing.json as ValidationReply).detail[0]?.loc[0]).toBe('body');
  });

  it('answers 422 for an object where a string belongs', async () => {
    const reply = await post('/api/auth/register', registration({ username: { $gt: '' } }));
    expectInvalid(reply, ['body', 'username']);
  });

  it('422 items carry the offending value as input, as FastAPI does (not the whole body and its password)', async () => {
    const body = registration({ email: 'not-an-email' });
    const email = expectInvalid(await post('/api/auth/register', body), ['body', 'email']);
    expect(email.input).toBe('not-an-email');
    const login = await post('/api/auth/login', { username: { $gt: '' }, password: 'secret-pw' });
    expect(expectInvalid(login, ['body', 'username']).input).toEqual({ $gt: '' });
    expect(login.text).not.toContain('secret-pw');
    // A missing field's input is the enclosing object (the body), as in pydantic.
    const missing = registration();
    const { password: _password, ...withoutPassword } = missing;
    const item = expectInvalid(await post('/api/auth/register', withoutPassword), [
      'body',
      'password',
    ]);
    expect(item.input).toEqual(withoutPassword);
  });

  it('ignores unknown extra fields (and cannot be made to set server-owned ones)', async () => {
    const body = {
      ...registration(),
      user_id: 'forged-id',
      is_online: 'yes',
      is_admin: true,
      password_hash: '$pbkdf2-sha256$1$AA$AA',
      created_at: '1999-01-01T00:00:00Z',
    };
    const reply = await post<TokenReply>('/api/auth/register', body);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.user_data.user_id).not.toBe('forged-id');
    expect(reply.json.user_data.created_at).not.toBe('1999-01-01T00:00:00.000Z');
    const stored = await raw('users').findOne({ username: body.username });
    expect(stored?.is_admin).toBeUndefined();
    expect(stored?.password_hash).not.toBe(body.password_hash);
    const login = await post('/api/auth/login', {
      username: body.username,
      password: body.password,
    });
    expect(login.status).toBe(200);
  });
});

describe('POST /api/auth/login', () => {
  it('answers 200 with the same shape and marks the user online', async () => {
    const user = await register();
    await raw('users').updateOne({ user_id: user.id }, { $set: { is_online: false } });
    const reply = await post<TokenReply>('/api/auth/login', {
      username: user.username,
      password: user.password,
    });
    expect(reply.status, reply.text).toBe(200);
    expectKeys(reply.json, TOKEN_KEYS);
    expect(reply.json.token_type).toBe('bearer');
    expectKeys(reply.json.user_data, USER_DATA_KEYS);
    expect(reply.json.user_data).toEqual({ ...user.data, is_online: true });
    expect(reply.json.user_data.created_at).toMatch(ISO_UTC);
    expect((await raw('users').findOne({ user_id: user.id }))?.is_online).toBe(true);
    const chats = await call('/api/chats/', { token: reply.json.access_token });
    expect(chats.status).toBe(200);
  });

  it('answers 401 "Incorrect username or password" for a wrong password or an unknown user', async () => {
    const user = await register();
    expectDetail(
      await post('/api/auth/login', { username: user.username, password: 'wrong' }),
      401,
      'Incorrect username or password',
    );
    expectDetail(
      await post('/api/auth/login', { username: `nobody_${randomUUID()}`, password: 'x' }),
      401,
      'Incorrect username or password',
    );
  });

  it('answers 422 (never 200 or 500) to operator objects where strings belong', async () => {
    await register();
    const reply = await post('/api/auth/login', { username: { $gt: '' }, password: { $ne: '' } });
    expect(reply.status).not.toBe(200);
    expect(reply.status).not.toBe(500);
    expectInvalid(reply, ['body', 'username']);
    const passwordOnly = await post('/api/auth/login', {
      username: 'someone',
      password: { $ne: '' },
    });
    expectInvalid(passwordOnly, ['body', 'password']);
  });

  it('answers 422 to an array where a string belongs', async () => {
    const user = await register();
    const reply = await post('/api/auth/login', {
      username: [user.username],
      password: [user.password],
    });
    expect(reply.status).not.toBe(200);
    expectInvalid(reply, ['body', 'username']);
  });

  it('answers 422 to a number or boolean where a string belongs (pydantic does not coerce)', async () => {
    const numeric = await post('/api/auth/login', { username: 12345, password: 'x' });
    expectInvalid(numeric, ['body', 'username']);
    const boolean = await post('/api/auth/login', { username: 'x', password: true });
    expectInvalid(boolean, ['body', 'password']);
  });

  it('answers 422 for a missing field, malformed JSON and no body', async () => {
    const item = expectInvalid(await post('/api/auth/login', { username: 'x' }), [
      'body',
      'password',
    ]);
    expect(item.type).toBe('missing');
    const malformed = await call('/api/auth/login', {
      method: 'POST',
      rawBody: '{"username": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(422);
    expect((malformed.json as ValidationReply).detail[0]?.loc[0]).toBe('body');
    const empty = await call('/api/auth/login', { method: 'POST' });
    expect(empty.status).toBe(422);
  });

  it('ignores unknown extra fields', async () => {
    const user = await register();
    const reply = await post('/api/auth/login', {
      username: user.username,
      password: user.password,
      remember_me: true,
      device: { name: 'x' },
    });
    expect(reply.status, reply.text).toBe(200);
  });
});

describe('POST /api/auth/logout', () => {
  it('answers {"message":"Successfully logged out"}, revokes the token and marks the user offline', async () => {
    const user = await register();
    const login = await post<TokenReply>('/api/auth/login', {
      username: user.username,
      password: user.password,
    });
    expect((await raw('users').findOne({ user_id: user.id }))?.is_online).toBe(true);

    const reply = await call('/api/auth/logout', { method: 'POST', token: user.token });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.text).toBe('{"message":"Successfully logged out"}');
    expect((await raw('users').findOne({ user_id: user.id }))?.is_online).toBe(false);

    for (const token of [user.token, login.json.access_token]) {
      const after = await call('/api/chats/', { token });
      expect(after.status).toBe(401);
    }
    // A fresh login works again.
    const again = await post<TokenReply>('/api/auth/login', {
      username: user.username,
      password: user.password,
    });
    expect(again.status).toBe(200);
    expect((await call('/api/chats/', { token: again.json.access_token })).status).toBe(200);
  });

  it('accepts a JSON {} body as well as none', async () => {
    const user = await register();
    const reply = await post('/api/auth/logout', {}, user.token);
    expect(reply.status, reply.text).toBe(200);
    const other = await register();
    const bodiless = await call('/api/auth/logout', { method: 'POST', token: other.token });
    expect(bodiless.status, bodiless.text).toBe(200);
  });
});

describe('authentication of the protected endpoints', () => {
  let user: RestUser;
  const endpoints = (userId: string): [string, string, unknown?][] => [
    ['POST', '/api/auth/logout'],
    ['GET', '/api/users/search?query=a'],
    ['GET', '/api/chats/'],
    ['GET', '/api/chats'],
    ['POST', `/api/chats/create?other_user_id=${randomUUID()}`],
    ['GET', `/api/chats/${randomUUID()}/messages`],
    ['POST', `/api/send/${userId}`, { chat_id: randomUUID(), content: 'hi' }],
  ];
  beforeAll(async () => {
    user = await register();
  });

  it('answer 401 "Not authenticated" with WWW-Authenticate: Bearer without an Authorization header', async () => {
    for (const [method, path, body] of endpoints(user.id)) {
      const reply = await call(path, { method, body });
      expectDetail(reply, 401, 'Not authenticated');
      expect(reply.headers.get('www-authenticate'), `${method} ${path}`).toMatch(/^Bearer/i);
    }
  });

  it('answer 401 "Invalid credentials" for a malformed or forged token', async () => {
    const [header, payload] = user.token.split('.');
    for (const token of ['garbage', 'a.b.c', `${header}.${payload}.AAAA`]) {
      for (const [method, path, body] of endpoints(user.id)) {
        const reply = await call(path, { method, body, token });
        expect(reply.status, `${method} ${path} ${reply.text}`).toBe(401);
        expectDetail(reply, 401, 'Invalid credentials');
      }
    }
    // Signed with another secret.
    const foreign = await legacyToken(user.username, 'another-secret-another-secret-another');
    expectDetail(await call('/api/chats/', { token: foreign }), 401, 'Invalid credentials');
  });

  it('answer 401 "Token expired" for an expired token', async () => {
    const expired = await legacyToken(user.username, TEST_SECRET, -60);
    for (const [method, path, body] of endpoints(user.id)) {
      expectDetail(await call(path, { method, body, token: expired }), 401, 'Token expired');
    }
  });

  it('answer 401 "User not found" for a valid token of an unknown user', async () => {
    const token = await legacyToken(`ghost_${randomUUID().slice(0, 8)}`);
    expectDetail(await call('/api/chats/', { token }), 401, 'User not found');
  });
});

describe('GET /api/users/search', () => {
  it('returns at most 20 {user_id, username, first_name, last_name, is_online}, never the caller', async () => {
    const tag = `Zq${randomUUID().slice(0, 6)}`;
    // The caller matches too, and must not be listed.
    const caller = await register({ last_name: `${tag}Caller` });
    const matching = await Promise.all(
      Array.from({ length: 22 }, (_, index) =>
        register({ last_name: `${tag}Match${String(index).padStart(2, '0')}` }),
      ),
    );
    const reply = await call<UserSummary[]>(`/api/users/search?query=${tag.toLowerCase()}`, {
      token: caller.token,
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toHaveLength(20);
    const known = new Map(matching.map((user) => [user.id, user]));
    for (const item of reply.json) {
      expectKeys(item, USER_SUMMARY_KEYS);
      expect(item.user_id).not.toBe(caller.id);
      const user = known.get(item.user_id);
      expect(user, item.user_id).toBeDefined();
      expect(item).toEqual({
        user_id: user!.id,
        username: user!.username,
        first_name: user!.data.first_name,
        last_name: user!.data.last_name,
        is_online: expect.any(Boolean),
      });
    }
    // Other users' email and phone number never appear.
    for (const user of matching) {
      expect(reply.text).not.toContain(user.email);
      expect(reply.text).not.toContain(user.mobile);
    }
  });

  it('matches username, first or last name by case-insensitive substring', async () => {
    const caller = await register();
    const tag = randomUUID().slice(0, 6);
    const byUsername = await register({ username: `uN_${tag}_x` });
    const byFirst = await register({ first_name: `Fi${tag}rst` });
    const byLast = await register({ last_name: `LA${tag}ST` });
    const cases: [string, RestUser][] = [
      [`UN_${tag.toUpperCase()}`, byUsername],
      [`i${tag}R`, byFirst],
      [`a${tag}s`, byLast],
    ];
    for (const [query, expected] of cases) {
      const reply = await call<UserSummary[]>(
        `/api/users/search?query=${encodeURIComponent(query)}`,
        { token: caller.token },
      );
      expect(reply.status).toBe(200);
      expect(
        reply.json.map((item) => item.user_id),
        query,
      ).toEqual([expected.id]);
    }
  });

  it('treats regex metacharacters literally, and answers fast', async () => {
    const caller = await register();
    await register({
      first_name: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab',
    });
    for (const query of ['(a+)+$', '.*', '^', '[', '\\']) {
      const started = Date.now();
      const reply = await call<UserSummary[]>(
        `/api/users/search?query=${encodeURIComponent(query)}`,
        { token: caller.token },
      );
      expect(reply.status, `${query}: ${reply.text}`).toBe(200);
      expect(reply.json, query).toEqual([]);
      expect(Date.now() - started).toBeLessThan(5000);
    }
  });

  it('answers 422 at ["query","query"] when query is missing', async () => {
    const caller = await register();
    const item = expectInvalid(await call('/api/users/search', { token: caller.token }), [
      'query',
      'query',
    ]);
    expect(item.type).toBe('missing');
    // An operator-looking parameter is not a query either.
    const injected = await call('/api/users/search?query[$ne]=x', { token: caller.token });
    expectInvalid(injected, ['query', 'query']);
  });
});

describe('POST /api/chats/create', () => {
  let me: RestUser;
  let other: RestUser;
  beforeAll(async () => {
    [me, other] = await Promise.all([register(), register()]);
  });

  it('answers {chat_id, participants, created_at, last_message, last_message_time} and reuses the pair’s chat', async () => {
    const reply = await call<ChatReply>(`/api/chats/create?other_user_id=${other.id}`, {
      method: 'POST',
      token: me.token,
    });
    expect(reply.status, reply.text).toBe(200);
    expectKeys(reply.json, CHAT_KEYS);
    expect(reply.json).toEqual({
      chat_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      participants: [me.id, other.id],
      created_at: expect.stringMatching(ISO_UTC),
      last_message: null,
      last_message_time: null,
    });

    const again = await call<ChatReply>(`/api/chats/create?other_user_id=${other.id}`, {
      method: 'POST',
      token: me.token,
    });
    expect(again.status).toBe(200);
    expect(again.json).toEqual(reply.json);
    const reverse = await call<ChatReply>(`/api/chats/create?other_user_id=${me.id}`, {
      method: 'POST',
      token: other.token,
    });
    expect(reverse.status).toBe(200);
    expect(reverse.json.chat_id).toBe(reply.json.chat_id);
    expect(await raw('chats').countDocuments({ participants: { $all: [me.id, other.id] } })).toBe(
      1,
    );
    // Stored in the old shape.
    const stored = await raw('chats').findOne({ chat_id: reply.json.chat_id });
    expect(stored).toMatchObject({
      participants: [me.id, other.id],
      last_message: null,
      last_message_time: null,
    });
    expect(stored?.created_at).toBeInstanceOf(Date);
  });

  it('answers 404 for an unknown user and 400 for oneself', async () => {
    const unknown = await call<Detail>(`/api/chats/create?other_user_id=${randomUUID()}`, {
      method: 'POST',
      token: me.token,
    });
    expect(unknown.status, unknown.text).toBe(404);
    expectKeys(unknown.json, ['detail']);
    expect(unknown.json.detail).toBeTypeOf('string');
    const self = await call<Detail>(`/api/chats/create?other_user_id=${me.id}`, {
      method: 'POST',
      token: me.token,
    });
    expect(self.status, self.text).toBe(400);
    expectKeys(self.json, ['detail']);
    expect(self.json.detail).toBeTypeOf('string');
  });

  it('answers 422 at ["query","other_user_id"] when other_user_id is missing', async () => {
    const reply = await call('/api/chats/create', { method: 'POST', token: me.token });
    const item = expectInvalid(reply, ['query', 'other_user_id']);
    expect(item.type).toBe('missing');
  });

  it('accepts the request with no body or a JSON {} body', async () => {
    const third = await register();
    for (const options of [{}, { body: {} }] as CallOptions[]) {
      const reply = await call<ChatReply>(`/api/chats/create?other_user_id=${third.id}`, {
        method: 'POST',
        token: me.token,
        ...options,
      });
      expect(reply.status, `${JSON.stringify(options)}: ${reply.text}`).toBe(200);
    }
  });
});

describe('POSTs without a body parameter (create, logout)', () => {
  // FastAPI never reads the body of these routes. axios sends `axios.post(url, null)` with
  // `Content-Type: application/x-www-form-urlencoded` and an empty body; fetch with body ''
  // sends text/plain.
  it('accept an empty body whatever its Content-Type', async () => {
    const me = await register();
    const statuses: Record<string, string> = {};
    const expected: Record<string, unknown> = {};
    for (const type of ['application/x-www-form-urlencoded', 'text/plain;charset=UTF-8']) {
      const other = await register();
      const created = await call(`/api/chats/create?other_user_id=${other.id}`, {
        method: 'POST',
        token: me.token,
        rawBody: '',
        headers: { 'content-type': type },
      });
      const loggedOut = await call('/api/auth/logout', {
        method: 'POST',
        token: other.token,
        rawBody: '',
        headers: { 'content-type': type },
      });
      statuses[`create, ${type}`] = `${created.status} ${created.text.slice(0, 60)}`;
      statuses[`logout, ${type}`] = `${loggedOut.status} ${loggedOut.text.slice(0, 60)}`;
      expected[`create, ${type}`] = expect.stringMatching(/^200 /);
      expected[`logout, ${type}`] = expect.stringMatching(/^200 /);
    }
    expect(statuses).toEqual(expected);
  });

  // What curl scripts written from the old README send: FastAPI answered 200.
  it('accept Content-Type: application/json with an empty body', async () => {
    const me = await register();
    const other = await register();
    const json = { 'content-type': 'application/json' };
    const created = await call<ChatReply>(`/api/chats/create?other_user_id=${other.id}`, {
      method: 'POST',
      token: me.token,
      rawBody: '',
      headers: json,
    });
    expect(created.status, created.text).toBe(200);
    expectKeys(created.json, CHAT_KEYS);
    expect(created.json.participants).toEqual([me.id, other.id]);
    const loggedOut = await call('/api/auth/logout', {
      method: 'POST',
      token: other.token,
      rawBody: '',
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(loggedOut.status, loggedOut.text).toBe(200);
    expect(loggedOut.text).toBe('{"message":"Successfully logged out"}');
  });

  it('routes that take a JSON body still answer 422 "JSON decode error" to an empty one (register, login, send)', async () => {
    const me = await register();
    const decodeError = {
      detail: [{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error', input: null }],
    };
    for (const [path, token] of [
      ['/api/auth/register', undefined],
      ['/api/auth/login', undefined],
      [`/api/send/${me.id}`, me.token],
      // The body is parsed before the caller is authorized, as before.
      [`/api/send/${me.id}`, undefined],
    ] as const) {
      const reply = await call(path, {
        method: 'POST',
        token,
        rawBody: '',
        headers: { 'content-type': 'application/json' },
      });
      expect({ path, status: reply.status, body: reply.json }).toEqual({
        path,
        status: 422,
        body: decodeError,
      });
    }
  });
});

describe('who is looked up: only routes that need the caller authenticate', () => {
  let user: RestUser;
  beforeAll(async () => {
    user = await register();
  });

  it('public routes answer without a database command, whatever Authorization header comes with them', async () => {
    for (const token of [user.token, 'garbage']) {
      for (const path of ['/api/', '/', '/openapi.json']) {
        let reply: Reply<unknown> | undefined;
        const commands = await server.countCommands(async () => {
          reply = await call(path, { token });
        });
        expect({ path, status: reply?.status, commands }).toEqual({
          path,
          status: 200,
          commands: [],
        });
        if (path !== '/openapi.json') expect(reply?.text).toBe(RUNNING);
      }
    }
  });

  it('a protected route looks the same token up', async () => {
    let reply: Reply<unknown> | undefined;
    const commands = await server.countCommands(async () => {
      reply = await call('/api/chats', { token: user.token });
    });
    expect(reply?.status).toBe(200);
    expect(commands).toContain('find');
  });

  it('login issues the same commands with or without an Authorization header', async () => {
    const other = await register();
    const credentials = { username: other.username, password: other.password };
    const withHeader = await server.countCommands(async () => {
      expect((await post('/api/auth/login', credentials, user.token)).status).toBe(200);
    });
    const without = await server.countCommands(async () => {
      expect((await post('/api/auth/login', credentials)).status).toBe(200);
    });
    expect(withHeader).toEqual(without);
  });
});

describe('GET /api/chats/ and GET /api/chats', () => {
  it('both answer 200 directly (no redirect) with the same list in the old shape', async () => {
    const [me, other] = await Promise.all([register(), register()]);
    const chat = await openChat(me, other);
    const withSlash = await call<ChatListItem[]>('/api/chats/', { token: me.token });
    const withoutSlash = await call<ChatListItem[]>('/api/chats', { token: me.token });
    for (const reply of [withSlash, withoutSlash]) {
      expect(reply.status, reply.text).toBe(200);
      expect(reply.headers.get('location')).toBeNull();
    }
    expect(withoutSlash.json).toEqual(withSlash.json);
    expect(withSlash.json).toHaveLength(1);
    const [item] = withSlash.json;
    expectKeys(item, CHAT_LIST_ITEM_KEYS);
    expectKeys(item!.other_user, USER_SUMMARY_KEYS);
    expect(item).toEqual({
      chat_id: chat.chat_id,
      other_user: {
        user_id: other.id,
        username: other.username,
        first_name: other.data.first_name,
        last_name: other.data.last_name,
        is_online: expect.any(Boolean),
      },
      last_message: null,
      last_message_time: null,
      created_at: chat.created_at,
    });
    expect(item!.created_at).toMatch(ISO_UTC);
    expect(withSlash.text).not.toContain(other.email);
    expect(withSlash.text).not.toContain(other.mobile);

    // The other side sees the same chat with me as other_user.
    const theirs = await call<ChatListItem[]>('/api/chats', { token: other.token });
    expect(theirs.json.map((c) => [c.chat_id, c.other_user.user_id])).toEqual([
      [chat.chat_id, me.id],
    ]);
    expect(theirs.text).not.toContain(me.email);
    expect(theirs.text).not.toContain(me.mobile);
  });

  it('orders by newest activity: last_message_time, else created_at', async () => {
    const me = await register();
    const others = await Promise.all([register(), register(), register(), register()]);
    const [a, b, c, d] = others.map((other) => other.id) as [string, string, string, string];
    const chats = {
      // activity 2024-01-05 (last message)
      messaged: legacyChat([me.id, a], naive('2024-01-01T10:00:00'), {
        message: 'newest',
        time: naive('2024-01-05T09:00:00'),
      }),
      // activity 2024-01-03 (created, no message)
      fresh: legacyChat([b, me.id], naive('2024-01-03T10:00:00')),
      // activity 2024-01-02: its last message, although it was created later than `fresh`
      createdLate: legacyChat([me.id, c], naive('2024-01-04T10:00:00'), {
        message: 'older',
        time: naive('2024-01-02T09:00:00'),
      }),
      // activity 2024-01-01
      oldest: legacyChat([me.id, d], naive('2023-12-31T10:00:00'), {
        message: 'oldest',
        time: naive('2024-01-01T08:00:00'),
      }),
    };
    await raw('chats').insertMany([chats.oldest, chats.fresh, chats.messaged, chats.createdLate]);
    const reply = await call<ChatListItem[]>('/api/chats', { token: me.token });
    expect(reply.status).toBe(200);
    expect(reply.json.map((chat) => chat.chat_id)).toEqual([
      chats.messaged.chat_id,
      chats.fresh.chat_id,
      chats.createdLate.chat_id,
      chats.oldest.chat_id,
    ]);
    expect(reply.json[0]).toMatchObject({
      last_message: 'newest',
      last_message_time: '2024-01-05T09:00:00.000Z',
      created_at: '2024-01-01T10:00:00.000Z',
    });
    expect(reply.json[1]).toMatchObject({ last_message: null, last_message_time: null });
    for (const chat of reply.json) {
      expectKeys(chat, CHAT_LIST_ITEM_KEYS);
      expect(chat.created_at).toMatch(ISO_UTC);
      if (chat.last_message_time) expect(chat.last_message_time).toMatch(ISO_UTC);
    }

    // Sending moves a chat to the top.
    await send(me, chats.oldest.chat_id, 'back on top');
    const after = await call<ChatListItem[]>('/api/chats/', { token: me.token });
    expect(after.json[0]).toMatchObject({
      chat_id: chats.oldest.chat_id,
      last_message: 'back on top',
      last_message_time: expect.stringMatching(ISO_UTC),
    });
  });

  it('lists at most 100 chats: the newest 100', async () => {
    const me = await register();
    const users = Array.from({ length: 101 }, () => legacyUser());
    await raw('users').insertMany(users);
    const base = Date.UTC(2024, 0, 1);
    const chats = users.map((other, index) =>
      legacyChat([me.id, other.user_id], new Date(base + index * 60_000)),
    );
    await raw('chats').insertMany(chats);
    const reply = await call<ChatListItem[]>('/api/chats', { token: me.token });
    expect(reply.status).toBe(200);
    expect(reply.json).toHaveLength(100);
    expect(reply.json.map((chat) => chat.chat_id)).toEqual(
      chats
        .slice(1)
        .reverse()
        .map((chat) => chat.chat_id),
    );
    for (const chat of reply.json) expectKeys(chat, CHAT_LIST_ITEM_KEYS);
  });
});

describe('GET /api/chats/{chat_id}/messages', () => {
  let me: RestUser;
  let other: RestUser;
  let chat: ChatReply;
  beforeAll(async () => {
    [me, other] = await Promise.all([register(), register()]);
    chat = await openChat(me, other);
  });

  it('lists messages oldest first as {message_id, content, timestamp, sender, is_own_message}', async () => {
    const empty = await call('/api/chats/' + chat.chat_id + '/messages', { token: me.token });
    expect(empty.status).toBe(200);
    expect(empty.json).toEqual([]);

    const first = await send(me, chat.chat_id, 'hello');
    const second = await send(other, chat.chat_id, 'hi back');
    const reply = await call<HistoryItem[]>(`/api/chats/${chat.chat_id}/messages`, {
      token: me.token,
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toHaveLength(2);
    for (const item of reply.json) {
      expectKeys(item, HISTORY_KEYS);
      expectKeys(item.sender, SENDER_KEYS);
      expect(item.timestamp).toMatch(ISO_UTC);
    }
    expect(reply.json).toEqual([
      {
        message_id: first.message_id,
        content: 'hello',
        timestamp: first.timestamp,
        sender: {
          user_id: me.id,
          username: me.username,
          first_name: me.data.first_name,
          last_name: me.data.last_name,
        },
        is_own_message: true,
      },
      {
        message_id: second.message_id,
        content: 'hi back',
        timestamp: second.timestamp,
        sender: {
          user_id: other.id,
          username: other.username,
          first_name: other.data.first_name,
          last_name: other.data.last_name,
        },
        is_own_message: false,
      },
    ]);
    expect(reply.text).not.toContain(other.email);
    expect(reply.text).not.toContain(other.mobile);

    const theirs = await call<HistoryItem[]>(`/api/chats/${chat.chat_id}/messages`, {
      token: other.token,
    });
    expect(theirs.json.map((item) => item.is_own_message)).toEqual([false, true]);
  });

  it('answers 403 "Access denied" for a missing chat or one the caller is not in', async () => {
    const outsider = await register();
    expectDetail(
      await call(`/api/chats/${randomUUID()}/messages`, { token: me.token }),
      403,
      'Access denied',
    );
    expectDetail(
      await call(`/api/chats/${chat.chat_id}/messages`, { token: outsider.token }),
      403,
      'Access denied',
    );
  });

  it('returns the newest 1000 of a longer chat, oldest first; limit and before page back', async () => {
    const [a, b] = await Promise.all([register(), register()]);
    // A chat the old server wrote, with its 1005 messages.
    const long = legacyChat([a.id, b.id], new Date(Date.UTC(2024, 2, 1)));
    await raw('chats').insertOne(long);
    const base = Date.UTC(2024, 2, 1, 12, 0, 0);
    const messages = Array.from({ length: 1005 }, (_, index) =>
      legacyMessage(
        long.chat_id,
        index % 2 === 0 ? a.id : b.id,
        `m${index}`,
        new Date(base + index * 1000),
      ),
    );
    await raw('messages').insertMany(messages);
    const contents = (items: HistoryItem[]) => items.map((item) => item.content);
    const range = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, offset) => `m${from + offset}`);

    const reply = await call<HistoryItem[]>(`/api/chats/${long.chat_id}/messages`, {
      token: a.token,
    });
    expect(reply.status).toBe(200);
    expect(reply.json).toHaveLength(1000);
    expect(contents(reply.json)).toEqual(range(5, 1005));
    expect(reply.json[0]).toEqual({
      message_id: messages[5]!.message_id,
      content: 'm5',
      timestamp: new Date(base + 5000).toISOString(),
      sender: {
        user_id: b.id,
        username: b.username,
        first_name: b.data.first_name,
        last_name: b.data.last_name,
      },
      is_own_message: false,
    });
    expect(reply.json[999]!.is_own_message).toBe(true);

    const limited = await call<HistoryItem[]>(`/api/chats/${long.chat_id}/messages?limit=10`, {
      token: a.token,
    });
    expect(limited.status).toBe(200);
    expect(contents(limited.json)).toEqual(range(995, 1005));

    const older = await call<HistoryItem[]>(
      `/api/chats/${long.chat_id}/messages?before=${messages[5]!.message_id}`,
      { token: a.token },
    );
    expect(older.status, older.text).toBe(200);
    expect(contents(older.json)).toEqual(range(0, 5));

    const page = await call<HistoryItem[]>(
      `/api/chats/${long.chat_id}/messages?limit=3&before=${messages[500]!.message_id}`,
      { token: a.token },
    );
    expect(page.status).toBe(200);
    expect(contents(page.json)).toEqual(range(497, 500));
    for (const item of page.json) expectKeys(item, HISTORY_KEYS);
  });

  it('answers 422 at ["query","limit"] for a limit that is not a number', async () => {
    const reply = await call(`/api/chats/${chat.chat_id}/messages?limit=lots`, {
      token: me.token,
    });
    expectInvalid(reply, ['query', 'limit']);
  });

  it('answers a 4xx (not 500) for a before that is no message of this chat', async () => {
    const reply = await call(`/api/chats/${chat.chat_id}/messages?before=${randomUUID()}`, {
      token: me.token,
    });
    expect(reply.status).toBeGreaterThanOrEqual(400);
    expect(reply.status).toBeLessThan(500);
  });
});

describe('POST /api/send/{user_id}', () => {
  let me: RestUser;
  let other: RestUser;
  let chat: ChatReply;
  beforeAll(async () => {
    [me, other] = await Promise.all([register(), register()]);
    chat = await openChat(me, other);
  });

  it('answers {"status":"success", message_id, timestamp}, stores the message and updates the chat', async () => {
    const reply = await post<SendReply>(
      `/api/send/${me.id}`,
      { chat_id: chat.chat_id, content: 'via send' },
      me.token,
    );
    expect(reply.status, reply.text).toBe(200);
    expectKeys(reply.json, SEND_KEYS);
    expect(reply.json.status).toBe('success');
    expect(reply.json.message_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(reply.json.timestamp).toMatch(ISO_UTC);

    const stored = await raw('messages').findOne({ message_id: reply.json.message_id });
    expect(stored).toMatchObject({
      chat_id: chat.chat_id,
      sender_id: me.id,
      content: 'via send',
      message_type: 'text',
    });
    expect(stored?.timestamp).toBeInstanceOf(Date);

    const list = await call<ChatListItem[]>('/api/chats', { token: other.token });
    expect(list.json.find((item) => item.chat_id === chat.chat_id)).toMatchObject({
      last_message: 'via send',
      last_message_time: reply.json.timestamp,
    });
    const history = await call<HistoryItem[]>(`/api/chats/${chat.chat_id}/messages`, {
      token: other.token,
    });
    expect(history.json.at(-1)).toMatchObject({
      message_id: reply.json.message_id,
      content: 'via send',
      timestamp: reply.json.timestamp,
      is_own_message: false,
    });
  });

  it('answers 401 without a token and 403 with another user’s token', async () => {
    const body = { chat_id: chat.chat_id, content: 'spoof' };
    const anonymous = await post<Detail>(`/api/send/${me.id}`, body);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/i);
    const impostor = await post<Detail>(`/api/send/${me.id}`, body, other.token);
    expect(impostor.status).toBe(403);
    expectKeys(impostor.json, ['detail']);
    expect(await raw('messages').countDocuments({ content: 'spoof' })).toBe(0);
  });

  it('answers 404 "Chat not found" and 403 "User not in chat"', async () => {
    expectDetail(
      await post(`/api/send/${me.id}`, { chat_id: randomUUID(), content: 'x' }, me.token),
      404,
      'Chat not found',
    );
    const outsider = await register();
    expectDetail(
      await post(
        `/api/send/${outsider.id}`,
        { chat_id: chat.chat_id, content: 'x' },
        outsider.token,
      ),
      403,
      'User not in chat',
    );
  });

  it('answers 422 for a missing field or a wrong type (the old server answered 500)', async () => {
    const url = `/api/send/${me.id}`;
    expectInvalid(await post(url, { chat_id: chat.chat_id }, me.token), ['body', 'content']);
    expectInvalid(await post(url, { content: 'x' }, me.token), ['body', 'chat_id']);
    expectInvalid(await post(url, { chat_id: chat.chat_id, content: { $gt: '' } }, me.token), [
      'body',
      'content',
    ]);
    expectInvalid(await post(url, { chat_id: { $ne: null }, content: 'x' }, me.token), [
      'body',
      'chat_id',
    ]);
    const malformed = await call(url, {
      method: 'POST',
      token: me.token,
      rawBody: '{"chat_id":',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(422);
    expect(await raw('messages').countDocuments({ chat_id: chat.chat_id, content: 'x' })).toBe(0);
  });

  it('answers 422 for an array where a string belongs', async () => {
    const url = `/api/send/${me.id}`;
    const reply = await post(url, { chat_id: [chat.chat_id], content: ['smuggled'] }, me.token);
    expect(reply.status, reply.text).not.toBe(200);
    expectInvalid(reply, ['body', 'chat_id']);
    expect(await raw('messages').countDocuments({ content: 'smuggled' })).toBe(0);
  });

  it('ignores unknown extra fields', async () => {
    const reply = await post<SendReply>(
      `/api/send/${me.id}`,
      { chat_id: chat.chat_id, content: 'extra', sender_id: other.id, type: 'message' },
      me.token,
    );
    expect(reply.status, reply.text).toBe(200);
    const stored = await raw('messages').findOne({ message_id: reply.json.message_id });
    expect(stored?.sender_id).toBe(me.id);
  });
});

describe('a database written by the old server', () => {
  it('its users log in, list their chats and messages, and its tokens work', async () => {
    const alice = legacyUser({ first_name: 'Alice' });
    const bob = legacyUser({ first_name: 'Bob' });
    expect(alice).not.toHaveProperty('is_online');
    await raw('users').insertMany([alice, bob]);
    const chat = legacyChat([alice.user_id, bob.user_id], naive('2024-01-02T08:00:00'), {
      message: 'second',
      time: naive('2024-01-02T09:30:00'),
    });
    await raw('chats').insertOne(chat);
    const messages = [
      legacyMessage(chat.chat_id, bob.user_id, 'second', naive('2024-01-02T09:30:00')),
      legacyMessage(chat.chat_id, alice.user_id, 'first', naive('2024-01-02T09:00:00')),
    ];
    await raw('messages').insertMany(messages);

    // The old token of a user who never logged in to the new server works on REST.
    const oldToken = await legacyToken(bob.username);
    const bobsChats = await call<ChatListItem[]>('/api/chats/', { token: oldToken });
    expect(bobsChats.status, bobsChats.text).toBe(200);
    expect(bobsChats.json).toEqual([
      {
        chat_id: chat.chat_id,
        other_user: {
          user_id: alice.user_id,
          username: alice.username,
          first_name: 'Alice',
          last_name: alice.last_name,
          is_online: false,
        },
        last_message: 'second',
        last_message_time: '2024-01-02T09:30:00.000Z',
        created_at: '2024-01-02T08:00:00.000Z',
      },
    ]);
    const search = await call<UserSummary[]>(
      `/api/users/search?query=${encodeURIComponent(alice.last_name)}`,
      { token: oldToken },
    );
    expect(search.json).toEqual([
      {
        user_id: alice.user_id,
        username: alice.username,
        first_name: 'Alice',
        last_name: alice.last_name,
        is_online: false,
      },
    ]);

    // Login with the 29000-round passlib hash.
    const login = await post<TokenReply>('/api/auth/login', {
      username: alice.username,
      password: LEGACY_PASSWORD,
    });
    expect(login.status, login.text).toBe(200);
    expectKeys(login.json, TOKEN_KEYS);
    expectKeys(login.json.user_data, USER_DATA_KEYS);
    expect(login.json.user_data).toEqual({
      user_id: alice.user_id,
      first_name: 'Alice',
      last_name: alice.last_name,
      mobile_no: alice.mobile_no,
      email: alice.email,
      username: alice.username,
      created_at: alice.created_at.toISOString(),
      is_online: true,
    });
    expect(login.json.user_data.created_at).toMatch(ISO_UTC);
    expect((await raw('users').findOne({ user_id: alice.user_id }))?.is_online).toBe(true);

    const history = await call<HistoryItem[]>(`/api/chats/${chat.chat_id}/messages`, {
      token: login.json.access_token,
    });
    expect(history.status, history.text).toBe(200);
    expect(history.json).toEqual([
      {
        message_id: messages[1]!.message_id,
        content: 'first',
        timestamp: '2024-01-02T09:00:00.000Z',
        sender: {
          user_id: alice.user_id,
          username: alice.username,
          first_name: 'Alice',
          last_name: alice.last_name,
        },
        is_own_message: true,
      },
      {
        message_id: messages[0]!.message_id,
        content: 'second',
        timestamp: '2024-01-02T09:30:00.000Z',
        sender: {
          user_id: bob.user_id,
          username: bob.username,
          first_name: 'Bob',
          last_name: bob.last_name,
        },
        is_own_message: false,
      },
    ]);

    // Bob, still on his old token, replies through /api/send; Alice's list shows it on top.
    const reply = await post<SendReply>(
      `/api/send/${bob.user_id}`,
      { chat_id: chat.chat_id, content: 'third' },
      oldToken,
    );
    expect(reply.status, reply.text).toBe(200);
    const alicesChats = await call<ChatListItem[]>('/api/chats', {
      token: login.json.access_token,
    });
    expect(alicesChats.json[0]).toMatchObject({
      chat_id: chat.chat_id,
      other_user: { user_id: bob.user_id, is_online: false },
      last_message: 'third',
      last_message_time: reply.json.timestamp,
    });
    expect(alicesChats.text).not.toContain(bob.email);
    expect(alicesChats.text).not.toContain(bob.mobile_no);

    // The old server's create on the existing pair returns the legacy chat.
    const reopened = await call<ChatReply>(`/api/chats/create?other_user_id=${bob.user_id}`, {
      method: 'POST',
      token: login.json.access_token,
    });
    expect(reopened.status).toBe(200);
    expect(reopened.json.chat_id).toBe(chat.chat_id);
    expectKeys(reopened.json, CHAT_KEYS);
    expect(reopened.json.created_at).toBe('2024-01-02T08:00:00.000Z');
  });
});

describe('CORS', () => {
  const ALLOWED = 'http://localhost:3000';
  const preflight = (on: TestServer, path: string, origin: string, method: string) =>
    fetch(`${on.url}${path}`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': method,
        'access-control-request-headers': 'authorization,content-type',
      },
    });

  describe('with CORS_ORIGINS=http://localhost:3000', () => {
    let cors: TestServer;
    beforeAll(async () => {
      cors = await startTestServer({ CORS_ORIGINS: ALLOWED });
    });
    afterAll(() => cors?.stop());

    it('answers preflights from the allowed origin, echoing it', async () => {
      for (const [path, method] of [
        ['/api/chats', 'GET'],
        ['/api/chats/', 'GET'],
        ['/api/auth/login', 'POST'],
        ['/graphql', 'POST'],
        ['/api/send/x', 'POST'],
      ] as const) {
        const response = await preflight(cors, path, ALLOWED, method);
        const where = `OPTIONS ${path}`;
        expect(response.status, where).toBeGreaterThanOrEqual(200);
        expect(response.status, where).toBeLessThan(300);
        expect(response.headers.get('access-control-allow-origin'), where).toBe(ALLOWED);
        expect(response.headers.get('access-control-allow-methods') ?? '', where).toMatch(
          new RegExp(method, 'i'),
        );
        expect(
          (response.headers.get('access-control-allow-headers') ?? '').toLowerCase(),
          where,
        ).toMatch(/authorization/);
      }
    });

    it('sets Access-Control-Allow-Origin on answers, errors included', async () => {
      const user = await register({}, cors);
      const ok = await fetch(`${cors.url}/api/chats`, {
        headers: { origin: ALLOWED, authorization: `Bearer ${user.token}` },
      });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      const unauthorized = await fetch(`${cors.url}/api/chats`, { headers: { origin: ALLOWED } });
      expect(unauthorized.status).toBe(401);
      expect(unauthorized.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    });

    it('gives a disallowed origin no Access-Control-Allow-Origin', async () => {
      const evil = 'http://evil.example';
      for (const path of ['/api/chats', '/graphql', '/api/send/x']) {
        const response = await preflight(cors, path, evil, 'POST');
        expect(response.headers.get('access-control-allow-origin'), path).toBeNull();
      }
      const actual = await fetch(`${cors.url}/api/`, { headers: { origin: evil } });
      expect(actual.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe('with CORS_ORIGINS unset', () => {
    it('allows any origin with *', async () => {
      for (const path of ['/api/chats', '/graphql', '/api/send/x']) {
        const response = await preflight(server, path, 'http://anywhere.example', 'POST');
        expect(response.status, path).toBeGreaterThanOrEqual(200);
        expect(response.status, path).toBeLessThan(300);
        expect(response.headers.get('access-control-allow-origin'), path).toBe('*');
      }
      const actual = await fetch(`${server.url}/api/`, {
        headers: { origin: 'http://anywhere.example' },
      });
      expect(actual.headers.get('access-control-allow-origin')).toBe('*');
    });
  });
});
