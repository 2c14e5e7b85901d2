/**
 * The JSON shapes of the Python backend, key for key and in its order, built from the same
 * documents GraphQL resolves from. Dates are ISO 8601 in UTC with `Z`. Private fields (password
 * hash, security phrase, `_id`) have no way in.
 */
import type { ChatDoc, MessageDoc, PublicUser, UserDoc } from '../db/documents.js';
import type { ChatEvent } from '../events/bus.js';
import { textOf } from '../messages/text.js';

/** A message event the old clients can be shown: its sender is known. */
export type LegacyMessageEvent = ChatEvent & { sender: PublicUser };

const iso = (date: Date | null | undefined) => (date ? date.toISOString() : null);

/** `user_data` of register and login: the caller's own profile. */
export function userDataJson(user: UserDoc) {
  return {
    user_id: user.user_id,
    first_name: user.first_name,
    last_name: user.last_name,
    mobile_no: user.mobile_no,
    email: user.email,
    username: user.username,
    created_at: iso(user.created_at),
    is_online: user.is_online ?? false,
  };
}

export function userSummaryJson(user: PublicUser) {
  return {
    user_id: user.user_id,
    username: user.username,
    first_name: user.first_name,
    last_name: user.last_name,
    is_online: user.is_online ?? false,
  };
}

function senderJson(user: PublicUser) {
  return {
    user_id: user.user_id,
    username: user.username,
    first_name: user.first_name,
    last_name: user.last_name,
  };
}

export function chatJson(chat: ChatDoc) {
  return {
    chat_id: chat.chat_id,
    participants: chat.participants,
    created_at: iso(chat.created_at),
    last_message: chat.last_message ?? null,
    last_message_time: iso(chat.last_message_time),
  };
}

export function chatListItemJson(chat: ChatDoc, otherUser: PublicUser) {
  return {
    chat_id: chat.chat_id,
    other_user: userSummaryJson(otherUser),
    last_message: chat.last_message ?? null,
    last_message_time: iso(chat.last_message_time),
    created_at: iso(chat.created_at),
  };
}

export function historyMessageJson(message: MessageDoc, sender: PublicUser, viewerId: string) {
  return {
    message_id: message.message_id,
    content: textOf(message),
    timestamp: iso(message.timestamp),
    sender: senderJson(sender),
    is_own_message: message.sender_id === viewerId,
  };
}

/** The same event goes to every local connection: serialize it once. */
function once<Key extends object>(format: (key: Key) => string) {
  const cache = new WeakMap<Key, string>();
  return (key: Key) => {
    let text = cache.get(key);
    if (text === undefined) {
      text = format(key);
      cache.set(key, text);
    }
    return text;
  };
}

/** What the WebSocket-era clients receive for a new message. */
function broadcastJson({ message, sender }: LegacyMessageEvent) {
  return {
    message_id: message.message_id,
    chat_id: message.chat_id,
    content: textOf(message),
    timestamp: iso(message.timestamp),
    sender: senderJson(sender),
  };
}

/** What the SSE-era clients receive for a new message. */
function sseMessageJson(event: LegacyMessageEvent) {
  return { type: 'message', ...broadcastJson(event) };
}

export const broadcastText = once((event: LegacyMessageEvent) =>
  JSON.stringify(broadcastJson(event)),
);
export const sseMessageText = once((event: LegacyMessageEvent) =>
  JSON.stringify(sseMessageJson(event)),
);
