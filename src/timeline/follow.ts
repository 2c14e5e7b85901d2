/** Following timelines (a chat's, a user's chats'): live, or from a position (replay, then live). */
import type { App } from '../app.js';
import {
  reaches,
  removes,
  type ChatEvent,
  type ChatFeedEvent,
  type UserEvent,
} from '../events/bus.js';
import { catchUp } from '../events/catch-up.js';
import { merge } from '../events/merge.js';
import type { Selector, TopicSubscription } from '../events/outlet.js';
import { isMessageChange } from '../db/documents.js';
import { requireMembership, seesMessage, visibleFrom } from '../chats/service.js';
import { requireViewer, type RequestScope } from '../request/scope.js';
import { decodePosition, isNumbered, type UnnumberedPosition } from './position.js';
import { replayChat, replayUser } from './reader.js';

const timelinePosition = (event: UserEvent | ChatFeedEvent) =>
  'seq' in event && event.seq !== null ? { chatId: event.chatId, seq: event.seq } : null;

/**
/**
 * The events of one chat the caller takes part in (with `only`, those it takes), in timeline
 * order, each once: from now, or with `after` (a cursor) every event stored after it first (from
 * what the caller may see). Who may receive each event is checked per event; the event that takes
 * the caller out of the chat is their last, and the stream ends after it. With `read` and
 * `typing`, the chat's live events of those kinds too (others' read positions, who is typing), in
 * the order they came among the timeline's.
 */
export async function followChat(
  scope: RequestScope,
  chatId: string,
  after: string | null | undefined,
  options: { read?: boolean; typing?: boolean; only?: (event: ChatEvent) => boolean } = {},
): Promise<TopicSubscription<ChatFeedEvent>> {
  const viewer = requireViewer(scope);
  const chat = await requireMembership(scope, chatId);
  const from = after ? decodePosition(after, 'after') : null;
  // The subscription may live for hours: it keeps the ids it needs, not what it read to start.
  scope.loaders.forget();
  const { bus, db } = scope.app;
  const userId = viewer.user_id;
  const selector: Selector<ChatFeedEvent> = {
    accepts: (event) =>
      event.type === 'read'
        ? options.read === true && event.user.user_id !== userId
        : event.type === 'typing'
          ? options.typing === true
          : (options.only?.(event) ?? true) &&
            reaches(event, userId) &&
            // A change of a message from before what they may see is none of theirs.
            !(isMessageChange(event.type) && !seesMessage(chat, userId, event.message)),
    lastFor: (event) => event.type !== 'read' && event.type !== 'typing' && removes(event, userId),
  };
  const withLive = options.read === true || options.typing === true;
  if (!from && !withLive) return bus.chatEvents(chat.chat_id, selector);
  const timeline = bus.chatEvents(chat.chat_id);
  if (!from) return merge([timeline, scope.app.typing.feeds.follow(chat.chat_id)], selector);
  const live: TopicSubscription<ChatFeedEvent> = withLive
    ? merge<ChatFeedEvent>([timeline, scope.app.typing.feeds.follow(chat.chat_id)])
    : timeline;
  // Subscribed before the database is read: nothing falls in between.
  const firstVisible = visibleFrom(chat, userId);
  const start = isNumbered(from) ? Math.max(from.seq, firstVisible - 1) : firstVisible - 1;
  return catchUp<ChatFeedEvent>(
    live,
    {
      positionOf: timelinePosition,
      replay: (positions) => replayChat(db, chat, from, positions),
      fill: (id, afterSeq, upToSeq) => scope.app.timeline.eventsBetween(id, afterSeq, upToSeq),
    },
    new Map([[chat.chat_id, start]]),
    selector,
  );
}

/** Where a subscriber to a user's events stopped (legacy SSE's Last-Event-ID). */
export interface UserResume {
  /** The last number received per chat. */
  positions: Map<string, number>;
  /** Events of the user's other chats are replayed from this time on. */
  since: Date;
  /** For a position from before numbering: unnumbered messages after it come first. */
  unnumberedAfter?: UnnumberedPosition;
}

/**
 * The messages of a user's one-to-one chats (what the old clients can show), in each chat's
 * timeline order, each once: from now, or with `resume` every one stored after it first (as they
 * read now: edited, and deleted ones left out). Edits, deletions and reactions are not sent: the
 * old clients cannot show them. Resolves once it listens.
 */
export async function followDirectMessages(
  app: App,
  userId: string,
  resume?: UserResume,
): Promise<TopicSubscription<UserEvent>> {
  const selector: Selector<UserEvent> = {
    accepts: (event) =>
      event.type === 'message' &&
      !event.group &&
      !event.message.deleted_at &&
      reaches(event, userId),
  };
  if (!resume) return app.bus.userEvents(userId, selector);
  const live = await app.bus.userEvents(userId);
  return catchUp<UserEvent>(
    live,
    {
      positionOf: timelinePosition,
      replay: (positions) =>
        replayUser(app.db, userId, positions, resume.since, resume.unnumberedAfter),
      fill: (chatId, afterSeq, upToSeq) => app.timeline.eventsBetween(chatId, afterSeq, upToSeq),
    },
    new Map(resume.positions),
    selector,
  );
}
