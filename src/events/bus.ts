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
import type {
  ChatDoc,
  GroupChange,
  MessageChange,
  MessageDoc,
  PublicUser,
  TimelineEventType,
} from '../db/documents.js';
import type { Sequenced } from './ordering.js';
import type { Selector } from './outlet.js';
import { createTopicHub, type TopicSubscription } from './topic-hub.js';
import { UserFeeds } from './user-feeds.js';

/**
 * An event of a chat's timeline, as subscribers receive it: a message sent (`message`), a group's
 * members changed (`members`), a group renamed (`renamed`), a message edited (`edited`), deleted
 * (`deleted`) or its reactions changed (`reactions`).
 */
export interface ChatEvent {
  type: TimelineEventType;
  chatId: string;
  /** Its number in the chat's timeline; null for a message stored before numbering (replays). */
  seq: number | null;
  /** Whether the chat is a group (the old clients never see those). */
  group: boolean;
  /**
   * The message sent, or the SYSTEM message a group event shows as in history; for a message
   * change, the message changed as it reads after it (its own `seq` is the message's).
   */
  message: MessageDoc;
  /**
   * The message's sender (of a group event: who made the change). Null only when read back for a
   * user no longer stored.
   */
  sender: PublicUser | null;
  /** Group events: what changed, and the group as it left it. */
  change?: GroupChange;
  /** Message changes: who made it (and reactions after it). */
  messageChange?: MessageChange;
  /**
   * Message changes: false when the chat's summary stayed as it was (no chat-list update); absent
   * when unknown (read back), taken as changed.
   */
  summaryChanged?: boolean;
  /**
   * Who may receive it: the chat's members as of the event (and whoever a removal concerns).
   * Set as the event leaves its chat's topic on this instance; absent on events read back for
   * one subscriber (a replay covers only what that subscriber may see).
   */
  audience?: ReadonlySet<string>;
  /**
   * The id that follows the event from its send to each delivery in the logs, on every instance
   * (src/observability/). Absent on events read back from the database.
   */
  traceId?: string;
}

/**
 * A member's read position moved (src/reads/): a live event of the chat, not stored in its
 * timeline, on the chat's live topic.
 */
export interface ReadStateEvent {
  type: 'read';
  chatId: string;
  user: PublicUser;
  /** The position read up to, as a message cursor. */
  cursor: string;
}

/** Who is typing in a chat now (src/typing/): made on each instance from typing signals. */
export interface TypingEvent {
  type: 'typing';
  chatId: string;
  users: PublicUser[];
  /** The position of the last timeline event handed on before it here (a safe resume point). */
  cursor: string;
}

/** One member started (or renewed) or stopped typing: what goes on a chat's live topic. */
export interface TypingSignal {
  type: 'typing-signal';
  chatId: string;
  user: PublicUser;
  typing: boolean;
  /** How long the typing state lasts without renewal, from when it arrives. */
  ttlMs: number;
}

/** What a chat's live topic carries: events outside the timeline, never stored. */
export type LiveSignal = ReadStateEvent | TypingSignal;

/** What `chatEvents` delivers: the timeline's events and the live ones. */
export type ChatFeedEvent = ChatEvent | ReadStateEvent | TypingEvent;

/** Who caused an event (what "is it mine" fields compare the viewer with). */
export const actorOf = (event: ChatFeedEvent): string =>
  event.type === 'read'
    ? event.user.user_id
    : event.type === 'typing'
      ? ''
      : event.message.sender_id;

/** Whether `userId` may receive `event` (see `audience`). */
export const reaches = (event: ChatEvent, userId: string): boolean =>
  event.audience?.has(userId) ?? true;

/** Whether `event` takes `userId` out of the chat: the last event of the chat they receive. */
export const removes = (event: ChatEvent, userId: string): boolean =>
  event.type === 'members' &&
  (event.change?.change === 'REMOVED' || event.change?.change === 'LEFT') &&
  event.change.user_ids.includes(userId);

/** A change to users' chat lists that is not a timeline event (a chat opened with them). */
export interface ChatListChanged {
  type: 'chat-list';
  change: 'ADDED' | 'REMOVED';
  chat: ChatDoc;
  /** Whose lists change. */
  userIds: string[];
  /** ADDED: the last number of the chat before the users' part of it (0: all of it). */
  from?: number;
}

/** The user's own read position in a chat moved (on another device): their unread count changed. */
export interface UnreadChanged {
  type: 'unread';
  chatId: string;
}

/** What a user's topic carries. */
export type UserEvent = ChatEvent | ChatListChanged | UnreadChanged;

export interface PresenceEvent {
  user: PublicUser;
}

export interface RevocationEvent {
  userId: string;
}

/** Reads stored timeline events, for subscribers that missed them. */
export interface TimelineReader {
  /** Where a chat stands now: its last number (from its summary: never ahead), and its members. */
  chatNow(chatId: string): Promise<{ seq: number; members: string[] }>;
  /** The chats a user is in now, each with its last number (from its document: never ahead). */
  chatsOf(userId: string): Promise<Map<string, number>>;
  /** Stored events after the given number of each chat, in order per chat. */
  eventsAfter(positions: ReadonlyMap<string, number>): Promise<ChatEvent[]>;
  /** A chat's events numbered in (afterSeq, upToSeq], in order. */
  eventsBetween(chatId: string, afterSeq: number, upToSeq: number): Promise<ChatEvent[]>;
  /**
   * The same, read because they did not come over the bus: what their senders may not have
   * finished (history copies, summaries) is finished.
   */
  missingEvents(chatId: string, afterSeq: number, upToSeq: number): Promise<ChatEvent[]>;
  /**
   * What a chat's subscribers may have missed: events after `position`, or without one those
   * stored since `since`.
   */
  missedSince(chatId: string, position: number | undefined, since: Date): Promise<ChatEvent[]>;
}

const CHAT_TOPIC = 'chat:';
const LIVE_TOPIC = 'live:';
const USER_TOPIC = 'user:';
const PRESENCE_TOPIC = 'presence';
const REVOKED_TOPIC = 'revoked';

/** The chat a topic follows, if it is a chat's. */
const chatOf = (topic: string) =>
  topic.startsWith(CHAT_TOPIC) ? topic.slice(CHAT_TOPIC.length) : null;

/**
 * Sets each event's audience from the chat's members as the topic hands events on, in order:
 * a group event reaches the members before and after it (the removed learn of their removal),
 * then its members are the chat's.
 */
function audienceOf(initial: string[]) {
  let members: ReadonlySet<string> = new Set(initial);
  return (event: UserEvent) => {
    if (event.type === 'chat-list' || event.type === 'unread') return;
    const after = event.change?.state.members;
    if (after) {
      const next = new Set(after.map((member) => member.user_id));
      event.audience = new Set([...members, ...next]);
      members = next;
    } else {
      event.audience = members;
    }
  };
}

// Every kind of timeline event holds a number: all of them are ordered (not only messages).
const timelinePosition = (event: UserEvent): Sequenced | null =>
  'seq' in event && event.seq !== null ? { chatId: event.chatId, seq: event.seq } : null;

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
      fetch: (chatId, afterSeq, upToSeq) => timeline.missingEvents(chatId, afterSeq, upToSeq),
      startsAt: async (topic) => {
        const chatId = chatOf(topic);
        if (!chatId) return { positions: new Map() };
        const now = await timeline.chatNow(chatId);
        return { positions: new Map([[chatId, now.seq]]), annotate: audienceOf(now.members) };
      },
      logger,
    },
  });
  const userFeeds = new UserFeeds<UserEvent>(userEvents, {
    chatTopic: (chatId) => CHAT_TOPIC + chatId,
    userTopic: (userId) => USER_TOPIC + userId,
    positionOf: timelinePosition,
    chatListChange: (event) => {
      if (event.type !== 'chat-list') return null;
      const chatId = event.chat.chat_id;
      return event.change === 'ADDED'
        ? { chatId, change: 'ADDED', from: event.from ?? 0 }
        : { chatId, change: 'REMOVED' };
    },
    chatsOf: (userId) => timeline.chatsOf(userId),
    eventsAfter: (positions) => timeline.eventsAfter(positions),
    eventsBetween: (chatId, afterSeq, upToSeq) => timeline.eventsBetween(chatId, afterSeq, upToSeq),
    logger,
  });
  const live = createTopicHub<LiveSignal>(eventTarget);
  const presence = createTopicHub<PresenceEvent>(eventTarget);
  const revocations = createTopicHub<RevocationEvent>(eventTarget);
  return {
    /** Published once, on the chat's topic, whatever the number of its members. */
    publishChatEvent: (event: ChatEvent) => publish(CHAT_TOPIC + event.chatId, event),
    publishChatListChange(event: ChatListChanged) {
      for (const userId of event.userIds) publish(USER_TOPIC + userId, event);
    },
    publishUnreadChange: (userId: string, event: UnreadChanged) =>
      publish(USER_TOPIC + userId, event),
    /** Live events of a chat (read positions, typing): on every instance, never stored. */
    publishLive: (signal: LiveSignal) => publish(LIVE_TOPIC + signal.chatId, signal),
    /** Calls `handle` with every live signal of a chat until the returned function is called. */
    onLive: (chatId: string, handle: (signal: LiveSignal) => void) =>
      live.listen(LIVE_TOPIC + chatId, handle),
    /** Calls `handle` with a chat's timeline events, in order, until the returned function is called. */
    onChatEvent: (chatId: string, handle: (event: ChatEvent) => void) =>
      userEvents.listen(CHAT_TOPIC + chatId, handle as (event: UserEvent) => void),
    /** The number of the last event of a chat handed on here, if its topic is followed. */
    handedUpTo: (chatId: string) => userEvents.positionOf(CHAT_TOPIC + chatId, chatId),
    /** A chat's timeline events the selector takes, in order, as a stream; from now. */
    chatEvents: (chatId: string, selector?: Selector<ChatEvent>) =>
      // A chat's topic carries its timeline events only.
      userEvents.subscribe(
        CHAT_TOPIC + chatId,
        selector as Selector<UserEvent> | undefined,
      ) as TopicSubscription<ChatEvent>,
    /**
     * A user's events the selector takes, as a stream, from now: the timeline events of their
     * chats (each chat's in order) and changes to their chat list. Resolves once it listens.
     */
    userEvents: (userId: string, selector?: Selector<UserEvent>) =>
      userFeeds.subscribe(userId, selector),
    /**
     * Events may have been lost since `since` (the Redis subscription was down): users followed
     * here follow chats added meanwhile, and every chat followed reads back what it missed, in
     * order, each event once.
     */
    async catchUp(since: Date) {
      await userFeeds.refresh();
      return userEvents.catchUp(async (topic, positions) => {
        const chatId = chatOf(topic);
        return chatId ? timeline.missedSince(chatId, positions.get(chatId), since) : [];
      });
    },
    publishPresence: (event: PresenceEvent) => publish(PRESENCE_TOPIC, event),
    /** Presence changes that `accepts` lets through, as a stream; subscribed from now. */
    presenceChanges: (accepts: (event: PresenceEvent) => boolean) =>
      presence.subscribe(PRESENCE_TOPIC, { accepts }),
    /** A user's tokens were revoked: their live connections must end. */
    publishRevocation: (event: RevocationEvent) => publish(REVOKED_TOPIC, event),
    /** Calls `handle` with every revocation until the returned function is called. */
    onRevocation: (handle: (event: RevocationEvent) => void) =>
      revocations.listen(REVOKED_TOPIC, handle),
  };
}

export type EventBus = ReturnType<typeof createEventBus>;
