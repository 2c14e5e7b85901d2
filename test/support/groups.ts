/**
 * Group chats through the public API only (GraphQL over HTTP and graphql-ws), shared by
 * test/groups.test.ts and test/groups-legacy.test.ts: the operations, a `gqlOk` that throws on
 * errors, and live subscriptions that record what they receive, their errors and their end.
 */
import { createClient } from 'graphql-ws';
import { expect } from 'vitest';
import { WebSocket } from 'ws';
import type { GraphQLResponse } from './graphql-http.js';
import type { TestServer } from './server.js';

/** A test server or a cluster instance: anything with GraphQL over HTTP and a graphql-ws URL. */
export type Target = Pick<TestServer, 'gql' | 'wsUrl'>;

/** Whoever calls: a user's id and token (registered over GraphQL or REST). */
export interface Caller {
  id: string;
  token: string;
}

export type Role = 'OWNER' | 'ADMIN' | 'MEMBER';

// --- documents ---------------------------------------------------------------------------------

const CHAT_FIELDS = /* GraphQL */ `
  fragment GroupChatFields on Chat {
    id
    kind
    title
    viewerRole
    createdAt
    lastMessagePreview
    otherUser {
      id
    }
    participants {
      id
    }
    members(first: 20) {
      totalCount
      edges {
        cursor
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
`;

export const CREATE_GROUP = /* GraphQL */ `
  mutation CreateGroup($title: String!, $memberIds: [ID!]!) {
    createGroupChat(title: $title, memberIds: $memberIds) {
      ...GroupChatFields
    }
  }
  ${CHAT_FIELDS}
`;

export const RENAME = /* GraphQL */ `
  mutation Rename($chatId: ID!, $title: String!) {
    renameChat(chatId: $chatId, title: $title) {
      ...GroupChatFields
    }
  }
  ${CHAT_FIELDS}
`;

export const ADD_MEMBERS = /* GraphQL */ `
  mutation AddMembers($chatId: ID!, $userIds: [ID!]!, $shareHistory: Boolean) {
    addChatMembers(chatId: $chatId, userIds: $userIds, shareHistory: $shareHistory) {
      ...GroupChatFields
    }
  }
  ${CHAT_FIELDS}
`;

export const REMOVE_MEMBER = /* GraphQL */ `
  mutation RemoveMember($chatId: ID!, $userId: ID!) {
    removeChatMember(chatId: $chatId, userId: $userId) {
      ...GroupChatFields
    }
  }
  ${CHAT_FIELDS}
`;

export const LEAVE = /* GraphQL */ `
  mutation Leave($chatId: ID!) {
    leaveChat(chatId: $chatId)
  }
`;

export const SET_ROLE = /* GraphQL */ `
  mutation SetRole($chatId: ID!, $userId: ID!, $role: ChatRole!) {
    setChatMemberRole(chatId: $chatId, userId: $userId, role: $role) {
      ...GroupChatFields
    }
  }
  ${CHAT_FIELDS}
`;

export const CHAT = /* GraphQL */ `
  query Chat($id: ID!) {
    chat(id: $id) {
      ...GroupChatFields
    }
  }
  ${CHAT_FIELDS}
`;

export const SEND_MESSAGE = /* GraphQL */ `
  mutation SendMessage($chatId: ID!, $content: String!) {
    sendMessage(chatId: $chatId, content: $content) {
      id
      kind
      content
      cursor
    }
  }
`;

const MESSAGE_FIELDS = /* GraphQL */ `
  fragment TimelineMessage on Message {
    id
    kind
    content
    cursor
    sender {
      id
    }
  }
`;

export const HISTORY = /* GraphQL */ `
  query History($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    chat(id: $id) {
      id
      messages(first: $first, after: $after, last: $last, before: $before) {
        edges {
          cursor
          node {
            ...TimelineMessage
          }
        }
        pageInfo {
          hasNextPage
          hasPreviousPage
        }
      }
    }
  }
  ${MESSAGE_FIELDS}
`;

export const CHAT_EVENTS = /* GraphQL */ `
  subscription ChatEvents($chatId: ID!, $after: String) {
    chatEvents(chatId: $chatId, after: $after) {
      __typename
      cursor
      chatId
      seq
      ... on MessageAdded {
        message {
          ...TimelineMessage
        }
      }
      ... on MembersChanged {
        change
        role
        actor {
          id
        }
        users {
          id
        }
        message {
          ...TimelineMessage
        }
      }
      ... on ChatRenamed {
        title
        actor {
          id
        }
        message {
          ...TimelineMessage
        }
      }
    }
  }
  ${MESSAGE_FIELDS}
`;

export const MESSAGE_ADDED = /* GraphQL */ `
  subscription MessageAdded($chatId: ID!, $after: String) {
    messageAdded(chatId: $chatId, after: $after) {
      ...TimelineMessage
    }
  }
  ${MESSAGE_FIELDS}
`;

export const MY_CHATS = /* GraphQL */ `
  subscription MyChats {
    myChats {
      change
      chat {
        id
        kind
        title
        lastMessagePreview
        lastMessage {
          id
          kind
        }
      }
    }
  }
`;

// --- shapes ------------------------------------------------------------------------------------

export interface Member {
  role: Role;
  joinedAt: string;
  user: { id: string };
}

export interface GroupChat {
  id: string;
  kind: 'DIRECT' | 'GROUP';
  title: string | null;
  viewerRole: Role | null;
  createdAt: string;
  lastMessagePreview: string | null;
  otherUser: { id: string } | null;
  participants: { id: string }[];
  members: {
    totalCount: number;
    edges: { cursor: string; node: Member }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

export interface TimelineMessage {
  id: string;
  kind: 'TEXT' | 'SYSTEM';
  content: string;
  cursor: string;
  sender: { id: string };
}

export interface HistoryPage {
  edges: { cursor: string; node: TimelineMessage }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean };
}

export interface TimelineEvent {
  __typename: 'MessageAdded' | 'MembersChanged' | 'ChatRenamed';
  cursor: string;
  chatId: string;
  seq: number | null;
  message: TimelineMessage;
  change?: 'CREATED' | 'ADDED' | 'REMOVED' | 'LEFT' | 'ROLE_CHANGED';
  role?: Role | null;
  actor?: { id: string };
  users?: { id: string }[];
  title?: string;
}

export interface ChatListEvent {
  change: 'ADDED' | 'UPDATED' | 'REMOVED';
  chat: {
    id: string;
    kind: 'DIRECT' | 'GROUP';
    title: string | null;
    lastMessagePreview: string | null;
    lastMessage: { id: string; kind: string } | null;
  };
}

// --- calls -------------------------------------------------------------------------------------

/** The data of a response that must have succeeded; throws with the whole response otherwise. */
export async function ok<Data>(response: Promise<GraphQLResponse<Data>>): Promise<Data> {
  const answer = await response;
  if (answer.errors?.length || !answer.data) {
    throw new Error(`GraphQL failed: ${JSON.stringify(answer)}`);
  }
  return answer.data;
}

/** POSTs an operation that must succeed and returns its data. */
export const gqlOk = <Data = Record<string, unknown>>(
  target: Target,
  query: string,
  variables: Record<string, unknown>,
  caller?: Caller,
) => ok(target.gql<Data>(query, variables, caller?.token));

/** The `extensions.code` of each error of a response. */
export const codesOf = (response: GraphQLResponse<unknown>) =>
  (response.errors ?? []).map((error) => error.extensions?.code);

/** Asserts that the response failed with `code` (and returned no data for the field). */
export function expectCode(response: GraphQLResponse<unknown>, code: string, what = ''): void {
  expect(codesOf(response), `${what} ${JSON.stringify(response)}`).toContain(code);
  const data = response.data as Record<string, unknown> | null | undefined;
  for (const value of Object.values(data ?? {})) expect(value, what).toBeNull();
}

let groups = 0;

/** Opens a group as `owner` with `members`; returns the Chat as the owner reads it. */
export async function createGroup(
  target: Target,
  owner: Caller,
  members: Caller[],
  title = `group ${++groups}`,
): Promise<GroupChat> {
  const data = await gqlOk<{ createGroupChat: GroupChat }>(
    target,
    CREATE_GROUP,
    { title, memberIds: members.map((member) => member.id) },
    owner,
  );
  return data.createGroupChat;
}

export const renameChat = (target: Target, caller: Caller, chatId: string, title: string) =>
  target.gql<{ renameChat: GroupChat }>(RENAME, { chatId, title }, caller.token);

export const addMembers = (
  target: Target,
  caller: Caller,
  chatId: string,
  users: Caller[],
  shareHistory?: boolean,
) =>
  target.gql<{ addChatMembers: GroupChat }>(
    ADD_MEMBERS,
    { chatId, userIds: users.map((user) => user.id), shareHistory },
    caller.token,
  );

export const removeMember = (target: Target, caller: Caller, chatId: string, user: Caller) =>
  target.gql<{ removeChatMember: GroupChat }>(
    REMOVE_MEMBER,
    { chatId, userId: user.id },
    caller.token,
  );

export const leaveChat = (target: Target, caller: Caller, chatId: string) =>
  target.gql<{ leaveChat: boolean }>(LEAVE, { chatId }, caller.token);

export const setRole = (target: Target, caller: Caller, chatId: string, user: Caller, role: Role) =>
  target.gql<{ setChatMemberRole: GroupChat }>(
    SET_ROLE,
    { chatId, userId: user.id, role },
    caller.token,
  );

export const sendText = (target: Target, caller: Caller, chatId: string, content: string) =>
  target.gql<{ sendMessage: TimelineMessage }>(SEND_MESSAGE, { chatId, content }, caller.token);

/** Sends a message that must be stored; returns it. */
export async function sendOk(target: Target, caller: Caller, chatId: string, content: string) {
  return (await ok(sendText(target, caller, chatId, content))).sendMessage;
}

/** The chat as `caller` reads it (null when it is not theirs). */
export async function chatAs(target: Target, caller: Caller, chatId: string) {
  return (await gqlOk<{ chat: GroupChat | null }>(target, CHAT, { id: chatId }, caller)).chat;
}

/** The chat as `caller` reads it, which must be visible to them. */
export async function groupAs(target: Target, caller: Caller, chatId: string): Promise<GroupChat> {
  const chat = await chatAs(target, caller, chatId);
  if (!chat) throw new Error(`chat ${chatId} is not visible to ${caller.id}`);
  return chat;
}

/** `user`'s entry in the chat's members (fails when they are not listed). */
export function memberEntry(chat: GroupChat, user: Caller): Member {
  const edge = chat.members.edges.find((each) => each.node.user.id === user.id);
  if (!edge) throw new Error(`${user.id} is not a member of ${chat.id}: ${JSON.stringify(chat)}`);
  return edge.node;
}

/** One page of `caller`'s history of the chat (null when `chat(id)` is null for them). */
export async function historyAs(
  target: Target,
  caller: Caller,
  chatId: string,
  page: { first?: number; after?: string; last?: number; before?: string } = { first: 100 },
): Promise<HistoryPage | null> {
  const data = await gqlOk<{ chat: { messages: HistoryPage } | null }>(
    target,
    HISTORY,
    { id: chatId, ...page },
    caller,
  );
  return data.chat?.messages ?? null;
}

/** `caller`'s whole history of the chat, oldest first (fails when they cannot see the chat). */
export async function messagesAs(target: Target, caller: Caller, chatId: string) {
  const page = await historyAs(target, caller, chatId);
  if (!page) throw new Error(`chat ${chatId} is not visible to ${caller.id}`);
  return page.edges.map((edge) => edge.node);
}

/** The member ids of a chat, in the order listed. */
export const memberIds = (chat: GroupChat) => chat.members.edges.map((edge) => edge.node.user.id);

/** Each member's role, by user id. */
export const rolesOf = (chat: GroupChat) =>
  Object.fromEntries(chat.members.edges.map((edge) => [edge.node.user.id, edge.node.role]));

// --- live subscriptions ------------------------------------------------------------------------

export interface Live<Item> {
  /** Every item received, in order. */
  items: Item[];
  /** GraphQL errors (from `error`, or errors-only results) and transport errors. */
  errors: unknown[];
  /** True once the server completed the subscription (graphql-ws `complete`). */
  completed: boolean;
  /** The `extensions.code` of each GraphQL error received. */
  codes(): unknown[];
  close(): Promise<void>;
}

/**
 * Subscribes over graphql-ws (token in `connection_init`, as Apollo does) on its own connection;
 * `pick` takes an item out of each result's data.
 */
export function subscribe<Item>(
  target: Target,
  caller: Caller,
  query: string,
  variables: Record<string, unknown>,
  pick: (data: Record<string, unknown>) => Item,
): Live<Item> {
  const client = createClient({
    url: target.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${caller.token}` },
    retryAttempts: 0,
  });
  const live: Live<Item> = {
    items: [],
    errors: [],
    completed: false,
    codes: () =>
      live.errors.flatMap((error) =>
        Array.isArray(error)
          ? error.map((item: { extensions?: { code?: unknown } }) => item.extensions?.code)
          : [],
      ),
    close: async () => {
      stop();
      await client.dispose();
    },
  };
  const stop = client.subscribe<Record<string, unknown>>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors?.length) live.errors.push(result.errors);
        if (result.data) live.items.push(pick(result.data));
      },
      error: (error) => live.errors.push(error),
      complete: () => {
        live.completed = true;
      },
    },
  );
  return live;
}

export const subscribeChatEvents = (
  target: Target,
  caller: Caller,
  chatId: string,
  after?: string,
) =>
  subscribe(
    target,
    caller,
    CHAT_EVENTS,
    { chatId, after },
    (data) => data.chatEvents as TimelineEvent,
  );

export const subscribeMessages = (target: Target, caller: Caller, chatId: string, after?: string) =>
  subscribe(
    target,
    caller,
    MESSAGE_ADDED,
    { chatId, after },
    (data) => data.messageAdded as TimelineMessage,
  );

export const subscribeMyChats = (target: Target, caller: Caller) =>
  subscribe(target, caller, MY_CHATS, {}, (data) => data.myChats as ChatListEvent);
