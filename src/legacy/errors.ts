/**
 * Errors of the REST shims in the old server's format: `{"detail": "<message>"}` with its status
 * codes, and for invalid requests FastAPI's 422 body, a list naming each field:
 * `{"detail": [{"type", "loc": ["body", "email"], "msg", "input"}]}`.
 */
import type {
  FastifyError,
  FastifyReply,
  FastifyRequest,
  FastifySchemaValidationError,
} from 'fastify';
import { expectedError } from '../expected-errors.js';
import { refusalOf } from '../transport/http.js';
import { ValidationError } from '../validation.js';

const PARTS: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'header',
};

interface FieldError {
  type: string;
  loc: (string | number)[];
  msg: string;
  input?: unknown;
}

/** The value at a JSON pointer such as `/username` (FastAPI echoes the offending value). */
function valueAt(root: unknown, pointer: string): unknown {
  return pointer
    .split('/')
    .filter(Boolean)
    .reduce<unknown>(
      (value, key) =>
        value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined,
      root,
    );
}

const snakeCase = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

function describeSchemaError(part: string, error: FastifySchemaValidationError): FieldError {
  const path = error.instancePath.split('/').filter(Boolean);
  const loc = [part, ...path];
  const { keyword, params } = error;
  if (keyword === 'required') {
    return {
      type: 'missing',
      loc: [...loc, String(params.missingProperty)],
      msg: 'Field required',
    };
  }
  if (keyword === 'type') {
    const type = String(params.type).replace(/,.*/, '');
    return { type: `${type}_type`, loc, msg: `Input should be a valid ${type}` };
  }
  if (keyword === 'format' && params.format === 'email') {
    return { type: 'value_error', loc, msg: 'value is not a valid email address' };
  }
  if (keyword === 'minLength' || keyword === 'maxLength') {
    const bound = keyword === 'minLength' ? 'at least' : 'at most';
    const type = keyword === 'minLength' ? 'string_too_short' : 'string_too_long';
    return { type, loc, msg: `String should have ${bound} ${String(params.limit)} characters` };
  }
  return { type: keyword, loc, msg: error.message ?? 'Invalid value' };
}

/** The offending value as echoed back: only while small and serializable (never a huge or deep body). */
function echoable(value: unknown): unknown {
  try {
    const text = JSON.stringify(value ?? null);
    return text.length <= MAX_ECHO_CHARS ? value : null;
  } catch {
    return null;
  }
}
const MAX_ECHO_CHARS = 2000;

function sendInvalid(reply: FastifyReply, errors: FieldError[], input: unknown) {
  return reply.code(422).send({
    detail: errors.map(({ type, loc, msg, input: own }) => ({
      type,
      loc,
      msg,
      input: echoable(own === undefined ? input : own),
    })),
  });
}

export function restErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (error.validation) {
    const part = PARTS[error.validationContext ?? 'body'] ?? 'body';
    const input =
      part === 'body' ? request.body : part === 'query' ? request.query : request.params;
    return sendInvalid(
      reply,
      error.validation.map((item) => ({
        ...describeSchemaError(part, item),
        input: valueAt(input, item.instancePath) ?? null,
      })),
      input ?? null,
    );
  }
  if (
    error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
  ) {
    return sendInvalid(
      reply,
      [{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error' }],
      null,
    );
  }
  if (error instanceof ValidationError) {
    const field = error.field ? snakeCase(error.field) : undefined;
    const msg = error.field ? error.message.replace(`${error.field}: `, '') : error.message;
    return sendInvalid(
      reply,
      [{ type: 'value_error', loc: field ? ['body', field] : ['body'], msg }],
      request.body ?? null,
    );
  }
  const expected = expectedError(error);
  if (expected) {
    const { status, detail, headers } = refusalOf(expected);
    return reply.code(status).headers(headers).send({ detail });
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return reply.code(status).send({ detail: error.message });
  request.log.error({ err: error }, 'unexpected REST error');
  return reply.code(500).send({ detail: 'Internal Server Error' });
}
