/**
 * A chat's live events on this instance: read positions as they come, and who is typing, made
 * here from the typing signals of every instance (each instance keeps the same list from the
 * same signals, and lets a typer lapse by itself TYPING_TTL_MS after their last renewal, or when
 * their message arrives). Followed chats also remember their members, so that a typing signal is
 * authorized without reading the database: the chat's timeline says when they change.
 */
import type { ChatDoc, PublicUser } from '../db/documents.js';
import type {
  ChatEvent,
  EventBus,
  LiveSignal,
  ReadStateEvent,
  TypingEvent,
} from '../events/bus.js';
import { Outlet, type TopicSubscription } from '../events/outlet.js';
import { encodePosition } from '../timeline/position.js';

/** A typing state lapses this long after its last renewal. */
export const TYPING_TTL_MS = 6000;
/** Renewals within this long of the last one passed on are not passed on. */
export const TYPING_RENEWAL_MS = 2000;
/** A chat typed into but not followed here is remembered this long after its last use. */
const IDLE_MS = 60_000;

export type LiveChatEvent = ReadStateEvent | TypingEvent;

class Follower extends Outlet<LiveChatEvent> {
  constructor(private readonly leave: (follower: Follower) => void) {
    super();
  }

  deliver(event: LiveChatEvent): void {
    this.offer(event);
  }

  protected release(): void {
    this.leave(this);
  }
}

interface LiveChat {
  chatId: string;
  typers: Map<string, { user: PublicUser; timer: NodeJS.Timeout }>;
  followers: Set<Follower>;
  /** Members now, once known (from the chat, then its timeline's group events). */
  members: ReadonlySet<string> | null;
  idle: NodeJS.Timeout | null;
  stop: () => void;
}

export class LiveFeeds {
  private readonly chats = new Map<string, LiveChat>();

  constructor(private readonly bus: EventBus) {}

  /** The chat's live events from now on, until `return()`. */
  follow(chatId: string): TopicSubscription<LiveChatEvent> {
    const chat = this.open(chatId);
    const follower = new Follower((left) => {
      chat.followers.delete(left);
      this.release(chat);
    });
    chat.followers.add(follower);
    // Who is typing already, known here: the follower starts from that list.
    if (chat.typers.size > 0) follower.deliver(this.typingNow(chat));
    return follower;
  }

  /** The chat's members if known here (a followed chat, or one typed into lately), else null. */
  membersOf(chatId: string): ReadonlySet<string> | null {
    return this.chats.get(chatId)?.members ?? null;
  }

  /** Remembers the chat's members, read from the database, for a while. */
  know(chat: ChatDoc): void {
    const live = this.open(chat.chat_id);
    live.members ??= new Set(chat.participants);
    this.release(live);
  }

  close(): void {
    for (const chat of this.chats.values()) this.drop(chat);
  }

  private open(chatId: string): LiveChat {
    let chat = this.chats.get(chatId);
    if (!chat) {
      const stopLive = this.bus.onLive(chatId, (signal) => this.receive(chat!, signal));
      const stopTimeline = this.bus.onChatEvent(chatId, (event) => this.timeline(chat!, event));
      chat = {
        chatId,
        typers: new Map(),
        followers: new Set(),
        members: null,
        idle: null,
        stop: () => {
          stopLive();
          stopTimeline();
        },
      };
      this.chats.set(chatId, chat);
    }
    if (chat.idle) clearTimeout(chat.idle);
    chat.idle = null;
    return chat;
  }

  /** Unfollowed: forgotten after IDLE_MS unless used again. */
  private release(chat: LiveChat): void {
    if (chat.followers.size > 0 || chat.idle) return;
    chat.idle = setTimeout(() => {
      if (chat.followers.size === 0) this.drop(chat);
    }, IDLE_MS);
    chat.idle.unref();
  }

  private drop(chat: LiveChat): void {
    if (chat.idle) clearTimeout(chat.idle);
    for (const typer of chat.typers.values()) clearTimeout(typer.timer);
    chat.stop();
    this.chats.delete(chat.chatId);
  }

  private receive(chat: LiveChat, signal: LiveSignal): void {
    if (signal.type === 'read') return this.deliver(chat, signal);
    const userId = signal.user.user_id;
    const known = chat.typers.get(userId);
    if (known) clearTimeout(known.timer);
    if (!signal.typing) {
      if (known) this.stopTyping(chat, userId);
      return;
    }
    const timer = setTimeout(() => this.stopTyping(chat, userId), signal.ttlMs);
    timer.unref();
    chat.typers.set(userId, { user: signal.user, timer });
    if (!known) this.typingChanged(chat);
  }

  private timeline(chat: LiveChat, event: ChatEvent): void {
    const state = event.change?.state;
    if (state) {
      const members = new Set(state.members.map((member) => member.user_id));
      chat.members = members;
      // Who left the group no longer types in it.
      for (const userId of chat.typers.keys()) {
        if (!members.has(userId)) this.stopTyping(chat, userId);
      }
    }
    // A message ends its sender's typing.
    if (event.type === 'message' && chat.typers.has(event.message.sender_id)) {
      this.stopTyping(chat, event.message.sender_id);
    }
  }

  private stopTyping(chat: LiveChat, userId: string): void {
    const typer = chat.typers.get(userId);
    if (!typer) return;
    clearTimeout(typer.timer);
    chat.typers.delete(userId);
    this.typingChanged(chat);
  }

  private typingNow(chat: LiveChat): TypingEvent {
    return {
      type: 'typing',
      chatId: chat.chatId,
      users: [...chat.typers.values()].map((typer) => typer.user),
      cursor: encodePosition({ seq: this.bus.handedUpTo(chat.chatId) ?? 0 }),
    };
  }

  private typingChanged(chat: LiveChat): void {
    this.deliver(chat, this.typingNow(chat));
  }

  private deliver(chat: LiveChat, event: LiveChatEvent): void {
    for (const follower of chat.followers) follower.deliver(event);
  }
}
