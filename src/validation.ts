import { z } from 'zod';
import { AppError } from './errors.js';

/** A request whose shape or values are invalid (REST answers 422, like the old server). */
export class ValidationError extends AppError {
  override name = 'ValidationError';
  constructor(message: string, field?: string) {
    super('BAD_USER_INPUT', message, field);
  }
}

/** Parses `value` with `schema`; the first problem becomes a ValidationError naming its field. */
export function parseInput<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
): z.output<Schema> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const [issue] = result.error.issues;
  const field = issue?.path.map(String).join('.') || undefined;
  const message = issue ? issue.message : 'Invalid input';
  throw new ValidationError(field ? `${field}: ${message}` : message, field);
}

/**
 * The longest values the domain accepts, in characters: the one statement of these limits, which
 * the REST schemas (and so the OpenAPI description) repeat by reference.
 */
export const MAX_LENGTH = {
  name: 100,
  id: 100,
  username: 50,
  /** A username given to log in or recover: looser than registration's, never a hint. */
  givenUsername: 100,
  /** Long enough for passphrases, short enough that hashing it is no denial of service. */
  password: 256,
  securityPhrase: 200,
  email: 254,
  mobileNo: 32,
  searchText: 100,
  messageContent: 4000,
  fileName: 255,
} as const;

type Limit = keyof typeof MAX_LENGTH;

/** A string's `.max()` arguments for `limit`: the length and the message saying it. */
export const atMost = (limit: Limit) =>
  [MAX_LENGTH[limit], `must be at most ${MAX_LENGTH[limit]} characters`] as const;

/** Text a user typed: no control characters except newlines and tabs. */
export const userText = (limit: Limit) =>
  z
    .string()
    .max(...atMost(limit))
    // eslint-disable-next-line no-control-regex
    .refine((text) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(text), {
      message: 'must not contain control characters',
    });

export const name = userText('name')
  .transform((text) => text.trim())
  .pipe(z.string().min(1, 'must not be empty'));

export const id = z.string().trim().min(1, 'must not be empty').max(MAX_LENGTH.id, 'is too long');
