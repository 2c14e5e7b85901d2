import { findIn } from '../db/batch.js';
import type { Database } from '../db/mongo.js';
import type { UserDoc } from '../db/documents.js';

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const findUsersByIds = ({ users }: Database, ids: readonly string[]) =>
  findIn(users, 'user_id', ids);

export const findUsersByUsernames = ({ users }: Database, usernames: readonly string[]) =>
  findIn(users, 'username', usernames);

export async function insertUser({ users }: Database, user: UserDoc): Promise<void> {
  await users.insertOne({ ...user });
}

export function findUserByUsername({ users }: Database, username: string) {
  return users.findOne({ username }, { projection: { _id: 0 } });
}

/** Case-insensitive substring match on username, first or last name; the text is matched literally. */
export function searchUsers(
  { users }: Database,
  text: string,
  excludeUserId: string,
  limit: number,
): Promise<UserDoc[]> {
  const pattern = { $regex: escapeRegex(text), $options: 'i' };
  return users
    .find(
      {
        user_id: { $ne: excludeUserId },
        $or: [{ username: pattern }, { first_name: pattern }, { last_name: pattern }],
      },
      { projection: { _id: 0 }, limit, sort: { username: 1 } },
    )
    .toArray();
}

/** Bumps the token version (revoking earlier tokens) and applies `changes`; returns the new document. */
export async function revokeTokens(
  { users }: Database,
  userId: string,
  changes: Partial<UserDoc> = {},
): Promise<UserDoc | null> {
  const updated = await users.findOneAndUpdate(
    { user_id: userId },
    Object.keys(changes).length > 0
      ? { $inc: { token_version: 1 }, $set: changes }
      : { $inc: { token_version: 1 } },
    // No projection: FerretDB does not implement one on findAndModify.
    { returnDocument: 'after' },
  );
  if (!updated) return null;
  const { _id, ...user } = updated;
  return user;
}

/** Replaces a hash only if it is still the one that was verified (a concurrent change wins). */
export async function replaceHash(
  { users }: Database,
  userId: string,
  field: 'password_hash' | 'security_phrase',
  previous: string,
  next: string,
): Promise<void> {
  await users.updateOne({ user_id: userId, [field]: previous }, { $set: { [field]: next } });
}

/**
 * Stores a user's online status and returns the document as it was before; with `seq` (a
 * presence decision's number), only over a status decided earlier.
 */
export function storeOnlineStatus(
  { users }: Database,
  userId: string,
  online: boolean,
  seq?: number,
) {
  const later = [{ presence_seq: { $exists: false } }, { presence_seq: { $lt: seq } }];
  // No projection: FerretDB does not implement one on findAndModify.
  return users.findOneAndUpdate(
    seq === undefined ? { user_id: userId } : { user_id: userId, $or: later },
    { $set: seq === undefined ? { is_online: online } : { is_online: online, presence_seq: seq } },
  );
}

/** Turns the user's read receipts on or off (src/reads/). */
export async function updateReadReceipts(
  { users }: Database,
  userId: string,
  enabled: boolean,
): Promise<void> {
  await users.updateOne({ user_id: userId }, { $set: { read_receipts: enabled } });
}
