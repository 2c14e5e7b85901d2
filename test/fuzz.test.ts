/**
 * Property-based fuzzing of one running server (issue 6, point 6): random and malicious REST
 * requests, GraphQL documents and WebSocket frames. Whatever arrives, every answer is a 2xx/4xx
 * (a JSON body when it says JSON; GraphQL errors carry `extensions.code`), nothing hangs, no
 * socket is dropped without a close frame, the process keeps serving, and nothing that had to be
 * refused reaches the database.
 *
 * Reproducible: a fixed seed (FUZZ_SEED overrides it, FUZZ_RUNS_SCALE scales the run counts).
 *
 * How refusals are checked: message contents are generated with a placeholder that is replaced,
 * just before sending, by FUZZ-OK- when the request may store a message (the right user's token,
 * a chat of theirs, a valid content) and by FUZZ-NO- otherwise. At the end no stored message may
 * contain FUZZ-NO-, and every stored document must satisfy the input rules.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestServer, TEST_SECRET, type TestServer } from './support/server.js';
import { sleep } from './support/wait.js';
import { createChat, registerUser, type TestUser } from './support/users.js';
import {
  anyString,
  attackDocument,
  brokenBody,
  contentType,
  CONTENT_TYPES,
  ACCEPTS,
  cursorLike,
  EXTRA_GRAPHQL_TOKENS,
  headerValue,
  hugeString,
  httpExchange,
  jsonLeafText,
  jsonText,
  MALICIOUS_KEYS,
  mutateTokens,
  mutationSteps,
  nastyString,
  objectText,
  pathArb,
  queryString,
  tokenize,
  type HttpExchange,
  type RawRequest,
} from './support/fuzz-arbitraries.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_f022);
const SCALE = Number(process.env.FUZZ_RUNS_SCALE ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
const REQUEST_TIMEOUT_MS = 10_000;
const WS_TIMEOUT_MS = 5_000;
/** A property may shrink a failure for a while; a passing one takes a few seconds. */
const PROPERTY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;

/** fast-check settings shared by every property: fixed seed, bounded runs and shrinking. */
function settings<T>(numRuns: number, examples: T[] = []): fc.Parameters<T> {
  return {
    seed: SEED,
    numRuns: runs(numRuns),
    examples,
    plugins: [fc.timeout(30_000), fc.interruptAfterTimeLimit(60_000)],
  };
}

// ---------------------------------------------------------------------------------------------
// The world the fuzzer attacks: one server, users with tokens, a chat.

const OK_MARK = 'FUZZ-OK-';
const NO_MARK = 'FUZZ-NO-';
/** Placeholders in generated text, all eight characters like the marks (so lengths hold). */
const P = {
  valid: '@@VALID@',
  invalid: '@@INVAL@',
  ownChat: '@@OWNCH@',
  foreignChat: '@@FORCH@',
  self: '@@SELF@@',
  other: '@@OTHER@',
  outsider: '@@CAROL@',
} as const;

let server: TestServer;
let port: number;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let mallory: TestUser;
let ownChat: string;
let foreignChat: string;
const badTokens: Record<string, string> = {};

/** Errors the process did not handle (a crash in production). */
const crashes: string[] = [];
const onCrash = (error: unknown) =>
  crashes.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
const crashed = () => (crashes.length ? `the process threw: ${crashes[0]}` : null);

const AUTH_KINDS = [
  'none',
  'alice',
  'aliceLowercase',
  'bob',
  'carol',
  'expired',
  'forged',
  'algNone',
  'unknownUser',
  'garbage',
  'emptyBearer',
  'basic',
  'twoTokens',
] as const;
type AuthKind = (typeof AUTH_KINDS)[number];
const authKind = fc.constantFrom(...AUTH_KINDS);
const ALICE: readonly AuthKind[] = ['alice', 'aliceLowercase'];

function authorization(kind: AuthKind, target: string): string | undefined {
  // Logging out (REST or GraphQL) revokes the caller's tokens: only mallory may do it.
  const victim = /logout|recoverAccount/i.test(target);
  const token = (user: TestUser) => (victim ? mallory.token : user.token);
  switch (kind) {
    case 'none':
      return undefined;
    case 'alice':
      return `Bearer ${token(alice)}`;
    case 'aliceLowercase':
      return `bearer   ${token(alice)}`;
    case 'bob':
      return `Bearer ${token(bob)}`;
    case 'carol':
      return `Bearer ${token(carol)}`;
    case 'garbage':
      return 'Bearer not.a.jwt';
    case 'emptyBearer':
      return 'Bearer ';
    case 'basic':
      return 'Basic YWxpY2U6cGFzc3dvcmQ=';
    case 'twoTokens':
      return `Bearer ${token(alice)} Bearer ${bob.token}`;
    default:
      return `Bearer ${badTokens[kind]}`;
  }
}

type Member = 'alice' | 'bob' | 'carol';
/** The chats (as placeholders) each user takes part in: alice+bob and bob+carol. */
const MEMBERSHIP: Record<Member, readonly string[]> = {
  alice: [P.ownChat],
  bob: [P.ownChat, P.foreignChat],
  carol: [P.foreignChat],
};

/** The user a token of this kind authenticates, if any (mallory stands in for logouts). */
function memberOf(kind: AuthKind | undefined, target = ''): Member | null {
  if (kind === undefined || /logout|recoverAccount/i.test(target)) return null;
  if (ALICE.includes(kind)) return 'alice';
  return kind === 'bob' || kind === 'carol' ? kind : null;
}

/**
 * May these users store a message from a request whose text is `text`? Only when one of them
 * is named as a chat they take part in. (Coarse on purpose: it may allow what the server then
 * refuses, never the reverse, so a FUZZ-NO- in the database is always a real refusal missed.)
 */
const mayStore = (members: readonly (Member | null)[], text: string) =>
  members.some(
    (member) =>
      member !== null &&
      MEMBERSHIP[member].some(
        (chat) => text.includes(chat) || text.includes(encodeURIComponent(chat)),
      ),
  );

/** Replaces placeholders with real ids and marks, raw and URL-encoded. */
function materialize(text: string, allowed: boolean): string {
  const values: [string, string][] = [
    [P.valid, allowed ? OK_MARK : NO_MARK],
    [P.invalid, NO_MARK],
    [P.ownChat, ownChat],
    [P.foreignChat, foreignChat],
    [P.self, alice.id],
    [P.other, bob.id],
    [P.outsider, carol.id],
  ];
  let out = text;
  for (const [placeholder, value] of values) {
    out = out
      .replaceAll(placeholder, value)
      .replaceAll(encodeURIComponent(placeholder), encodeURIComponent(value));
  }
  return out;
}

/**
 * The server's rule for message content (src/messages/service.ts, src/validation.ts): at most 4000
 * characters counted as code points (as zod counts), not blank, no control characters.
 */
const isValidContent = (text: unknown): text is string =>
  typeof text === 'string' &&
  [...text].length <= 4000 &&
  text.trim().length > 0 &&
  // eslint-disable-next-line no-control-regex
  !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(text);

/** Message content as JSON text, marked VALID or INVALID by what the server must do with it. */
const contentCore = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 2, arbitrary: nastyString },
  { weight: 2, arbitrary: hugeString },
);
const markedContent = contentCore.map((core) =>
  JSON.stringify((isValidContent(`${OK_MARK}${core}`) ? P.valid : P.invalid) + core),
);
const chatIdValue = fc.oneof(
  { weight: 3, arbitrary: fc.constant(JSON.stringify(P.ownChat)) },
  { weight: 2, arbitrary: fc.constant(JSON.stringify(P.foreignChat)) },
  { weight: 1, arbitrary: fc.uuid().map((id) => JSON.stringify(id)) },
  { weight: 1, arbitrary: anyString.map((id) => JSON.stringify(id)) },
);
const userIdValue = fc
  .constantFrom(P.self, P.other, P.outsider, randomUUID())
  .map((id) => JSON.stringify(id));

/** Plausible values per known key; everything else gets hostile JSON. */
const PLAUSIBLE: Record<string, fc.Arbitrary<string>> = {
  chat_id: chatIdValue,
  chatId: chatIdValue,
  content: markedContent,
  other_user_id: userIdValue,
  otherUserId: userIdValue,
  id: fc.oneof(userIdValue, chatIdValue),
  email: fc.emailAddress().map((email) => JSON.stringify(email)),
  after: cursorLike.map((cursor) => JSON.stringify(cursor)),
  before: cursorLike.map((cursor) => JSON.stringify(cursor)),
  first: fc.constantFrom('0', '1', '20', '101', '-1', '1.5', '2147483648', '1e309', 'null'),
  last: fc.constantFrom('0', '1', '20', '101', '-1', '2147483648', 'null'),
};
const plausibleFor = (keys: readonly string[]) =>
  Object.fromEntries(
    keys.map((key) => [key, PLAUSIBLE[key] ?? anyString.map((s) => JSON.stringify(s))]),
  );

function objectWithKeys(keys: readonly string[]): fc.Arbitrary<string> {
  const plausible = plausibleFor(keys);
  const value = (key: string) =>
    fc.option(
      fc.oneof({ weight: 3, arbitrary: plausible[key]! }, { weight: 1, arbitrary: jsonText }),
      {
        nil: undefined,
        freq: 5,
      },
    );
  return fc
    .tuple(
      fc.tuple(...keys.map(value)),
      fc.array(fc.tuple(fc.constantFrom(...MALICIOUS_KEYS), jsonText), { maxLength: 2 }),
    )
    .map(([values, extra]) =>
      objectText([
        ...keys.flatMap((key, index) =>
          values[index] === undefined ? [] : [[key, values[index]] as const],
        ),
        ...extra,
      ]),
    );
}

// ---------------------------------------------------------------------------------------------
// Checks applied to every answer.

const STACK_TRACE = /\n\s+at [^\n]+:\d+:\d+/;
/** Messages of runtime and driver errors: a client must never see them (masked or mapped). */
const INTERNALS =
  /Maximum call stack size exceeded|\b(RangeError|TypeError|ReferenceError|MongoServerError|MongoNetworkError|MongoServerSelectionError)\b|ECONNREFUSED|Cannot read properties of/;

function describeRequest(request: RawRequest): string {
  const body =
    request.body === undefined
      ? undefined
      : typeof request.body === 'string'
        ? request.body
        : `<${request.body.length} bytes>`;
  const clip = (text: string | undefined) =>
    text && text.length > 400 ? `${text.slice(0, 400)}…(${text.length} chars)` : text;
  return JSON.stringify({
    method: request.method,
    path: clip(request.path),
    headers: Object.fromEntries(
      Object.entries(request.headers ?? {}).map(([name, value]) => [name, clip(value)]),
    ),
    body: clip(body),
    chunked: request.chunked,
  });
}

/** Status < 500, a parseable JSON body when it says JSON, no stack traces, no secrets. */
function checkAnswer(request: RawRequest, answer: HttpExchange): unknown {
  const what = () =>
    `${describeRequest(request)} → ${answer.status} ${JSON.stringify(answer.text.slice(0, 400))}`;
  if (answer.status < 100 || answer.status >= 500) throw new Error(`5xx or no status: ${what()}`);
  if (answer.text.includes(TEST_SECRET)) throw new Error(`secret in the answer: ${what()}`);
  // (The OpenAPI description names `security_phrase` as a request field; no answer has a hash.)
  const documentation = /^\/(openapi\.json|docs)\b/.test(request.path);
  const privateField = documentation ? /"password_hash"/ : /"(password_hash|security_phrase)"/;
  if (answer.status < 300 && privateField.test(answer.text)) {
    throw new Error(`private field in the answer: ${what()}`);
  }
  const type = String(answer.headers['content-type'] ?? '');
  if (/json|text\/plain/i.test(type) && STACK_TRACE.test(answer.text)) {
    throw new Error(`stack trace in the answer: ${what()}`);
  }
  if (/json|text\/plain/i.test(type) && INTERNALS.test(answer.text)) {
    throw new Error(`internal error text in the answer: ${what()}`);
  }
  if (!/json/i.test(type) || answer.streamed || request.method === 'HEAD' || answer.text === '') {
    return undefined;
  }
  try {
    return JSON.parse(answer.text) as unknown;
  } catch {
    throw new Error(`unparseable JSON body: ${what()}`);
  }
}

/** Every GraphQL error in a (possibly batched) result has a code, and none is a masked crash. */
function checkGraphQLErrors(request: RawRequest, answer: HttpExchange, body: unknown): void {
  const results = Array.isArray(body) ? body : [body];
  for (const result of results) {
    if (!result || typeof result !== 'object') continue;
    const errors = (result as { errors?: unknown }).errors;
    if (errors === undefined) continue;
    if (!Array.isArray(errors))
      throw new Error(`errors is not a list: ${describeRequest(request)}`);
    for (const error of errors as { message?: unknown; extensions?: { code?: unknown } }[]) {
      const code = error?.extensions?.code;
      const what = () =>
        `${describeRequest(request)} → ${answer.status} ${JSON.stringify(error).slice(0, 400)}`;
      if (typeof code !== 'string' || code === '')
        throw new Error(`error without extensions.code: ${what()}`);
      if (code === 'INTERNAL_SERVER_ERROR')
        throw new Error(`unexpected server error (masked 500): ${what()}`);
    }
  }
}

async function send(request: RawRequest): Promise<HttpExchange> {
  return httpExchange(port, request, REQUEST_TIMEOUT_MS, crashed);
}

/** The process still serves: a fresh `{ __typename }` answers 200 and nothing was thrown. */
async function assertServing(): Promise<void> {
  const request: RawRequest = {
    method: 'POST',
    path: '/graphql',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: '{"query":"{ __typename }"}',
  };
  const answer = await send(request);
  if (answer.status !== 200 || !answer.text.includes('"__typename":"Query"')) {
    throw new Error(`the server no longer serves: ${answer.status} ${answer.text.slice(0, 200)}`);
  }
  const why = crashed();
  if (why) throw new Error(why);
}

/** Logs alice and bob in again if the fuzz revoked their tokens (it should not, but may). */
async function refreshTokens(): Promise<void> {
  for (const user of [alice, bob, carol]) {
    const me = await server.gql('{ me { id } }', {}, user.token);
    if (me.data?.me) continue;
    const login = await server.gql<{ login: { accessToken: string } }>(
      'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }',
      { u: user.username, p: user.password },
    );
    user.token = login.data!.login.accessToken;
  }
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  server = await startTestServer();
  port = server.service.port;
  [alice, bob, carol, mallory] = await Promise.all([
    registerUser(server),
    registerUser(server),
    registerUser(server),
    registerUser(server),
  ]);
  ownChat = await createChat(server, alice, bob);
  foreignChat = await createChat(server, bob, carol);
  const secret = new TextEncoder().encode(TEST_SECRET);
  const now = Math.floor(Date.now() / 1000);
  badTokens.expired = await new SignJWT({ sub: alice.username, iat: now - 7200, exp: now - 3600 })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(secret);
  badTokens.forged = await new SignJWT({ sub: alice.username, exp: now + 3600 })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode('another-secret-that-is-long-enough-0123456789'));
  badTokens.unknownUser = await new SignJWT({ sub: `ghost_${randomUUID()}`, exp: now + 3600 })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(secret);
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  badTokens.algNone = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: alice.username, exp: now + 3600 })}.`;
});

afterAll(async () => {
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
  // Graceful shutdown must finish even after the fuzz: a hang here is a finding, not a wait.
  let timer: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([
    server?.stop().then(() => true),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), STOP_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  if (!stopped)
    throw new Error(`server.stop() did not finish within ${STOP_TIMEOUT_MS} ms after the fuzz`);
}, STOP_TIMEOUT_MS + 5_000);

// ---------------------------------------------------------------------------------------------
// (a) REST

interface Endpoint {
  method: string;
  path: string;
  bodyKeys?: readonly string[];
}

const ENDPOINTS: readonly Endpoint[] = [
  { method: 'GET', path: '/' },
  { method: 'GET', path: '/api/' },
  {
    method: 'POST',
    path: '/api/auth/register',
    bodyKeys: [
      'first_name',
      'last_name',
      'mobile_no',
      'email',
      'username',
      'password',
      'security_phrase',
    ],
  },
  { method: 'POST', path: '/api/auth/login', bodyKeys: ['username', 'password'] },
  { method: 'POST', path: '/api/auth/logout' },
  { method: 'GET', path: '/api/users/search' },
  { method: 'GET', path: '/api/chats/' },
  { method: 'GET', path: '/api/chats' },
  { method: 'POST', path: '/api/chats/create' },
  { method: 'GET', path: '/api/chats/{chat}/messages' },
  { method: 'POST', path: '/api/send/{user}', bodyKeys: ['chat_id', 'content'] },
  { method: 'GET', path: '/sse/{user}' },
  { method: 'GET', path: '/openapi.json' },
  { method: 'GET', path: '/docs' },
  { method: 'GET', path: '/healthz' },
  { method: 'GET', path: '/readyz' },
  {
    method: 'POST',
    path: '/graphql',
    bodyKeys: ['query', 'variables', 'operationName', 'extensions'],
  },
];
const QUERY_KEYS = ['query', 'other_user_id', 'limit', 'before', 'token', 'lastEventId'] as const;
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'] as const;

const PATH_USERS = ['self', 'other', 'unknown', 'raw'] as const;
const PATH_CHATS = ['own', 'foreign', 'unknown', 'raw'] as const;
type PathUser = (typeof PATH_USERS)[number];

const queryValue = fc.oneof(
  anyString,
  fc.constantFrom(
    P.self,
    P.other,
    P.outsider,
    P.ownChat,
    P.foreignChat,
    '1',
    '0',
    '1000',
    '1001',
    '-5',
    '1e3',
  ),
  cursorLike,
);

interface RestCase {
  endpoint: Endpoint;
  method?: string;
  pathUser: PathUser;
  pathChat: (typeof PATH_CHATS)[number];
  rawParam: string;
  query: string;
  auth: AuthKind;
  contentType?: string;
  body?: string | Uint8Array;
  chunked: boolean;
  extraHeaders: Record<string, string>;
}

function resolvePath(test: RestCase): string {
  const raw = encodeURIComponent(test.rawParam.replace(/[\uD800-\uDFFF]/g, '?'));
  const user = { self: P.self, other: P.other, unknown: randomUUID(), raw }[test.pathUser];
  const chat = { own: P.ownChat, foreign: P.foreignChat, unknown: randomUUID(), raw }[
    test.pathChat
  ];
  return test.endpoint.path.replace('{user}', user).replace('{chat}', chat) + test.query;
}

async function runRestCase(test: RestCase): Promise<void> {
  const path = resolvePath(test);
  const sendsAsSomeone = test.endpoint.path === '/api/send/{user}';
  // /api/send/{user} acts as the path's user, and only with that user's token.
  const pathMember = { self: 'alice', other: 'bob', unknown: null, raw: null }[test.pathUser];
  const member = memberOf(test.auth);
  const allowed =
    sendsAsSomeone &&
    member !== null &&
    member === pathMember &&
    typeof test.body === 'string' &&
    mayStore([member], test.body);
  const headers: Record<string, string> = { ...test.extraHeaders };
  const auth = authorization(test.auth, safeDecode(path));
  if (auth !== undefined) headers.authorization = auth;
  if (test.contentType !== undefined) headers['content-type'] = test.contentType;
  const body = typeof test.body === 'string' ? materialize(test.body, allowed) : test.body;
  const request: RawRequest = {
    method: test.method ?? test.endpoint.method,
    path: materialize(path, false),
    headers,
    body,
    chunked: test.chunked,
  };
  const answer = await send(request);
  const parsed = checkAnswer(request, answer);
  if (request.path.startsWith('/graphql') && parsed !== undefined)
    checkGraphQLErrors(request, answer, parsed);
  await assertServing();
}

/** Decodes percent-escapes as far as they go (to spot a disguised /logout). */
function safeDecode(text: string): string {
  let current = text;
  for (let i = 0; i < 3; i++) {
    try {
      const next = decodeURIComponent(current);
      if (next === current) break;
      current = next;
    } catch {
      break;
    }
  }
  return current;
}

const extraHeaders = fc
  .array(
    fc.tuple(
      fc.constantFrom(
        'accept',
        'origin',
        'last-event-id',
        'x-forwarded-for',
        'content-encoding',
        'accept-encoding',
        'cookie',
        'x-http-method-override',
        'access-control-request-method',
        'access-control-request-headers',
        'sec-websocket-protocol',
        'apollo-require-preflight',
      ),
      fc.oneof(
        fc.constantFrom(
          ...ACCEPTS,
          'gzip',
          'deflate',
          'br',
          'identity',
          'DELETE',
          'POST',
          'null',
          P.ownChat,
        ),
        cursorLike,
        headerValue,
      ),
    ),
    { maxLength: 3 },
  )
  .map((pairs) => Object.fromEntries(pairs));

const restBase = {
  pathUser: fc.constantFrom(...PATH_USERS),
  pathChat: fc.constantFrom(...PATH_CHATS),
  rawParam: fc.oneof(anyString, fc.constantFrom('..', '.', '%2F', '{"$ne":""}', 'a/b')),
  query: fc.constant(''),
  auth: authKind,
  chunked: fc.boolean(),
  extraHeaders: fc.constant({}),
};

describe(
  '(a) REST: random and malicious requests to every endpoint',
  { timeout: PROPERTY_TIMEOUT_MS },
  () => {
    it('answers JSON bodies of any shape with a 2xx/4xx', async () => {
      const endpointBody = (endpoint: Endpoint) =>
        endpoint.bodyKeys
          ? fc.oneof(
              { weight: 5, arbitrary: objectWithKeys(endpoint.bodyKeys) },
              { weight: 2, arbitrary: jsonText },
              { weight: 1, arbitrary: brokenBody },
            )
          : fc.oneof(fc.constant(undefined), jsonText, brokenBody);
      const testCase = fc.constantFrom(...ENDPOINTS).chain((endpoint) =>
        fc.record({
          ...restBase,
          endpoint: fc.constant(endpoint),
          contentType: fc.oneof(
            { weight: 6, arbitrary: fc.constant('application/json') },
            { weight: 1, arbitrary: contentType },
          ),
          body: endpointBody(endpoint),
        }),
      );
      const sendEndpoint = ENDPOINTS.find((endpoint) => endpoint.path === '/api/send/{user}')!;
      const login = ENDPOINTS.find((endpoint) => endpoint.path === '/api/auth/login')!;
      const examples: [RestCase][] = [
        [
          {
            endpoint: login,
            pathUser: 'self',
            pathChat: 'own',
            rawParam: '',
            query: '',
            auth: 'none',
            chunked: false,
            extraHeaders: {},
            contentType: 'application/json',
            body: '{"username":{"$gt":""},"password":{"$ne":""}}',
          },
        ],
        // Deep nesting where a string belongs: the 422 echoes the input back.
        [
          {
            endpoint: login,
            pathUser: 'self',
            pathChat: 'own',
            rawParam: '',
            query: '',
            auth: 'none',
            chunked: false,
            extraHeaders: {},
            contentType: 'application/json',
            body: `{"username":${'['.repeat(5000)}${']'.repeat(5000)},"password":"x"}`,
          },
        ],
        [
          {
            endpoint: sendEndpoint,
            pathUser: 'self',
            pathChat: 'own',
            rawParam: '',
            query: '',
            auth: 'alice',
            chunked: false,
            extraHeaders: {},
            contentType: 'application/json',
            body: `{"chat_id":{"$ne":""},"content":"${P.invalid}"}`,
          },
        ],
      ];
      await refreshTokens();
      await fc.assert(fc.asyncProperty(testCase, runRestCase), settings(160, examples));
    });

    it('answers raw bytes, broken JSON and odd content types with a 2xx/4xx', async () => {
      const testCase = fc.record({
        ...restBase,
        endpoint: fc.constantFrom(...ENDPOINTS),
        method: fc.constantFrom(...METHODS),
        contentType: fc.option(contentType, { nil: undefined }),
        body: fc.oneof(brokenBody, jsonText, hugeString, fc.constant(undefined)),
        extraHeaders,
      });
      await refreshTokens();
      await fc.assert(fc.asyncProperty(testCase, runRestCase), settings(120));
    });

    it('answers random query strings (repeated, bracketed, operator-shaped) with a 2xx/4xx', async () => {
      const testCase = fc.record({
        ...restBase,
        endpoint: fc.constantFrom(...ENDPOINTS),
        query: queryString(QUERY_KEYS, queryValue),
        extraHeaders,
      });
      await refreshTokens();
      await fc.assert(fc.asyncProperty(testCase, runRestCase), settings(120));
    });

    it('answers random paths and methods (encoded slashes, .., very long) with a 2xx/4xx', async () => {
      const testCase = fc.record({
        path: pathArb([P.self, P.other, P.ownChat, P.foreignChat, 'graphql']),
        query: fc.oneof(fc.constant(''), queryString(QUERY_KEYS, queryValue)),
        method: fc.constantFrom(...METHODS),
        auth: authKind,
        body: fc.option(fc.oneof(jsonText, brokenBody), { nil: undefined }),
        contentType: fc.option(contentType, { nil: undefined }),
      });
      await refreshTokens();
      await fc.assert(
        fc.asyncProperty(testCase, async (test) => {
          const path = materialize(test.path + test.query, false);
          const headers: Record<string, string> = {};
          const auth = authorization(test.auth, safeDecode(path));
          if (auth !== undefined) headers.authorization = auth;
          if (test.contentType !== undefined) headers['content-type'] = test.contentType;
          const request: RawRequest = {
            method: test.method,
            path,
            headers,
            body: typeof test.body === 'string' ? materialize(test.body, false) : test.body,
          };
          const answer = await send(request);
          const parsed = checkAnswer(request, answer);
          if (/^\/graphql\b/.test(path) && parsed !== undefined)
            checkGraphQLErrors(request, answer, parsed);
          await assertServing();
        }),
        settings(150),
      );
    });
  },
);

// ---------------------------------------------------------------------------------------------
// (b) GraphQL

const SEED_OPERATIONS = [
  '{ __typename }',
  'query Me { me { id username firstName lastName email mobileNo isOnline createdAt } }',
  'query User($id: ID!) { user(id: $id) { id username isOnline email } }',
  'query Search($query: String!, $first: Int) { searchUsers(query: $query, first: $first) { id username } }',
  'query Chats($first: Int, $after: String) { chats(first: $first, after: $after) { edges { cursor node { id otherUser { username } lastMessage { content sender { username } } lastMessagePreview lastMessageAt createdAt participants { id } } } pageInfo { hasNextPage endCursor } } }',
  'query Chat($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { chat(id: $id) { id messages(first: $first, after: $after, last: $last, before: $before) { edges { cursor node { id content isOwn clientMessageId chat { id } sender { id } } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }',
  'mutation Send($chatId: ID!, $content: String!, $clientMessageId: String) { sendMessage(chatId: $chatId, content: $content, clientMessageId: $clientMessageId) { id content createdAt isOwn clientMessageId } }',
  'mutation CreateChat($otherUserId: ID!) { createChat(otherUserId: $otherUserId) { id participants { id } } }',
  'mutation Login($username: String!, $password: String!) { login(username: $username, password: $password) { accessToken tokenType user { id } } }',
  'mutation Register($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }',
  'mutation Recover($username: String!, $securityPhrase: String!, $newPassword: String!) { recoverAccount(username: $username, securityPhrase: $securityPhrase, newPassword: $newPassword) { accessToken } }',
  'mutation Logout { logout }',
  'subscription Added($chatId: ID!) { messageAdded(chatId: $chatId) { id content sender { username } } }',
  'subscription Presence($userIds: [ID!]) { presenceChanged(userIds: $userIds) { id isOnline } }',
  'query Frag { ...F } fragment F on Query { me { ...U } } fragment U on User { id @include(if: true) username @skip(if: false) }',
  'query Intro { __schema { queryType { name } types { name fields { name } } } __type(name: "Chat") { name } }',
] as const;

const SCHEMA_NAMES = [
  ...new Set(SEED_OPERATIONS.flatMap((operation) => tokenize(operation))),
  ...EXTRA_GRAPHQL_TOKENS,
];

const VARIABLE_KEYS = [
  'id',
  'chatId',
  'content',
  'clientMessageId',
  'otherUserId',
  'query',
  'first',
  'after',
  'last',
  'before',
  'username',
  'password',
  'newPassword',
  'securityPhrase',
  'userIds',
  'input',
] as const;

const registerInputText = objectWithKeys([
  'firstName',
  'lastName',
  'mobileNo',
  'email',
  'username',
  'password',
  'securityPhrase',
]);
PLAUSIBLE.input = registerInputText;
PLAUSIBLE.userIds = fc.array(userIdValue, { maxLength: 3 }).map((ids) => `[${ids.join(',')}]`);
PLAUSIBLE.clientMessageId = fc.oneof(
  fc.uuid().map((id) => JSON.stringify(id)),
  anyString.map((s) => JSON.stringify(s)),
);

const variablesText = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 6, arbitrary: objectWithKeys(VARIABLE_KEYS) },
  { weight: 1, arbitrary: jsonText },
);

const mutatedDocument = fc
  .tuple(
    fc.constantFrom(...SEED_OPERATIONS),
    fc.option(mutationSteps(SCHEMA_NAMES), { nil: undefined, freq: 4 }),
  )
  .map(([operation, steps]) => (steps ? mutateTokens(tokenize(operation), steps) : operation));

const documentArb = fc.oneof(
  { weight: 6, arbitrary: mutatedDocument },
  { weight: 2, arbitrary: attackDocument },
  { weight: 1, arbitrary: anyString },
);

interface GraphQLCase {
  document: string;
  /** JSON text put in place of the query (a non-string query), instead of the document. */
  queryJson?: string;
  variables?: string;
  operationName?: string;
  extensions?: string;
  auth: AuthKind;
  accept: string;
  via: 'post' | 'get' | 'graphql-body';
}

const operationName = fc.option(
  fc.oneof(
    fc.constantFrom('"Me"', '"Send"', '"Nope"', '""', 'null', '1', '{}', '["Me"]'),
    anyString.map((s) => JSON.stringify(s)),
  ),
  { nil: undefined, freq: 3 },
);

const graphqlCase: fc.Arbitrary<GraphQLCase> = fc.record(
  {
    document: documentArb,
    queryJson: fc.option(jsonText, { nil: undefined, freq: 8 }),
    variables: variablesText,
    operationName,
    extensions: fc.option(
      fc.oneof(
        jsonText,
        fc.constant('{"persistedQuery":{"version":1,"sha256Hash":"abc"}}'),
        fc.constant('{"headers":{"authorization":"Bearer x"}}'),
      ),
      { nil: undefined, freq: 5 },
    ),
    auth: authKind,
    accept: fc.oneof(
      { weight: 5, arbitrary: fc.constant('application/graphql-response+json') },
      { weight: 2, arbitrary: fc.constantFrom(...ACCEPTS) },
    ),
    via: fc.constantFrom('post', 'post', 'post', 'get', 'graphql-body'),
  },
  { requiredKeys: ['document', 'auth', 'accept', 'via'] },
);

function graphqlBodyText(
  test: Pick<GraphQLCase, 'document' | 'queryJson' | 'variables' | 'operationName' | 'extensions'>,
) {
  const entries: [string, string][] = [['query', test.queryJson ?? JSON.stringify(test.document)]];
  if (test.variables !== undefined) entries.push(['variables', test.variables]);
  if (test.operationName !== undefined) entries.push(['operationName', test.operationName]);
  if (test.extensions !== undefined) entries.push(['extensions', test.extensions]);
  return objectText(entries);
}

function graphqlAllowed(test: { auth: AuthKind; variables?: string; document: string }) {
  return mayStore([memberOf(test.auth, test.document)], `${test.variables ?? ''}${test.document}`);
}

async function runGraphQLCase(test: GraphQLCase): Promise<void> {
  const allowed = graphqlAllowed(test);
  const headers: Record<string, string> = { accept: test.accept };
  const auth = authorization(test.auth, test.document);
  if (auth !== undefined) headers.authorization = auth;
  let request: RawRequest;
  if (test.via === 'get') {
    const params = new URLSearchParams({ query: test.queryJson ?? test.document });
    if (test.variables !== undefined) params.set('variables', test.variables);
    if (test.operationName !== undefined) params.set('operationName', test.operationName);
    if (test.extensions !== undefined) params.set('extensions', test.extensions);
    request = {
      method: 'GET',
      path: `/graphql?${materialize(params.toString(), allowed)}`,
      headers,
    };
  } else if (test.via === 'graphql-body') {
    headers['content-type'] = 'application/graphql';
    request = {
      method: 'POST',
      path: '/graphql',
      headers,
      body: materialize(test.document, allowed),
    };
  } else {
    headers['content-type'] = 'application/json';
    request = {
      method: 'POST',
      path: '/graphql',
      headers,
      body: materialize(graphqlBodyText(test), allowed),
    };
  }
  const answer = await send(request);
  const parsed = checkAnswer(request, answer);
  if (parsed !== undefined) checkGraphQLErrors(request, answer, parsed);
  await assertServing();
}

describe(
  '(b) GraphQL: random documents, variables and requests',
  { timeout: PROPERTY_TIMEOUT_MS },
  () => {
    it('answers random strings as documents with data or coded errors, never a 5xx', async () => {
      const testCase = fc.record({
        document: fc.oneof(
          anyString,
          attackDocument,
          fc.string({ unit: 'binary', maxLength: 200 }),
        ),
        auth: authKind,
        accept: fc.constant('application/graphql-response+json'),
        via: fc.constantFrom('post', 'get', 'graphql-body'),
      }) as fc.Arbitrary<GraphQLCase>;
      await refreshTokens();
      await fc.assert(fc.asyncProperty(testCase, runGraphQLCase), settings(100));
    });

    it('answers mutated real operations with random variables with data or coded errors', async () => {
      const examples: [GraphQLCase][] = [
        [
          {
            document: SEED_OPERATIONS[6],
            variables: `{"chatId":"${P.ownChat}","content":"${P.invalid}${'x'.repeat(4001)}"}`,
            auth: 'alice',
            accept: 'application/graphql-response+json',
            via: 'post',
          },
        ],
        [
          {
            document: SEED_OPERATIONS[5],
            variables: `{"id":"${P.ownChat}","first":2147483648,"after":{"$gt":""}}`,
            auth: 'alice',
            accept: 'application/graphql-response+json',
            via: 'post',
          },
        ],
      ];
      await refreshTokens();
      await fc.assert(fc.asyncProperty(graphqlCase, runGraphQLCase), settings(220, examples));
    });

    it('answers batched arrays and bodies of any shape or content type with a 2xx/4xx', async () => {
      const testCase = fc.record({
        body: fc.oneof(
          fc
            .array(graphqlCase.map(graphqlBodyText), { minLength: 0, maxLength: 5 })
            .map((items) => `[${items.join(',')}]`),
          jsonText,
          objectWithKeys(['query', 'variables', 'operationName', 'extensions']),
          brokenBody,
        ),
        contentType: fc.oneof(
          fc.constant('application/json'),
          fc.constantFrom(...CONTENT_TYPES),
          contentType,
        ),
        accept: fc.oneof(fc.constantFrom(...ACCEPTS), headerValue),
        auth: authKind,
        method: fc.constantFrom('POST', 'POST', 'GET', 'PUT', 'OPTIONS', 'HEAD'),
      });
      await refreshTokens();
      await fc.assert(
        fc.asyncProperty(testCase, async (test) => {
          const text = typeof test.body === 'string' ? test.body : '';
          const allowed = mayStore([memberOf(test.auth, text)], text);
          const headers: Record<string, string> = {
            accept: test.accept,
            'content-type': test.contentType,
          };
          const auth = authorization(test.auth, text);
          if (auth !== undefined) headers.authorization = auth;
          const request: RawRequest = {
            method: test.method,
            path: '/graphql',
            headers,
            body: typeof test.body === 'string' ? materialize(test.body, allowed) : test.body,
          };
          const answer = await send(request);
          const parsed = checkAnswer(request, answer);
          if (parsed !== undefined) checkGraphQLErrors(request, answer, parsed);
          await assertServing();
        }),
        settings(100),
      );
    });

    it('answers GET with random parameters with data or coded errors', async () => {
      const values = fc.oneof(
        documentArb,
        jsonText,
        variablesText.map((text) => text ?? ''),
        fc.constantFrom('{}', '[]', 'null', P.ownChat),
      );
      const testCase = fc.record({
        query: queryString(['query', 'variables', 'operationName', 'extensions'], values),
        accept: fc.constantFrom(...ACCEPTS),
        auth: authKind,
      });
      await refreshTokens();
      await fc.assert(
        fc.asyncProperty(testCase, async (test) => {
          const headers: Record<string, string> = { accept: test.accept };
          const auth = authorization(test.auth, safeDecode(test.query));
          if (auth !== undefined) headers.authorization = auth;
          const allowed = mayStore([memberOf(test.auth, safeDecode(test.query))], test.query);
          const request: RawRequest = {
            method: 'GET',
            path: `/graphql${materialize(test.query, allowed)}`,
            headers,
          };
          const answer = await send(request);
          const parsed = checkAnswer(request, answer);
          if (parsed !== undefined) checkGraphQLErrors(request, answer, parsed);
          await assertServing();
        }),
        settings(100),
      );
    });
  },
);

// ---------------------------------------------------------------------------------------------
// (c) WebSockets

/** Close codes seen per endpoint, reported at the end: "closed with which code" is part of the result. */
const closeCodes = {
  graphqlWs: new Map<string, number>(),
  legacyWs: new Map<string, number>(),
  upgrade: new Map<string, number>(),
};
/** Types of the graphql-ws messages the server sent, to show how deep the fuzz reached. */
const graphqlWsReceived = new Map<string, number>();
const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

interface Trace {
  socket: WebSocket;
  received: unknown[];
  /** Set when the socket closed: the code and reason the client saw. */
  closed: { code: number; reason: string } | null;
  whenClosed: Promise<void>;
  errors: string[];
  clientClosing: boolean;
}

function openSocket(
  url: string,
  protocols: readonly string[],
  headers: Record<string, string> = {},
): Promise<Trace> {
  const socket = new WebSocket(url, [...protocols], { headers, maxPayload: 64 * 1024 * 1024 });
  const trace: Trace = {
    socket,
    received: [],
    closed: null,
    errors: [],
    clientClosing: false,
    whenClosed: Promise.resolve(),
  };
  trace.whenClosed = new Promise<void>((resolve) =>
    socket.once('close', (code, reason) => {
      trace.closed = { code, reason: reason.toString() };
      resolve();
    }),
  );
  socket.on('message', (data, isBinary) => {
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
    try {
      trace.received.push(isBinary ? { binary: text } : (JSON.parse(text) as unknown));
    } catch {
      trace.received.push({ unparseable: text });
    }
  });
  socket.on('error', (error) => trace.errors.push(error.message));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`WebSocket ${url} did not open`)),
      WS_TIMEOUT_MS,
    );
    socket.once('open', () => {
      clearTimeout(timer);
      resolve(trace);
    });
    socket.once('unexpected-response', (_request, response) => {
      clearTimeout(timer);
      reject(new Error(`WebSocket ${url} refused: ${response.statusCode}`));
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Waits for `condition` or the socket's close, whichever first, for at most `ms`. */
async function awaitTrace(
  trace: Trace,
  condition: () => boolean,
  ms = WS_TIMEOUT_MS,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition() && !trace.closed) {
    if (Date.now() > deadline) return false;
    if (crashed()) return false;
    await sleep(5);
  }
  return condition();
}

/** Closes from our side (if still open) and checks how the connection ended. */
async function finish(trace: Trace, label: string, codes: Map<string, number>): Promise<void> {
  if (!trace.closed) {
    trace.clientClosing = true;
    trace.socket.close(1000, 'fuzz done');
  }
  const closed = await Promise.race([
    trace.whenClosed.then(() => true),
    sleep(WS_TIMEOUT_MS).then(() => false),
  ]);
  if (!closed) {
    trace.socket.terminate();
    throw new Error(`${label}: the server did not complete the closing handshake`);
  }
  const { code, reason } = trace.closed!;
  count(codes, `${code} ${reason.slice(0, 40)}`);
  if (code === 1006)
    throw new Error(
      `${label}: connection dropped without a close frame (1006) ${trace.errors.join('; ')}`,
    );
  if (code === 1011 || code === 4500)
    throw new Error(`${label}: server error close ${code} ${reason}`);
  if (!(code >= 1000 && code < 2000) && !(code >= 4000 && code < 5000)) {
    throw new Error(`${label}: unexpected close code ${code}`);
  }
}

type WsFrame =
  | { kind: 'json'; text: string }
  | { kind: 'text'; text: string }
  | { kind: 'binary'; bytes: Uint8Array }
  | { kind: 'huge'; size: number }
  | { kind: 'badUtf8' };

function sendFrame(socket: WebSocket, frame: WsFrame, materialized?: string): void {
  switch (frame.kind) {
    case 'json':
    case 'text':
      socket.send(materialized ?? frame.text);
      break;
    case 'binary':
      socket.send(Buffer.from(frame.bytes), { binary: true });
      break;
    case 'huge':
      socket.send(`{"type":"subscribe","id":"h","payload":{"query":"${'x'.repeat(frame.size)}"}}`);
      break;
    case 'badUtf8':
      socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0xc3, 0x28, 0x7d]), { binary: false });
      break;
  }
}

const rawFrame: fc.Arbitrary<WsFrame> = fc.oneof(
  { weight: 2, arbitrary: jsonText.map((text) => ({ kind: 'json' as const, text })) },
  { weight: 1, arbitrary: anyString.map((text) => ({ kind: 'text' as const, text })) },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ maxLength: 256 })
      .map((bytes) => ({ kind: 'binary' as const, bytes })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(64 * 1024 + 1, 100_000, 200_000)
      .map((size) => ({ kind: 'huge' as const, size })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'badUtf8' as const }) },
);

/** An Authorization value chosen at send time (tokens may be renewed between runs). */
const authSlot = (kind: AuthKind) => `@@AUTH-${kind}@@`;
const fillAuth = (text: string, context: string) =>
  text.replace(
    /@@AUTH-(\w+)@@/g,
    (_match, kind: string) => authorization(kind as AuthKind, context) ?? '',
  );

const initFrame = (auth: AuthKind) =>
  objectText([
    ['type', '"connection_init"'],
    ['payload', objectText([['authorization', JSON.stringify(authSlot(auth))]])],
  ]);

/** A graphql-ws `subscribe` message; `wellFormed` keeps its shape valid so the operation runs. */
function subscribeFrame(wellFormed: boolean): fc.Arbitrary<WsFrame & { auth?: AuthKind }> {
  const realName = fc.constantFrom('"Me"', '"Send"', '"Added"', '"Nope"');
  return fc
    .record({
      id: wellFormed
        ? fc.constantFrom('"1"', '"2"', '"3"')
        : fc.oneof(fc.constantFrom('""', '"__proto__"', '"1"'), jsonLeafText),
      document: documentArb,
      variables: wellFormed
        ? fc.option(objectWithKeys(VARIABLE_KEYS), { nil: undefined, freq: 6 })
        : variablesText,
      operationName: fc.option(wellFormed ? realName : fc.oneof(realName, operationName), {
        nil: undefined,
        freq: 2,
      }),
      headerAuth: fc.option(authKind, { nil: undefined, freq: 3 }),
    })
    .map(({ id, document, variables, operationName: name, headerAuth }) => {
      const payload: [string, string][] = [['query', JSON.stringify(document)]];
      if (variables !== undefined) payload.push(['variables', variables]);
      if (name !== undefined) payload.push(['operationName', name]);
      if (headerAuth !== undefined) {
        const headers = objectText([['authorization', JSON.stringify(authSlot(headerAuth))]]);
        payload.push(['extensions', objectText([['headers', headers]])]);
      }
      return {
        kind: 'json' as const,
        auth: headerAuth,
        text: objectText([
          ['type', '"subscribe"'],
          ['id', id],
          ['payload', objectText(payload)],
        ]),
      };
    });
}

/** `complete`, `ping`, `pong` (well-formed) or any other type, with or without id and payload. */
function controlFrame(wellFormed: boolean): fc.Arbitrary<WsFrame> {
  const valid = fc.constantFrom('"complete"', '"ping"', '"pong"');
  const other = fc.oneof(
    fc.constantFrom(
      '"next"',
      '"error"',
      '"connection_ack"',
      '"start"',
      '"stop"',
      '"connection_terminate"',
    ),
    jsonLeafText,
  );
  return fc
    .tuple(
      wellFormed ? valid : fc.oneof(valid, other),
      wellFormed
        ? fc.constantFrom('"1"', '"2"', '"3"')
        : fc.option(jsonLeafText, { nil: undefined }),
      fc.option(wellFormed ? objectWithKeys(['barrier']) : jsonText, { nil: undefined }),
    )
    .map(([type, id, payload]) => {
      const entries: [string, string][] = [['type', type]];
      if (id !== undefined) entries.push(['id', id]);
      if (payload !== undefined) entries.push(['payload', payload]);
      return { kind: 'json' as const, text: objectText(entries) };
    });
}

/** `connection_init` with some token, none, or an arbitrary payload. */
const initAnyFrame: fc.Arbitrary<WsFrame & { auth?: AuthKind }> = fc
  .tuple(fc.option(authKind, { nil: undefined }), fc.option(jsonText, { nil: undefined, freq: 4 }))
  .map(([auth, payload]) => ({
    kind: 'json' as const,
    auth: payload === undefined ? auth : undefined,
    text: objectText([
      ['type', '"connection_init"'],
      [
        'payload',
        payload ??
          objectText(auth === undefined ? [] : [['authorization', JSON.stringify(authSlot(auth))]]),
      ],
    ]),
  }));

/** graphql-transport-ws messages; `auth` records which token a frame presents. */
const graphqlWsFrame = (wellFormed: boolean): fc.Arbitrary<WsFrame & { auth?: AuthKind }> =>
  wellFormed
    ? fc.oneof(
        { weight: 6, arbitrary: subscribeFrame(true) },
        { weight: 2, arbitrary: controlFrame(true) },
      )
    : fc.oneof(
        { weight: 2, arbitrary: initAnyFrame },
        { weight: 4, arbitrary: subscribeFrame(false) },
        { weight: 2, arbitrary: controlFrame(false) },
        { weight: 2, arbitrary: rawFrame },
      );

/** Legacy `/ws/{user_id}` frames: `{chat_id, content}` (valid and not) and garbage. */
const legacyFrame: fc.Arbitrary<WsFrame> = fc.oneof(
  {
    weight: 4,
    arbitrary: objectWithKeys(['chat_id', 'content']).map((text) => ({
      kind: 'json' as const,
      text,
    })),
  },
  { weight: 2, arbitrary: rawFrame },
);

describe('(c) WebSockets: random frames', { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it('graphql-ws: random messages never crash the server or drop the socket without a close frame', async () => {
    const testCase = fc.record({
      /** Waits for connection_ack after an init (otherwise a subscribe may overtake it: 4401). */
      patient: fc.boolean(),
      protocols: fc.oneof(
        { weight: 6, arbitrary: fc.constant(['graphql-transport-ws']) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            [],
            ['graphql-transport-ws', 'bearer'],
            ['x-fuzz', 'graphql-transport-ws'],
          ),
        },
      ),
      // Half the time the exchange starts properly (init with a member's token), so the
      // frames after it reach the subscription and execution paths, not just the handshake.
      // Well-formed exchanges reach execution with random documents and variables; chaotic
      // ones mix in every kind of broken message.
      frames: fc
        .tuple(
          fc.option(fc.constantFrom<AuthKind>('alice', 'bob'), { nil: undefined }),
          fc.oneof(
            fc.array(graphqlWsFrame(true), { minLength: 1, maxLength: 6 }),
            fc.array(graphqlWsFrame(false), { minLength: 1, maxLength: 8 }),
          ),
        )
        .map(([auth, rest]) =>
          auth === undefined
            ? rest
            : [{ kind: 'json' as const, auth, text: initFrame(auth) }, ...rest],
        ),
    });
    const live = (id: string) =>
      objectText([
        ['type', '"subscribe"'],
        ['id', JSON.stringify(id)],
        [
          'payload',
          objectText([
            ['query', JSON.stringify(SEED_OPERATIONS[12])],
            ['variables', objectText([['chatId', JSON.stringify(P.ownChat)]])],
          ]),
        ],
      ]);
    const send = objectText([
      ['type', '"subscribe"'],
      ['id', '"s"'],
      [
        'payload',
        objectText([
          ['query', JSON.stringify(SEED_OPERATIONS[6])],
          [
            'variables',
            objectText([
              ['chatId', JSON.stringify(P.ownChat)],
              ['content', JSON.stringify(`${P.valid} over graphql-ws`)],
            ]),
          ],
        ]),
      ],
    ]);
    type Exchange = typeof testCase extends fc.Arbitrary<infer T> ? T : never;
    const examples: [Exchange][] = [
      // A subscription, a send it receives, then the same id again (4409).
      [
        {
          patient: true,
          protocols: ['graphql-transport-ws'],
          frames: [
            { kind: 'json', auth: 'alice', text: initFrame('alice') },
            { kind: 'json', text: live('1') },
            { kind: 'json', text: send },
            { kind: 'json', text: live('1') },
          ],
        },
      ],
      // Subscribe before connection_init (4401).
      [
        {
          patient: false,
          protocols: ['graphql-transport-ws'],
          frames: [{ kind: 'json', text: live('1') }],
        },
      ],
      // Messages only a server may send, sent by the client (the protocol says 4400).
      [
        {
          patient: true,
          protocols: ['graphql-transport-ws'],
          frames: [
            { kind: 'json', auth: 'alice', text: initFrame('alice') },
            { kind: 'json', text: '{"type":"connection_ack"}' },
          ],
        },
      ],
      [
        {
          patient: true,
          protocols: ['graphql-transport-ws'],
          frames: [
            { kind: 'json', auth: 'alice', text: initFrame('alice') },
            { kind: 'json', text: '{"type":"next","id":"1","payload":{}}' },
          ],
        },
      ],
      // An operationName the document does not define.
      [
        {
          patient: true,
          protocols: ['graphql-transport-ws'],
          frames: [
            { kind: 'json', auth: 'alice', text: initFrame('alice') },
            {
              kind: 'json',
              text: '{"type":"subscribe","id":"1","payload":{"query":"{ __typename }","operationName":"Nope"}}',
            },
          ],
        },
      ],
      // A variable of the wrong type (the error must carry a code over WebSocket too).
      [
        {
          patient: true,
          protocols: ['graphql-transport-ws'],
          frames: [
            { kind: 'json', auth: 'alice', text: initFrame('alice') },
            {
              kind: 'json',
              text: `{"type":"subscribe","id":"1","payload":{"query":${JSON.stringify(SEED_OPERATIONS[3])},"variables":{"query":"a","first":1.5}}}`,
            },
          ],
        },
      ],
      // A deeply nested payload, well under maxPayload (a ping's payload is echoed in the pong).
      [
        {
          patient: true,
          protocols: ['graphql-transport-ws'],
          frames: [
            { kind: 'json', auth: 'alice', text: initFrame('alice') },
            {
              kind: 'json',
              text: `{"type":"ping","payload":{"a":${'['.repeat(5000)}${']'.repeat(5000)}}}`,
            },
          ],
        },
      ],
      // A frame over maxPayload after a proper start (1009).
      [
        {
          patient: true,
          protocols: ['graphql-transport-ws'],
          frames: [
            { kind: 'json', auth: 'alice', text: initFrame('alice') },
            { kind: 'huge', size: 64 * 1024 + 1 },
          ],
        },
      ],
    ];
    await refreshTokens();
    await fc.assert(
      fc.asyncProperty(testCase, async ({ protocols, frames, patient }) => {
        const label = `graphql-ws${patient ? ' (patient)' : ''} ${JSON.stringify(protocols)} frames ${JSON.stringify(frames).slice(0, 600)}`;
        const trace = await openSocket(`ws://127.0.0.1:${port}/graphql`, protocols);
        // Any token anywhere in the exchange may be the one a send runs with.
        const everything = frames.map((frame) => ('text' in frame ? frame.text : '')).join(' ');
        const members = frames.map((frame) => memberOf(frame.auth, everything));
        for (const frame of frames) {
          if (trace.socket.readyState !== WebSocket.OPEN) break;
          const text =
            'text' in frame
              ? fillAuth(materialize(frame.text, mayStore(members, frame.text)), everything)
              : undefined;
          sendFrame(trace.socket, frame, text);
          if (patient && text?.includes('"connection_init"')) {
            // As a client would: wait for the acknowledgement before going on.
            await awaitTrace(
              trace,
              () => trace.received.some((m) => (m as { type?: string })?.type === 'connection_ack'),
              2000,
            );
          } else {
            await sleep(1);
          }
        }
        // A ping is answered in any state: once its pong is back, the frames before it were read.
        if (trace.socket.readyState === WebSocket.OPEN) {
          const pongs = () =>
            trace.received.filter((m) => (m as { type?: string })?.type === 'pong').length;
          const before = pongs();
          trace.socket.send('{"type":"ping","payload":{"barrier":true}}');
          const answered = await awaitTrace(trace, () => pongs() > before);
          if (!answered && !trace.closed)
            throw new Error(`${label}: no pong within ${WS_TIMEOUT_MS} ms`);
          await sleep(20);
        }
        for (const message of trace.received) {
          const { type, payload } = (message ?? {}) as { type?: string; payload?: unknown };
          count(graphqlWsReceived, String(type));
          const errors =
            type === 'error'
              ? payload
              : type === 'next'
                ? (payload as { errors?: unknown })?.errors
                : undefined;
          if (errors === undefined) continue;
          for (const error of errors as { message?: unknown; extensions?: { code?: unknown } }[]) {
            const code = error?.extensions?.code;
            if (
              typeof code !== 'string' ||
              code === 'INTERNAL_SERVER_ERROR' ||
              INTERNALS.test(String(error?.message))
            ) {
              throw new Error(
                `${label}: error without a proper code: ${JSON.stringify(error).slice(0, 300)}`,
              );
            }
          }
        }
        await finish(trace, label, closeCodes.graphqlWs);
        await assertServing();
      }),
      settings(100, examples),
    );
  });

  it('legacy /ws/{user_id}: each frame gets an error frame or its broadcast, or a clean close', async () => {
    const testCase = fc.record({
      via: fc.constantFrom('query', 'protocol', 'header'),
      frames: fc.array(legacyFrame, { minLength: 1, maxLength: 10 }),
    });
    await refreshTokens();
    await fc.assert(
      fc.asyncProperty(testCase, async ({ via, frames }) => {
        const label = `legacy ws frames ${JSON.stringify(frames).slice(0, 600)}`;
        const url = `ws://127.0.0.1:${port}/ws/${alice.id}${via === 'query' ? `?token=${alice.token}` : ''}`;
        const trace = await openSocket(
          url,
          via === 'protocol' ? ['bearer', alice.token] : [],
          via === 'header' ? { authorization: `Bearer ${alice.token}` } : {},
        );
        let sent = 0;
        for (const frame of frames) {
          if (trace.socket.readyState !== WebSocket.OPEN) break;
          const text =
            'text' in frame ? materialize(frame.text, mayStore(['alice'], frame.text)) : undefined;
          sendFrame(trace.socket, frame, text);
          sent += 1;
          await sleep(1);
        }
        const replies = () => trace.received.length;
        await awaitTrace(trace, () => replies() >= sent);
        await sleep(30);
        if (!trace.closed && replies() !== sent) {
          throw new Error(
            `${label}: ${sent} frames got ${replies()} replies: ${JSON.stringify(trace.received).slice(0, 600)}`,
          );
        }
        for (const reply of trace.received) {
          const frame = reply as {
            type?: string;
            detail?: unknown;
            message_id?: string;
            sender?: object;
          };
          if (frame.type === 'error') {
            if (
              typeof frame.detail !== 'string' ||
              /internal server error/i.test(frame.detail) ||
              INTERNALS.test(frame.detail) ||
              STACK_TRACE.test(frame.detail)
            ) {
              throw new Error(`${label}: bad error frame ${JSON.stringify(frame)}`);
            }
          } else if (typeof frame.message_id === 'string') {
            expect(Object.keys(frame.sender ?? {}).sort()).toEqual([
              'first_name',
              'last_name',
              'user_id',
              'username',
            ]);
          } else {
            throw new Error(`${label}: unexpected frame ${JSON.stringify(frame).slice(0, 300)}`);
          }
        }
        await finish(trace, label, closeCodes.legacyWs);
        await assertServing();
      }),
      settings(60),
    );
  });

  it('WebSocket handshakes with random targets and headers are answered, never crash the server', async () => {
    const target = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          `/ws/${P.self}`,
          `/ws/${P.other}`,
          '/graphql',
          '/ws/',
          '/ws/%zz',
          '/ws/a/b',
        ),
      },
      { weight: 3, arbitrary: pathArb([`ws/${P.self}`, 'graphql', 'ws']) },
    );
    /** Mostly the valid value, sometimes one of the others. */
    const mostly = (valid: string, ...others: string[]) =>
      fc.oneof(
        { weight: 5, arbitrary: fc.constant(valid) },
        { weight: 1, arbitrary: fc.constantFrom(...others) },
      );
    const testCase = fc.record({
      method: mostly('GET', 'POST', 'OPTIONS', 'HEAD', 'PUT'),
      target,
      query: fc.oneof(
        fc.constant(''),
        fc.constant('?token=@@TOKEN@'),
        queryString(['token'], fc.oneof(queryValue, fc.constant('@@TOKEN@'))),
      ),
      headers: fc.record(
        {
          upgrade: mostly('websocket', 'WebSocket', 'h2c', '', 'websocket, h2c'),
          connection: mostly('Upgrade', 'keep-alive, Upgrade', 'close', ''),
          'sec-websocket-version': mostly('13', '8', 'x', '', '13, 8'),
          'sec-websocket-key': mostly(
            'dGhlIHNhbXBsZSBub25jZQ==',
            'short',
            '',
            '!!!!!!!!!!!!!!!!!!!!!!==',
          ),
          origin: fc.oneof(fc.constantFrom('http://evil.example', 'null', ''), headerValue),
          'sec-websocket-protocol': fc.oneof(
            fc.constantFrom(
              'graphql-transport-ws',
              'bearer, @@TOKEN@',
              'bearer',
              'graphql-ws',
              ', ,',
            ),
            headerValue,
          ),
          authorization: fc.constantFrom('Bearer @@TOKEN@', 'Bearer x', 'Basic a'),
          'sec-websocket-extensions': fc.constantFrom('permessage-deflate', 'x; y=', ''),
        },
        { requiredKeys: ['upgrade', 'connection', 'sec-websocket-version', 'sec-websocket-key'] },
      ),
    });
    type Handshake = typeof testCase extends fc.Arbitrary<infer T> ? T : never;
    // Request-targets that node:http accepts but WHATWG URL parsing rejects.
    const handshake = (target: string): [Handshake] => [
      {
        method: 'GET',
        target,
        query: '',
        headers: {
          upgrade: 'websocket',
          connection: 'Upgrade',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        },
      },
    ];
    const examples = [handshake('//['), handshake(`http://[/ws/${P.self}`)];
    await refreshTokens();
    await fc.assert(
      fc.asyncProperty(testCase, async (test) => {
        const path = materialize(`${test.target}${test.query}`, false).replaceAll(
          '@@TOKEN@',
          alice.token,
        );
        const lines = [`${test.method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
        for (const [name, value] of Object.entries(test.headers)) {
          lines.push(`${name}: ${(value ?? '').replaceAll('@@TOKEN@', alice.token)}`);
        }
        const requestText = `${lines.join('\r\n')}\r\n\r\n`;
        const label = JSON.stringify(requestText.slice(0, 600));
        const answer = await httpExchange(port, requestText, WS_TIMEOUT_MS, crashed).catch(
          (error: Error) => {
            throw new Error(`${label}: ${error.message}`);
          },
        );
        count(closeCodes.upgrade, String(answer.status));
        if (answer.status < 100 || answer.status >= 500) {
          throw new Error(`${label} → ${answer.statusLine} ${answer.text.slice(0, 200)}`);
        }
        if (/json/i.test(answer.headers['content-type'] ?? '') && answer.text) {
          try {
            JSON.parse(answer.text);
          } catch {
            throw new Error(`${label} → unparseable JSON ${answer.text.slice(0, 200)}`);
          }
        }
        await assertServing();
      }),
      settings(80, examples),
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('after the fuzz', { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it('the server is alive and serving, and nothing it had to refuse was stored', async () => {
    console.log('fuzz close codes / upgrade statuses:', {
      graphqlWs: Object.fromEntries(closeCodes.graphqlWs),
      legacyWs: Object.fromEntries(closeCodes.legacyWs),
      upgrade: Object.fromEntries(closeCodes.upgrade),
      graphqlWsMessagesReceived: Object.fromEntries(graphqlWsReceived),
    });
    expect(crashes).toEqual([]);
    await refreshTokens();
    await assertServing();
    expect((await fetch(`${server.url}/api/`)).status).toBe(200);

    // A full round trip still works: bob sends over REST, alice's legacy socket receives it.
    const trace = await openSocket(
      `ws://127.0.0.1:${port}/ws/${alice.id}?token=${alice.token}`,
      [],
    );
    const content = `after the fuzz ${randomUUID()}`;
    const sent = await fetch(`${server.url}/api/send/${bob.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bob.token}` },
      body: JSON.stringify({ chat_id: ownChat, content }),
    });
    expect(sent.status).toBe(200);
    expect(
      await awaitTrace(trace, () =>
        trace.received.some((m) => (m as { content?: string }).content === content),
      ),
    ).toBe(true);
    await finish(trace, 'final round trip', closeCodes.legacyWs);

    const { db } = server.service.app;
    const users = await db.users.find({}).toArray();
    const chats = await db.chats.find({}).toArray();
    const messages = await db.messages.find({}).toArray();
    const participantsOf = new Map(chats.map((chat) => [chat.chat_id, chat.participants]));
    const userIds = new Set(users.map((user) => user.user_id));

    const badKey = (document: object) =>
      Object.keys(document).find(
        (key) =>
          key.startsWith('$') ||
          ['fuzz_canary', '__proto__', 'constructor', 'prototype'].includes(key),
      );
    for (const document of [...users, ...chats, ...messages]) {
      expect(badKey(document), JSON.stringify(document).slice(0, 300)).toBeUndefined();
      expect(Object.getPrototypeOf(document), 'a stored document with a polluted prototype').toBe(
        Object.prototype,
      );
    }
    expect(
      ({} as Record<string, unknown>).polluted,
      'Object.prototype was polluted',
    ).toBeUndefined();

    const nameOf = (id: string) =>
      ({ [alice.id]: 'alice', [bob.id]: 'bob', [carol.id]: 'carol', [mallory.id]: 'mallory' })[
        id
      ] ?? id;
    const chatName = (id: string) =>
      id === ownChat ? 'alice+bob' : id === foreignChat ? 'bob+carol' : id;
    for (const message of messages) {
      const what = JSON.stringify({
        sender: nameOf(message.sender_id),
        chat: chatName(message.chat_id),
        length: message.content.length,
        codePoints: [...message.content].length,
        clientMessageId: message.client_message_id,
        content: message.content.slice(0, 120),
      });
      expect(message.content, what).not.toContain(NO_MARK);
      expect(isValidContent(message.content), `invalid content stored: ${what}`).toBe(true);
      expect(
        participantsOf.get(message.chat_id) ?? [],
        `sent into a chat not theirs: ${what}`,
      ).toContain(message.sender_id);
    }
    for (const chat of chats) {
      const what = JSON.stringify(chat).slice(0, 300);
      expect(chat.last_message ?? '', what).not.toContain(NO_MARK);
      expect(chat.participants, what).toHaveLength(2);
      expect(new Set(chat.participants).size, `a chat with oneself: ${what}`).toBe(2);
      for (const id of chat.participants)
        expect(userIds.has(id), `a chat with nobody: ${what}`).toBe(true);
    }
    for (const user of users) {
      const what = JSON.stringify({
        ...user,
        password_hash: undefined,
        security_phrase: undefined,
      }).slice(0, 300);
      expect(user.username, what).toMatch(/^[A-Za-z0-9_.-]{1,50}$/);
      for (const field of ['first_name', 'last_name'] as const) {
        expect(typeof user[field] === 'string' && [...user[field]].length <= 100, what).toBe(true);
      }
      expect(user.password_hash, what).toMatch(
        /^\$pbkdf2-sha256\$\d+\$[A-Za-z0-9./]+\$[A-Za-z0-9./]+$/,
      );
      expect(user.token_version === undefined || typeof user.token_version === 'number', what).toBe(
        true,
      );
      expect(user.is_online === undefined || typeof user.is_online === 'boolean', what).toBe(true);
    }
    // The fuzz reached the storage path at all: some allowed sends went through.
    expect(messages.some((message) => message.content.startsWith(OK_MARK))).toBe(true);
  });
});
