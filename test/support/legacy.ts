/** Documents and tokens shaped exactly as the Python backend wrote them. */
import { randomUUID } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { SignJWT } from 'jose';
import { TEST_SECRET } from './server.js';

/** passlib 1.7's default cost, made with Python's hashlib.pbkdf2_hmac for "password123". */
export const LEGACY_PASSWORD = 'password123';
export const LEGACY_29000_HASH =
  '$pbkdf2-sha256$29000$AAECAwQFBgcICQoLDA0ODw$KB.q.VCO4FfBluS8QxlyZ6Q28cLf4iJBT4Mfw7lRc0I';

/** A user document as the old server stored it: plain security phrase, no is_online, naive date. */
export function legacyUser(overrides: Record<string, unknown> = {}) {
  const suffix = randomUUID().slice(0, 8);
  return {
    _id: new ObjectId(),
    user_id: randomUUID(),
    first_name: 'Old',
    last_name: `Timer${suffix}`,
    mobile_no: '1234567890',
    email: `old-${suffix}@example.com`,
    username: `old_${suffix}`,
    password_hash: LEGACY_29000_HASH,
    security_phrase: 'test phrase',
    created_at: new Date('2024-01-01T10:00:00'),
    ...overrides,
  };
}

/** A token as python-jose made it for the old server: `sub` and `exp` only. */
export function legacyToken(username: string, secret = TEST_SECRET, expiresInSeconds = 1800) {
  return new SignJWT({ sub: username, exp: Math.floor(Date.now() / 1000) + expiresInSeconds })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));
}

/** A message document exactly as the Python backend stored it. */
export function legacyMessage(chatId: string, senderId: string, content: string, timestamp: Date) {
  return {
    _id: new ObjectId(),
    message_id: randomUUID(),
    chat_id: chatId,
    sender_id: senderId,
    content,
    timestamp,
    message_type: 'text' as const,
  };
}

/** A chat document exactly as the Python backend stored it (its messages are unnumbered). */
export function legacyChat(participants: string[], createdAt = new Date(Date.now() - 86_400_000)) {
  return {
    _id: new ObjectId(),
    chat_id: randomUUID(),
    participants,
    created_at: createdAt,
    last_message: null,
    last_message_time: null,
  };
}

// Shapes of the old server's JSON, key for key and in its order.

export const USER_DATA_KEYS = [
  'user_id',
  'first_name',
  'last_name',
  'mobile_no',
  'email',
  'username',
  'created_at',
  'is_online',
];
export const TOKEN_KEYS = ['access_token', 'token_type', 'user_data'];
export const USER_SUMMARY_KEYS = ['user_id', 'username', 'first_name', 'last_name', 'is_online'];
export const CHAT_LIST_ITEM_KEYS = [
  'chat_id',
  'other_user',
  'last_message',
  'last_message_time',
  'created_at',
];
export const CHAT_KEYS = [
  'chat_id',
  'participants',
  'created_at',
  'last_message',
  'last_message_time',
];
export const HISTORY_KEYS = ['message_id', 'content', 'timestamp', 'sender', 'is_own_message'];
export const SENDER_KEYS = ['user_id', 'username', 'first_name', 'last_name'];
export const SEND_KEYS = ['status', 'message_id', 'timestamp'];
export const VALIDATION_ITEM_KEYS = ['type', 'loc', 'msg', 'input'];
