/**
 * The database goes away under load and comes back: reads answer 503 / SERVICE_UNAVAILABLE
 * quickly, sends are refused (never acknowledged and lost), readiness reports it, and the server
 * recovers without a restart. The test runs its own FerretDB so it can stop and start it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFerretdb, type RunningFerretdb } from '../src/db/ferretdb.js';
import { freePort } from './support/ports.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createChat, registerUser, SEND, type TestUser } from './support/users.js';

let dataDir: string;
let dbPort: number;
let database: RunningFerretdb;
let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let chatId: string;

const startDatabase = () => startFerretdb({ port: dbPort, dataDir });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'zerohour-faults-'));
  dbPort = await freePort();
  database = await startDatabase();
  server = await startTestServer({ MONGO_URL: database.url });
  [alice, bob] = [await registerUser(server), await registerUser(server)];
  chatId = await createChat(server, alice, bob);
});
afterAll(async () => {
  await server?.stop().catch(() => undefined);
  await database?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const CHATS = '{ chats(first: 5) { edges { node { id } } } }';

it('answers 503 and SERVICE_UNAVAILABLE quickly while the database is down, then recovers', async () => {
  const ready = await fetch(`${server.url}/readyz`);
  expect(ready.status).toBe(200);
  const before = await server.gql(SEND, { chatId, content: 'before the outage' }, alice.token);
  expect(before.errors).toBeUndefined();

  await database.stop();

  const started = Date.now();
  const read = await server.gql(CHATS, {}, alice.token);
  expect(read.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
  expect(Date.now() - started).toBeLessThan(10_000);

  const send = await server.gql(SEND, { chatId, content: 'during the outage' }, alice.token);
  expect(send.data ?? null).toBeNull();
  expect(send.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');

  const rest = await fetch(`${server.url}/api/chats`, {
    headers: { authorization: `Bearer ${alice.token}` },
  });
  expect(rest.status).toBe(503);
  expect(await rest.json()).toEqual({ detail: 'The database is unavailable; try again shortly' });

  const legacySend = await fetch(`${server.url}/api/send/${alice.id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` },
    body: JSON.stringify({ chat_id: chatId, content: 'legacy during the outage' }),
  });
  expect(legacySend.status).toBe(503);

  expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

  database = await startDatabase();

  let recovered = false;
  for (let attempt = 0; attempt < 50 && !recovered; attempt += 1) {
    recovered = (await fetch(`${server.url}/readyz`)).status === 200;
    if (!recovered) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(recovered).toBe(true);
  const after = await server.gql<{ sendMessage: { id: string } }>(
    SEND,
    { chatId, content: 'after the outage' },
    alice.token,
  );
  expect(after.errors).toBeUndefined();

  // Exactly the acknowledged messages are stored: nothing refused slipped in.
  const stored = await server.service.app.db.messages
    .find({ chat_id: chatId }, { sort: { timestamp: 1 } })
    .toArray();
  expect(stored.map((message) => message.content)).toEqual([
    'before the outage',
    'after the outage',
  ]);
}, 60_000);
