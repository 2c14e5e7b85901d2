/**
 * Editing, deleting, reacting to and replying to messages (issue 16), through real clients only:
 * GraphQL over HTTP and graphql-ws, the legacy REST history and SSE stream, and the database for
 * what must be gone from it (erased content, removed reactions).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMembers,
  codesOf,
  createGroup,
  expectCode,
  gqlOk,
  ok,
  removeMember,
  setRole,
  subscribe,
  subscribeMessages,
  subscribeMyChats,
  type Caller,
  type Live,
} from './support/groups.js';
import {
  CHAT_EVENTS,
  lifecycleCalls,
  SEND,
  type Message,
  type TimelineEvent,
} from './support/lifecycle.js';
import { legacyChat, legacyMessage } from './support/legacy.js';
import { startTestServer, type TestServer } from './support/server.js';
import { openEventStream, type SseEvent } from './support/sse.js';
import { createChat, registerUser, type TestUser } from './support/users.js';
import { cleanupAfterEach, sleep, waitFor as waitUpTo } from './support/wait.js';

/** How long to keep listening for something that must not arrive. */
const GRACE = 500;
/** How long to wait for what must arrive (the machine may be busy). */
const TIMEOUT = 15_000;
const waitFor = <T>(check: () => T | Promise<T>, what: string, timeout = TIMEOUT) =>
  waitUpTo(check, what, timeout);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const cleanups = cleanupAfterEach();

const { send, edit, remove, react, unreact, historyAs, messageAs } = lifecycleCalls(() => server);

function events(caller: Caller, chatId: string, after?: string): Live<TimelineEvent> {
  const live = subscribe(server, caller, CHAT_EVENTS, { chatId, after }, (data) => {
    return data.chatEvents as TimelineEvent;
  });
  cleanups.push(() => live.close());
  return live;
}

/** Sends probe messages until the subscription delivers one (it is live then). */
async function untilLive(live: Live<TimelineEvent>, caller: Caller, chatId: string) {
  for (let attempt = 0; ; attempt += 1) {
    const probe = await send(caller, chatId, `probe ${attempt}`);
    const seen = await waitFor(
      () => live.items.some((event) => event.message?.id === probe.id),
      'a probe',
      500,
    ).then(
      () => true,
      () => false,
    );
    if (seen) return;
  }
}

const db = () => server.service.app.db;

async function pair(): Promise<{ alice: TestUser; bob: TestUser; chatId: string }> {
  const [alice, bob] = await Promise.all([registerUser(server), registerUser(server)]);
  return { alice, bob, chatId: await createChat(server, alice, bob) };
}

// --- edits -------------------------------------------------------------------------------------

describe('editMessage', () => {
  it('changes the content everywhere, sets editedAt, and refuses everyone but the sender', async () => {
    const { alice, bob, chatId } = await pair();
    const first = await send(alice, chatId, 'helo');
    const edited = (await ok(edit(alice, first.id, 'hello'))).editMessage;
    expect(edited).toMatchObject({ id: first.id, content: 'hello', isDeleted: false });
    expect(edited.editedAt).not.toBeNull();
    const seenByBob = await historyAs(bob, chatId);
    expect(seenByBob.messages.map((m) => m.content)).toEqual(['hello']);
    expect(seenByBob.lastMessagePreview).toBe('hello');

    expectCode(await edit(bob, first.id, 'not mine'), 'FORBIDDEN');
    const stranger = await registerUser(server);
    expectCode(await edit(stranger, first.id, 'not in it'), 'FORBIDDEN');
    expectCode(await edit(alice, 'no-such-message', 'x'), 'NOT_FOUND');
    expectCode(await edit(alice, first.id, '   '), 'BAD_USER_INPUT');
    expectCode(await edit(alice, first.id, 'x'.repeat(4001)), 'BAD_USER_INPUT');
    expect((await messageAs(bob, chatId, first.id)).content).toBe('hello');
  });
});

// --- deletions ---------------------------------------------------------------------------------

describe('deleteMessage', () => {
  it('leaves a tombstone for everyone, erases the stored content and the reactions, and is a no-op again', async () => {
    const { alice, bob, chatId } = await pair();
    const target = await send(alice, chatId, 'regrettable');
    await ok(edit(alice, target.id, 'very regrettable'));
    await ok(react(bob, target.id, '👍'));
    await send(bob, chatId, 'newer');

    const deleted = (await ok(remove(alice, target.id))).deleteMessage;
    expect(deleted).toMatchObject({ content: '', isDeleted: true, reactions: [] });
    expect(deleted.deletedAt).not.toBeNull();
    expect(await messageAs(bob, chatId, target.id)).toMatchObject({
      content: '',
      isDeleted: true,
      reactions: [],
    });

    // Erased, not hidden: nowhere in the database any more.
    const { messages, events, reactions, reactionEmoji } = db();
    const copy = await messages.findOne({ message_id: target.id });
    expect(copy).toMatchObject({ content: '' });
    expect(copy?.deleted_at).toBeInstanceOf(Date);
    // In number order: a store returns updated documents in no set order (PostgreSQL: last).
    const stored = await events.find({ chat_id: chatId }).sort({ seq: 1 }).toArray();
    expect(JSON.stringify(stored)).not.toContain('regrettable');
    expect(stored.map((event) => event.type)).toEqual([
      'message',
      'edited',
      'reactions',
      'message',
      'deleted',
    ]);
    expect(await reactions.countDocuments({ message_id: target.id })).toBe(0);
    expect(await reactionEmoji.countDocuments({ message_id: target.id })).toBe(0);

    // A reaction stored by an add that raced the deletion past its clean-up is never shown.
    await reactions.insertOne({
      _id: `${target.id}:${bob.id}:🎉`,
      message_id: target.id,
      user_id: bob.id,
      emoji: '🎉',
      slot: 0,
      at: new Date(),
    });
    expect((await messageAs(bob, chatId, target.id)).reactions).toEqual([]);

    const again = (await ok(remove(alice, target.id))).deleteMessage;
    expect(again.deletedAt).toBe(deleted.deletedAt);
    expect(await events.countDocuments({ chat_id: chatId })).toBe(5);
  });

  it('is the sender’s, or a group OWNER’s or ADMIN’s; never a MEMBER’s or an outsider’s', async () => {
    const [owner, admin, member, other, stranger] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    const group = await createGroup(server, owner, [admin, member, other]);
    await ok(setRole(server, owner, group.id, admin, 'ADMIN'));
    const messages = await Promise.all(
      ['one', 'two', 'three', 'four'].map((text) => send(other, group.id, text)),
    );
    expectCode(await remove(member, messages[0]!.id), 'FORBIDDEN', 'a MEMBER');
    expectCode(await remove(stranger, messages[0]!.id), 'FORBIDDEN', 'an outsider');
    expect((await ok(remove(admin, messages[0]!.id))).deleteMessage.isDeleted).toBe(true);
    expect((await ok(remove(owner, messages[1]!.id))).deleteMessage.isDeleted).toBe(true);
    expect((await ok(remove(other, messages[2]!.id))).deleteMessage.isDeleted).toBe(true);
    // A group change is nobody's to edit or delete.
    const history = await historyAs(owner, group.id);
    const system = history.messages[0]!;
    expectCode(await remove(owner, system.id), 'BAD_USER_INPUT', 'a SYSTEM message');
    expectCode(await edit(owner, system.id, 'x'), 'BAD_USER_INPUT', 'a SYSTEM message');
    // A member removed from the group may no longer touch its messages.
    await ok(removeMember(server, owner, group.id, other));
    expectCode(await remove(other, messages[3]!.id), 'FORBIDDEN', 'a removed member');
    expectCode(await edit(other, messages[3]!.id, 'x'), 'FORBIDDEN', 'a removed member');
    expectCode(await react(other, messages[3]!.id, '👍'), 'FORBIDDEN', 'a removed member');
  });

  it('of the newest message moves the chat list back to the previous one (myChats UPDATED, chats)', async () => {
    const { alice, bob, chatId } = await pair();
    const older = await send(alice, chatId, 'older');
    const newest = await send(bob, chatId, 'newest');
    const list = subscribeMyChats(server, alice);
    cleanups.push(() => list.close());
    await untilListLive(list, alice);
    const ofChat = () => list.items.filter((item) => item.chat.id === chatId);

    await ok(edit(bob, newest.id, 'newest, edited'));
    await waitFor(() => ofChat().length === 1, 'UPDATED after the edit');
    expect(ofChat()[0]).toMatchObject({
      change: 'UPDATED',
      chat: { lastMessagePreview: 'newest, edited', lastMessage: { id: newest.id } },
    });

    await ok(remove(bob, newest.id));
    await waitFor(() => ofChat().length === 2, 'UPDATED after the deletion');
    expect(ofChat()[1]).toMatchObject({
      change: 'UPDATED',
      chat: { lastMessagePreview: 'older', lastMessage: { id: older.id } },
    });
    const chats = await gqlOk<{
      chats: { edges: { node: { id: string; lastMessagePreview: string } }[] };
    }>(server, `{ chats(first: 50) { edges { node { id lastMessagePreview } } } }`, {}, alice);
    const listed = chats.chats.edges.find((edge) => edge.node.id === chatId);
    expect(listed?.node.lastMessagePreview).toBe('older');

    // Changes that leave the summary as it is send nothing: a reaction, an edit of an older one.
    await ok(edit(alice, older.id, 'older, edited'));
    await waitFor(() => ofChat().length === 3, 'UPDATED: the summary shows it');
    await ok(react(bob, older.id, '🎉'));
    await send(alice, chatId, 'another');
    await ok(edit(alice, older.id, 'older, edited twice'));
    await ok(unreact(bob, older.id, '🎉'));
    await waitFor(() => ofChat().length === 4, 'the new message');
    await sleep(GRACE);
    expect(ofChat().map((item) => item.chat.lastMessagePreview)).toEqual([
      'newest, edited',
      'older',
      'older, edited',
      'another',
    ]);
  });
});

/** Sends messages in a chat of its own to `user` until their chat list shows one. */
async function untilListLive(list: ReturnType<typeof subscribeMyChats>, user: TestUser) {
  const other = await registerUser(server);
  const chatId = await createChat(server, user, other);
  for (let attempt = 0; ; attempt += 1) {
    await send(other, chatId, `probe ${attempt}`);
    const seen = await waitFor(() => list.items.length > 0, 'myChats live', 500).then(
      () => true,
      () => false,
    );
    if (seen) return;
  }
}

// --- reactions ---------------------------------------------------------------------------------

describe('reactions', () => {
  it('group by emoji with counts, who reacted and whether the caller did; removing takes one back', async () => {
    const { alice, bob, chatId } = await pair();
    const message = await send(alice, chatId, 'react to me');
    await ok(react(alice, message.id, '👍'));
    await ok(react(bob, message.id, '👍'));
    await ok(react(bob, message.id, '👍🏽'));
    const seenByAlice = (await ok(react(alice, message.id, '🇫🇷'))).addReaction.reactions;
    expect(seenByAlice).toEqual([
      { emoji: '👍', count: 2, reactedByMe: true, users: [{ id: alice.id }, { id: bob.id }] },
      { emoji: '👍🏽', count: 1, reactedByMe: false, users: [{ id: bob.id }] },
      { emoji: '🇫🇷', count: 1, reactedByMe: true, users: [{ id: alice.id }] },
    ]);
    const seenByBob = (await messageAs(bob, chatId, message.id)).reactions;
    expect(seenByBob.map((group) => [group.emoji, group.reactedByMe])).toEqual([
      ['👍', true],
      ['👍🏽', true],
      ['🇫🇷', false],
    ]);
    const afterRemoval = (await ok(unreact(alice, message.id, '👍'))).removeReaction.reactions;
    expect(afterRemoval[0]).toEqual({
      emoji: '👍',
      count: 1,
      reactedByMe: false,
      users: [{ id: bob.id }],
    });
    // Removing one that is not there changes nothing.
    const unchanged = (await ok(unreact(alice, message.id, '👍'))).removeReaction.reactions;
    expect(unchanged).toEqual(afterRemoval);
    // Who reacted, as many as asked for (at most 100).
    const USERS = /* GraphQL */ `
      query Users($id: ID!, $first: Int) {
        chat(id: $id) {
          messages(last: 1) {
            edges {
              node {
                reactions {
                  users(first: $first) {
                    id
                  }
                }
              }
            }
          }
        }
      }
    `;
    const usersOf = async (first: number) =>
      server.gql<{
        chat: { messages: { edges: { node: { reactions: { users: unknown[] }[] } }[] } };
      }>(USERS, { id: chatId, first }, alice.token);
    const one = await ok(usersOf(1));
    expect(one.chat.messages.edges[0]!.node.reactions.map((group) => group.users.length)).toEqual([
      1, 1, 1,
    ]);
    expectCode(await usersOf(101), 'BAD_USER_INPUT');
    // ❤ without its presentation selector is the same reaction as ❤️.
    await ok(react(bob, message.id, '❤'));
    const hearts = (await ok(react(alice, message.id, '❤️'))).addReaction.reactions;
    expect(hearts.find((group) => group.emoji === '❤️')?.count).toBe(2);
  });

  it('added twice, even in parallel, counts once', async () => {
    const { alice, bob, chatId } = await pair();
    const message = await send(alice, chatId, 'everyone likes this');
    const replies = await Promise.all(
      Array.from({ length: 12 }, () => react(bob, message.id, '👍')),
    );
    expect(replies.flatMap((reply) => reply.errors ?? [])).toEqual([]);
    const reactions = (await messageAs(alice, chatId, message.id)).reactions;
    expect(reactions).toEqual([
      { emoji: '👍', count: 1, reactedByMe: false, users: [{ id: bob.id }] },
    ]);
    expect(await db().reactions.countDocuments({ message_id: message.id })).toBe(1);
  });

  it('at most 3 per user on a message, also when they race', async () => {
    const { alice, bob, chatId } = await pair();
    const message = await send(alice, chatId, 'pick three');
    const emoji = ['😀', '😂', '😍', '😎', '🤔', '😴'];
    const replies = await Promise.all(emoji.map((each) => react(bob, message.id, each)));
    const refused = replies.filter((reply) => codesOf(reply).includes('BAD_USER_INPUT'));
    expect(refused).toHaveLength(3);
    const reactions = (await messageAs(bob, chatId, message.id)).reactions;
    expect(reactions).toHaveLength(3);
    expect(reactions.every((group) => group.count === 1 && group.reactedByMe)).toBe(true);
    // Taking one back frees a place.
    await ok(unreact(bob, message.id, reactions[0]!.emoji));
    await ok(react(bob, message.id, '🥳'));
    expectCode(await react(bob, message.id, '🙃'), 'BAD_USER_INPUT');
  });

  it('at most 20 distinct emoji on a message, also when they race', async () => {
    const owner = await registerUser(server);
    const members = await Promise.all(Array.from({ length: 9 }, () => registerUser(server)));
    const group = await createGroup(server, owner, members);
    const message = await send(owner, group.id, 'so many feelings');
    const emoji = [...'😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙😚🙂🤗🤩🤔🤨'];
    expect(new Set(emoji).size).toBe(23);
    // 17 one after another, then 6 different ones at once for the last 3 places.
    for (const [index, each] of emoji.slice(0, 17).entries()) {
      await ok(react(members[index % members.length]!, message.id, each));
    }
    const replies = await Promise.all(
      emoji.slice(17).map((each, index) => react(members[index]!, message.id, each)),
    );
    const refused = replies.filter((reply) => codesOf(reply).includes('BAD_USER_INPUT'));
    expect(refused).toHaveLength(3);
    const reactions = (await messageAs(owner, group.id, message.id)).reactions;
    expect(reactions).toHaveLength(20);
    expect(await db().reactions.countDocuments({ message_id: message.id })).toBe(20);
    // Every refused member's slot was given back: their other reactions still fit.
    expectCode(await react(owner, message.id, '🫠'), 'BAD_USER_INPUT');
    await ok(react(owner, message.id, reactions[0]!.emoji));
    // An emoji nobody uses any more frees its place.
    const now = (await messageAs(owner, group.id, message.id)).reactions;
    const single = now.find((each) => each.count === 1)!;
    const holder = [owner, ...members].find((user) => user.id === single.users[0]!.id)!;
    await ok(unreact(holder, message.id, single.emoji));
    await ok(react(owner, message.id, '🫠'));
  });

  it('take a single emoji and nothing else', async () => {
    const { alice, chatId } = await pair();
    const message = await send(alice, chatId, 'validate me');
    for (const bad of [
      '',
      'a',
      'ok',
      '👍👍',
      '👍 ',
      '$',
      '$where',
      'a.b',
      '.',
      '1',
      '\u200d',
      'x'.repeat(500),
    ]) {
      expectCode(await react(alice, message.id, bad), 'BAD_USER_INPUT', JSON.stringify(bad));
    }
    for (const good of ['👍', '👩‍💻', '🇫🇷', '1️⃣', '👍🏽', '🏳️‍🌈']) {
      const reactions = (await ok(react(alice, message.id, good))).addReaction.reactions;
      expect(reactions.map((group) => group.emoji)).toEqual([good]);
      await ok(unreact(alice, message.id, good));
    }
    expect(await db().reactions.countDocuments({ message_id: message.id })).toBe(0);
  });

  it('are refused on a deleted message and by non-members', async () => {
    const { alice, bob, chatId } = await pair();
    const message = await send(alice, chatId, 'soon gone');
    const stranger = await registerUser(server);
    expectCode(await react(stranger, message.id, '👍'), 'FORBIDDEN');
    expectCode(await unreact(stranger, message.id, '👍'), 'FORBIDDEN');
    expectCode(await react(bob, 'no-such-message', '👍'), 'NOT_FOUND');
    await ok(remove(alice, message.id));
    expectCode(await react(bob, message.id, '👍'), 'BAD_USER_INPUT');
    expectCode(await edit(alice, message.id, 'back again?'), 'BAD_USER_INPUT');
  });
});

// --- replies -----------------------------------------------------------------------------------

describe('replies', () => {
  it('quote a message of the same chat, which shows as deleted once it is', async () => {
    const { alice, bob, chatId } = await pair();
    const original = await send(alice, chatId, 'question?');
    const reply = await send(bob, chatId, 'answer!', original.id);
    expect(reply.replyTo).toEqual({ id: original.id, content: 'question?', isDeleted: false });
    await ok(edit(alice, original.id, 'better question?'));
    expect((await messageAs(alice, chatId, reply.id)).replyTo?.content).toBe('better question?');
    await ok(remove(alice, original.id));
    expect((await messageAs(bob, chatId, reply.id)).replyTo).toEqual({
      id: original.id,
      content: '',
      isDeleted: true,
    });
    // A deleted message cannot be replied to.
    const refused = await server.gql(
      SEND,
      { chatId, content: 'too late', replyTo: original.id },
      bob.token,
    );
    expectCode(refused, 'BAD_USER_INPUT');
  });

  it('to a message of another chat, or one the sender may not see, are refused', async () => {
    const { alice, bob, chatId } = await pair();
    const elsewhere = await pair();
    const foreign = await send(elsewhere.alice, elsewhere.chatId, 'not yours');
    const refused = await server.gql(
      SEND,
      { chatId, content: 're', replyTo: foreign.id },
      alice.token,
    );
    expectCode(refused, 'BAD_USER_INPUT');
    expectCode(
      await server.gql(SEND, { chatId, content: 're', replyTo: 'no-such-id' }, alice.token),
      'BAD_USER_INPUT',
    );
    // A member added without the history does not see what came before.
    const group = await createGroup(server, alice, [bob]);
    const early = await send(alice, group.id, 'before carol');
    const carol = await registerUser(server);
    await ok(addMembers(server, alice, group.id, [carol], false));
    const hidden = await server.gql(
      SEND,
      { chatId: group.id, content: 're', replyTo: early.id },
      carol.token,
    );
    expectCode(hidden, 'BAD_USER_INPUT');
    // ... nor what a reply by someone who does see it quotes.
    const reply = await send(bob, group.id, 'quoting the past', early.id);
    expect((await messageAs(carol, group.id, reply.id)).replyTo).toBeNull();
    expect((await messageAs(bob, group.id, reply.id)).replyTo?.id).toBe(early.id);
  });
});

// --- the timeline ------------------------------------------------------------------------------

/** Each event's kind and message, as a list to compare. */
const summary = (items: TimelineEvent[]) =>
  items.map((event) => [event.__typename, event.message.id, event.message.content]);

describe('chatEvents', () => {
  it('carries edits, deletions and reactions in order; a resume replays each once; messageAdded skips them', async () => {
    const { alice, bob, chatId } = await pair();
    const live = events(bob, chatId);
    const messagesOnly = subscribeMessages(server, bob, chatId);
    cleanups.push(() => messagesOnly.close());
    await untilLive(live, alice, chatId);
    await waitFor(() => messagesOnly.items.length > 0, 'messageAdded live');
    const start = live.items.at(-1)!;

    const first = await send(alice, chatId, 'first');
    await ok(edit(alice, first.id, 'first, edited'));
    await ok(react(bob, first.id, '👍'));
    await ok(unreact(bob, first.id, '👍'));
    const second = await send(bob, chatId, 'second');
    await ok(remove(alice, first.id));

    const expected = [
      ['MessageAdded', first.id, 'first'],
      ['MessageEdited', first.id, 'first, edited'],
      ['ReactionsChanged', first.id, 'first, edited'],
      ['ReactionsChanged', first.id, 'first, edited'],
      ['MessageAdded', second.id, 'second'],
      ['MessageDeleted', first.id, ''],
    ];
    const after = () => live.items.filter((event) => event.seq > start.seq);
    await waitFor(() => after().length === expected.length, 'six events');
    const received = after();
    expect(summary(received)).toEqual(expected);
    expect(received.map((event) => event.seq)).toEqual(
      expected.map((_, index) => start.seq + 1 + index),
    );
    expect(received[2]!.message.reactions).toEqual([
      { emoji: '👍', count: 1, reactedByMe: true, users: [{ id: bob.id }] },
    ]);
    expect(received[2]!.actor).toEqual({ id: bob.id });
    expect(received[3]!.message.reactions).toEqual([]);
    expect(received[5]).toMatchObject({ actor: { id: alice.id }, message: { isDeleted: true } });
    expect(received[1]!.message.editedAt).not.toBeNull();
    // Cursors are the events' own positions.
    expect(new Set(received.map((event) => event.cursor)).size).toBe(6);

    await sleep(GRACE);
    expect(live.items.filter((event) => event.seq > start.seq)).toHaveLength(6);
    expect(
      messagesOnly.items.filter((message) => [first.id, second.id].includes(message.id)),
    ).toHaveLength(2);

    // Resuming from before all of it: every event once, in order; the deleted message erased.
    const resumed = events(bob, chatId, start.cursor);
    await waitFor(() => resumed.items.length === 6, 'the replay');
    await sleep(GRACE);
    expect(resumed.items.map((event) => event.seq)).toEqual(received.map((event) => event.seq));
    expect(summary(resumed.items)).toEqual([
      ['MessageAdded', first.id, ''],
      ['MessageEdited', first.id, ''],
      ['ReactionsChanged', first.id, ''],
      ['ReactionsChanged', first.id, ''],
      ['MessageAdded', second.id, 'second'],
      ['MessageDeleted', first.id, ''],
    ]);
    // Resuming from the middle: the rest, once.
    const fromMiddle = events(bob, chatId, received[2]!.cursor);
    await waitFor(() => fromMiddle.items.length === 3, 'the rest');
    await sleep(GRACE);
    expect(fromMiddle.items.map((event) => event.seq)).toEqual(
      received.slice(3).map((event) => event.seq),
    );
  });

  it('hands a change on in its place: the event after it waits for no read of the database', async () => {
    const { alice, bob, chatId } = await pair();
    const live = events(bob, chatId);
    await untilLive(live, alice, chatId);
    const message = await send(alice, chatId, 'to be edited');
    await ok(edit(alice, message.id, 'edited'));
    await waitFor(
      () => live.items.some((event) => event.__typename === 'MessageEdited'),
      'the edit',
    );
    // Had the edit not been placed in the chat's order, the next message would look like a gap
    // after it, held back until the edit was read from chat_events.
    const reads: unknown[] = [];
    const client = db().client;
    const listener = (event: { commandName: string; command: Record<string, unknown> }) => {
      if (event.commandName === 'find' && event.command.find === 'chat_events') {
        reads.push(event.command.filter);
      }
    };
    client.on('commandStarted', listener);
    try {
      const next = await send(alice, chatId, 'next');
      await waitFor(() => live.items.some((event) => event.message.id === next.id), 'next');
      await sleep(GRACE);
    } finally {
      client.off('commandStarted', listener);
    }
    expect(reads).toEqual([]);
  });

  it('reads reactions and quoted messages once per event, not once per member it reaches', async () => {
    const owner = await registerUser(server);
    const members = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    const group = await createGroup(server, owner, members);
    const quoted = await send(owner, group.id, 'quoted');
    // `reactedByMe` and `replyTo` differ per member: each member's selection runs on its own.
    const feeds = [owner, ...members].map((member) => events(member, group.id));
    for (let attempt = 0; !feeds.every((feed) => feed.items.length > 0); attempt += 1) {
      await send(owner, group.id, `probe ${attempt}`);
      await sleep(100);
    }
    const reads: string[] = [];
    const client = db().client;
    const listener = (event: { commandName: string; command: Record<string, unknown> }) => {
      if (event.commandName === 'find') reads.push(String(event.command.find));
    };
    client.on('commandStarted', listener);
    let reply: Message;
    try {
      reply = await send(members[0]!, group.id, 'replying', quoted.id);
      await waitFor(
        () => feeds.every((feed) => feed.items.some((event) => event.message.id === reply.id)),
        'the reply at every member',
      );
    } finally {
      client.off('commandStarted', listener);
    }
    for (const feed of feeds) {
      const event = feed.items.find((each) => each.message.id === reply.id)!;
      expect(event.message.replyTo?.id).toBe(quoted.id);
    }
    // The send reads the quoted message once and its answer reads it and the reactions once.
    const count = (collection: string) => reads.filter((name) => name === collection).length;
    expect(count('reactions'), JSON.stringify(reads)).toBeLessThanOrEqual(2);
    expect(count('messages'), JSON.stringify(reads)).toBeLessThanOrEqual(3);
  });

  it('checks each change against who may see the message: not before a member’s history, not after they left', async () => {
    const [owner, member, latecomer] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    const group = await createGroup(server, owner, [member]);
    const early = await send(owner, group.id, 'before the latecomer');
    await ok(addMembers(server, owner, group.id, [latecomer], false));
    const late = events(latecomer, group.id);
    const staying = events(member, group.id);
    await untilLive(late, owner, group.id);
    await untilLive(staying, owner, group.id);
    const seen = late.items.length;
    await ok(edit(owner, early.id, 'edited before the latecomer'));
    const now = await send(owner, group.id, 'now');
    await ok(react(owner, now.id, '👋'));
    await waitFor(
      () => staying.items.some((event) => event.__typename === 'ReactionsChanged'),
      'the reaction at the member',
    );
    await sleep(GRACE);
    expect(summary(late.items.slice(seen))).toEqual([
      ['MessageAdded', now.id, 'now'],
      ['ReactionsChanged', now.id, 'now'],
    ]);
    expect(staying.items.some((event) => event.__typename === 'MessageEdited')).toBe(true);
    expectCode(await edit(latecomer, early.id, 'x'), 'NOT_FOUND');
    expectCode(await react(latecomer, early.id, '👍'), 'NOT_FOUND');
  });

  it('an edit racing a deletion always ends deleted, its content erased everywhere', async () => {
    const { alice, chatId } = await pair();
    const targets = await Promise.all(
      Array.from({ length: 3 }, (_, index) => send(alice, chatId, `secret ${index}`)),
    );
    const outcomes = await Promise.all(
      targets.flatMap((target, index) => {
        const racers = [
          edit(alice, target.id, `secret ${index}, edited`),
          remove(alice, target.id),
          edit(alice, target.id, `secret ${index}, edited again`),
        ];
        return index % 2 ? racers : racers.reverse();
      }),
    );
    // Each edit either came first (and is erased) or was refused as deleted.
    for (const outcome of outcomes) {
      const codes = codesOf(outcome);
      expect(
        codes.every((code) => code === 'BAD_USER_INPUT'),
        JSON.stringify(outcome),
      ).toBe(true);
    }
    const history = await historyAs(alice, chatId);
    for (const target of targets) {
      expect(history.messages.find((message) => message.id === target.id)).toMatchObject({
        content: '',
        isDeleted: true,
      });
    }
    const { events: stored, messages } = db();
    expect(JSON.stringify(await stored.find({ chat_id: chatId }).toArray())).not.toContain(
      'secret',
    );
    expect(JSON.stringify(await messages.find({ chat_id: chatId }).toArray())).not.toContain(
      'secret',
    );
    // Per message: at most its edits, then one deletion, last.
    for (const target of targets) {
      const kinds = (await stored.find({ target_id: target.id }).sort({ seq: 1 }).toArray()).map(
        (event) => event.type,
      );
      expect(kinds.at(-1)).toBe('deleted');
      expect(kinds.filter((kind) => kind === 'deleted')).toHaveLength(1);
    }
    expect(history.lastMessagePreview).toBeNull();
  });

  it('a subscriber resuming while edits and deletions happen gets each change once, ending at the final state', async () => {
    const { alice, bob, chatId } = await pair();
    const targets = await Promise.all(
      Array.from({ length: 4 }, (_, index) => send(alice, chatId, `draft ${index}`)),
    );
    const first = events(bob, chatId);
    await untilLive(first, alice, chatId);
    const cursor = first.items.at(-1)!.cursor;
    const fromSeq = first.items.at(-1)!.seq;
    await first.close();

    // Changes start, and the subscriber comes back in the middle of them.
    const changes = Promise.all(
      targets.map(async (target, index) => {
        await ok(edit(alice, target.id, `draft ${index}, edited`));
        await ok(react(bob, target.id, '👀'));
        if (index % 2 === 0) await ok(remove(alice, target.id));
      }),
    );
    await sleep(30);
    const resumed = events(bob, chatId, cursor);
    await changes;
    const stored = await db().events.countDocuments({ chat_id: chatId, seq: { $gt: fromSeq } });
    await waitFor(() => resumed.items.length === stored, `all ${stored} changes`);
    await sleep(GRACE);
    const seqs = resumed.items.map((event) => event.seq);
    expect(seqs).toEqual(Array.from({ length: stored }, (_, index) => fromSeq + 1 + index));
    // Applying them in order gives what history shows.
    const state = new Map<string, Message>();
    for (const event of resumed.items) state.set(event.message.id, event.message);
    for (const [index, target] of targets.entries()) {
      const final = state.get(target.id)!;
      if (index % 2 === 0) {
        expect(final).toMatchObject({ isDeleted: true, content: '', reactions: [] });
      } else {
        expect(final).toMatchObject({ content: `draft ${index}, edited`, isDeleted: false });
        expect(final.reactions.map((group) => [group.emoji, group.count])).toEqual([['👀', 1]]);
      }
      expect(await messageAs(bob, chatId, target.id)).toMatchObject({
        content: final.content,
        isDeleted: final.isDeleted,
      });
    }
  });
});

// --- the legacy API ----------------------------------------------------------------------------

type Json = Record<string, unknown>;

async function getJson(path: string, token: string): Promise<unknown> {
  const response = await fetch(`${server.url}${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status, path).toBe(200);
  return response.json();
}

/** The legacy SSE stream of `user` (from `lastEventId` when given): its events' data and ids. */
async function legacyStream(user: TestUser, lastEventId?: string) {
  const received: SseEvent[] = [];
  const close = await openEventStream(
    `${server.url}/sse/${user.id}?token=${encodeURIComponent(user.token)}`,
    { headers: lastEventId ? { 'last-event-id': lastEventId } : {} },
    (event) => received.push(event),
    () => undefined,
  );
  cleanups.push(close);
  const messages = () =>
    received
      .filter((event) => event.id !== undefined)
      .map((event) => ({ id: event.id!, data: JSON.parse(event.data) as Json }));
  return { messages, close };
}

describe('the legacy API', () => {
  it('messages the old server wrote (unnumbered, a summary naming none) are edited and deleted alike', async () => {
    const { alice, bob } = await pair();
    const chat = legacyChat([alice.id, bob.id]);
    const first = legacyMessage(chat.chat_id, alice.id, 'old first', new Date(Date.now() - 60_000));
    const second = legacyMessage(
      chat.chat_id,
      alice.id,
      'old second',
      new Date(Date.now() - 30_000),
    );
    const { chats, messages } = db();
    await chats.insertOne({
      ...chat,
      last_message: second.content,
      last_message_time: second.timestamp,
    });
    await messages.insertMany([first, second]);

    await ok(edit(alice, first.message_id, 'old first, edited'));
    await ok(react(bob, first.message_id, '👍'));
    await ok(remove(alice, second.message_id));
    const history = await historyAs(bob, chat.chat_id);
    expect(history.messages.map((message) => [message.content, message.isDeleted])).toEqual([
      ['old first, edited', false],
      ['', true],
    ]);
    expect(history.messages[0]!.reactions.map((group) => group.emoji)).toEqual(['👍']);
    expect(history.lastMessagePreview).toBe('old first, edited');
    expect(history.lastMessage?.id).toBe(first.message_id);
    const legacy = (await getJson(`/api/chats/${chat.chat_id}/messages`, bob.token)) as Json[];
    expect(legacy.map((message) => message.content)).toEqual(['old first, edited']);
    expect(JSON.stringify(await messages.find({ chat_id: chat.chat_id }).toArray())).not.toContain(
      'old second',
    );
  });

  it('history shows edited content and leaves deleted messages out; the chat list falls back', async () => {
    const { alice, bob, chatId } = await pair();
    const kept = await send(alice, chatId, 'typo');
    const gone = await send(bob, chatId, 'oops');
    await ok(edit(alice, kept.id, 'fixed'));
    await ok(react(bob, kept.id, '👍'));
    await ok(remove(bob, gone.id));
    const history = (await getJson(`/api/chats/${chatId}/messages`, alice.token)) as Json[];
    expect(history.map((message) => [message.message_id, message.content])).toEqual([
      [kept.id, 'fixed'],
    ]);
    expect(Object.keys(history[0]!)).toEqual([
      'message_id',
      'content',
      'timestamp',
      'sender',
      'is_own_message',
    ]);
    const limited = (await getJson(`/api/chats/${chatId}/messages?limit=1`, alice.token)) as Json[];
    expect(limited.map((message) => message.message_id)).toEqual([kept.id]);
    const list = (await getJson('/api/chats', alice.token)) as Json[];
    expect(list.find((chat) => chat.chat_id === chatId)?.last_message).toBe('fixed');
  });

  it('realtime streams never carry edits, deletions or reactions; a resume shows messages as they read now', async () => {
    const { alice, bob, chatId } = await pair();
    const stream = await legacyStream(bob);
    for (let attempt = 0; stream.messages().length === 0; attempt += 1) {
      await send(alice, chatId, `probe ${attempt}`);
      await sleep(100);
    }
    const seen = stream.messages().length;
    const resumeFrom = stream.messages().at(-1)!.id;
    const edited = await send(alice, chatId, 'draft');
    const deleted = await send(alice, chatId, 'mistake');
    await ok(edit(alice, edited.id, 'final'));
    await ok(react(bob, edited.id, '👍'));
    await ok(remove(alice, deleted.id));
    const after = await send(alice, chatId, 'after the changes');
    await waitFor(
      () => stream.messages().some((event) => event.data.message_id === after.id),
      'the last message',
    );
    await sleep(GRACE);
    // Live: the messages as they were sent, nothing else.
    expect(
      stream
        .messages()
        .slice(seen)
        .map((event) => [event.data.type, event.data.content]),
    ).toEqual([
      ['message', 'draft'],
      ['message', 'mistake'],
      ['message', 'after the changes'],
    ]);
    // Resumed from before them: as they read now, the deleted one left out.
    const resumed = await legacyStream(bob, resumeFrom);
    await waitFor(
      () => resumed.messages().some((event) => event.data.message_id === after.id),
      'the replay',
    );
    await sleep(GRACE);
    expect(resumed.messages().map((event) => [event.data.message_id, event.data.content])).toEqual([
      [edited.id, 'final'],
      [after.id, 'after the changes'],
    ]);
    expect(Object.keys(resumed.messages()[0]!.data)).toEqual([
      'type',
      'message_id',
      'chat_id',
      'content',
      'timestamp',
      'sender',
    ]);
    // And a resume from its last id carries on with what comes next, once.
    const again = await legacyStream(bob, resumed.messages().at(-1)!.id);
    const next = await send(alice, chatId, 'next');
    await waitFor(() => again.messages().length > 0, 'the next message');
    await sleep(GRACE);
    expect(again.messages().map((event) => event.data.message_id)).toEqual([next.id]);
  });
});

describe('rate limits', () => {
  it('count every change against the sends of a user', async () => {
    const limited = await startTestServer({ RATE_LIMIT_SENDS_PER_USER: '3' });
    try {
      const calls = lifecycleCalls(() => limited);
      const [alice, bob] = await Promise.all([registerUser(limited), registerUser(limited)]);
      const chatId = await createChat(limited, alice, bob);
      const message = await calls.send(alice, chatId, 'one');
      await ok(calls.edit(alice, message.id, 'two'));
      await ok(calls.react(alice, message.id, '👍'));
      expectCode(await calls.remove(alice, message.id), 'RATE_LIMITED');
      expectCode(await calls.unreact(alice, message.id, '👍'), 'RATE_LIMITED');
      expectCode(await calls.react(alice, message.id, '🎉'), 'RATE_LIMITED');
      expectCode(await calls.edit(alice, message.id, 'three'), 'RATE_LIMITED');
      // Another user's budget is their own.
      await ok(calls.react(bob, message.id, '👍'));
    } finally {
      await limited.stop();
    }
  });
});
