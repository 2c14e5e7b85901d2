/**
 * An embedded store from before PostgreSQL (FerretDB's SQLite files in EMBEDDED_DB_DIR) is copied
 * into PostgreSQL by the first start that finds it: every document of every collection, the
 * indexes, and then the files are kept aside. The store is filled by the product itself (a
 * server on the SQLite store) plus an old-server chat, and read back through a server on the
 * migrated store.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, type Document } from 'mongodb';
import { afterAll, expect, it } from 'vitest';
import { startFerretdb, startSqliteFerretdb } from '../src/db/ferretdb.js';
import { SQLITE_BACKUP_DIR } from '../src/db/migrate-sqlite.js';
import { legacyChat, legacyMessage } from './support/legacy.js';
import { freePort } from './support/ports.js';
import { startTestServer } from './support/server.js';
import { createChat, registerUser, sendMessage } from './support/users.js';

const DB_NAME = 'zerohour_chat';
let dataDir: string | undefined;
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Every collection's documents, by `_id`. */
async function snapshot(url: string): Promise<Record<string, Document[]>> {
  const client = await MongoClient.connect(url);
  try {
    const db = client.db(DB_NAME);
    const result: Record<string, Document[]> = {};
    for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
      const docs = await db.collection(name).find({}).toArray();
      result[name] = docs.sort((a, b) => (String(a._id) < String(b._id) ? -1 : 1));
    }
    return result;
  } finally {
    await client.close();
  }
}

it('moves a populated SQLite store into PostgreSQL on first start, nothing lost', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'zerohour-sqlite-store-'));
  const sqlite = await startSqliteFerretdb({ port: await freePort(), dataDir });
  let before: Record<string, Document[]>;
  let expectedHistory: string[];
  let login: { username: string; password: string };
  const old = { chat: legacyChat([]), messages: [] as ReturnType<typeof legacyMessage>[] };
  try {
    const server = await startTestServer({ MONGO_URL: sqlite.url, DB_NAME });
    const [a, b] = [await registerUser(server), await registerUser(server)];
    login = { username: a.username, password: a.password };
    const chatId = await createChat(server, a, b);
    expectedHistory = [];
    for (let index = 0; index < 12; index += 1) {
      expectedHistory.push(await sendMessage(server, index % 2 ? a : b, chatId, `hello ${index}`));
    }
    old.chat.participants = [a.id, b.id];
    old.messages = [0, 1, 2].map((index) =>
      legacyMessage(old.chat.chat_id, a.id, `old ${index}`, new Date(Date.now() - 1e6 + index)),
    );
    await server.service.app.db.db.collection('chats').insertOne(old.chat);
    await server.service.app.db.db.collection('messages').insertMany(old.messages);
    await server.service.stop();
    before = await snapshot(sqlite.url);
  } finally {
    await sqlite.stop();
  }
  expect(before.users).toHaveLength(2);
  expect(before.chat_events).toHaveLength(12);
  expect(before.messages).toHaveLength(15);

  const embedded = await startFerretdb({ port: await freePort(), dataDir, durable: false });
  try {
    expect(await snapshot(embedded.url)).toEqual(before);
    const files = await readdir(dataDir);
    expect(files.filter((file) => file.endsWith('.sqlite'))).toEqual([]);
    expect(await readdir(join(dataDir, SQLITE_BACKUP_DIR))).toContain(`${DB_NAME}.sqlite`);

    // The indexes came along: a second user with a taken username is refused.
    const client = await MongoClient.connect(embedded.url);
    const users = client.db(DB_NAME).collection('users');
    const { _id, ...taken } = before.users![0]!;
    await expect(users.insertOne({ ...taken, email: 'another@example.com' })).rejects.toThrow(
      /duplicate key/i,
    );
    await client.close();

    // A server on the migrated store pages the old chat and serves both chats' history.
    const server = await startTestServer({ MONGO_URL: embedded.url, DB_NAME });
    try {
      await server.service.app.paging.done;
      const loggedIn = await server.gql<{ login: { accessToken: string } }>(
        'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }',
        { u: login!.username, p: login!.password },
      );
      expect(loggedIn.errors).toBeUndefined();
      const token = loggedIn.data!.login.accessToken;
      const history = async (id: string) => {
        const reply = await server.gql<{
          chat: { messages: { edges: { node: { id: string } }[] } };
        }>(
          'query ($id: ID!) { chat(id: $id) { messages(last: 50) { edges { node { id } } } } }',
          { id },
          token,
        );
        expect(reply.errors).toBeUndefined();
        return reply.data!.chat.messages.edges.map((edge) => edge.node.id);
      };
      const chatId = (before.chats as { chat_id: string; paged?: boolean }[]).find(
        (chat) => chat.paged,
      )!.chat_id;
      expect(await history(chatId)).toEqual(expectedHistory);
      expect(await history(old.chat.chat_id)).toEqual(old.messages.map((m) => m.message_id));
    } finally {
      await server.service.stop();
    }
  } finally {
    await embedded.stop();
  }
}, 180_000);
