/**
 * The `reactions` and `reaction_emoji` collections. Every "at most" of reactions is a unique
 * index, not a count: FerretDB's check-then-write is not atomic, so two adds that race must be
 * told apart by the database (see ReactionDoc and ReactionEmojiDoc).
 */
import type { ReactionDoc, ReactionSnapshot } from '../db/documents.js';
import { isDuplicateKeyError, type Database } from '../db/mongo.js';

export const reactionKey = (messageId: string, userId: string, emoji: string) =>
  `${messageId}:${userId}:${emoji}`;
const emojiKey = (messageId: string, emoji: string) => `${messageId}:${emoji}`;

/** The slots below `slots` that none of `taken` holds, lowest first. */
const freeSlots = (taken: readonly { slot: number }[], slots: number) =>
  Array.from({ length: slots }, (_, slot) => slot).filter(
    (slot) => !taken.some((each) => each.slot === slot),
  );

/**
 * Stores a reaction in a slot the user has free on the message (of `slots`): 'stored', 'exists'
 * (they reacted so before, maybe at this very moment), or 'full' (every slot taken). The slots
 * seen taken are skipped; the unique index decides between adds that race for one.
 */
export async function insertReaction(
  { reactions }: Database,
  reaction: Omit<ReactionDoc, '_id' | 'slot'>,
  slots: number,
): Promise<'stored' | 'exists' | 'full'> {
  const _id = reactionKey(reaction.message_id, reaction.user_id, reaction.emoji);
  const theirs = await reactions
    .find({ message_id: reaction.message_id, user_id: reaction.user_id })
    .toArray();
  if (theirs.some((each) => each._id === _id)) return 'exists';
  for (const slot of freeSlots(theirs, slots)) {
    try {
      await reactions.insertOne({ _id, ...reaction, slot });
      return 'stored';
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      // Refused by the `_id` (the same reaction) or by the slot (another of theirs took it).
      if (await reactions.findOne({ _id }, { projection: { _id: 1 } })) return 'exists';
    }
  }
  return 'full';
}

export async function deleteReaction(
  { reactions }: Database,
  messageId: string,
  userId: string,
  emoji: string,
): Promise<boolean> {
  const { deletedCount } = await reactions.deleteOne({
    _id: reactionKey(messageId, userId, emoji),
  });
  return deletedCount > 0;
}

/** Holds one of a message's `slots` emoji places for `emoji`; false when all are taken by others. */
export async function claimEmoji(
  { reactionEmoji }: Database,
  messageId: string,
  emoji: string,
  slots: number,
): Promise<boolean> {
  const _id = emojiKey(messageId, emoji);
  const held = await reactionEmoji.find({ message_id: messageId }).toArray();
  if (held.some((each) => each._id === _id)) return true;
  for (const slot of freeSlots(held, slots)) {
    try {
      await reactionEmoji.insertOne({ _id, message_id: messageId, emoji, slot });
      return true;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      if (await reactionEmoji.findOne({ _id }, { projection: { _id: 1 } })) return true;
    }
  }
  return false;
}

export async function releaseEmoji({ reactionEmoji }: Database, messageId: string, emoji: string) {
  await reactionEmoji.deleteOne({ _id: emojiKey(messageId, emoji) });
}

export async function countWithEmoji({ reactions }: Database, messageId: string, emoji: string) {
  return reactions.countDocuments({ message_id: messageId, emoji });
}

/** Every reaction to the messages, earliest first (one query: a page's worth). */
export function findReactionsOf({ reactions }: Database, messageIds: readonly string[]) {
  return reactions
    .find({ message_id: { $in: [...messageIds] } }, { sort: { at: 1, _id: 1 }, batchSize: 10_000 })
    .toArray();
}

/** Removes every reaction to a deleted message. */
export async function deleteReactionsOf({ reactions, reactionEmoji }: Database, messageId: string) {
  await Promise.all([
    reactions.deleteMany({ message_id: messageId }),
    reactionEmoji.deleteMany({ message_id: messageId }),
  ]);
}

/** Reactions grouped by emoji, in the order each emoji was first used; users earliest first. */
export function snapshotOf(reactions: readonly ReactionDoc[]): ReactionSnapshot[] {
  const byEmoji = new Map<string, string[]>();
  for (const reaction of reactions) {
    const users = byEmoji.get(reaction.emoji) ?? [];
    users.push(reaction.user_id);
    byEmoji.set(reaction.emoji, users);
  }
  return [...byEmoji].map(([emoji, user_ids]) => ({ emoji, user_ids }));
}
