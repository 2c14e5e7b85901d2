/**
 * Editing and deleting messages. Each is an event of the message's chat (MessageEdited,
 * MessageDeleted), decided against the message as the events before it leave it (see
 * addMessageChange): an edit racing a deletion either comes first and is erased with the
 * message, or is refused; the message ends deleted either way.
 *
 * | who                      | edit | delete |
 * | ------------------------ | ---- | ------ |
 * | the sender               | yes  | yes    |
 * | a group's OWNER or ADMIN | no   | yes    |
 * | anyone else in the chat  | no   | no     |
 */
import { z } from 'zod';
import {
  toPublicUser,
  type ChatDoc,
  type MessageDoc,
  type MessageModel,
  type PublicUser,
} from '../db/documents.js';
import { eraseAttachments } from '../attachments/service.js';
import { badInput, forbidden, notFound } from '../errors.js';
import { requireViewer, type RequestScope } from '../request/scope.js';
import { requireMembership, seesMessage } from '../chats/service.js';
import { MANAGERS } from '../groups/service.js';
import { addMessageChange } from '../timeline/service.js';
import { id, parseInput } from '../validation.js';
import { findMessageById } from './repository.js';
import { messageContent } from './service.js';

/**
 * A TEXT message the caller may see, in a chat they are in, with that chat: NOT_FOUND when there
 * is none (or they may not see it), FORBIDDEN when they are not in its chat, BAD_USER_INPUT for a
 * SYSTEM message (a group change: not anyone's to change).
 */
export async function requireMessage(
  scope: RequestScope,
  messageId: string,
): Promise<{ chat: ChatDoc; message: MessageDoc }> {
  const viewer = requireViewer(scope);
  const message = await findMessageById(scope.app.db, parseInput(id, messageId));
  if (!message) throw notFound('Message not found');
  const chat = await requireMembership(scope, message.chat_id);
  if (!seesMessage(chat, viewer.user_id, message)) throw notFound('Message not found');
  if (message.message_type === 'system') {
    throw badInput('A group change cannot be changed', 'messageId');
  }
  return { chat, message };
}

/** The sender of a message as events carry it. */
async function senderOf(scope: RequestScope, message: MessageDoc): Promise<PublicUser> {
  const sender = await scope.loaders.users.load(message.sender_id);
  if (!sender) throw new Error(`sender ${message.sender_id} of ${message.message_id} is missing`);
  return toPublicUser(sender);
}

const editInput = z.object({ messageId: id, content: messageContent });

/** Replaces the content of a message the caller sent (not a deleted one). */
export async function editMessage(
  scope: RequestScope,
  input: { messageId: string; content: string },
): Promise<MessageModel> {
  const viewer = requireViewer(scope);
  const fields = parseInput(editInput, input);
  await scope.app.rateLimits.consume('sendsPerUser', viewer.user_id);
  const { chat, message } = await requireMessage(scope, fields.messageId);
  if (message.sender_id !== viewer.user_id) throw forbidden('Only its sender may edit a message');
  const sender = toPublicUser(viewer);
  const changed = await addMessageChange(scope.app, chat, sender, sender, message, (now) => {
    if (now.deleted_at) throw badInput('The message is deleted', 'messageId');
    if (now.content === fields.content) return null;
    return {
      type: 'edited',
      message: { ...now, content: fields.content, edited_at: new Date() },
    };
  });
  return { ...changed, sender };
}

/** Deletes a message for everyone (its sender, or a group's OWNER or ADMIN); again: nothing. */
export async function deleteMessage(scope: RequestScope, messageId: string): Promise<MessageModel> {
  const viewer = requireViewer(scope);
  await scope.app.rateLimits.consume('sendsPerUser', viewer.user_id);
  const { chat, message } = await requireMessage(scope, messageId);
  const role = chat.members?.find((member) => member.user_id === viewer.user_id)?.role;
  if (message.sender_id !== viewer.user_id && !(role && MANAGERS.includes(role))) {
    throw forbidden('Only its sender or a group OWNER or ADMIN may delete a message');
  }
  const sender = await senderOf(scope, message);
  const changed = await addMessageChange(
    scope.app,
    chat,
    toPublicUser(viewer),
    sender,
    message,
    (now) =>
      now.deleted_at
        ? null
        : { type: 'deleted', message: { ...now, content: '', deleted_at: new Date() } },
  );
  if (message.attachments?.length) await eraseAttachments(scope.app, message.attachments);
  return { ...changed, sender };
}
