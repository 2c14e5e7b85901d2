/**
 * Group chats over GraphQL (issue 14), black-box through real clients: who may do what (roles,
 * the member cap, also when adds race on three instances), every change on the chat's timeline
 * and in its history as a SYSTEM message, who sees which part of it, the chat list, and removal
 * or leaving taking effect at once on every instance. One server for the rules; one cluster of
 * three instances on Redis (FerretDB underneath) where several instances are the point. Both
 * allow 5 members per group.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startCluster, type Cluster, type Instance } from './support/cluster.js';
import type { GraphQLResponse } from './support/graphql-http.js';
import {
  addMembers,
  chatAs,
  codesOf,
  CREATE_GROUP,
  createGroup,
  expectCode,
  gqlOk,
  groupAs,
  historyAs,
  HISTORY,
  leaveChat,
  memberEntry,
  memberIds,
  messagesAs,
  ok,
  removeMember,
  renameChat,
  rolesOf,
  sendOk,
  sendText,
  setRole,
  subscribeChatEvents,
  subscribeMessages,
  subscribeMyChats,
  type Caller,
  type ChatListEvent,
  type GroupChat,
  type Live,
  type Target,
} from './support/groups.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createChat, registerUser, type TestUser } from './support/users.js';
import { cleanupAfterEach, DEFAULT_WAIT_MS, sleep, waitFor } from './support/wait.js';

/** MAX_GROUP_MEMBERS of the server and of the cluster. */
const CAP = 5;
/** How long to keep listening for something that must not arrive. */
const GRACE = 500;

let server: TestServer;
let cluster: Cluster;
let instances: Instance[];
beforeAll(async () => {
  [server, cluster] = await Promise.all([
    startTestServer({ MAX_GROUP_MEMBERS: String(CAP) }),
    startCluster({ mongoUrl: inject('mongoUrl'), env: { MAX_GROUP_MEMBERS: String(CAP) } }),
  ]);
  instances = cluster.instances;
}, 120_000);
afterAll(async () => {
  await Promise.all([server?.stop(), cluster?.stop()]);
}, 60_000);

const cleanups = cleanupAfterEach();

/** A live subscription, closed after the test. */
function track<Item>(live: Live<Item>): Live<Item> {
  cleanups.push(() => live.close());
  return live;
}

/** Cluster instance `index` (0-based: on(0) is "instance 1"). */
const on = (index: number) => instances[index % instances.length]!;

const users = (count: number, target: Target = server): Promise<TestUser[]> =>
  Promise.all(Array.from({ length: count }, () => registerUser(target)));

const ids = (list: { id: string }[]) => list.map((item) => item.id);

/** Waits until `live` holds, sending a probe each round: a subscription has no "started" signal. */
async function untilLive(live: () => boolean, probe: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + DEFAULT_WAIT_MS;
  for (;;) {
    await probe();
    const seen = await waitFor(live, 'a probe', 500).then(
      () => true,
      () => false,
    );
    if (seen) return;
    if (Date.now() > deadline) throw new Error('subscriptions not live');
  }
}

const CHAT_LIST = /* GraphQL */ `
  query ChatList($first: Int) {
    chats(first: $first) {
      edges {
        node {
          id
          kind
          title
          viewerRole
          otherUser {
            id
          }
          lastMessage {
            kind
          }
          members(first: 20) {
            totalCount
            edges {
              node {
                role
                user {
                  id
                }
              }
            }
          }
        }
      }
    }
  }
`;

interface ListedChat {
  id: string;
  kind: 'DIRECT' | 'GROUP';
  title: string | null;
  viewerRole: string | null;
  otherUser: { id: string } | null;
  lastMessage: { kind: string } | null;
  members: { totalCount: number; edges: { node: { role: string; user: { id: string } } }[] };
}

async function listChats(user: Caller, target: Target = server): Promise<ListedChat[]> {
  const data = await gqlOk<{ chats: { edges: { node: ListedChat }[] } }>(
    target,
    CHAT_LIST,
    { first: 100 },
    user,
  );
  return data.chats.edges.map((edge) => edge.node);
}

const listedIds = async (user: Caller) => ids(await listChats(user));

/** The newest message of the chat's history, as `user` reads it. */
const newestAs = async (user: Caller, chatId: string, target: Target = server) =>
  (await messagesAs(target, user, chatId)).at(-1)!;

/** Where `user`'s history of the chat begins: the cursor of its first message. */
const firstCursorAs = async (user: Caller, chatId: string, target: Target = server) =>
  (await messagesAs(target, user, chatId))[0]!.cursor;

/** Events of one chat in a myChats feed. */
const listEventsFor = (feed: Live<ChatListEvent>, chatId: string) =>
  feed.items.filter((event) => event.chat.id === chatId);

/** Every group-only mutation, called by `caller` on `chatId`. */
const GROUP_ONLY: [
  string,
  (
    target: Target,
    caller: Caller,
    chatId: string,
    who: { member: Caller; newcomer: Caller },
  ) => Promise<GraphQLResponse<unknown>>,
][] = [
  ['renameChat', (target, caller, chatId) => renameChat(target, caller, chatId, 'New name')],
  [
    'addChatMembers',
    (target, caller, chatId, { newcomer }) => addMembers(target, caller, chatId, [newcomer]),
  ],
  [
    'removeChatMember',
    (target, caller, chatId, { member }) => removeMember(target, caller, chatId, member),
  ],
  ['leaveChat', (target, caller, chatId) => leaveChat(target, caller, chatId)],
  [
    'setChatMemberRole',
    (target, caller, chatId, { member }) => setRole(target, caller, chatId, member, 'ADMIN'),
  ],
];

// ---------------------------------------------------------------------------------------------

describe('createGroupChat', () => {
  it('makes the caller OWNER and memberIds MEMBERs, ignoring duplicates and the caller’s own id', async () => {
    const [owner, b, c] = await users(3);
    const chat = await createGroup(server, owner!, [b!, c!, b!, owner!], '  Weekend plans  ');
    expect(chat).toMatchObject({
      kind: 'GROUP',
      title: 'Weekend plans',
      viewerRole: 'OWNER',
      otherUser: null,
    });
    expect(ids(chat.participants).sort()).toEqual([owner!.id, b!.id, c!.id].sort());
    expect(chat.members.totalCount).toBe(3);
    expect(chat.members.edges).toHaveLength(3);
    expect(chat.members.pageInfo.hasNextPage).toBe(false);
    // The creator is the longest-standing member.
    expect(chat.members.edges[0]!.node).toMatchObject({ role: 'OWNER', user: { id: owner!.id } });
    expect(rolesOf(chat)).toEqual({ [owner!.id]: 'OWNER', [b!.id]: 'MEMBER', [c!.id]: 'MEMBER' });
    for (const { node } of chat.members.edges) expect(Date.parse(node.joinedAt)).not.toBeNaN();

    // Each member reads the same group, with their own role.
    for (const member of [b!, c!]) {
      const theirs = await chatAs(server, member, chat.id);
      expect(theirs).toMatchObject({
        id: chat.id,
        kind: 'GROUP',
        title: 'Weekend plans',
        viewerRole: 'MEMBER',
        otherUser: null,
      });
      expect(memberIds(theirs!)).toEqual(memberIds(chat));
    }
  });

  it('trims the title; blank or over 100 characters is BAD_USER_INPUT and creates nothing', async () => {
    const [owner, b] = await users(2);
    for (const title of ['', '   ', ' \n\t ', 'x'.repeat(101), ` ${'y'.repeat(101)} `]) {
      expectCode(
        await server.gql(CREATE_GROUP, { title, memberIds: [b!.id] }, owner!.token),
        'BAD_USER_INPUT',
        JSON.stringify(title.slice(0, 10)),
      );
    }
    expect(await listedIds(owner!)).toEqual([]);
    expect(await listedIds(b!)).toEqual([]);

    const longest = await createGroup(server, owner!, [b!], `  ${'z'.repeat(100)}  `);
    expect(longest.title).toBe('z'.repeat(100));
    const shortest = await createGroup(server, owner!, [b!], ' Q ');
    expect(shortest.title).toBe('Q');
  });

  it('refuses an unknown member id with NOT_FOUND and creates nothing', async () => {
    const [owner, b] = await users(2);
    expectCode(
      await server.gql(
        CREATE_GROUP,
        { title: 'With a ghost', memberIds: [b!.id, randomUUID()] },
        owner!.token,
      ),
      'NOT_FOUND',
    );
    expect(await listedIds(owner!)).toEqual([]);
    expect(await listedIds(b!)).toEqual([]);
  });

  it('refuses more than MAX_GROUP_MEMBERS in all (BAD_USER_INPUT); exactly the cap is a group', async () => {
    const [owner, ...others] = await users(CAP + 1);
    expectCode(
      await server.gql(CREATE_GROUP, { title: 'Too many', memberIds: ids(others) }, owner!.token),
      'BAD_USER_INPUT',
    );
    expect(await listedIds(owner!)).toEqual([]);
    expect(await listedIds(others[0]!)).toEqual([]);

    // CAP - 1 others, one of them twice, and the owner's own id: CAP members.
    const fits = others.slice(0, CAP - 1);
    const full = await createGroup(server, owner!, [...fits, fits[0]!, owner!], 'Just enough');
    expect(full.members.totalCount).toBe(CAP);
    expect(new Set(memberIds(full))).toEqual(new Set([owner!.id, ...ids(fits)]));
  });

  it('refuses a caller without a token (UNAUTHENTICATED)', async () => {
    const [b] = await users(1);
    expectCode(
      await server.gql(CREATE_GROUP, { title: 'Anonymous', memberIds: [b!.id] }),
      'UNAUTHENTICATED',
    );
    expect(await listedIds(b!)).toEqual([]);
  });

  it('a group of two is not the pair’s one-to-one chat: createChat opens a DIRECT chat beside it', async () => {
    const [a, b] = await users(2);
    const group = await createGroup(server, a!, [b!], 'Just us');
    const direct = await createChat(server, a!, b!);
    expect(direct).not.toBe(group.id);
    expect(await createChat(server, b!, a!)).toBe(direct);
    expect(await chatAs(server, b!, direct)).toMatchObject({
      kind: 'DIRECT',
      title: null,
      viewerRole: null,
      otherUser: { id: a!.id },
    });
    // Another group of the same two is another group.
    const again = await createGroup(server, a!, [b!], 'Just us');
    expect(new Set([group.id, again.id, direct]).size).toBe(3);
  });
});

describe('group mutations refuse', () => {
  it('a caller without a token (UNAUTHENTICATED), an unknown chat (NOT_FOUND), a non-member (FORBIDDEN), changing nothing', async () => {
    const [owner, member, newcomer, outsider] = await users(4);
    const group = await createGroup(server, owner!, [member!], 'Untouchable');
    const who = { member: member!, newcomer: newcomer! };
    for (const [name, mutate] of GROUP_ONLY) {
      expectCode(
        await mutate(server, { id: owner!.id, token: '' }, group.id, who),
        'UNAUTHENTICATED',
        name,
      );
      expectCode(await mutate(server, owner!, randomUUID(), who), 'NOT_FOUND', name);
      expectCode(await mutate(server, outsider!, group.id, who), 'FORBIDDEN', name);
    }
    const after = await groupAs(server, owner!, group.id);
    expect(after.title).toBe('Untouchable');
    expect(rolesOf(after)).toEqual({ [owner!.id]: 'OWNER', [member!.id]: 'MEMBER' });
    expect(await messagesAs(server, owner!, group.id)).toHaveLength(1);
  });

  it('a one-to-one chat given to a group-only mutation (BAD_USER_INPUT), leaving it as it was', async () => {
    const [a, b, c] = await users(3);
    const direct = await createChat(server, a!, b!);
    for (const [name, mutate] of GROUP_ONLY) {
      expectCode(
        await mutate(server, a!, direct, { member: b!, newcomer: c! }),
        'BAD_USER_INPUT',
        name,
      );
    }
    const chat = await chatAs(server, b!, direct);
    expect(chat).toMatchObject({ kind: 'DIRECT', title: null, otherUser: { id: a!.id } });
    expect(ids(chat!.participants).sort()).toEqual([a!.id, b!.id].sort());
    expect(await chatAs(server, c!, direct)).toBeNull();
    expect((await sendOk(server, b!, direct, 'still ours')).kind).toBe('TEXT');
  });
});

describe('roles and membership rules', () => {
  it('OWNER and ADMIN rename, add and remove; a MEMBER is FORBIDDEN to', async () => {
    const [owner, admin, member, x, y] = await users(5);
    const group = await createGroup(server, owner!, [admin!, member!]);
    await ok(setRole(server, owner!, group.id, admin!, 'ADMIN'));

    expect((await ok(renameChat(server, admin!, group.id, 'By the admin'))).renameChat.title).toBe(
      'By the admin',
    );
    const added = (await ok(addMembers(server, admin!, group.id, [x!]))).addChatMembers;
    expect(rolesOf(added)[x!.id]).toBe('MEMBER');

    expectCode(await renameChat(server, member!, group.id, 'By the member'), 'FORBIDDEN');
    expectCode(await addMembers(server, member!, group.id, [y!]), 'FORBIDDEN');
    expectCode(await removeMember(server, member!, group.id, x!), 'FORBIDDEN');

    const removed = (await ok(removeMember(server, admin!, group.id, x!))).removeChatMember;
    expect(memberIds(removed)).not.toContain(x!.id);

    await ok(renameChat(server, owner!, group.id, 'By the owner'));
    await ok(addMembers(server, owner!, group.id, [y!]));
    await ok(removeMember(server, owner!, group.id, y!));

    const chat = await groupAs(server, member!, group.id);
    expect(chat.title).toBe('By the owner');
    expect(rolesOf(chat)).toEqual({
      [owner!.id]: 'OWNER',
      [admin!.id]: 'ADMIN',
      [member!.id]: 'MEMBER',
    });
  });

  it('only an OWNER changes roles: an ADMIN or a MEMBER is FORBIDDEN to', async () => {
    const [owner, admin, member] = await users(3);
    const group = await createGroup(server, owner!, [admin!, member!]);
    await ok(setRole(server, owner!, group.id, admin!, 'ADMIN'));

    expectCode(await setRole(server, admin!, group.id, member!, 'ADMIN'), 'FORBIDDEN');
    expectCode(await setRole(server, admin!, group.id, admin!, 'OWNER'), 'FORBIDDEN');
    expectCode(await setRole(server, admin!, group.id, owner!, 'MEMBER'), 'FORBIDDEN');
    expectCode(await setRole(server, member!, group.id, member!, 'ADMIN'), 'FORBIDDEN');
    expectCode(await setRole(server, member!, group.id, admin!, 'MEMBER'), 'FORBIDDEN');
    expect(rolesOf(await groupAs(server, owner!, group.id))).toEqual({
      [owner!.id]: 'OWNER',
      [admin!.id]: 'ADMIN',
      [member!.id]: 'MEMBER',
    });

    const promoted = (await ok(setRole(server, owner!, group.id, member!, 'ADMIN')))
      .setChatMemberRole;
    expect(rolesOf(promoted)[member!.id]).toBe('ADMIN');
    const demoted = (await ok(setRole(server, owner!, group.id, admin!, 'MEMBER')))
      .setChatMemberRole;
    expect(rolesOf(demoted)).toEqual({
      [owner!.id]: 'OWNER',
      [admin!.id]: 'MEMBER',
      [member!.id]: 'ADMIN',
    });
    expect((await groupAs(server, admin!, group.id)).viewerRole).toBe('MEMBER');
  });

  it('an OWNER may make more OWNERs; the only OWNER demoting themself is BAD_USER_INPUT', async () => {
    const [owner, b] = await users(2);
    const group = await createGroup(server, owner!, [b!]);
    for (const role of ['ADMIN', 'MEMBER'] as const) {
      expectCode(await setRole(server, owner!, group.id, owner!, role), 'BAD_USER_INPUT', role);
    }
    expect(rolesOf(await groupAs(server, owner!, group.id))[owner!.id]).toBe('OWNER');

    const two = (await ok(setRole(server, owner!, group.id, b!, 'OWNER'))).setChatMemberRole;
    expect(rolesOf(two)).toEqual({ [owner!.id]: 'OWNER', [b!.id]: 'OWNER' });
    // With another OWNER, stepping down is fine.
    const down = (await ok(setRole(server, owner!, group.id, owner!, 'MEMBER'))).setChatMemberRole;
    expect(rolesOf(down)).toEqual({ [owner!.id]: 'MEMBER', [b!.id]: 'OWNER' });
    expect(down.viewerRole).toBe('MEMBER');

    // b is now the only OWNER; the former owner may no longer change roles.
    expectCode(await setRole(server, b!, group.id, b!, 'ADMIN'), 'BAD_USER_INPUT');
    expectCode(await setRole(server, owner!, group.id, owner!, 'OWNER'), 'FORBIDDEN');
    expect(rolesOf(await groupAs(server, b!, group.id))).toEqual({
      [owner!.id]: 'MEMBER',
      [b!.id]: 'OWNER',
    });
  });

  it('an ADMIN cannot remove an OWNER or another ADMIN (FORBIDDEN) but removes a MEMBER; an OWNER removes an ADMIN', async () => {
    const [owner, a1, a2, member] = await users(4);
    const group = await createGroup(server, owner!, [a1!, a2!, member!]);
    await ok(setRole(server, owner!, group.id, a1!, 'ADMIN'));
    await ok(setRole(server, owner!, group.id, a2!, 'ADMIN'));

    expectCode(await removeMember(server, a1!, group.id, owner!), 'FORBIDDEN');
    expectCode(await removeMember(server, a1!, group.id, a2!), 'FORBIDDEN');
    expect(memberIds(await groupAs(server, owner!, group.id))).toHaveLength(4);

    await ok(removeMember(server, a1!, group.id, member!));
    await ok(removeMember(server, owner!, group.id, a2!));
    expect(rolesOf(await groupAs(server, a1!, group.id))).toEqual({
      [owner!.id]: 'OWNER',
      [a1!.id]: 'ADMIN',
    });
  });

  it('removing yourself with removeChatMember is BAD_USER_INPUT (leaveChat is the way), for an OWNER and an ADMIN', async () => {
    const [owner, admin] = await users(2);
    const group = await createGroup(server, owner!, [admin!]);
    await ok(setRole(server, owner!, group.id, admin!, 'ADMIN'));
    expectCode(await removeMember(server, owner!, group.id, owner!), 'BAD_USER_INPUT', 'owner');
    expectCode(await removeMember(server, admin!, group.id, admin!), 'BAD_USER_INPUT', 'admin');
    expect(rolesOf(await groupAs(server, owner!, group.id))).toEqual({
      [owner!.id]: 'OWNER',
      [admin!.id]: 'ADMIN',
    });
  });

  it('adding an existing member and removing a non-member change nothing and put nothing on the timeline', async () => {
    const [owner, admin, member, outsider] = await users(4);
    const group = await createGroup(server, owner!, [admin!, member!]);
    await ok(setRole(server, owner!, group.id, admin!, 'ADMIN'));
    const before = await groupAs(server, owner!, group.id);
    const history = await messagesAs(server, owner!, group.id);
    const events = track(subscribeChatEvents(server, owner!, group.id, history.at(-1)!.cursor));

    // Adding the ADMIN again does not make them a MEMBER, nor move them in the order.
    const added = (await ok(addMembers(server, owner!, group.id, [member!, admin!])))
      .addChatMembers;
    expect(added.members).toEqual(before.members);
    const removed = (await ok(removeMember(server, admin!, group.id, outsider!))).removeChatMember;
    expect(removed.members).toEqual(before.members);

    const fence = await sendOk(server, owner!, group.id, 'fence');
    await waitFor(() => events.items.length > 0, 'the fence');
    await sleep(GRACE);
    expect(events.items.map((event) => event.message.id)).toEqual([fence.id]);
    expect(ids(await messagesAs(server, owner!, group.id))).toEqual([...ids(history), fence.id]);
    expect((await groupAs(server, owner!, group.id)).members).toEqual(before.members);
  });

  it('adding an unknown user is NOT_FOUND and adds nobody, not even the known users of the call', async () => {
    const [owner, member, known] = await users(3);
    const group = await createGroup(server, owner!, [member!]);
    expectCode(
      await addMembers(server, owner!, group.id, [known!, { id: randomUUID(), token: '' }]),
      'NOT_FOUND',
    );
    expect(memberIds(await groupAs(server, owner!, group.id)).sort()).toEqual(
      [owner!.id, member!.id].sort(),
    );
    expect(await chatAs(server, known!, group.id)).toBeNull();
    expect(await messagesAs(server, owner!, group.id)).toHaveLength(1);
  });

  it('an add past MAX_GROUP_MEMBERS is refused as a whole (BAD_USER_INPUT); members already in count once', async () => {
    const [owner, m1, m2, x, y, z] = await users(6);
    const group = await createGroup(server, owner!, [m1!, m2!]);

    expectCode(await addMembers(server, owner!, group.id, [x!, y!, z!]), 'BAD_USER_INPUT');
    expect((await groupAs(server, owner!, group.id)).members.totalCount).toBe(3);
    expect(await chatAs(server, x!, group.id)).toBeNull();

    // m1 is in already: the group ends with 5.
    const full = (await ok(addMembers(server, owner!, group.id, [m1!, x!, y!]))).addChatMembers;
    expect(full.members.totalCount).toBe(CAP);

    expectCode(await addMembers(server, owner!, group.id, [z!]), 'BAD_USER_INPUT');
    expect(await chatAs(server, z!, group.id)).toBeNull();
    // A place freed is a place to take.
    await ok(removeMember(server, owner!, group.id, x!));
    const again = (await ok(addMembers(server, owner!, group.id, [z!]))).addChatMembers;
    expect(new Set(memberIds(again))).toEqual(new Set(ids([owner!, m1!, m2!, y!, z!])));
  });

  it('members page longest-standing first, with Relay pageInfo', async () => {
    const [owner, m1, m2, m3] = await users(4);
    const group = await createGroup(server, owner!, [m1!]);
    await sleep(5);
    await ok(addMembers(server, owner!, group.id, [m2!]));
    await sleep(5);
    await ok(addMembers(server, owner!, group.id, [m3!]));

    const MEMBERS = /* GraphQL */ `
      query Members($id: ID!, $after: String) {
        chat(id: $id) {
          members(first: 2, after: $after) {
            totalCount
            edges {
              node {
                role
                joinedAt
                user {
                  id
                }
              }
            }
            pageInfo {
              hasNextPage
              endCursor
            }
          }
        }
      }
    `;
    type Page = GroupChat['members'];
    const page = async (after?: string) => {
      const { chat } = await gqlOk<{ chat: { members: Page } | null }>(
        server,
        MEMBERS,
        { id: group.id, after },
        m3!,
      );
      if (!chat) throw new Error(`chat ${group.id} is not visible to ${m3!.id}`);
      return chat.members;
    };
    const first = await page();
    expect(first.totalCount).toBe(4);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await page(first.pageInfo.endCursor!);
    expect(second.pageInfo.hasNextPage).toBe(false);
    const all = [...first.edges, ...second.edges].map((edge) => edge.node);
    expect(all.map((member) => member.user.id)).toEqual(ids([owner!, m1!, m2!, m3!]));
    const joined = all.map((member) => Date.parse(member.joinedAt));
    expect(joined).toEqual([...joined].sort((p, q) => p - q));
  });
});

describe('renameChat', () => {
  it('trims the title; blank or over 100 characters is BAD_USER_INPUT and the old title stays', async () => {
    const [owner, member] = await users(2);
    const group = await createGroup(server, owner!, [member!], 'Old title');
    for (const title of ['', '  \t ', 'n'.repeat(101)]) {
      expectCode(
        await renameChat(server, owner!, group.id, title),
        'BAD_USER_INPUT',
        JSON.stringify(title.slice(0, 10)),
      );
    }
    expect((await groupAs(server, member!, group.id)).title).toBe('Old title');
    expect(await messagesAs(server, owner!, group.id)).toHaveLength(1);

    const renamed = (await ok(renameChat(server, owner!, group.id, `  ${'N'.repeat(100)} `)))
      .renameChat;
    expect(renamed.title).toBe('N'.repeat(100));
    expect((await groupAs(server, member!, group.id)).title).toBe('N'.repeat(100));
  });
});

describe('leaveChat', () => {
  it('a MEMBER leaves: true; the group is gone for them and they are gone from it', async () => {
    const [owner, leaver, stays] = await users(3);
    const group = await createGroup(server, owner!, [leaver!, stays!]);
    expect(await ok(leaveChat(server, leaver!, group.id))).toEqual({ leaveChat: true });

    expect(await chatAs(server, leaver!, group.id)).toBeNull();
    expect(await listedIds(leaver!)).not.toContain(group.id);
    expectCode(await sendText(server, leaver!, group.id, 'still here?'), 'FORBIDDEN');
    expectCode(await leaveChat(server, leaver!, group.id), 'FORBIDDEN', 'leaving twice');
    const remaining = await groupAs(server, stays!, group.id);
    expect(memberIds(remaining).sort()).toEqual([owner!.id, stays!.id].sort());
    expect(ids(remaining.participants).sort()).toEqual([owner!.id, stays!.id].sort());
    const left = await newestAs(stays!, group.id);
    expect(left.kind).toBe('SYSTEM');
  });

  it('the last OWNER leaving hands ownership to the longest-standing ADMIN: LEFT, then ROLE_CHANGED to OWNER', async () => {
    const [owner, member, a1, a2] = await users(4);
    const group = await createGroup(server, owner!, [member!]);
    await sleep(5);
    await ok(addMembers(server, owner!, group.id, [a1!]));
    await sleep(5);
    await ok(addMembers(server, owner!, group.id, [a2!]));
    // Promoted in the other order: joining, not promotion, decides who is longest-standing.
    await ok(setRole(server, owner!, group.id, a2!, 'ADMIN'));
    await ok(setRole(server, owner!, group.id, a1!, 'ADMIN'));
    const from = (await newestAs(member!, group.id)).cursor;
    const events = track(subscribeChatEvents(server, member!, group.id, from));

    expect(await ok(leaveChat(server, owner!, group.id))).toEqual({ leaveChat: true });
    await waitFor(() => events.items.length >= 2, 'LEFT and ROLE_CHANGED');
    expect(events.items).toEqual([
      expect.objectContaining({
        __typename: 'MembersChanged',
        change: 'LEFT',
        actor: { id: owner!.id },
        users: [{ id: owner!.id }],
      }),
      expect.objectContaining({
        __typename: 'MembersChanged',
        change: 'ROLE_CHANGED',
        users: [{ id: a1!.id }],
        role: 'OWNER',
      }),
    ]);
    expect(rolesOf(await groupAs(server, a2!, group.id))).toEqual({
      [member!.id]: 'MEMBER',
      [a1!.id]: 'OWNER',
      [a2!.id]: 'ADMIN',
    });
    // Both changes are in history, in the same order.
    const tail = (await messagesAs(server, member!, group.id)).slice(-2);
    expect(tail.map((message) => message.kind)).toEqual(['SYSTEM', 'SYSTEM']);
    expect(ids(tail)).toEqual(events.items.map((event) => event.message.id));
  });

  it('without an ADMIN, the longest-standing MEMBER becomes OWNER', async () => {
    const [owner, m1, m2] = await users(3);
    const group = await createGroup(server, owner!, [m1!]);
    await sleep(5);
    await ok(addMembers(server, owner!, group.id, [m2!]));
    const from = (await newestAs(m2!, group.id)).cursor;
    const events = track(subscribeChatEvents(server, m2!, group.id, from));

    await ok(leaveChat(server, owner!, group.id));
    await waitFor(() => events.items.length >= 2, 'LEFT and ROLE_CHANGED');
    expect(events.items.map((event) => [event.change, ids(event.users ?? []), event.role])).toEqual(
      [
        ['LEFT', [owner!.id], null],
        ['ROLE_CHANGED', [m1!.id], 'OWNER'],
      ],
    );
    expect(rolesOf(await groupAs(server, m1!, group.id))).toEqual({
      [m1!.id]: 'OWNER',
      [m2!.id]: 'MEMBER',
    });
    expect((await groupAs(server, m1!, group.id)).viewerRole).toBe('OWNER');
  });

  it('an OWNER leaving while another OWNER stays hands nothing on', async () => {
    const [owner, other, member] = await users(3);
    const group = await createGroup(server, owner!, [other!, member!]);
    await ok(setRole(server, owner!, group.id, other!, 'OWNER'));
    const from = (await newestAs(member!, group.id)).cursor;
    const events = track(subscribeChatEvents(server, member!, group.id, from));

    await ok(leaveChat(server, owner!, group.id));
    const fence = await sendOk(server, other!, group.id, 'fence');
    await waitFor(() => events.items.some((event) => event.message.id === fence.id), 'the fence');
    expect(events.items.map((event) => event.change ?? event.__typename)).toEqual([
      'LEFT',
      'MessageAdded',
    ]);
    expect(rolesOf(await groupAs(server, member!, group.id))).toEqual({
      [other!.id]: 'OWNER',
      [member!.id]: 'MEMBER',
    });
  });

  it('the last member leaving closes the group: chat(id) is null for everyone who was in it', async () => {
    const [owner, member, removed] = await users(3);
    const group = await createGroup(server, owner!, [member!, removed!]);
    await sendOk(server, member!, group.id, 'hello');
    await ok(removeMember(server, owner!, group.id, removed!));
    await ok(leaveChat(server, member!, group.id));
    expect(await ok(leaveChat(server, owner!, group.id))).toEqual({ leaveChat: true });

    for (const user of [owner!, member!, removed!]) {
      expect(await chatAs(server, user, group.id)).toBeNull();
      expect(await historyAs(server, user, group.id)).toBeNull();
      expect(await listedIds(user)).not.toContain(group.id);
      const send = await sendText(server, user, group.id, 'anyone?');
      expect(codesOf(send).some((code) => code === 'FORBIDDEN' || code === 'NOT_FOUND')).toBe(true);
    }
  });
});

describe('the timeline of a group', () => {
  it('begins with the CREATED system message, the first thing in every initial member’s history', async () => {
    const [owner, m1, m2] = await users(3);
    const group = await createGroup(server, owner!, [m1!, m2!]);
    const [created, ...rest] = await messagesAs(server, owner!, group.id);
    expect(rest).toEqual([]);
    expect(created).toMatchObject({ kind: 'SYSTEM' });
    expect(created!.content.trim()).not.toBe('');
    for (const member of [m1!, m2!]) {
      expect(await messagesAs(server, member, group.id)).toEqual([created]);
    }
  });

  it('puts every change on chatEvents and messageAdded, and in history as a SYSTEM message at the same position', async () => {
    const [owner, m1, m2, x] = await users(4);
    const group = await createGroup(server, owner!, [m1!, m2!]);
    const start = await firstCursorAs(owner!, group.id);
    const live = track(subscribeChatEvents(server, owner!, group.id, start));
    const asMember = track(subscribeChatEvents(server, m1!, group.id, start));
    const messages = track(subscribeMessages(server, owner!, group.id, start));

    const hello = await sendOk(server, owner!, group.id, 'hello group');
    await ok(addMembers(server, owner!, group.id, [x!]));
    await ok(setRole(server, owner!, group.id, x!, 'ADMIN'));
    await ok(renameChat(server, x!, group.id, 'Renamed by x'));
    await ok(removeMember(server, x!, group.id, m2!));
    await ok(leaveChat(server, x!, group.id));
    const bye = await sendOk(server, m1!, group.id, 'bye');

    const system = expect.objectContaining({ kind: 'SYSTEM' });
    const expected = [
      { __typename: 'MessageAdded', message: expect.objectContaining({ id: hello.id }) },
      {
        __typename: 'MembersChanged',
        change: 'ADDED',
        actor: { id: owner!.id },
        users: [{ id: x!.id }],
        message: system,
      },
      {
        __typename: 'MembersChanged',
        change: 'ROLE_CHANGED',
        actor: { id: owner!.id },
        users: [{ id: x!.id }],
        role: 'ADMIN',
        message: system,
      },
      { __typename: 'ChatRenamed', actor: { id: x!.id }, title: 'Renamed by x', message: system },
      {
        __typename: 'MembersChanged',
        change: 'REMOVED',
        actor: { id: x!.id },
        users: [{ id: m2!.id }],
        message: system,
      },
      {
        __typename: 'MembersChanged',
        change: 'LEFT',
        actor: { id: x!.id },
        users: [{ id: x!.id }],
        message: system,
      },
      {
        __typename: 'MessageAdded',
        message: expect.objectContaining({ id: bye.id, kind: 'TEXT' }),
      },
    ];
    for (const [name, feed] of Object.entries({ live, asMember, messages })) {
      await waitFor(
        () => (feed.items as unknown[]).length >= expected.length,
        `${name}: seven items`,
      );
    }
    await sleep(GRACE);
    expect(live.items).toEqual(expected.map((event) => expect.objectContaining(event)));
    expect(live.items.every((event) => event.chatId === group.id)).toBe(true);
    const seqs = live.items.map((event) => event.seq!);
    expect(seqs).toEqual(seqs.map((_, index) => seqs[0]! + index));

    // History holds the same, in the same positions: the TEXT and SYSTEM messages of the events.
    const history = (await messagesAs(server, owner!, group.id)).slice(1);
    expect(ids(history)).toEqual(live.items.map((event) => event.message.id));
    expect(history.map((message) => message.cursor)).toEqual(live.items.map((e) => e.cursor));
    expect(history.map((message) => message.kind)).toEqual([
      'TEXT',
      'SYSTEM',
      'SYSTEM',
      'SYSTEM',
      'SYSTEM',
      'SYSTEM',
      'TEXT',
    ]);
    for (const message of history) expect(message.content.trim()).not.toBe('');
    expect(history[0]!.content).toBe('hello group');

    // Another member gets the same events; messageAdded the same messages, SYSTEM ones included.
    expect(asMember.items).toEqual(live.items);
    expect(messages.items).toEqual(history);
    expect((await groupAs(server, m1!, group.id)).title).toBe('Renamed by x');

    // Replayed after the fact, the timeline is the same.
    const replay = track(subscribeChatEvents(server, m1!, group.id, start));
    await waitFor(() => replay.items.length >= expected.length, 'the replay');
    expect(replay.items).toEqual(live.items);
  });

  it('a one-to-one chat’s messages are TEXT, in history and on its timeline', async () => {
    const [a, b] = await users(2);
    const direct = await createChat(server, a!, b!);
    const first = await sendOk(server, a!, direct, 'first');
    expect(first.kind).toBe('TEXT');
    const events = track(subscribeChatEvents(server, b!, direct, first.cursor));
    const second = await sendOk(server, b!, direct, 'second');
    await waitFor(() => events.items.length > 0, 'the second message');
    expect(events.items).toEqual([
      expect.objectContaining({
        __typename: 'MessageAdded',
        message: expect.objectContaining({ id: second.id, kind: 'TEXT' }),
      }),
    ]);
    expect((await messagesAs(server, a!, direct)).map((message) => message.kind)).toEqual([
      'TEXT',
      'TEXT',
    ]);
  });
});

describe('who sees what', () => {
  it('a member added later sees history and replays from their own ADDED message on', async () => {
    const [owner, member, late] = await users(3);
    const group = await createGroup(server, owner!, [member!]);
    const before = await sendOk(server, owner!, group.id, 'before they came 1');
    await sendOk(server, member!, group.id, 'before they came 2');
    await ok(addMembers(server, owner!, group.id, [late!]));
    const after = await sendOk(server, member!, group.id, 'after they came');
    const added = (await messagesAs(server, owner!, group.id)).at(-2)!;
    expect(added.kind).toBe('SYSTEM');

    const seen = await messagesAs(server, late!, group.id);
    expect(ids(seen)).toEqual([added.id, after.id]);
    const backwards = await historyAs(server, late!, group.id, { last: 50 });
    expect(backwards!.edges.map((edge) => edge.node.id)).toEqual([added.id, after.id]);
    expect(backwards!.pageInfo.hasPreviousPage).toBe(false);
    const earlier = await historyAs(server, late!, group.id, { last: 50, before: added.cursor });
    expect(earlier!.edges).toEqual([]);
    const fromBefore = await historyAs(server, late!, group.id, {
      first: 50,
      after: before.cursor,
    });
    expect(fromBefore!.edges.map((edge) => edge.node.id)).toEqual([added.id, after.id]);

    // A replay from a position before they joined starts at their ADDED too.
    const events = track(subscribeChatEvents(server, late!, group.id, before.cursor));
    const messages = track(subscribeMessages(server, late!, group.id, before.cursor));
    const final = await sendOk(server, owner!, group.id, 'final');
    await waitFor(
      () =>
        events.items.some((event) => event.message.id === final.id) &&
        messages.items.some((message) => message.id === final.id),
      'the final message on both feeds',
    );
    expect(events.items.map((event) => event.message.id)).toEqual([added.id, after.id, final.id]);
    expect(events.items[0]).toMatchObject({
      __typename: 'MembersChanged',
      change: 'ADDED',
      users: [{ id: late!.id }],
    });
    expect(ids(messages.items)).toEqual([added.id, after.id, final.id]);
    expect(JSON.stringify([events.items, messages.items])).not.toContain('before they came');
  });

  it('a member added with shareHistory: true sees everything from the start', async () => {
    const [owner, member, late] = await users(3);
    const group = await createGroup(server, owner!, [member!]);
    await sendOk(server, owner!, group.id, 'before 1');
    await sendOk(server, member!, group.id, 'before 2');
    await ok(addMembers(server, owner!, group.id, [late!], true));
    await sendOk(server, member!, group.id, 'after');

    const all = await messagesAs(server, owner!, group.id);
    expect(await messagesAs(server, late!, group.id)).toEqual(all);
    const events = track(subscribeChatEvents(server, late!, group.id, all[0]!.cursor));
    await waitFor(() => events.items.length >= all.length - 1, 'the replay');
    expect(events.items.map((event) => event.message.id)).toEqual(ids(all.slice(1)));
  });

  it('a removed user re-added sees from the re-add on', async () => {
    const [owner, user] = await users(2);
    const group = await createGroup(server, owner!, [user!]);
    const start = await firstCursorAs(owner!, group.id);
    const firstJoin = memberEntry(group, user!).joinedAt;
    await sendOk(server, owner!, group.id, 'while in');
    await ok(removeMember(server, owner!, group.id, user!));
    await sendOk(server, owner!, group.id, 'while out');
    await sleep(5);
    const back = (await ok(addMembers(server, owner!, group.id, [user!]))).addChatMembers;
    const last = await sendOk(server, owner!, group.id, 'back again');
    const readded = (await messagesAs(server, owner!, group.id)).at(-2)!;

    expect(ids(await messagesAs(server, user!, group.id))).toEqual([readded.id, last.id]);
    const events = track(subscribeChatEvents(server, user!, group.id, start));
    await waitFor(() => events.items.length >= 2, 'the replay');
    await sleep(GRACE);
    expect(events.items.map((event) => event.message.id)).toEqual([readded.id, last.id]);
    // joinedAt is when they last joined.
    const rejoined = memberEntry(back, user!);
    expect(Date.parse(rejoined.joinedAt)).toBeGreaterThan(Date.parse(firstJoin));
  });

  it('a removed user: chat(id) null, no history, sendMessage and subscriptions FORBIDDEN; unknown chats NOT_FOUND', async () => {
    const [owner, removed] = await users(2);
    const group = await createGroup(server, owner!, [removed!]);
    const kept = await sendOk(server, owner!, group.id, 'secret before');
    await ok(removeMember(server, owner!, group.id, removed!));
    await sendOk(server, owner!, group.id, 'secret after');

    const history = await server.gql(HISTORY, { id: group.id, first: 50 }, removed!.token);
    expect(history.errors).toBeUndefined();
    expect(history.data).toEqual({ chat: null });
    expect(await chatAs(server, removed!, group.id)).toBeNull();
    expect(await listedIds(removed!)).not.toContain(group.id);
    expectCode(await sendText(server, removed!, group.id, 'let me in'), 'FORBIDDEN');

    const refused = {
      chatEvents: track(subscribeChatEvents(server, removed!, group.id)),
      chatEventsAfter: track(subscribeChatEvents(server, removed!, group.id, kept.cursor)),
      messageAdded: track(subscribeMessages(server, removed!, group.id, kept.cursor)),
    };
    const unknown = {
      chatEvents: track(subscribeChatEvents(server, removed!, randomUUID())),
      messageAdded: track(subscribeMessages(server, removed!, randomUUID())),
    };
    for (const [name, live] of Object.entries(refused)) {
      await waitFor(() => live.codes().length > 0, `${name}: the refusal`);
      expect(live.codes(), name).toContain('FORBIDDEN');
    }
    for (const [name, live] of Object.entries(unknown)) {
      await waitFor(() => live.codes().length > 0, `unknown chat, ${name}: the refusal`);
      expect(live.codes(), name).toContain('NOT_FOUND');
    }
    expectCode(await sendText(server, removed!, randomUUID(), 'anyone?'), 'NOT_FOUND');

    await sendOk(server, owner!, group.id, 'secret later');
    await sleep(GRACE);
    for (const live of Object.values(refused)) expect(live.items).toEqual([]);
    expect(JSON.stringify(Object.values(refused).map((live) => live.items))).not.toContain(
      'secret',
    );
    expect(
      (await messagesAs(server, owner!, group.id)).map((message) => message.content),
    ).not.toContain('let me in');
  });
});

describe('myChats', () => {
  it('tells an added user ADDED (kind GROUP, title), members UPDATED for messages and system messages, a removed user REMOVED', async () => {
    const [owner, member, x, prober] = await users(4);
    const probeX = await createChat(server, prober!, x!);
    const probeMember = await createChat(server, prober!, member!);
    const xFeed = track(subscribeMyChats(server, x!));
    const memberFeed = track(subscribeMyChats(server, member!));
    await untilLive(
      () =>
        listEventsFor(xFeed, probeX).length > 0 &&
        listEventsFor(memberFeed, probeMember).length > 0,
      async () => {
        await sendOk(server, prober!, probeX, 'probe');
        await sendOk(server, prober!, probeMember, 'probe');
      },
    );

    // Created with them: ADDED.
    const first = await createGroup(server, owner!, [x!, member!], 'Created with them');
    for (const feed of [xFeed, memberFeed]) {
      await waitFor(() => listEventsFor(feed, first.id).length > 0, 'ADDED on creation');
      expect(listEventsFor(feed, first.id)[0]).toMatchObject({
        change: 'ADDED',
        chat: { id: first.id, kind: 'GROUP', title: 'Created with them' },
      });
    }

    // Added later: ADDED for them, UPDATED (the ADDED system message) for the member.
    const group = await createGroup(server, owner!, [member!], 'Added later');
    await waitFor(() => listEventsFor(memberFeed, group.id).length > 0, 'ADDED for the member');
    await ok(addMembers(server, owner!, group.id, [x!]));
    await waitFor(() => listEventsFor(xFeed, group.id).length > 0, 'ADDED for x');
    expect(listEventsFor(xFeed, group.id)[0]).toMatchObject({
      change: 'ADDED',
      chat: { id: group.id, kind: 'GROUP', title: 'Added later' },
    });
    const updatedWith = (feed: Live<ChatListEvent>, messageId: string) =>
      listEventsFor(feed, group.id).find(
        (event) => event.change === 'UPDATED' && event.chat.lastMessage?.id === messageId,
      );
    const addedMessage = await newestAs(owner!, group.id);
    expect(addedMessage.kind).toBe('SYSTEM');
    await waitFor(() => updatedWith(memberFeed, addedMessage.id), 'UPDATED for the ADDED message');

    // A message: UPDATED for both.
    const news = await sendOk(server, owner!, group.id, 'news');
    for (const feed of [xFeed, memberFeed]) {
      expect(await waitFor(() => updatedWith(feed, news.id), 'UPDATED for news')).toMatchObject({
        chat: { lastMessagePreview: 'news', lastMessage: { kind: 'TEXT' } },
      });
    }

    // A rename (a system message): UPDATED for both, with the new title.
    await ok(renameChat(server, owner!, group.id, 'Renamed'));
    const renamed = await newestAs(owner!, group.id);
    for (const feed of [xFeed, memberFeed]) {
      expect(
        await waitFor(() => updatedWith(feed, renamed.id), 'UPDATED for the rename'),
      ).toMatchObject({
        chat: { title: 'Renamed', lastMessage: { kind: 'SYSTEM' } },
      });
    }

    // Removed: REMOVED for x, UPDATED for the member.
    await ok(removeMember(server, owner!, group.id, x!));
    await waitFor(
      () => listEventsFor(xFeed, group.id).some((event) => event.change === 'REMOVED'),
      'REMOVED for x',
    );
    const removal = await newestAs(owner!, group.id);
    await waitFor(() => updatedWith(memberFeed, removal.id), 'UPDATED for the removal');

    // Nothing of the group reaches x any more.
    const later = await sendOk(server, owner!, group.id, 'after x was removed');
    await waitFor(() => updatedWith(memberFeed, later.id), 'UPDATED for the member');
    await sendOk(server, prober!, probeX, 'fence');
    await waitFor(
      () => listEventsFor(xFeed, probeX).some((e) => e.chat.lastMessagePreview === 'fence'),
      'the fence for x',
    );
    await sleep(GRACE);
    const xs = listEventsFor(xFeed, group.id);
    expect(xs[0]!.change).toBe('ADDED');
    expect(xs.at(-1)!.change).toBe('REMOVED');
    expect(xs.slice(1, -1).every((event) => event.change === 'UPDATED')).toBe(true);
    expect(JSON.stringify(xFeed.items)).not.toContain('after x was removed');
  });
});

describe('the chat list', () => {
  it('lists direct and group chats together by activity, with kind, title, viewerRole and members', async () => {
    const [me, a, b, c, d] = await users(5);
    // No one-to-one chat is opened by a pair that shares a group already (another rule).
    const d1 = await createChat(server, me!, a!);
    await sleep(5);
    const g1 = (await createGroup(server, me!, [b!, c!], 'First group')).id;
    await sleep(5);
    const d2 = await createChat(server, d!, me!);
    await sleep(5);
    const g2 = (await createGroup(server, c!, [me!], 'Second group')).id;
    expect(await listedIds(me!)).toEqual([g2, d2, g1, d1]);

    await sendOk(server, a!, d1, 'direct news');
    expect(await listedIds(me!)).toEqual([d1, g2, d2, g1]);
    await sendOk(server, b!, g1, 'group news');
    const listed = await listChats(me!);
    expect(ids(listed)).toEqual([g1, d1, g2, d2]);

    const byId = Object.fromEntries(listed.map((chat) => [chat.id, chat]));
    const roles = (chat: ListedChat) =>
      Object.fromEntries(chat.members.edges.map(({ node }) => [node.user.id, node.role]));
    expect(byId[d1]).toMatchObject({
      kind: 'DIRECT',
      title: null,
      viewerRole: null,
      otherUser: { id: a!.id },
      lastMessage: { kind: 'TEXT' },
      members: { totalCount: 2 },
    });
    expect(roles(byId[d1]!)).toEqual({ [me!.id]: 'MEMBER', [a!.id]: 'MEMBER' });
    expect(byId[g1]).toMatchObject({
      kind: 'GROUP',
      title: 'First group',
      viewerRole: 'OWNER',
      otherUser: null,
      lastMessage: { kind: 'TEXT' },
      members: { totalCount: 3 },
    });
    expect(roles(byId[g1]!)).toEqual({ [me!.id]: 'OWNER', [b!.id]: 'MEMBER', [c!.id]: 'MEMBER' });
    expect(byId[g2]).toMatchObject({
      kind: 'GROUP',
      title: 'Second group',
      viewerRole: 'MEMBER',
      otherUser: null,
      lastMessage: { kind: 'SYSTEM' },
      members: { totalCount: 2 },
    });
    expect(roles(byId[g2]!)).toEqual({ [c!.id]: 'OWNER', [me!.id]: 'MEMBER' });

    // A group they left is no longer listed.
    await ok(leaveChat(server, me!, g2));
    expect(await listedIds(me!)).toEqual([g1, d1, d2]);
  });

  it('a page with 10 groups and 10 direct chats issues as many find commands as one with 3 of each', async () => {
    const PAGE = /* GraphQL */ `
      query {
        chats(first: 50) {
          edges {
            node {
              id
              kind
              title
              members(first: 20) {
                totalCount
                edges {
                  node {
                    role
                    user {
                      id
                    }
                  }
                }
              }
            }
          }
        }
      }
    `;
    async function userWith(count: number) {
      const [me, ...partners] = await users(count + 1);
      for (const [index, partner] of partners.entries()) {
        await createChat(server, me!, partner);
        await createGroup(server, me!, [partner, partners[(index + 1) % count]!]);
      }
      return me!;
    }
    const [small, large] = [await userWith(3), await userWith(10)];
    const commands = async (user: TestUser) => {
      let size = 0;
      // Warm: the first read may prepare what later ones reuse.
      await gqlOk(server, PAGE, {}, user);
      const names = await server.countCommands(async () => {
        const data = await gqlOk<{ chats: { edges: { node: ListedChat }[] } }>(
          server,
          PAGE,
          {},
          user,
        );
        size = data.chats.edges.length;
        for (const { node } of data.chats.edges) {
          expect(node.members.edges).toHaveLength(node.kind === 'GROUP' ? 3 : 2);
        }
      });
      const count = (name: string) => names.filter((each) => each === name).length;
      return { size, find: count('find'), aggregate: count('aggregate') };
    };
    const few = await commands(small);
    const many = await commands(large);
    expect([few.size, many.size]).toEqual([6, 20]);
    expect({ find: many.find, aggregate: many.aggregate }).toEqual({
      find: few.find,
      aggregate: few.aggregate,
    });
  });
});

// --- on three instances ------------------------------------------------------------------------

describe('removal and leaving on three instances', () => {
  it('a member removed on instance 1 gets REMOVED on instance 2, their subscriptions complete, and a message sent on instance 3 reaches none of their connections', async () => {
    const [first, second, third] = [on(0), on(1), on(2)];
    const [owner, stays, removed] = await Promise.all([
      registerUser(first),
      registerUser(second),
      registerUser(third),
    ]);
    const group = await createGroup(first, owner!, [stays!, removed!]);
    const from = await firstCursorAs(owner!, group.id, first);
    const theirs = {
      chatEvents: track(subscribeChatEvents(second, removed!, group.id, from)),
      chatEventsOnInstance3: track(subscribeChatEvents(third, removed!, group.id, from)),
      messageAdded: track(subscribeMessages(second, removed!, group.id, from)),
    };
    const lists = [
      track(subscribeMyChats(second, removed!)),
      track(subscribeMyChats(third, removed!)),
    ];
    const witness = track(subscribeChatEvents(third, stays!, group.id, from));
    await untilLive(
      () => lists.every((feed) => listEventsFor(feed, group.id).length > 0),
      () => sendOk(first, owner!, group.id, 'probe'),
    );
    const probes = ids(await messagesAs(first, owner!, group.id)).slice(1);
    for (const [name, live] of Object.entries(theirs)) {
      await waitFor(() => (live.items as unknown[]).length >= probes.length, `${name}: probes`);
    }

    const removal = (await ok(removeMember(first, owner!, group.id, removed!))).removeChatMember;
    expect(memberIds(removal)).not.toContain(removed!.id);

    for (const name of ['chatEvents', 'chatEventsOnInstance3'] as const) {
      const live = theirs[name];
      await waitFor(() => live.completed, `${name}: complete`);
      expect(live.items.at(-1), name).toMatchObject({
        __typename: 'MembersChanged',
        change: 'REMOVED',
        actor: { id: owner!.id },
        users: [{ id: removed!.id }],
        message: { kind: 'SYSTEM' },
      });
      expect(live.items.slice(0, -1).map((event) => event.message.id)).toEqual(probes);
    }
    await waitFor(() => theirs.messageAdded.completed, 'messageAdded: complete');
    expect(ids(theirs.messageAdded.items)).toEqual([
      ...probes,
      theirs.chatEvents.items.at(-1)!.message.id,
    ]);
    for (const feed of lists) {
      await waitFor(
        () => listEventsFor(feed, group.id).some((event) => event.change === 'REMOVED'),
        'myChats: REMOVED',
      );
    }

    // At once everywhere: no send, no new subscription, no chat.
    expectCode(await sendText(third, removed!, group.id, 'still here?'), 'FORBIDDEN');
    expect(await chatAs(second, removed!, group.id)).toBeNull();
    const again = track(subscribeChatEvents(third, removed!, group.id, from));
    await waitFor(() => again.codes().length > 0, 'the new subscription refused');
    expect(again.codes()).toContain('FORBIDDEN');

    // A message sent on instance 3 reaches the member who stays, and nothing of the removed one.
    const received = () => [
      ...Object.values(theirs).map((live) => live.items.length),
      ...lists.map((feed) => feed.items.length),
    ];
    const counts = received();
    const later = await sendOk(third, owner!, group.id, 'after the removal');
    await waitFor(
      () => witness.items.some((event) => event.message.id === later.id),
      'the member who stays gets it',
    );
    await sleep(GRACE);
    expect(received()).toEqual(counts);
    expect(again.items).toEqual([]);
    for (const feed of lists) expect(listEventsFor(feed, group.id).at(-1)!.change).toBe('REMOVED');
    const everything = JSON.stringify([Object.values(theirs), lists, again]);
    expect(everything).not.toContain('after the removal');
    expect(everything).not.toContain(later.id);
  });

  it('a member leaving on instance 1 gets LEFT on instance 2, then their subscriptions complete; nothing later reaches them', async () => {
    const [first, second, third] = [on(0), on(1), on(2)];
    const [owner, stays, leaver] = await Promise.all([
      registerUser(first),
      registerUser(second),
      registerUser(third),
    ]);
    const group = await createGroup(first, owner!, [stays!, leaver!]);
    const from = await firstCursorAs(owner!, group.id, first);
    const events = track(subscribeChatEvents(second, leaver!, group.id, from));
    const messages = track(subscribeMessages(second, leaver!, group.id, from));
    const list = track(subscribeMyChats(second, leaver!));
    const witness = track(subscribeChatEvents(third, stays!, group.id, from));
    await untilLive(
      () => listEventsFor(list, group.id).length > 0,
      () => sendOk(third, owner!, group.id, 'probe'),
    );

    expect(await ok(leaveChat(first, leaver!, group.id))).toEqual({ leaveChat: true });
    await waitFor(() => events.completed && messages.completed, 'both subscriptions complete');
    const left = events.items.at(-1)!;
    expect(left).toMatchObject({
      __typename: 'MembersChanged',
      change: 'LEFT',
      actor: { id: leaver!.id },
      users: [{ id: leaver!.id }],
    });
    expect(messages.items.at(-1)).toEqual(left.message);
    await waitFor(
      () => listEventsFor(list, group.id).some((event) => event.change === 'REMOVED'),
      'myChats: REMOVED',
    );

    const counts = [events.items.length, messages.items.length, list.items.length];
    const later = await sendOk(third, owner!, group.id, 'after leaving');
    await waitFor(() => witness.items.some((e) => e.message.id === later.id), 'the witness');
    await sleep(GRACE);
    expect([events.items.length, messages.items.length, list.items.length]).toEqual(counts);
    expect(JSON.stringify([events.items, messages.items, list.items])).not.toContain(
      'after leaving',
    );
  });
});

describe('the member cap when adds race on three instances', () => {
  it('two adds of two users for the last two places, on two instances at once: exactly one succeeds, 5 members', async () => {
    for (let round = 0; round < 4; round++) {
      const [owner, admin, member, x1, x2, y1, y2] = await Promise.all(
        Array.from({ length: 7 }, (_, index) => registerUser(on(index))),
      );
      const group = await createGroup(on(round), owner!, [admin!, member!]);
      await ok(setRole(on(round), owner!, group.id, admin!, 'ADMIN'));

      const results = await Promise.all([
        addMembers(on(round), owner!, group.id, [x1!, x2!]),
        addMembers(on(round + 1), admin!, group.id, [y1!, y2!]),
      ]);
      const outcome = JSON.stringify(results);
      expect(
        results.filter((result) => !result.errors?.length),
        outcome,
      ).toHaveLength(1);
      expect(results.flatMap(codesOf), outcome).toEqual(['BAD_USER_INPUT']);
      const [winners, losers] = results[0]!.errors?.length
        ? [
            [y1!, y2!],
            [x1!, x2!],
          ]
        : [
            [x1!, x2!],
            [y1!, y2!],
          ];

      const chat = await groupAs(on(round + 2), member!, group.id);
      expect(chat.members.totalCount, outcome).toBe(CAP);
      expect(new Set(memberIds(chat))).toEqual(new Set(ids([owner!, admin!, member!, ...winners])));
      for (const loser of losers) expect(await chatAs(on(round), loser, group.id)).toBeNull();
      // One ADDED in history: CREATED, ROLE_CHANGED, ADDED.
      const history = await messagesAs(on(round + 2), owner!, group.id);
      expect(history.map((message) => message.kind)).toEqual(['SYSTEM', 'SYSTEM', 'SYSTEM']);
    }
  });

  it('three adds of one user for the last two places, on three instances at once: two succeed, 5 members', async () => {
    for (let round = 0; round < 3; round++) {
      const [owner, a1, a2, x, y, z] = await Promise.all(
        Array.from({ length: 6 }, (_, index) => registerUser(on(index))),
      );
      const group = await createGroup(on(round), owner!, [a1!, a2!]);
      await ok(setRole(on(round), owner!, group.id, a1!, 'ADMIN'));
      await ok(setRole(on(round), owner!, group.id, a2!, 'ADMIN'));

      const results = await Promise.all([
        addMembers(on(round), owner!, group.id, [x!]),
        addMembers(on(round + 1), a1!, group.id, [y!]),
        addMembers(on(round + 2), a2!, group.id, [z!]),
      ]);
      const outcome = JSON.stringify(results);
      expect(
        results.filter((result) => !result.errors?.length),
        outcome,
      ).toHaveLength(2);
      expect(results.flatMap(codesOf), outcome).toEqual(['BAD_USER_INPUT']);
      const added = [x!, y!, z!].filter((_, index) => !results[index]!.errors?.length);

      const chat = await groupAs(on(round + 1), owner!, group.id);
      expect(chat.members.totalCount, outcome).toBe(CAP);
      expect(new Set(memberIds(chat))).toEqual(new Set(ids([owner!, a1!, a2!, ...added])));
    }
  });
});
