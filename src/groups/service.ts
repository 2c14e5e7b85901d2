/**
 * Group chats: members with roles, and who may change what. Every change is an event on the
 * group's timeline, decided against the group exactly as it stands just before that event (see
 * addGroupEvent), so two changes that race — two adds at the member cap, a removal and a role
 * change — never both pass on a state the other has changed, on MongoDB and FerretDB alike.
 *
 * | who          | add members | remove members                 | rename | change roles |
 * | ------------ | ----------- | ------------------------------ | ------ | ------------ |
 * | OWNER        | yes         | yes                            | yes    | yes          |
 * | ADMIN        | yes         | MEMBERs only                   | yes    | no           |
 * | MEMBER       | no          | no                             | no     | no           |
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  toPublicUser,
  type ChatDoc,
  type ChatRole,
  type GroupMember,
  type GroupState,
  type MembershipChange,
  type PublicUser,
  type UserDoc,
} from '../db/documents.js';
import { badInput, forbidden, notFound } from '../errors.js';
import {
  buildPage,
  checkPageSize,
  decodeCursor,
  encodeCursor,
  type Edge,
  type Page,
} from '../pagination.js';
import { requireViewer, type RequestScope } from '../request/scope.js';
import { insertChat } from '../chats/repository.js';
import { requireMembership } from '../chats/service.js';
import { addGroupEvent, type GroupAt, type GroupEventDraft } from '../timeline/service.js';
import { id, MAX_LENGTH, parseInput } from '../validation.js';

const title = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_LENGTH.name, `must be at most ${MAX_LENGTH.name} characters`);
const userIds = z
  .array(id)
  .max(100_000)
  .transform((ids) => [...new Set(ids)]);

export const MANAGERS: readonly ChatRole[] = ['OWNER', 'ADMIN'];

const memberOf = (state: GroupState, userId: string) =>
  state.members.find((member) => member.user_id === userId);

/** The actor's role, which must be one of `allowed`. */
function requireRole(state: GroupState, actorId: string, allowed: readonly ChatRole[]) {
  const actor = memberOf(state, actorId);
  if (!actor) throw forbidden('User not in chat');
  if (!allowed.includes(actor.role)) throw forbidden(`Only ${allowed.join(' or ')} may do this`);
  return actor;
}

const displayName = (user: PublicUser) => `${user.first_name} ${user.last_name}`.trim();
/** Names in a SYSTEM message: a few, then how many more (it is also the chat's preview). */
const NAMES_SHOWN = 3;
const listed = (users: PublicUser[]) => {
  const names = users.slice(0, NAMES_SHOWN).map(displayName);
  if (users.length > NAMES_SHOWN) names.push(`${users.length - NAMES_SHOWN} others`);
  return names.length > 1
    ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`
    : (names[0] ?? '');
};

/** The users behind `ids`, or NOT_FOUND naming the first unknown one. */
async function requireUsers(scope: RequestScope, ids: string[]): Promise<UserDoc[]> {
  const found = await scope.loaders.users.loadMany(ids);
  return found.map((user, index) => {
    if (!user || user instanceof Error) throw notFound(`User ${ids[index]} not found`);
    return user;
  });
}

/** A group the caller is in; a one-to-one chat is BAD_USER_INPUT. */
async function requireGroup(scope: RequestScope, chatId: string): Promise<ChatDoc> {
  const chat = await requireMembership(scope, chatId);
  if (chat.kind !== 'group') throw badInput('This is not a group chat', 'chatId');
  return chat;
}

function membersDraft(
  actorId: string,
  change: MembershipChange,
  users: string[],
  state: GroupState,
  content: string,
  role?: ChatRole,
): GroupEventDraft {
  return {
    type: 'members',
    change: { actor_id: actorId, change, user_ids: users, ...(role ? { role } : {}), state },
    content,
  };
}

/** The chat as the change left it (read again: its document was just written). */
async function reread(scope: RequestScope, chatId: string): Promise<ChatDoc> {
  scope.loaders.chats.clear(chatId);
  const chat = await scope.loaders.chats.load(chatId);
  if (!chat) throw notFound('Chat not found');
  return chat;
}

function newMember(userId: string, role: ChatRole, seq: number, allHistory: boolean): GroupMember {
  return {
    user_id: userId,
    role,
    joined_at: new Date(),
    joined_seq: seq,
    visible_from: allHistory ? 1 : seq,
  };
}

/** Opens a group: the caller its OWNER, `memberIds` its MEMBERs. */
export async function createGroupChat(
  scope: RequestScope,
  input: { title: string; memberIds: string[] },
): Promise<ChatDoc> {
  const viewer = requireViewer(scope);
  const groupTitle = parseInput(title, input.title);
  const others = parseInput(userIds, input.memberIds).filter((userId) => userId !== viewer.user_id);
  const { maxGroupMembers } = scope.app.config;
  if (others.length + 1 > maxGroupMembers) {
    throw badInput(`A group has at most ${maxGroupMembers} members`, 'memberIds');
  }
  const members = await requireUsers(scope, others);
  const chat: ChatDoc = {
    chat_id: randomUUID(),
    kind: 'group',
    title: groupTitle,
    // Nobody sees it until its first event (CREATED) gives it its members.
    participants: [],
    members: [],
    group_seq: 0,
    created_at: new Date(),
    last_message: null,
    last_message_time: null,
    legacy_messages: false,
    paged: true,
  };
  await insertChat(scope.app.db, `group:${chat.chat_id}`, chat);
  const actor = toPublicUser(viewer);
  const done = await addGroupEvent(scope.app, chat, actor, ({ state }, seq) =>
    state.members.length > 0
      ? null
      : membersDraft(
          viewer.user_id,
          'CREATED',
          [viewer.user_id, ...others],
          {
            title: groupTitle,
            members: [
              newMember(viewer.user_id, 'OWNER', seq, true),
              ...others.map((userId) => newMember(userId, 'MEMBER', seq, true)),
            ],
          },
          `${displayName(actor)} created “${groupTitle}” with ${listed(members) || 'nobody else yet'}`,
        ),
  );
  const created = await reread(scope, chat.chat_id);
  if (done)
    announce(
      scope,
      created,
      'ADDED',
      done.group.state.members.map((m) => m.user_id),
      0,
    );
  return created;
}

/** Tells users their chat list changed (a group they were added to or removed from). */
function announce(
  scope: RequestScope,
  chat: ChatDoc,
  change: 'ADDED' | 'REMOVED',
  users: string[],
  from?: number,
) {
  if (users.length === 0) return;
  scope.app.bus.publishChatListChange({ type: 'chat-list', change, chat, userIds: users, from });
}

/** Renames a group (OWNER or ADMIN). */
export async function renameChat(scope: RequestScope, chatId: string, newTitle: string) {
  const viewer = requireViewer(scope);
  const groupTitle = parseInput(title, newTitle);
  const chat = await requireGroup(scope, chatId);
  const actor = toPublicUser(viewer);
  await addGroupEvent(scope.app, chat, actor, ({ state }) => {
    requireRole(state, viewer.user_id, MANAGERS);
    if (state.title === groupTitle) return null;
    return {
      type: 'renamed',
      change: { actor_id: viewer.user_id, user_ids: [], state: { ...state, title: groupTitle } },
      content: `${displayName(actor)} renamed the group to “${groupTitle}”`,
    };
  });
  return reread(scope, chat.chat_id);
}

/**
 * Adds users (OWNER or ADMIN); those already in the group are left as they are. An add past
 * MAX_GROUP_MEMBERS is refused as a whole.
 */
export async function addChatMembers(
  scope: RequestScope,
  input: { chatId: string; userIds: string[]; shareHistory?: boolean | null },
) {
  const viewer = requireViewer(scope);
  const ids = parseInput(userIds, input.userIds);
  const { maxGroupMembers } = scope.app.config;
  if (ids.length > maxGroupMembers) {
    throw badInput(`A group has at most ${maxGroupMembers} members`, 'userIds');
  }
  const chat = await requireGroup(scope, input.chatId);
  const users = new Map((await requireUsers(scope, ids)).map((user) => [user.user_id, user]));
  const actor = toPublicUser(viewer);
  let added: string[] = [];
  const done = await addGroupEvent(scope.app, chat, actor, ({ state }: GroupAt, seq) => {
    requireRole(state, viewer.user_id, MANAGERS);
    added = ids.filter((userId) => !memberOf(state, userId));
    if (added.length === 0) return null;
    if (state.members.length + added.length > maxGroupMembers) {
      throw badInput(`A group has at most ${maxGroupMembers} members`, 'userIds');
    }
    const members = added.map((userId) =>
      newMember(userId, 'MEMBER', seq, input.shareHistory === true),
    );
    return membersDraft(
      viewer.user_id,
      'ADDED',
      added,
      { ...state, members: [...state.members, ...members] },
      `${displayName(actor)} added ${listed(added.map((userId) => users.get(userId)!))}`,
    );
  });
  const updated = await reread(scope, chat.chat_id);
  // Their part of the chat starts with the event that added them.
  if (done) announce(scope, updated, 'ADDED', added, done.message.seq - 1);
  return updated;
}

/** Removes a member (OWNER or ADMIN; an ADMIN removes MEMBERs only). */
export async function removeChatMember(scope: RequestScope, chatId: string, userId: string) {
  const viewer = requireViewer(scope);
  const target = parseInput(id, userId);
  if (target === viewer.user_id) throw badInput('To leave a group, use leaveChat', 'userId');
  const chat = await requireGroup(scope, chatId);
  const [removed] = await requireUsers(scope, [target]);
  const actor = toPublicUser(viewer);
  const done = await addGroupEvent(scope.app, chat, actor, ({ state }) => {
    const me = requireRole(state, viewer.user_id, MANAGERS);
    const member = memberOf(state, target);
    if (!member) return null;
    if (me.role === 'ADMIN' && member.role !== 'MEMBER') {
      throw forbidden('An ADMIN cannot remove an OWNER or another ADMIN');
    }
    return membersDraft(
      viewer.user_id,
      'REMOVED',
      [target],
      { ...state, members: state.members.filter((each) => each.user_id !== target) },
      `${displayName(actor)} removed ${displayName(removed!)}`,
    );
  });
  const updated = await reread(scope, chat.chat_id);
  if (done) announce(scope, updated, 'REMOVED', [target]);
  return updated;
}

/**
 * The caller leaves a group. The last OWNER leaving hands ownership to the longest-standing
 * ADMIN, else MEMBER (in the same event's state, then told in a ROLE_CHANGED event); the last
 * member leaving closes the group.
 */
export async function leaveChat(scope: RequestScope, chatId: string): Promise<boolean> {
  const viewer = requireViewer(scope);
  const chat = await requireGroup(scope, chatId);
  const actor = toPublicUser(viewer);
  let heir: GroupMember | undefined;
  const done = await addGroupEvent(scope.app, chat, actor, ({ state }) => {
    const me = memberOf(state, viewer.user_id);
    if (!me) return null;
    const rest = state.members.filter((member) => member.user_id !== viewer.user_id);
    heir = undefined;
    if (me.role === 'OWNER' && !rest.some((member) => member.role === 'OWNER')) {
      heir = successor(rest);
    }
    const members = rest.map((member) =>
      member.user_id === heir?.user_id ? { ...member, role: 'OWNER' as const } : member,
    );
    return membersDraft(
      viewer.user_id,
      'LEFT',
      [viewer.user_id],
      { ...state, members },
      `${displayName(actor)} left`,
    );
  });
  if (!done) return true;
  announce(scope, await reread(scope, chat.chat_id), 'REMOVED', [viewer.user_id]);
  const newOwner = heir;
  if (newOwner) {
    const [user] = await requireUsers(scope, [newOwner.user_id]);
    await addGroupEvent(scope.app, chat, actor, ({ state }) =>
      memberOf(state, newOwner.user_id)?.role === 'OWNER'
        ? membersDraft(
            viewer.user_id,
            'ROLE_CHANGED',
            [newOwner.user_id],
            state,
            `${displayName(user!)} is now an owner`,
            'OWNER',
          )
        : null,
    );
  }
  return true;
}

/** Who takes over a group whose last owner leaves: the longest-standing ADMIN, else MEMBER. */
function successor(members: GroupMember[]): GroupMember | undefined {
  const byStanding = [...members].sort((a, b) => a.joined_seq - b.joined_seq);
  return byStanding.find((member) => member.role === 'ADMIN') ?? byStanding[0];
}

const ROLE_WORDS: Record<ChatRole, string> = {
  OWNER: 'an owner',
  ADMIN: 'an admin',
  MEMBER: 'a member',
};

/** Gives a member another role (OWNER only); a group keeps at least one OWNER. */
export async function setChatMemberRole(
  scope: RequestScope,
  input: { chatId: string; userId: string; role: ChatRole },
) {
  const viewer = requireViewer(scope);
  const target = parseInput(id, input.userId);
  const chat = await requireGroup(scope, input.chatId);
  const [user] = await requireUsers(scope, [target]);
  const actor = toPublicUser(viewer);
  await addGroupEvent(scope.app, chat, actor, ({ state }) => {
    requireRole(state, viewer.user_id, ['OWNER']);
    const member = memberOf(state, target);
    if (!member) throw notFound('User is not a member of this group');
    if (member.role === input.role) return null;
    const members = state.members.map((each) =>
      each.user_id === target ? { ...each, role: input.role } : each,
    );
    if (!members.some((each) => each.role === 'OWNER')) {
      throw badInput('A group needs an OWNER: make someone else one first', 'role');
    }
    return membersDraft(
      viewer.user_id,
      'ROLE_CHANGED',
      [target],
      { ...state, members },
      `${displayName(actor)} made ${displayName(user!)} ${ROLE_WORDS[input.role]}`,
      input.role,
    );
  });
  return reread(scope, chat.chat_id);
}

export type MemberPage = Page<GroupMember> & { totalCount: number };
export type MemberPageEdge = Edge<GroupMember>;

const MAX_MEMBERS_PAGE = 100;
const memberCursor = z.tuple([z.number().int(), z.string()]);
const cursorOfMember = (member: GroupMember) => encodeCursor([member.joined_seq, member.user_id]);

/**
 * The members after a cursor's member, in the order they joined: after it in the list, or — if
 * it has left since — those who joined after it.
 */
function membersAfter(members: GroupMember[], [seq, userId]: [number, string]) {
  const index = members.findIndex((member) => member.user_id === userId);
  return index >= 0
    ? members.slice(index + 1)
    : members.filter((member) => member.joined_seq > seq);
}

/** A chat's members as a group lists them (a one-to-one chat: both participants, as MEMBER). */
export const membersOf = (chat: ChatDoc): GroupMember[] =>
  chat.kind === 'group'
    ? (chat.members ?? [])
    : chat.participants.map((userId) => ({
        user_id: userId,
        role: 'MEMBER',
        joined_at: chat.created_at,
        joined_seq: 0,
        visible_from: 1,
      }));

/** A page of a chat's members, longest-standing first (the chat is already read: no query). */
export function listMembers(
  chat: ChatDoc,
  args: { first?: number | null; after?: string | null },
): MemberPage {
  const size = checkPageSize(args.first, 'first', MAX_MEMBERS_PAGE) ?? 20;
  const after = args.after ? decodeCursor(memberCursor, args.after, 'after') : null;
  const members = membersOf(chat);
  const remaining = after ? membersAfter(members, after) : members;
  const edges = remaining.slice(0, size).map((node) => ({ cursor: cursorOfMember(node), node }));
  return {
    ...buildPage(edges, remaining.length > size, remaining.length < members.length),
    totalCount: members.length,
  };
}

/** The caller's role in a group; null in a one-to-one chat. */
export const roleOf = (chat: ChatDoc, userId: string | undefined): ChatRole | null =>
  chat.kind === 'group'
    ? (chat.members?.find((member) => member.user_id === userId)?.role ?? null)
    : null;
