/**
 * The embedded database's indexes (FerretDB on PostgreSQL, src/db/postgres.ts): an indexed array
 * field may be large — a group of 1,000 members lists them all in `participants` — and equality
 * on it still finds the document. (FerretDB's own B-tree would hold the whole array as one key,
 * over PostgreSQL's limit from about 70 members on.)
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { findChatsOf } from '../src/chats/repository.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

it('stores and finds a chat of 1,000 participants, and rewrites it', async () => {
  const db = server.service.app.db;
  const participants = Array.from({ length: 1000 }, () => randomUUID());
  const chatId = randomUUID();
  await db.chats.insertOne({
    chat_id: chatId,
    kind: 'group',
    participants,
    created_at: new Date(),
    last_message: null,
    last_message_time: null,
  });
  await db.chats.updateOne({ chat_id: chatId }, { $set: { participants: participants.slice(1) } });
  const found = await findChatsOf(db, participants[500]!);
  expect(found.map((chat) => chat.chat_id)).toEqual([chatId]);
  expect(await findChatsOf(db, participants[0]!)).toEqual([]);
});
