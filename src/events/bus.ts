/**
 * The one event bus every realtime transport listens to. A chat's timeline events go out on the
 * chat's topic (GraphQL `chatEvents`, `messageAdded`) and on each participant's user topic (the
 * legacy per-user streams, `myChats`), with chat-list changes; presence changes on one topic.
 * Payloads carry everything a subscriber needs, so delivering an event costs no database read.
 * Revocations (logout, recovery) end live connections.
 *
 * On chat and user topics, events are handed to subscribers in timeline order, each once
 * (./ordering.ts): the bus reads what it misses from the timeline (`TimelineReader`).
 *
 * The event target decides the reach: in-process by default, every instance with Redis
 * (`./cluster-target.ts`).
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { ChatDoc, MessageDoc, PublicUser } from '../db/documents.js';
import type { Sequenced } from './ordering.js';
import { createTopicHub, type TopicSubscription } from './topic-hub.js';

/** A message was stored in a chat's timeline. */
export interface MessageAdded {
  type: 'message';
  chatId: string;
  /** Its number in the chat's timeline; null for a message stored before numbering (replays). */
  seq: number | null;
  message: MessageDoc;
  /** Null only when read back for a sender no longer stored (the message still shows, failing its `sender`). */
  sender: PublicUser | null;
  /** The chat as this event left it: its participants (who may receive it) and its summary. */
  chat: ChatDoc;
}

/** An event of a chat's timeline, as subscribers receive it. */
export type ChatEvent = MessageAdded;

/** Who caused an event (what "is it mine" fields compare the viewer with). */
export const actorOf = (event: ChatEvent): string => event.message.sender_id;

/** A change to a user's chat list that is not a timeline event (a chat opened with them). */
export interface ChatListChanged {
  type: 'chat-list';
  change: 'ADDED' | 'REMOVED';
  chat: ChatDoc;
}

/** What a user's topic carries. */
export type UserEvent = ChatEvent | ChatListChanged;

export interface PresenceEvent {
  user: PublicUser;
}

export interface RevocationEvent {
  userId: string;
}

/** Reads stored timeline events, for subscribers that missed them. */
export interface TimelineReader {
  /** Where each chat of a chat or a user stands now: its last number (a hint: never ahead). */
  lastNumbers(follows: { chatId: string } | { userId: string }): Promise<Map<string, number>>;
  /** A chat's events numbered in (afterSeq, upToSeq], in order. */
  eventsBetween(chatId: string, afterSeq: number, upToSeq: number): Promise<ChatEvent[]>;
  /**
   * What a topic's subscribers may have missed since `since`: events after the known position
   * of each chat in `positions`, and events stored since `since` in the topic's other chats.
   */
  missedSince(
    follows: { chatId: string } | { userId: string },
    positions: Map<string, number>,
    since: Date,
  ): Promise<ChatEvent[]>;
}

const CHAT_TOPIC = 'chat:';
const USER_TOPIC = 'user:';
const PRESENCE_TOPIC = 'presence';
const REVOKED_TOPIC = 'revoked';

/** The topics a timeline event goes out on: its chat's and each participant's. */
export const chatEventTopics = (event: ChatEvent): string[] => [
  CHAT_TOPIC + event.chatId,
  ...event.chat.participants.map((userId) => USER_TOPIC + userId),
];

/** The chat or user a topic follows. */
function followedBy(topic: string): { chatId: string } | { userId: string } | null {
  if (topic.startsWith(CHAT_TOPIC)) return { chatId: topic.slice(CHAT_TOPIC.length) };
  if (topic.startsWith(USER_TOPIC)) return { userId: topic.slice(USER_TOPIC.length) };
  return null;
}

const timelinePosition = (event: UserEvent): Sequenced | null =>
  event.type === 'message' && event.seq !== null ? { chatId: event.chatId, seq: event.seq } : null;

export function localEventTarget(): EventTarget {
  const eventTarget = new EventTarget();
  // Each topic has one listener (its hub), but a busy server follows thousands of topics.
  setMaxListeners(0, eventTarget);
  return eventTarget;
}

export function createEventBus(options: {
  eventTarget?: EventTarget;
  timeline: TimelineReader;
  logger: Logger;
}) {
  const eventTarget = options.eventTarget ?? localEventTarget();
  const { timeline, logger } = options;
  const publish = (topic: string, detail: unknown) =>
    eventTarget.dispatchEvent(new CustomEvent(topic, { detail }));
  // One listener per topic feeds every subscriber of it, each with its own bounded queue.
  const userEvents = createTopicHub<UserEvent>(eventTarget, {
    ordered: {
      positionOf: timelinePosition,
      fetch: (chatId, afterSeq, upToSeq) => timeline.eventsBetween(chatId, afterSeq, upToSeq),
      startsAt: async (topic) => {
        const follows = followedBy(topic);
        return follows ? timeline.lastNumbers(follows) : new Map();
      },
      logger,
    },
  });
  const presence = createTopicHub<PresenceEvent>(eventTarget);
  const revocations = createTopicHub<RevocationEvent>(eventTarget);
  return {
    publishChatEvent(event: ChatEvent) {
      for (const topic of chatEventTopics(event)) publish(topic, event);
    },
    publishChatListChange(event: ChatListChanged) {
      for (const userId of event.chat.participants) publish(USER_TOPIC + userId, event);
    },
    /** A chat's timeline events that `accepts` lets through, in order, as a stream; from now. */
    chatEvents: (chatId: string, accepts?: (event: ChatEvent) => boolean) =>
      // A chat's topic carries its timeline events only.
      userEvents.subscribe(
        CHAT_TOPIC + chatId,
        accepts as ((event: UserEvent) => boolean) | undefined,
      ) as TopicSubscription<ChatEvent>,
    /** A user's events (their chats' timelines, in order per chat, and chat-list changes). */
    userEvents: (userId: string, accepts?: (event: UserEvent) => boolean) =>
      userEvents.subscribe(USER_TOPIC + userId, accepts),
    /** Calls `deliver` with every event of the user's until the returned function is called. */
    onUserEvent: (userId: string, deliver: (event: UserEvent) => void) =>
      userEvents.listen(USER_TOPIC + userId, deliver),
    /**
     * Events may have been lost since `since` (the Redis subscription was down): every chat and
     * user followed here reads back what it missed, in order, each event once.
     */
    catchUp: (since: Date) =>
      userEvents.catchUp(async (topic, positions) => {
        const follows = followedBy(topic);
        return follows ? timeline.missedSince(follows, positions, since) : [];
      }),
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
