/**
 * The one event bus every realtime transport listens to. New messages go out on a per-chat
 * channel (GraphQL `messageAdded`) and on each participant's inbox (the legacy per-user streams),
 * presence changes on one channel. Payloads carry everything a subscriber needs, so delivering
 * an event costs no database read. Revocations (logout, recovery) end live connections.
 */
import { setMaxListeners } from 'node:events';
import { createPubSub } from 'graphql-yoga';
import type { MessageDoc, PublicUser } from '../db/documents.js';

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

type Channels = {
  'chat:message': [chatId: string, event: MessageEvent];
  'user:message': [userId: string, event: MessageEvent];
  presence: [event: PresenceEvent];
  revoked: [event: RevocationEvent];
};

export function createEventBus() {
  const eventTarget = new EventTarget();
  // Every connection listens on its user's and chat's topics: thousands of listeners are normal.
  setMaxListeners(0, eventTarget);
  const pubSub = createPubSub<Channels>({ eventTarget });
  return {
    publishMessage(event: MessageEvent) {
      pubSub.publish('chat:message', event.message.chat_id, event);
      for (const userId of event.participants) pubSub.publish('user:message', userId, event);
    },
    chatMessages: (chatId: string) => pubSub.subscribe('chat:message', chatId),
    inbox: (userId: string) => pubSub.subscribe('user:message', userId),
    publishPresence: (event: PresenceEvent) => pubSub.publish('presence', event),
    presenceChanges: () => pubSub.subscribe('presence'),
    /** A user's tokens were revoked: their live connections must end. */
    publishRevocation: (event: RevocationEvent) => pubSub.publish('revoked', event),
    revocations: () => pubSub.subscribe('revoked'),
  };
}

export type EventBus = ReturnType<typeof createEventBus>;
