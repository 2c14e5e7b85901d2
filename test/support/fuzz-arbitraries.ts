/**
 * Building blocks of the fuzz suite (test/fuzz.test.ts): fast-check arbitraries for hostile
 * JSON, strings, query strings, paths, headers and GraphQL documents, and raw HTTP clients that
 * send exactly the bytes they are given (fetch normalises paths and refuses odd headers) with a
 * bound on every wait.
 */
import { connect } from 'node:net';
import fc from 'fast-check';

// ---------------------------------------------------------------------------------------------
// Strings and JSON.

/** Keys that attack the parser, the prototype chain or a MongoDB query built from the object. */
export const MALICIOUS_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  '$gt',
  '$ne',
  '$in',
  '$regex',
  '$where',
  '$expr',
  '$function',
  '$or',
  '$set',
  '$exists',
  'toString',
  'hasOwnProperty',
  '',
  '$',
  '.',
  'a.b',
  '\u0000',
  'fuzz_canary',
  'password_hash',
  'token_version',
  'is_online',
  'user_id',
  '_id',
] as const;

/** Keys that no stored document may end up with (mass assignment). */
export const CANARY_KEYS = ['fuzz_canary', '__proto__', 'constructor', 'prototype'] as const;

export const MONGO_OPERATORS = [
  '$gt',
  '$gte',
  '$lt',
  '$ne',
  '$in',
  '$nin',
  '$regex',
  '$options',
  '$where',
  '$exists',
  '$expr',
  '$function',
  '$elemMatch',
  '$not',
  '$or',
  '$type',
  '$all',
  '$jsonSchema',
] as const;

/** Hand-picked strings that have broken servers before. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '\t\n',
  '\u0000',
  'a\u0000b',
  '\u0007\u001b[31m',
  '\u007f',
  '\r\n\r\nHTTP/1.1 200 OK',
  '\uFEFF',
  '\u202Etxt.exe',
  '\u200B',
  '\uD800',
  '\uDFFF\uD800',
  '𝕏💩👩‍👩‍👧‍👦',
  'null',
  'undefined',
  'NaN',
  'true',
  '0',
  '-1',
  '1e309',
  "'; DROP TABLE users; --",
  '" OR "1"="1',
  '{"$gt":""}',
  '{"$where":"sleep(1000)"}',
  '(a+)+$',
  '.*',
  '^',
  '[',
  '\\',
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  '%00',
  '%2e%2e%2f',
  '${jndi:ldap://127.0.0.1/a}',
  '{{7*7}}',
  '__proto__',
  'constructor',
  'Bearer ',
  'undefined\u0000',
] as const;

export const nastyString = fc.constantFrom(...NASTY_STRINGS);

/** Long strings: from just over the limits (100, 4000 characters) to about 100 KB. */
export const hugeString = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(101, 257, 4001, 4096, 65_537),
      fc.integer({ min: 4001, max: 100_000 }),
    ),
    fc.constantFrom('x', 'é', '😀', ' ', '\u0000', '{', '\\'),
  )
  .map(([length, unit]) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length));

export const anyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 16 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 16 }) },
  { weight: 3, arbitrary: nastyString },
  { weight: 1, arbitrary: hugeString },
);

/** A Relay or SSE cursor as the server encodes them, holding values it may not expect. */
export const cursorLike = fc
  .oneof(
    fc.tuple(
      fc.oneof(
        fc.integer(),
        fc.constantFrom(1e20, -1e20, 8.64e15 + 1, Number.MAX_SAFE_INTEGER, -0, 1.5),
      ),
      fc.oneof(fc.uuid(), fc.string({ maxLength: 8 })),
    ),
    fc.jsonValue({ maxDepth: 2 }),
  )
  .map((value) => Buffer.from(JSON.stringify(value) ?? 'null').toString('base64url'));

const NUMBER_TEXTS = [
  '0',
  '-0',
  '1',
  '-1',
  '2147483647',
  '2147483648',
  '-2147483649',
  '9007199254740993',
  '1e309',
  '-1e309',
  '1.5',
  '1e-400',
  '123456789012345678901234567890',
] as const;

/** JSON text of a scalar. */
export const jsonLeafText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('null', 'true', 'false'),
  fc.constantFrom(...NUMBER_TEXTS),
  fc.double().map((value) => JSON.stringify(value)),
  anyString.map((value) => JSON.stringify(value)),
  cursorLike.map((value) => JSON.stringify(value)),
);

export const anyKey = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...MALICIOUS_KEYS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);

/** The JSON text of `{"key": value, ...}` (keys may repeat, like a hostile client's). */
export const objectText = (entries: readonly (readonly [string, string])[]) =>
  `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;

/** `[[[[…]]]]` or `{"a":{"a":…}}` around a value: deep enough to find recursive code. */
export const deepText = fc
  .tuple(
    fc.oneof(fc.integer({ min: 20, max: 200 }), fc.constantFrom(1000, 5000, 20_000)),
    fc.constantFrom('array', 'object'),
    fc.constantFrom('null', '"x"', '1'),
  )
  .map(([depth, kind, leaf]) =>
    kind === 'array'
      ? `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`
      : `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`,
  );

/** Arbitrary JSON text: scalars, arrays, objects with hostile keys, `$` operators, deep nesting. */
export const jsonText: fc.Arbitrary<string> = fc.letrec<{
  value: string;
  array: string;
  object: string;
  operator: string;
}>((tie) => ({
  value: fc.oneof(
    { maxDepth: 3, depthSize: 'small' },
    { weight: 4, arbitrary: jsonLeafText },
    { weight: 1, arbitrary: tie('array') },
    { weight: 1, arbitrary: tie('object') },
    { weight: 1, arbitrary: tie('operator') },
    { weight: 1, arbitrary: deepText },
  ),
  array: fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
  object: fc.array(fc.tuple(anyKey, tie('value')), { maxLength: 4 }).map(objectText),
  operator: fc
    .tuple(fc.constantFrom(...MONGO_OPERATORS), tie('value'))
    .map(([operator, value]) => objectText([[operator, value]])),
})).value;

/** Bytes that are not JSON, or JSON that is cut short. */
export const brokenBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 512 }),
  fc.string({ maxLength: 64 }),
  jsonText.map((text) => text.slice(0, Math.max(0, text.length - 1))),
  fc.constantFrom(
    '{',
    '{"a":',
    '{"a":1,}',
    "{'a':1}",
    '{"a":1}garbage',
    '\uFEFF{"username":"x","password":"y"}',
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '{"username":{"$gt":""},"password":{"$ne":""}}',
    'NaN',
    'undefined',
    '',
  ),
);

// ---------------------------------------------------------------------------------------------
// HTTP pieces.

export const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/json;;;',
  'application/jsonx',
  'application/vnd.api+json',
  'application/graphql',
  'application/graphql-response+json',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=----fuzz',
  'text/plain',
  'text/event-stream',
  'application/octet-stream',
  'application/xml',
  '*/*',
  '',
] as const;

export const ACCEPTS = [
  'application/json',
  'application/graphql-response+json',
  'application/graphql-response+json, application/json',
  'text/event-stream',
  'multipart/mixed',
  'text/html',
  '*/*',
  'image/png',
  '',
] as const;

/** Printable ASCII: what a header value may hold (Node refuses the rest before sending). */
export const headerValue = fc.oneof(
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: 60,
  }),
  fc.constantFrom(
    'null',
    'http://evil.example',
    'file://',
    '127.0.0.1, 10.0.0.1',
    '*',
    'x'.repeat(8000),
  ),
);

export const contentType = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
  { weight: 1, arbitrary: headerValue },
);

/** Encodes a query-string piece some of the time, leaves it raw (but sendable) otherwise. */
const queryPiece = (value: string) =>
  fc
    .constantFrom('encoded', 'raw')
    .map((how) =>
      how === 'encoded'
        ? encodeURIComponent(value.replace(/[\uD800-\uDFFF]/g, '?'))
        : value.replace(/[^\x21-\x7e]/g, (c) =>
            encodeURIComponent(c.replace(/[\uD800-\uDFFF]/g, '?')),
          ),
    );

/** `?a=1&a=2&query[$ne]=&…`: repeated, bracketed, empty and hostile parameters. */
export function queryString(
  keys: readonly string[],
  values: fc.Arbitrary<string>,
): fc.Arbitrary<string> {
  const key = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...keys) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.constantFrom(...keys),
          fc.constantFrom('[$ne]', '[$gt]', '[]', '[0]', '.$where', '[__proto__]'),
        )
        .map(([name, suffix]) => name + suffix),
    },
    { weight: 1, arbitrary: fc.constantFrom(...MALICIOUS_KEYS) },
    { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
  );
  const pair = fc
    .tuple(key.chain(queryPiece), values.chain(queryPiece), fc.boolean())
    .map(([name, value, withEquals]) => (withEquals ? `${name}=${value}` : name));
  return fc
    .array(pair, { maxLength: 6 })
    .map((pairs) => (pairs.length ? `?${pairs.join('&')}` : ''));
}

/** Path segments that confuse routers and URL parsers. */
export const HOSTILE_SEGMENTS = [
  '',
  '.',
  '..',
  '%2e%2e',
  '%2F',
  '%2f..%2f',
  '%5C',
  '%00',
  '%',
  '%zz',
  '%E0%A4%A',
  '%C0%AF',
  '%F0%9F%92%A9',
  '[',
  ']',
  '//',
  '@',
  ':',
  ';',
  ',',
  '~',
  '*',
  '\\',
  '..;',
  'x'.repeat(5000),
  '%41'.repeat(500),
] as const;

export const ROUTE_SEGMENTS = [
  'api',
  'auth',
  'login',
  'register',
  'logout',
  'users',
  'search',
  'chats',
  'create',
  'messages',
  'send',
  'sse',
  'ws',
  'graphql',
  'docs',
  'openapi.json',
  'healthz',
  'readyz',
  'static',
  'json',
] as const;

/** A request-target for node:http (it refuses characters outside 0x21–0xff). */
export function pathArb(extraSegments: readonly string[]): fc.Arbitrary<string> {
  const segment = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ROUTE_SEGMENTS) },
    { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS) },
    { weight: 1, arbitrary: fc.constantFrom(...extraSegments) },
    {
      weight: 1,
      arbitrary: fc.string({
        unit: fc.integer({ min: 0x21, max: 0xff }).map((c) => String.fromCharCode(c)),
        maxLength: 12,
      }),
    },
  );
  return fc.oneof(
    fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => `/${parts.join('/')}`),
    fc
      .tuple(fc.constantFrom('//', 'http://[', 'http://127.0.0.1', '/\\', '//['), segment)
      .map(([prefix, part]) => `${prefix}${part}`),
  );
}

export interface HttpExchange {
  status: number;
  statusLine: string;
  /** Header names in lower case (a repeated header keeps its last value). */
  headers: Record<string, string>;
  /** The body as text; for a stream, what arrived before the client hung up. */
  text: string;
  /** A `text/event-stream` or `multipart/mixed` answer the client cut off. */
  streamed: boolean;
}

export interface RawRequest {
  method: string;
  /** The request-target exactly as sent (node:http and fetch would normalise or refuse some). */
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Send the body chunked instead of with a Content-Length. */
  chunked?: boolean;
}

/** The bytes of `request` on the wire: HTTP/1.1, `Connection: close`, nothing added beyond Host. */
export function requestBytes(port: number, request: RawRequest): Buffer {
  const body =
    request.body === undefined
      ? undefined
      : typeof request.body === 'string'
        ? Buffer.from(request.body, 'utf8')
        : Buffer.from(request.body);
  const lines = [
    `${request.method} ${request.path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Connection: close',
  ];
  for (const [name, value] of Object.entries(request.headers ?? {}))
    lines.push(`${name}: ${value}`);
  if (body && request.chunked) lines.push('Transfer-Encoding: chunked');
  else if (body) lines.push(`Content-Length: ${body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  if (!body) return head;
  if (!request.chunked) return Buffer.concat([head, body]);
  const half = Math.floor(body.length / 2);
  const chunk = (part: Buffer) =>
    part.length ? [Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')] : [];
  return Buffer.concat([
    head,
    ...chunk(body.subarray(0, half)),
    ...chunk(body.subarray(half)),
    Buffer.from('0\r\n\r\n'),
  ]);
}

/** Decodes a chunked body; null while it is incomplete. */
function dechunk(data: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) return null;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) return Buffer.concat(parts);
    if (size === 0) return Buffer.concat(parts);
    if (data.length < lineEnd + 2 + size + 2) return null;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

/**
 * Writes `request` on a fresh TCP connection and reads the first answer: its head, and its body
 * by Content-Length, chunks or the connection's end. A 101 resolves at its head; a stream
 * (`text/event-stream`, `multipart/mixed`) at its first bytes. Rejects when nothing complete
 * arrives within `timeoutMs` (a hang) or when `abandon()` names a reason (the server crashed).
 */
export function httpExchange(
  port: number,
  request: RawRequest | string,
  timeoutMs = 10_000,
  abandon: () => string | null = () => null,
): Promise<HttpExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const method = typeof request === 'string' ? request.split(' ', 1)[0] : request.method;
    let buffer = Buffer.alloc(0);
    let settled = false;
    let streamTimer: NodeJS.Timeout | undefined;
    const finish = (error: Error | null, value?: HttpExchange) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(streamTimer);
      clearInterval(watch);
      socket.destroy();
      if (error) reject(error);
      else resolve(value!);
    };
    const timer = setTimeout(
      () =>
        finish(
          new Error(
            `no complete answer within ${timeoutMs} ms (hang); got ${JSON.stringify(buffer.toString('latin1').slice(0, 200))}`,
          ),
        ),
      timeoutMs,
    );
    const watch = setInterval(() => {
      const why = abandon();
      if (why) finish(new Error(`abandoned: ${why}`));
    }, 25);
    const parse = (ended: boolean) => {
      let start = 0;
      let end = buffer.indexOf('\r\n\r\n');
      // Skip interim answers (100 Continue).
      while (
        end >= 0 &&
        /^HTTP\/1\.[01] 1(?!01)\d\d/.test(buffer.subarray(start, end).toString('latin1'))
      ) {
        start = end + 4;
        end = buffer.indexOf('\r\n\r\n', start);
      }
      if (end < 0) {
        if (ended) {
          finish(
            new Error(
              `connection closed without an answer: ${JSON.stringify(buffer.toString('latin1').slice(0, 200))}`,
            ),
          );
        }
        return;
      }
      const head = buffer.subarray(start, end).toString('latin1').split('\r\n');
      const statusLine = head[0] ?? '';
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0)
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const raw = buffer.subarray(end + 4);
      const answer = (body: Buffer, streamed = false) =>
        finish(null, { status, statusLine, headers, text: body.toString('utf8'), streamed });
      if (status === 101 || method === 'HEAD' || status === 204 || status === 304)
        return answer(Buffer.alloc(0));
      if (/text\/event-stream|multipart\/mixed/i.test(headers['content-type'] ?? '')) {
        if (raw.length > 0 || ended) return answer(raw, true);
        streamTimer ??= setTimeout(() => answer(Buffer.alloc(0), true), 300);
        return;
      }
      if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
        const body = dechunk(raw);
        if (body) return answer(body);
        if (ended) return answer(raw);
        return;
      }
      if (headers['content-length'] !== undefined) {
        const length = Number(headers['content-length']);
        if (raw.length >= length) return answer(raw.subarray(0, length));
        if (ended) return finish(new Error(`answer cut short: ${raw.length} of ${length} bytes`));
        return;
      }
      if (ended) answer(raw);
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      parse(false);
    });
    socket.on('end', () => parse(true));
    socket.on('close', () => parse(true));
    // A reset after a complete answer is fine (parse already resolved); before it, it is the answer.
    socket.on('error', (error) => {
      parse(true);
      finish(error);
    });
    socket.write(
      typeof request === 'string' ? Buffer.from(request, 'latin1') : requestBytes(port, request),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// GraphQL documents.

const TOKEN_PATTERN =
  /"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|\.\.\.|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[_A-Za-z][_0-9A-Za-z]*|\S/g;

/** A GraphQL document split into lexical tokens (roughly; invalid input splits too). */
export function tokenize(document: string): string[] {
  return document.match(TOKEN_PATTERN) ?? [];
}

/** Tokens that are not names of the schema but stress the lexer, parser and validator. */
export const EXTRA_GRAPHQL_TOKENS = [
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  ':',
  '$',
  '!',
  '=',
  '@',
  '|',
  '&',
  '...',
  '"',
  '"""',
  '#',
  'query',
  'mutation',
  'subscription',
  'fragment',
  'on',
  'true',
  'false',
  'null',
  '__schema',
  '__type',
  '__typename',
  '@include(if: true)',
  '@skip(if: false)',
  '@deprecated',
  '@defer',
  '@stream',
  '1e999',
  '99999999999999999999',
  '-2147483649',
  '"\\u0000"',
  '"\\uD800"',
  '"\\x"',
  '\u0000',
  '\uFEFF',
  '😀',
  'a'.repeat(1000),
] as const;

export type Mutation = readonly [
  'drop' | 'dup' | 'replace' | 'insert' | 'swap',
  number,
  string,
  number,
];

/** Applies drop/duplicate/replace/insert/swap steps to a token list and joins it back. */
export function mutateTokens(tokens: readonly string[], steps: readonly Mutation[]): string {
  const out = [...tokens];
  for (const [kind, where, token, times] of steps) {
    const at = out.length ? where % out.length : 0;
    switch (kind) {
      case 'drop':
        out.splice(at, Math.min(times, 3));
        break;
      case 'dup':
        out.splice(at, 0, ...Array<string>(times).fill(out[at] ?? token));
        break;
      case 'replace':
        out[at] = token;
        break;
      case 'insert':
        out.splice(at, 0, token);
        break;
      case 'swap': {
        const other = out.length ? (at + times) % out.length : 0;
        [out[at], out[other]] = [out[other]!, out[at]!];
        break;
      }
    }
  }
  return out.join(' ');
}

export function mutationSteps(vocabulary: readonly string[]): fc.Arbitrary<Mutation[]> {
  return fc.array(
    fc.tuple(
      fc.constantFrom('drop', 'dup', 'replace', 'insert', 'swap'),
      fc.nat(),
      fc.constantFrom(...vocabulary),
      fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constantFrom(50, 500)),
    ),
    { minLength: 1, maxLength: 4 },
  );
}

/** Documents built to exceed a limit: aliases, depth, directives, fragment cycles, tokens. */
export const attackDocument: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(
      'aliases',
      'depth',
      'directives',
      'cycle',
      'tokens',
      'fragments',
      'introspection',
    ),
    fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(100, 1000, 3000)),
  )
  .map(([kind, n]) => {
    switch (kind) {
      case 'aliases':
        return `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(' ')} }`;
      case 'depth':
        return `query($id: ID!) { chat(id: $id) { ${'lastMessage { chat { '.repeat(n)}id${' } }'.repeat(n)} } }`;
      case 'directives':
        return `{ __typename ${'@include(if: true) '.repeat(n)}}`;
      case 'cycle':
        return 'query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }';
      case 'tokens':
        return `{ ${'__typename '.repeat(n)}}`;
      case 'fragments':
        return `query { ...F0 } ${Array.from({ length: n }, (_, i) => `fragment F${i} on Query { __typename ${i + 1 < n ? `...F${i + 1}` : ''} }`).join(' ')}`;
      default:
        return `{ __schema { types { name fields { name type { name ofType { name ofType { name ofType { name } } } } } } } }`;
    }
  });
