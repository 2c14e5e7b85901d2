/** A subscriber that drops and reconnects with `after` gets every message sent meanwhile, once. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sleep, waitFor } from './support/wait.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createChat, registerUser, sendMessage, type TestUser } from './support/users.js';

const FOLLOW = /* GraphQL */ `
  subscription ($chatId: ID!, $after: String) {
    messageAdded(chatId: $chatId, after: $after) {
      id
      content
      cursor
      sender {
        id
      }
    }
  }
`;

interface Added {
  id: string;
  content: string;
  cursor: string;
}

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let chatId: string;

beforeAll(async () => {
  server = await startTestServer();
  [alice, bob] = [await registerUser(server), await registerUser(server)];
  chatId = await createChat(server, alice, bob);
});
afterAll(() => server?.stop());

function follow(after: string | null) {
  const client = server.wsClient({ authorization: `Bearer ${bob.token}` });
  const received: Added[] = [];
  const errors: unknown[] = [];
  const stop = client.subscribe<{ messageAdded: Added }>(
    { query: FOLLOW, variables: { chatId, after } },
    {
      next: (result) => {
        if (result.data) received.push(result.data.messageAdded);
        if (result.errors) errors.push(result.errors);
      },
      error: (error) => errors.push(error),
      complete: () => undefined,
    },
  );
  return { received, errors, stop: () => (stop(), client.dispose()) };
}

it('replays what was missed, then continues live, with no gaps and no repeats', async () => {
  const first = follow(null);
  // Probe until the live subscription is in place.
  let probe = 0;
  while (first.received.length === 0 && probe < 50) {
    await sendMessage(server, alice, chatId, `probe ${probe++}`);
    await sleep(50);
  }
  const lastSeen = first.received.at(-1)!;
  await first.stop();

  const missed = [];
  for (let index = 0; index < 150; index += 1) {
    missed.push(await sendMessage(server, alice, chatId, `missed ${index}`));
  }
  const second = follow(lastSeen.cursor);
  // Messages sent while the catch-up runs must land exactly once too.
  const during = await Promise.all(
    Array.from({ length: 10 }, (_, index) => sendMessage(server, alice, chatId, `during ${index}`)),
  );
  await waitFor(() => second.received.length >= missed.length + during.length, 'catch-up', 15_000);
  const live = await sendMessage(server, alice, chatId, 'live after catch-up');
  await waitFor(() => second.received.some((message) => message.id === live), 'live message');

  const ids = second.received.map((message) => message.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.slice(0, missed.length)).toEqual(missed);
  expect(new Set(ids)).toEqual(new Set([...missed, ...during, live]));
  expect(second.errors).toEqual([]);
  await second.stop();
}, 60_000);

it('refuses a malformed cursor with BAD_USER_INPUT', async () => {
  const subscription = follow('not-a-cursor');
  await waitFor(() => subscription.errors.length > 0, 'error');
  expect(JSON.stringify(subscription.errors)).toContain('BAD_USER_INPUT');
  await subscription.stop();
});
