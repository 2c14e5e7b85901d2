import { z } from 'zod';
import type { UserDoc } from '../db/documents.js';
import { requireViewer, type RequestScope } from '../request/scope.js';
import { checkPageSize } from '../pagination.js';
import { atMost, id, parseInput } from '../validation.js';
import { searchUsers as findMatchingUsers } from './repository.js';

export const MAX_SEARCH_RESULTS = 20;
const searchText = z.string().max(...atMost('searchText'));

/** Up to 20 users whose username, first or last name contains `query` (any case); never the caller. */
export async function searchUsers(
  scope: RequestScope,
  query: string,
  first?: number | null,
): Promise<UserDoc[]> {
  const viewer = requireViewer(scope);
  const text = parseInput(searchText, query);
  const limit = checkPageSize(first, 'first', MAX_SEARCH_RESULTS) ?? MAX_SEARCH_RESULTS;
  if (limit === 0) return [];
  return findMatchingUsers(scope.app.db, text, viewer.user_id, limit);
}

export async function findUser(scope: RequestScope, userId: string): Promise<UserDoc | null> {
  requireViewer(scope);
  return scope.loaders.users.load(parseInput(id, userId));
}
