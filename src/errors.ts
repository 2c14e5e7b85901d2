/**
 * Errors the domain layer raises on purpose. Each transport maps the code once: GraphQL puts it
 * in `extensions.code`, the REST shims turn it into a status and a `{"detail"}` body. Any other
 * error is unexpected and reaches clients masked.
 */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE';

/** The HTTP status each code answers with, wherever an HTTP status is the answer. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  CONFLICT: 400,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
};

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The input field the error is about, when there is one. */
    readonly field?: string,
  ) {
    super(message);
  }
}

export const unauthenticated = (message = 'Not authenticated') =>
  new AppError('UNAUTHENTICATED', message);
export const forbidden = (message = 'Access denied') => new AppError('FORBIDDEN', message);
export const badInput = (message: string, field?: string) =>
  new AppError('BAD_USER_INPUT', message, field);
export const notFound = (message: string) => new AppError('NOT_FOUND', message);
