import { databaseUnavailable, isUnavailable } from './db/mongo.js';
import { AppError } from './errors.js';

/**
 * The AppError a client should see for `error` when it is an expected failure: one the domain
 * raised, or the database being unreachable. Anything else is unexpected (masked and logged).
 */
export function expectedError(error: unknown): AppError | null {
  if (error instanceof AppError) return error;
  if (isUnavailable(error)) return databaseUnavailable();
  return null;
}
