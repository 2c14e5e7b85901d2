/**
 * Typing: who is typing in a chat, passed over the event bus and never stored. A typer's
 * renewals within TYPING_RENEWAL_MS of the last one passed on wait (the latest goes out when that
 * time is up, with what is left of its lifetime), so a burst of keystrokes makes one signal per
 * TYPING_RENEWAL_MS; stopping goes out at once. Members are checked against what this instance
 * knows of the chat (./live-feeds.ts), read from the database only when it knows nothing.
 */
import { z } from 'zod';
import { toPublicUser } from '../db/documents.js';
import { forbidden } from '../errors.js';
import { requireMembership } from '../chats/service.js';
import { requireViewer, type RequestScope } from '../request/scope.js';
import { id, parseInput } from '../validation.js';

const typingInput = z.object({ chatId: id, typing: z.boolean() });

/** The caller is in the chat: by what this instance knows of it, else by the database. */
async function requireTypist(scope: RequestScope, chatId: string): Promise<void> {
  const viewer = requireViewer(scope);
  const members = scope.app.typing.feeds.membersOf(chatId);
  if (members) {
    if (!members.has(viewer.user_id)) throw forbidden('User not in chat');
    return;
  }
  scope.app.typing.feeds.know(await requireMembership(scope, chatId));
}

export async function setTyping(
  scope: RequestScope,
  input: { chatId: string; typing: boolean },
): Promise<boolean> {
  const viewer = requireViewer(scope);
  const fields = parseInput(typingInput, input);
  await requireTypist(scope, fields.chatId);
  scope.app.typing.set(fields.chatId, toPublicUser(viewer), fields.typing);
  return true;
}
