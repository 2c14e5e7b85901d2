/**
 * The one event bus every realtime transport listens to. New messages go out on a per-chat
 * channel (GraphQL `messageAdded`) and on each participant's inbox (the legacy per-user streams),
 * presence changes on one channel. Payloads carry everything a subscriber needs, so delivering
 * an event costs no database read. Revocations (logout, recovery) end live connections.
 *
 * The event target decides the reach: in-process by default, every instance with Redis
 * (`./cluster-target.ts`).
 */
import { setMaxListeners } from 'node:events';
import type { MessageDoc, PublicUser } from '../db/documents.js';
import { createTopicHub } from './topic-hub.js';

export interface MessageEvent {
  message: MessageDoc;
  sender: PublicUser;
  /** The chat's participants when the message was stored: who may receive it. */
  participants: string[];
}

export interface PresenceEvent {
  user: PublicUser;
}

export interface RevocationEvent {
  userId: string;
}

const CHAT_TOPIC = 'chat:message:';
const INBOX_TOPIC = 'user:message:';
const PRESENCE_TOPIC = 'presence';
const REVOKED_TOPIC = 'revoked';

/** The topics a message goes out on: its chat's and each participant's inbox. */
export const messageTopics = (event: MessageEvent): string[] => [
  CHAT_TOPIC + event.message.chat_id,
  ...event.participants.map((userId) => INBOX_TOPIC + userId),
];

/** The chats and inboxes that some of `topics` follow. */
export function followedBy(topics: Iterable<string>): { chatIds: string[]; userIds: string[] } {
  const chatIds: string[] = [];
  const userIds: string[] = [];
  for (const topic of topics) {
    if (topic.startsWith(CHAT_TOPIC)) chatIds.push(topic.slice(CHAT_TOPIC.length));
    else if (topic.startsWith(INBOX_TOPIC)) userIds.push(topic.slice(INBOX_TOPIC.length));
  }
  return { chatIds, userIds };
}

export function localEventTarget(): EventTarget {
  const eventTarget = new EventTarget();
  // Each topic has one listener (its hub), but a busy server follows thousands of topics.
  setMaxListeners(0, eventTarget);
  return eventTarget;
}

export function createEventBus(eventTarget: EventTarget = localEventTarget()) {
  const publish = (topic: string, detail: unknown) =>
    eventTarget.dispatchEvent(new CustomEvent(topic, { detail }));
  // One listener per topic feeds every subscriber of it, each with its own bounded queue.
  const messages = createTopicHub<MessageEvent>(eventTarget);
  const presence = createTopicHub<PresenceEvent>(eventTarget);
  const revocations = createTopicHub<RevocationEvent>(eventTarget);
  return {
    publishMessage(event: MessageEvent) {
      for (const topic of messageTopics(event)) publish(topic, event);
    },
    /** A chat's new messages that `accepts` lets through, as a stream; subscribed from now. */
    chatMessages: (chatId: string, accepts?: (event: MessageEvent) => boolean) =>
      messages.subscribe(CHAT_TOPIC + chatId, accepts),
    /** Calls `deliver` with every new message of the user's chats until the returned function is called. */
    onInbox: (userId: string, deliver: (event: MessageEvent) => void) =>
      messages.listen(INBOX_TOPIC + userId, deliver),
    publishPresence: (event: PresenceEvent) => publish(PRESENCE_TOPIC, event),
    /** Presence changes that `accepts` lets through, as a stream; subscribed from now. */
    presenceChanges: (accepts: (event: PresenceEvent) => boolean) =>
      presence.subscribe(PRESENCE_TOPIC, accepts),
    /** A user's tokens were revoked: their live connections must end. */
    publishRevocation: (event: RevocationEvent) => publish(REVOKED_TOPIC, event),
    /** Calls `handle` with every revocation until the returned function is called. */
    onRevocation: (handle: (event: RevocationEvent) => void) =>
      revocations.listen(REVOKED_TOPIC, handle),
  };
}

export type EventBus = ReturnType<typeof createEventBus>;
