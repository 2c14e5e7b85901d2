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

/** Text a user typed: no control characters except newlines and tabs. */
export const userText = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    // eslint-disable-next-line no-control-regex
    .refine((text) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(text), {
      message: 'must not contain control characters',
    });

export const name = userText(100)
  .transform((text) => text.trim())
  .pipe(z.string().min(1, 'must not be empty'));

export const id = z.string().trim().min(1, 'must not be empty').max(100, 'is too long');
