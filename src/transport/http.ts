import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { AppError } from '../errors.js';
import { HTTP_STATUS } from '../errors.js';
import { expectedError } from '../expected-errors.js';
import { RateLimitedError } from '../security/rate-limits.js';
import { REQUEST_ID_HEADER, upgradeAnswered } from '../observability/tracing.js';

export interface Refusal {
  status: number;
  detail: string;
  headers: Record<string, string | number>;
}

/** The HTTP answer for a request refused with `error` (a JSON `{"detail"}` with its status). */
export function refusalOf(error: AppError): Refusal {
  const headers: Refusal['headers'] = {};
  if (error.code === 'UNAUTHENTICATED') headers['WWW-Authenticate'] = 'Bearer';
  if (error instanceof RateLimitedError) headers['Retry-After'] = error.retryAfterSeconds;
  return { status: HTTP_STATUS[error.code], detail: error.message, headers };
}

/** The answer for `error`: an expected one's status, anything else logged (as `failed`) and a 500. */
export function refusalFor(error: unknown, logger: Logger, failed: string): Refusal {
  const expected = expectedError(error);
  if (expected) return refusalOf(expected);
  logger.error({ err: error }, failed);
  return { status: 500, detail: 'Internal Server Error', headers: {} };
}

/** Answers a WebSocket upgrade with an HTTP error instead of switching protocols. */
export function rejectUpgrade(socket: Duplex, { status, detail, headers }: Refusal): void {
  const body = JSON.stringify({ detail });
  const requestId = upgradeAnswered(socket, status);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ...(requestId ? [`${REQUEST_ID_HEADER}: ${requestId}`] : []),
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** The path of a request target; null when it is not a valid one (e.g. `//[`). */
export function pathOf(target: string | undefined): string | null {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    return null;
  }
}
