/** Following timelines (a chat's, a user's chats'): live, or from a position (replay, then live). */
import type { App } from '../app.js';
import type { ChatEvent, UserEvent } from '../events/bus.js';
import { catchUp } from '../events/catch-up.js';
import type { TopicSubscription } from '../events/outlet.js';
import { requireMembership } from '../chats/service.js';
import { requireViewer, type RequestScope } from '../request/scope.js';
import { decodePosition, isNumbered, type UnnumberedPosition } from './position.js';
import { replayChat, replayUser } from './reader.js';

const timelinePosition = (event: ChatEvent) =>
  event.seq === null ? null : { chatId: event.chatId, seq: event.seq };

/**
 * The events of one chat the caller takes part in, in timeline order, each once: from now, or
 * with `after` (a cursor) every event stored after it first. `only` narrows them to the kinds a
 * subscription shows. Membership is checked now and again for every event.
 */
export async function followChat(
  scope: RequestScope,
  chatId: string,
  after: string | null | undefined,
  only?: (event: ChatEvent) => boolean,
): Promise<TopicSubscription<ChatEvent>> {
  const viewer = requireViewer(scope);
  const chat = await requireMembership(scope, chatId);
  const from = after ? decodePosition(after, 'after') : null;
  // The subscription may live for hours: it keeps the ids it needs, not what it read to start.
  scope.loaders.forget();
  const { bus, db } = scope.app;
  const userId = viewer.user_id;
  const accepts = (event: ChatEvent) =>
    event.chat.participants.includes(userId) && (!only || only(event));
  if (!from) return bus.chatEvents(chat.chat_id, accepts);
  // Subscribed before the database is read: nothing falls in between.
  const live = bus.chatEvents(chat.chat_id);
  return catchUp(
    live,
    {
      positionOf: timelinePosition,
      replay: (positions) => replayChat(db, chat, from, positions),
      fill: (id, afterSeq, upToSeq) => scope.app.timeline.eventsBetween(id, afterSeq, upToSeq),
      accepts,
    },
    new Map([[chat.chat_id, isNumbered(from) ? from.seq : 0]]),
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
 * The message events of a user's chats, in each chat's timeline order, each once: from now, or
 * with `resume` every event stored after it first.
 */
export function followUserMessages(
  app: App,
  userId: string,
  resume?: UserResume,
): TopicSubscription<UserEvent> {
  const accepts = (event: UserEvent) =>
    event.type === 'message' && event.chat.participants.includes(userId);
  if (!resume) return app.bus.userEvents(userId, accepts);
  const live = app.bus.userEvents(userId);
  return catchUp<UserEvent>(
    live,
    {
      positionOf: (event) => (event.type === 'message' ? timelinePosition(event) : null),
      replay: (positions) =>
        replayUser(app.db, userId, positions, resume.since, resume.unnumberedAfter),
      fill: (chatId, afterSeq, upToSeq) => app.timeline.eventsBetween(chatId, afterSeq, upToSeq),
      accepts,
    },
    new Map(resume.positions),
  );
}
