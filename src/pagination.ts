import type { z } from 'zod';
import { badInput } from './errors.js';

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface Edge<Node> {
  cursor: string;
  node: Node;
}

export interface Page<Node> {
  edges: Edge<Node>[];
  pageInfo: PageInfo;
}

/** Cursors are opaque to clients: base64url of a small JSON value, checked on the way back in. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<Schema extends z.ZodType>(
  schema: Schema,
  cursor: string,
  field: string,
): z.output<Schema> {
  try {
    return schema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw badInput(`${field}: not a valid cursor`, field);
  }
}

export function checkPageSize(value: number | null | undefined, field: string, max: number) {
  if (value == null) return undefined;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw badInput(`${field}: must be an integer from 0 to ${max}`, field);
  }
  return value;
}

export function buildPage<Node>(
  edges: Edge<Node>[],
  hasNextPage: boolean,
  hasPreviousPage: boolean,
): Page<Node> {
  return {
    edges,
    pageInfo: {
      hasNextPage,
      hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
