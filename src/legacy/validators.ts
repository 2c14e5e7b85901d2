import { Ajv, type AnySchema } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS with a default export that TypeScript's NodeNext view misses.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const options = { useDefaults: true, removeAdditional: true, allErrors: false } as const;

/**
 * Bodies are validated as the old server's pydantic did: a number or array where a string belongs
 * is an error, not converted. Query and path parameters arrive as text and are converted.
 */
const strict = addFormats(new Ajv({ ...options, coerceTypes: false }));
const coercing = addFormats(new Ajv({ ...options, coerceTypes: 'array' }));

export function compileRequestSchema({
  schema,
  httpPart,
}: {
  schema: AnySchema;
  httpPart?: string;
}) {
  return (httpPart === 'body' ? strict : coercing).compile(schema);
}
