/**
 * The raw baseline of scenarios 1 and 2: a minimal node:http handler that does only the work a
 * page needs — verify the bearer token, the necessary database reads with the same driver, build
 * the JSON — and nothing else (no framework, no GraphQL, no validation layer). The server's cost
 * per request is compared with this one's.
 *
 *   GET /chats              what `chats(first: 50) { otherUser lastMessage { sender } }` reads
 *   GET /chats-rest         what `GET /api/chats` reads (other user; the summary on the chat)
 *   GET /history/:chatId    what `chat.messages(last: 100) { sender }` and the REST history read
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { jwtVerify } from 'jose';
import { MongoClient } from 'mongodb';
import type { ChatDoc, MessageDoc, UserDoc } from '../src/db/documents.js';
import { emit, serveRpc } from './ipc.js';
import { measuredHandlers, type MeasuredApi } from './measured.js';

export type RawBaselineApi = MeasuredApi;

const client = new MongoClient(process.env.BENCH_MONGO_URL ?? '', { maxPoolSize: 50 });
await client.connect();
const db = client.db(process.env.BENCH_DB_NAME);
const users = db.collection<UserDoc>('users');
const chats = db.collection<ChatDoc>('chats');
const messages = db.collection<MessageDoc>('messages');
const secret = new TextEncoder().encode(process.env.BENCH_SECRET_KEY);

const iso = (date: Date | null | undefined) => (date ? date.toISOString() : null);
const activity = (chat: ChatDoc) => (chat.last_message_time ?? chat.created_at).getTime();
const publicUser = (user: UserDoc | undefined) =>
  user && {
    id: user.user_id,
    username: user.username,
    firstName: user.first_name,
    lastName: user.last_name,
    isOnline: user.is_online ?? false,
  };

async function viewerOf(request: IncomingMessage): Promise<UserDoc | null> {
  const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
  if (!token) return null;
  try {
    const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'] });
    const user = await users.findOne({ username: String(payload.sub) });
    return user && (user.token_version ?? 0) === (payload.tv ?? 0) ? user : null;
  } catch {
    return null;
  }
}

async function usersById(ids: Iterable<string>): Promise<Map<string, UserDoc>> {
  const found = await users.find({ user_id: { $in: [...new Set(ids)] } }).toArray();
  return new Map(found.map((user) => [user.user_id, user]));
}

async function chatsPage(viewer: UserDoc, size: number) {
  const all = await chats.find({ participants: viewer.user_id }).toArray();
  return all.sort((a, b) => activity(b) - activity(a)).slice(0, size);
}

const otherOf = (chat: ChatDoc, viewer: UserDoc) =>
  chat.participants.find((id) => id !== viewer.user_id) ?? '';

async function chatsJson(viewer: UserDoc) {
  const page = await chatsPage(viewer, 50);
  const lastIds = page.flatMap((chat) => chat.last_message_id ?? []);
  const last = await messages.find({ message_id: { $in: lastIds } }).toArray();
  const lastById = new Map(last.map((message) => [message.message_id, message]));
  const people = await usersById([
    ...page.map((chat) => otherOf(chat, viewer)),
    ...last.map((message) => message.sender_id),
  ]);
  return page.map((chat) => {
    const message = chat.last_message_id ? lastById.get(chat.last_message_id) : undefined;
    return {
      id: chat.chat_id,
      createdAt: iso(chat.created_at),
      otherUser: publicUser(people.get(otherOf(chat, viewer))),
      lastMessage: message && {
        id: message.message_id,
        content: message.content,
        createdAt: iso(message.timestamp),
        isOwn: message.sender_id === viewer.user_id,
        sender: publicUser(people.get(message.sender_id)),
      },
    };
  });
}

async function chatsRestJson(viewer: UserDoc) {
  const page = await chatsPage(viewer, 100);
  const people = await usersById(page.map((chat) => otherOf(chat, viewer)));
  return page.map((chat) => ({
    chat_id: chat.chat_id,
    other_user: publicUser(people.get(otherOf(chat, viewer))),
    last_message: chat.last_message,
    last_message_time: iso(chat.last_message_time),
    created_at: iso(chat.created_at),
  }));
}

async function historyJson(viewer: UserDoc, chatId: string) {
  const chat = await chats.findOne({ chat_id: chatId });
  if (!chat?.participants.includes(viewer.user_id)) return null;
  const newest = await messages
    .find({ chat_id: chatId }, { sort: { timestamp: -1, message_id: -1 }, limit: 100 })
    .toArray();
  const senders = await usersById(newest.map((message) => message.sender_id));
  return newest.reverse().map((message) => ({
    id: message.message_id,
    content: message.content,
    createdAt: iso(message.timestamp),
    isOwn: message.sender_id === viewer.user_id,
    sender: publicUser(senders.get(message.sender_id)),
  }));
}

async function handle(request: IncomingMessage, response: ServerResponse) {
  const send = (status: number, body: unknown) => {
    const json = JSON.stringify(body);
    response.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(json),
    });
    response.end(json);
  };
  const viewer = await viewerOf(request);
  if (!viewer) return send(401, { detail: 'Not authenticated' });
  const path = (request.url ?? '/').split('?')[0] ?? '/';
  if (path === '/chats') return send(200, await chatsJson(viewer));
  if (path === '/chats-rest') return send(200, await chatsRestJson(viewer));
  const history = /^\/history\/([^/]+)$/.exec(path);
  if (history) {
    const page = await historyJson(viewer, decodeURIComponent(history[1]!));
    return page ? send(200, page) : send(403, { detail: 'Access denied' });
  }
  return send(404, { detail: 'Not Found' });
}

const server = createServer((request, response) => {
  handle(request, response).catch((error: unknown) => {
    console.error(error);
    if (!response.headersSent) response.writeHead(500);
    response.end();
  });
});
server.keepAliveTimeout = 72_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();

serveRpc<RawBaselineApi>(measuredHandlers());
emit('ready', {
  port: typeof address === 'object' && address ? address.port : 0,
  pid: process.pid,
});
