/**
 * Reactions: one per (message, user, emoji), each its own document, counted from the documents
 * (never a counter: FerretDB's `$inc` loses updates under concurrent writers). Every change is a
 * ReactionsChanged event of the message's chat carrying the reactions after it.
 *
 * The limits hold under concurrent adds because unique indexes decide them, not counts: a user's
 * reactions to a message take slots 0–2 (unique per message and user), and the emoji in use on a
 * message take slots 0–19 (unique per message). An add takes its user slot first, then the
 * emoji's slot (or finds the emoji holding one); refused there, it gives its user slot back. A
 * removal that leaves an emoji unused frees its slot, then counts again: an add of that emoji
 * that came in between takes a slot again.
 */
import { z } from 'zod';
import { toPublicUser, type ChatDoc, type MessageDoc, type MessageModel } from '../db/documents.js';
import { badInput } from '../errors.js';
import { requireViewer, type RequestScope } from '../request/scope.js';
import { requireMessage } from '../messages/lifecycle.js';
import { addMessageChange } from '../timeline/service.js';
import { id, parseInput } from '../validation.js';
import { emoji } from './emoji.js';
import { findMessageById } from '../messages/repository.js';
import {
  claimEmoji,
  countWithEmoji,
  deleteReaction,
  deleteReactionsOf,
  findReactionsOf,
  insertReaction,
  releaseEmoji,
  snapshotOf,
} from './repository.js';

/** The most distinct emoji on one message (as the SDL says). */
export const MAX_EMOJI_PER_MESSAGE = 20;
/** The most reactions one user has on one message (as the SDL says). */
export const MAX_REACTIONS_PER_USER = 3;

const reactionInput = z.object({ messageId: id, emoji });

/** Stores the reactions of `message` as they are now as its chat's next event. */
async function publishReactions(
  scope: RequestScope,
  { chat, message }: { chat: ChatDoc; message: MessageDoc },
): Promise<MessageModel> {
  const viewer = toPublicUser(requireViewer(scope));
  const sender = await scope.loaders.users.load(message.sender_id);
  if (!sender) throw new Error(`sender ${message.sender_id} of ${message.message_id} is missing`);
  const changed = await addMessageChange(
    scope.app,
    chat,
    viewer,
    toPublicUser(sender),
    message,
    async (now) => {
      if (now.deleted_at) throw badInput('The message is deleted', 'messageId');
      // Read while this number is tried, when every lower number is taken: a reaction stored
      // after this read gets its own event with a higher number, so the chat's last reactions
      // event shows them all (on every instance: numbers are taken one past the last taken).
      const reactions = snapshotOf(await findReactionsOf(scope.app.db, [message.message_id]));
      return { type: 'reactions', message: now, reactions };
    },
  );
  return { ...changed, sender: toPublicUser(sender) };
}

/** The caller, their checked input and the message it names: what both reaction changes start from. */
async function reactionTarget(scope: RequestScope, input: { messageId: string; emoji: string }) {
  const viewer = requireViewer(scope);
  const fields = parseInput(reactionInput, input);
  await scope.app.rateLimits.consume('sendsPerUser', viewer.user_id);
  const found = await requireMessage(scope, fields.messageId);
  return { viewer, fields, found, db: scope.app.db, messageId: found.message.message_id };
}

export async function addReaction(
  scope: RequestScope,
  input: { messageId: string; emoji: string },
): Promise<MessageModel> {
  const { viewer, fields, found, db, messageId } = await reactionTarget(scope, input);
  if (found.message.deleted_at) throw badInput('The message is deleted', 'messageId');
  const stored = await insertReaction(
    db,
    { message_id: messageId, user_id: viewer.user_id, emoji: fields.emoji, at: new Date() },
    MAX_REACTIONS_PER_USER,
  );
  if (stored === 'exists') return found.message;
  if (stored === 'full') {
    throw badInput(`At most ${MAX_REACTIONS_PER_USER} reactions per user on a message`, 'emoji');
  }
  if (!(await claimEmoji(db, messageId, fields.emoji, MAX_EMOJI_PER_MESSAGE))) {
    await deleteReaction(db, messageId, viewer.user_id, fields.emoji);
    throw badInput(`At most ${MAX_EMOJI_PER_MESSAGE} different emoji on a message`, 'emoji');
  }
  try {
    return await publishReactions(scope, found);
  } catch (error) {
    // Deleted meanwhile: its clean-up may have run before this reaction was stored.
    if ((await findMessageById(db, messageId))?.deleted_at) await deleteReactionsOf(db, messageId);
    throw error;
  }
}

export async function removeReaction(
  scope: RequestScope,
  input: { messageId: string; emoji: string },
): Promise<MessageModel> {
  const { viewer, fields, found, db, messageId } = await reactionTarget(scope, input);
  if (!(await deleteReaction(db, messageId, viewer.user_id, fields.emoji))) return found.message;
  if ((await countWithEmoji(db, messageId, fields.emoji)) === 0) {
    await releaseEmoji(db, messageId, fields.emoji);
    // An add of this emoji between the count and the release found its slot held: hold it again.
    if ((await countWithEmoji(db, messageId, fields.emoji)) > 0) {
      await claimEmoji(db, messageId, fields.emoji, MAX_EMOJI_PER_MESSAGE);
    }
  }
  return publishReactions(scope, found);
}
