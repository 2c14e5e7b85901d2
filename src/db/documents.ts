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
}

export interface ChatDoc {
  /** New chats use a key derived from the pair so that the unique `_id` index makes creation idempotent. */
  _id?: ObjectId | string;
  chat_id: string;
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
  message_type: 'text';
  client_message_id?: string;
  /** The message's number in its chat's timeline; absent on messages stored before numbering. */
  seq?: number;
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
  type: 'message';
  /** When the event was stored (the writing server's clock). */
  at: Date;
  /** `<chat>:<sender>:<clientMessageId>`: unique (sparse), so a retried send stores one event. */
  client_key?: string;
  message: Omit<MessageDoc, '_id'>;
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
export type MessageModel = MessageDoc & { sender?: PublicUser };
