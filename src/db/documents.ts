import type { ObjectId } from 'mongodb';

/**
 * The documents in MongoDB, field for field as the Python backend wrote them (see the seed
 * README), plus optional fields this server adds. Documents written by the old server lack the
 * optional fields, so every reader must cope with their absence.
 */

export interface UserDoc {
  user_id: string;
  first_name: string;
  last_name: string;
  mobile_no: string;
  email: string;
  username: string;
  /** passlib `$pbkdf2-sha256$<rounds>$<salt>$<checksum>` */
  password_hash: string;
  /** A passlib-format hash of the normalised phrase; plain text in old databases. */
  security_phrase: string;
  created_at: Date;
  is_online?: boolean;
  /** Tokens carrying an older version are revoked (logout, recovery). Missing means 0. */
  token_version?: number;
  /** False when the user turned read receipts off (src/reads/); absent: on. */
  read_receipts?: boolean;
}

export type ChatRole = 'OWNER' | 'ADMIN' | 'MEMBER';

/** A member of a group, as its latest group event left them. */
export interface GroupMember {
  user_id: string;
  role: ChatRole;
  joined_at: Date;
  /** The number of the event that added them (their place in the group's order of joining). */
  joined_seq: number;
  /** The first event of the chat they may see (1: all; added without history: their own add). */
  visible_from: number;
}

/** A group's state after one of its events: what the next change is decided against. */
export interface GroupState {
  title: string;
  /** Longest-standing first. */
  members: GroupMember[];
}

export interface ChatDoc {
  /** New chats use a key derived from the pair so that the unique `_id` index makes creation idempotent. */
  _id?: ObjectId | string;
  chat_id: string;
  /** Absent (one-to-one, as the old server wrote them) or 'group'. */
  kind?: 'group';
  /** Everyone in the chat now (a group's: its members, from `members`). */
  participants: string[];
  created_at: Date;
  last_message: string | null;
  last_message_time: Date | null;
  /** The newest message's id; absent on chats written by the old server. */
  last_message_id?: string | null;
  /**
   * The number of the newest timeline event the summary shows (absent before any). A hint where
   * numbering continues, not the arbiter (see TimelineEventDoc).
   */
  last_seq?: number;
  /**
   * False when the chat holds no message written before timeline numbering (chats this server
   * creates): history then reads numbered messages only. Absent: unknown, look.
   */
  legacy_messages?: boolean;
  /** Groups: their title and members as of event `group_seq` (a copy of that event's state). */
  title?: string;
  members?: GroupMember[];
  group_seq?: number;
  /** Groups: set when the last member left. */
  closed?: boolean;
  /**
   * True once every message and event of the chat carries its `window` (chats this server creates;
   * older ones after the start-up pass of ../timeline/positions.ts): history and replays then
   * read windows by equality. Absent: read as before.
   */
  paged?: boolean;
  /** Paged chats: how many messages were stored before numbering (their `legacy_pos`: 1 - n … 0). */
  legacy_count?: number;
  /** The newest message as stored (what `lastMessage` shows without a query). */
  last_message_doc?: MessageDoc;
}

export interface MessageDoc {
  /**
   * `<chat_id>:<seq>` for numbered messages (a copy of their timeline event, which may be written
   * again harmlessly); an ObjectId (old server) or `msg:<chat>:<sender>:<clientMessageId>` (before
   * numbering) otherwise.
   */
  _id?: ObjectId | string;
  message_id: string;
  chat_id: string;
  sender_id: string;
  content: string;
  timestamp: Date;
  /**
   * 'system': what a group event says in history (its sender is who made the change). 'image':
   * every attachment is an image; 'file': at least one is not (the old model's three types).
   */
  message_type: 'text' | 'system' | 'image' | 'file';
  /** Files sent with the message, in the order given (absent: none). */
  attachments?: AttachmentDoc[];
  client_message_id?: string;
  /** The message's number in its chat's timeline; absent on messages stored before numbering. */
  seq?: number;
  /**
   * Messages stored before numbering, once placed (../timeline/positions.ts): their place before
   * event 1, from 1 - n (the oldest of n) to 0 (the newest), in (timestamp, id) order.
   */
  legacy_pos?: number;
  /** The windows of `seq` (or `legacy_pos`): see ../timeline/pages.ts. */
  window?: number[];
  /** The message it replies to (same chat). */
  reply_to?: string;
  /** Set by the latest edit. */
  edited_at?: Date;
  /** Set once deleted (never unset): `content` is then erased. */
  deleted_at?: Date;
  /** The number of the latest edit or deletion the copy in `messages` shows (see ./derived.ts). */
  state_seq?: number;
}

/** Who reacted with which emoji, in the order they did (a snapshot carried by an event). */
export interface ReactionSnapshot {
  emoji: string;
  user_ids: string[];
}

/**
 * One user's reaction to a message with one emoji (collection `reactions`). `_id` is
 * `<message_id>:<user_id>:<emoji>`, so reacting twice stores one; `slot` (0–2) is unique per
 * (message, user), so a user holds at most three reactions per message, however many adds race.
 */
export interface ReactionDoc {
  _id: string;
  message_id: string;
  user_id: string;
  emoji: string;
  slot: number;
  at: Date;
}

/**
 * An emoji in use on a message (collection `reaction_emoji`): `_id` `<message_id>:<emoji>`, and
 * `slot` (0–19) unique per message, so a message holds at most twenty distinct emoji.
 */
export interface ReactionEmojiDoc {
  _id: string;
  message_id: string;
  emoji: string;
  slot: number;
}

/** What a message keeps of each file sent with it: enough to describe it and to link to it. */
export interface AttachmentDoc {
  /** The upload's id. */
  attachment_id: string;
  kind: 'image' | 'file';
  file_name: string;
  content_type: string;
  size: number;
  /** Images: their dimensions as shown (EXIF orientation applied) and their thumbnail's key. */
  width?: number;
  height?: number;
  thumbnail_key?: string;
  /** Where the bytes are in the attachment store. */
  storage_key: string;
}

/**
 * An upload (collection `uploads`, `_id` = its id): made by `createUpload`, filled by the client's
 * PUT, checked (`checked_at`), then attached to one message. The bytes of unattached ones are
 * deleted after an hour; the document stays (the day's quota counts it).
 */
export interface UploadDoc {
  _id: string;
  owner_id: string;
  chat_id: string;
  file_name: string;
  /** As declared; an allow-listed image type is checked against the bytes. */
  content_type: string;
  /** As declared; the bytes must be exactly this many. */
  size: number;
  created_at: Date;
  /** Where its bytes are: PUT to, then (once checked) where the store sealed them. */
  storage_key: string;
  /** Set once the stored bytes were checked: what they turned out to be. */
  checked_at?: Date;
  kind?: 'image' | 'file';
  width?: number;
  height?: number;
  thumbnail_key?: string;
  /** The message it is attached to (after its claim). */
  attached_to?: string;
  /** Set when its bytes were deleted, and why: it can no longer be attached. */
  removed_at?: Date;
  removed_for?: 'orphan' | 'mismatch' | 'message deleted';
}

/**
 * Who an upload went to (collection `upload_claims`, `_id` = the upload's id): inserting it is
 * how a message, or the orphan sweep, takes an upload, so the unique `_id` index lets exactly one
 * have it — also on FerretDB, whose conditional updates are not atomic.
 */
export interface UploadClaimDoc {
  _id: string;
  /** The message it is attached to; absent when the sweep took it to delete it. */
  message_id?: string;
  /** The send's idempotency key (a retried send takes its own claim again). */
  client_key?: string;
  at: Date;
}

/**
 * One event of a chat's timeline (collection `chat_events`), the record of what happened in a
 * chat and in which order. `_id` is `<chat_id>:<seq>`: inserting it is how a number is taken, so
 * the unique `_id` index lets exactly one event have each number — on MongoDB and on FerretDB,
 * whose conditional updates are not atomic. Numbers are taken one after another (the next is
 * tried only once the one before is stored), so a chat's events are numbered 1, 2, 3, … without
 * gaps, in the order they were stored. A message event carries the whole message: the event
 * alone is what was sent, whatever happens to the copy in `messages`.
 */
export interface TimelineEventDoc {
  _id: string;
  chat_id: string;
  seq: number;
  /**
   * A message; a change of a group's members; a group renamed; a message edited, deleted, or
   * its reactions changed (the message changes: see MessageChange).
   */
  type: TimelineEventType;
  /** When the event was stored (the writing server's clock). */
  at: Date;
  /** `<chat>:<sender>:<clientMessageId>`: unique (sparse), so a retried send stores one event. */
  client_key?: string;
  /**
   * The message sent, or the SYSTEM message a group event shows as in history; for a message
   * change, the message it changed as it reads after the change (with that message's `seq`).
   */
  message: Omit<MessageDoc, '_id'>;
  /** Group events: what changed, and the group as it left it. */
  group?: GroupChange;
  /** The windows of `seq` (see ../timeline/pages.ts); absent on events stored before them. */
  window?: number[];
  /** Message changes: the message changed (`message.message_id`, kept apart to query by). */
  target_id?: string;
  /** Message changes: who made it, and for reactions what they were after it. */
  message_change?: MessageChange;
}

export type TimelineEventType = 'message' | 'members' | 'renamed' | MessageChangeType;

/** The events that change a message already sent. */
export const MESSAGE_CHANGES = ['edited', 'deleted', 'reactions'] as const;
export type MessageChangeType = (typeof MESSAGE_CHANGES)[number];

export const isMessageChange = (type: TimelineEventType): type is MessageChangeType =>
  (MESSAGE_CHANGES as readonly string[]).includes(type);

export interface MessageChange {
  actor_id: string;
  /** Reactions events: the message's reactions after it. */
  reactions?: ReactionSnapshot[];
}

/**
 * Where a member has read a chat up to (collection `read_positions`): one document per (chat,
 * member), `_id` `<chat_id>:<user_id>`, moved forward only (src/reads/). Never one per message.
 */
export interface ReadPositionDoc {
  _id: string;
  chat_id: string;
  user_id: string;
  /** Read up to this timeline number (0: every message stored before numbering). */
  seq?: number;
  /** Without `seq`: read up to this message stored before numbering. */
  timestamp?: Date;
  message_id?: string;
  read_at: Date;
}

export type MembershipChange = 'CREATED' | 'ADDED' | 'REMOVED' | 'LEFT' | 'ROLE_CHANGED';

export interface GroupChange {
  actor_id: string;
  /** Members events: what happened to `user_ids`. */
  change?: MembershipChange;
  user_ids: string[];
  /** ROLE_CHANGED: the new role. */
  role?: ChatRole;
  /** The group after the event. */
  state: GroupState;
}

/** What anyone may see of a user; the only user data that travels on the event bus. */
export type PublicUser = Pick<UserDoc, 'user_id' | 'username' | 'first_name' | 'last_name'> & {
  is_online?: boolean;
};

export function toPublicUser(user: PublicUser): PublicUser {
  const { user_id, username, first_name, last_name, is_online } = user;
  return { user_id, username, first_name, last_name, is_online: is_online ?? false };
}

/** What the GraphQL `User` type resolves from: a full document, or the public part of one. */
export type UserModel = PublicUser & Partial<Omit<UserDoc, keyof PublicUser>>;

/** What the GraphQL `Message` type resolves from; events carry the sender along. */
export type MessageModel = MessageDoc & {
  sender?: PublicUser;
  /** Its reactions as an event left them (otherwise they are read). */
  reactions?: ReactionSnapshot[];
};
