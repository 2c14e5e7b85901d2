/**
 * What a GraphQL client sees of an error, for every result on every transport: expected errors
 * with their `extensions.code` (and `field`, `retryAfter`), graphql-js's own request errors as
 * BAD_USER_INPUT, anything else masked (and logged) without a stack or a driver message.
 */
import { GraphQLError } from 'graphql';
import { maskError } from 'graphql-yoga';
import type { Logger } from 'pino';
import { expectedError } from '../expected-errors.js';
import { RateLimitedError } from '../security/rate-limits.js';

function toClientError(error: unknown, message: string): Error {
  const original = expectedError(error instanceof GraphQLError ? error.originalError : error);
  if (original) {
    return new GraphQLError(original.message, {
      nodes: error instanceof GraphQLError ? error.nodes : undefined,
      path: error instanceof GraphQLError ? error.path : undefined,
      extensions: {
        code: original.code,
        ...(original.field ? { field: original.field } : {}),
        ...(original instanceof RateLimitedError ? { retryAfter: original.retryAfterSeconds } : {}),
      },
    });
  }
  // Errors graphql-js raises about the request itself (e.g. a missing variable) pass unmasked.
  const fromGraphQL =
    error instanceof GraphQLError &&
    (!error.originalError || error.originalError instanceof GraphQLError);
  if (fromGraphQL && !error.extensions.code) {
    return new GraphQLError(error.message, {
      nodes: error.nodes,
      path: error.path,
      extensions: { ...error.extensions, code: 'BAD_USER_INPUT' },
    });
  }
  // Never a stack trace or a driver message, whatever the environment.
  return maskError(error, message, false);
}

/** What a client may see of an error (logged when unexpected), for every GraphQL result. */
export type ErrorMasker = (error: unknown, message: string) => Error;

export function createErrorMasker(logger: Logger): ErrorMasker {
  return (error, message) => {
    const clientError = toClientError(error, message);
    if (
      !(clientError instanceof GraphQLError) ||
      clientError.extensions.code === 'INTERNAL_SERVER_ERROR'
    ) {
      logger.error({ err: error }, 'unexpected GraphQL error');
    }
    return clientError;
  };
}
