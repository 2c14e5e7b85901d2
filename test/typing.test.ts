/**
 * Typing through real clients: TypingChanged carries everyone typing now, lapses 6 s after the
 * last renewal, ends when the typer sends; renewals within 2 s are not passed on (counted on the
 * bus); a burst costs no DB command; a non-member is refused.
 */
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { LiveSignal } from '../src/events/bus.js';
import {
  codesOf,
  createGroup,
  expectCode,
  gqlOk,
  REMOVE_MEMBER,
  type Caller,
} from './support/groups.js';
import { startTestServer, type TestServer } from './support/server.js';
import { registerUser, SEND, type TestUser } from './support/users.js';
import { cleanupAfterEach, sleep, waitFor } from './support/wait.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());
const cleanups = cleanupAfterEach();

const SET_TYPING = /* GraphQL */ `
  mutation ($chatId: ID!, $typing: Boolean!) {
    setTyping(chatId: $chatId, typing: $typing)
  }
`;
const TYPING_EVENTS = /* GraphQL */ `
  subscription ($chatId: ID!) {
    chatEvents(chatId: $chatId) {
      __typename
      ... on TypingChanged {
        cursor
        seq
        users {
          id
        }
      }
    }
  }
`;
type Event = { chatEvents: { __typename: string; users?: { id: string }[] } };

const setTyping = (caller: Caller, chatId: string, typing: boolean) =>
  server.gql<{ setTyping: boolean }>(SET_TYPING, { chatId, typing }, caller.token);

/** The lists of typers `caller` is told of, in order. */
function typingSeenBy(caller: Caller, chatId: string) {
  const client = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${caller.token}` },
    retryAttempts: 0,
  });
  const lists: string[][] = [];
  const stop = client.subscribe<Event>(
    { query: TYPING_EVENTS, variables: { chatId } },
    {
      next: (result) => {
        const event = result.data?.chatEvents;
        if (event?.__typename === 'TypingChanged') {
          lists.push(event.users!.map((user) => user.id).sort());
        }
      },
      error: () => undefined,
      complete: () => undefined,
    },
  );
  cleanups.push(() => (stop(), client.dispose()));
  return lists;
}

/** Typing signals of a chat on the bus (what goes to every instance). */
function signalsOf(chatId: string) {
  const signals: LiveSignal[] = [];
  cleanups.push(server.service.app.bus.onLive(chatId, (signal) => signals.push(signal)));
  return signals;
}

async function groupOfThree() {
  const [a, b, c] = (await Promise.all([1, 2, 3].map(() => registerUser(server)))) as [
    TestUser,
    TestUser,
    TestUser,
  ];
  const group = await createGroup(server, a, [b, c]);
  return { a, b, c, chatId: group.id };
}

/** Starts `caller` typing until `lists` (a subscriber's) shows it: the subscription listens. */
async function typingSeen(caller: Caller, chatId: string, lists: string[][]) {
  await waitFor(async () => {
    await setTyping(caller, chatId, true);
    await sleep(100);
    return lists.some((list) => list.includes(caller.id));
  }, 'the typer to be seen');
}

describe('typing', () => {
  it('carries the whole list of typers, and ends on stop and on send', async () => {
    const { a, b, c, chatId } = await groupOfThree();
    const seenByC = typingSeenBy(c, chatId);
    await typingSeen(a, chatId, seenByC);
    await setTyping(b, chatId, true);
    await waitFor(() => seenByC.at(-1)?.length === 2, 'both typers');
    expect(seenByC.at(-1)).toEqual([a.id, b.id].sort());
    await setTyping(b, chatId, false);
    await waitFor(() => seenByC.at(-1)?.length === 1, 'B stopped');
    expect(seenByC.at(-1)).toEqual([a.id]);
    await gqlOk(server, SEND, { chatId, content: 'done typing' }, a);
    await waitFor(() => seenByC.at(-1)?.length === 0, 'A’s message ended A’s typing');
  });

  it('reaches only subscriptions that select TypingChanged', async () => {
    const { a, b, chatId } = await groupOfThree();
    const seenByB = typingSeenBy(b, chatId);
    const client = createClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${b.token}` },
      retryAttempts: 0,
    });
    const plain: string[] = [];
    const stop = client.subscribe<{ chatEvents: { __typename: string } }>(
      {
        query: 'subscription ($chatId: ID!) { chatEvents(chatId: $chatId) { __typename seq } }',
        variables: { chatId },
      },
      {
        next: (result) => void plain.push(result.data!.chatEvents.__typename),
        error: () => undefined,
        complete: () => undefined,
      },
    );
    cleanups.push(() => (stop(), client.dispose()));
    await typingSeen(a, chatId, seenByB);
    await waitFor(async () => {
      await gqlOk(server, SEND, { chatId, content: 'probe' }, a);
      await sleep(100);
      return plain.length > 0;
    }, 'the plain subscription to listen');
    await setTyping(a, chatId, true);
    await sleep(300);
    expect(new Set(plain)).toEqual(new Set(['MessageAdded']));
  });

  it('drops a member removed while typing', async () => {
    const { a, b, c, chatId } = await groupOfThree();
    const seenByB = typingSeenBy(b, chatId);
    await typingSeen(c, chatId, seenByB);
    await gqlOk(server, REMOVE_MEMBER, { chatId, userId: c.id }, a);
    await waitFor(() => seenByB.at(-1)?.length === 0, 'C dropped from the typers');
  });

  it('lapses 6 s after the last renewal; renewals within 2 s are not passed on', async () => {
    const { a, c, chatId } = await groupOfThree();
    const seenByC = typingSeenBy(c, chatId);
    await typingSeen(a, chatId, seenByC);
    const signals = signalsOf(chatId);
    // 10 keystrokes a second for 2.5 s: at most two signals pass (the last when 2 s are up).
    const started = Date.now();
    for (let key = 0; key < 25; key += 1) {
      await setTyping(a, chatId, true);
      await sleep(100);
    }
    const typedFor = Date.now() - started;
    await sleep(2100);
    expect(signals.length).toBeGreaterThanOrEqual(1);
    expect(signals.length).toBeLessThanOrEqual(Math.ceil(typedFor / 2000) + 1);
    const lastKeystroke = Date.now() - 2100;
    expect(seenByC.at(-1)).toEqual([a.id]);
    // Nobody renews now: A lapses, 6 s after the last keystroke, not before 4.
    await sleep(3000);
    expect(seenByC.at(-1)).toEqual([a.id]);
    await waitFor(() => seenByC.at(-1)?.length === 0, 'A to lapse', 8000);
    expect(Date.now() - lastKeystroke).toBeGreaterThanOrEqual(5000);
  }, 30_000);

  it('costs no DB command once the chat is known, and refuses non-members', async () => {
    const { a, b, c, chatId } = await groupOfThree();
    const outsider = await registerUser(server);
    expectCode(await setTyping(outsider, chatId, true), 'FORBIDDEN');
    expectCode(await setTyping(a, 'no-such-chat', true), 'NOT_FOUND');
    await setTyping(a, chatId, true);
    // Known here now: checked against the members this instance keeps, as they change.
    expectCode(await setTyping(outsider, chatId, true), 'FORBIDDEN');
    await gqlOk(server, REMOVE_MEMBER, { chatId, userId: c.id }, a);
    await waitFor(
      async () => codesOf(await setTyping(c, chatId, true)).includes('FORBIDDEN'),
      'the removed member to be refused',
    );
    const touched = await server.commandsOn(async () => {
      for (let key = 0; key < 20; key += 1) {
        await setTyping(a, chatId, key % 5 !== 4);
        await setTyping(b, chatId, true);
      }
    });
    // Authenticating each request reads its caller; typing itself touches no collection.
    expect(touched.filter((each) => each !== 'find users')).toEqual([]);
    expect(await server.service.app.db.db.listCollections({ name: /typing/ }).toArray()).toEqual(
      [],
    );
  });
});
