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
}

export interface MessageDoc {
  /** A key derived from (chat, sender, clientMessageId) when the client gave one: the unique `_id` index makes retries idempotent. */
  _id?: ObjectId | string;
  message_id: string;
  chat_id: string;
  sender_id: string;
  content: string;
  timestamp: Date;
  message_type: 'text';
  client_message_id?: string;
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
