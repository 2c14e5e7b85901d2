/**
 * Editing, deleting, reacting to and replying to messages (issue 16) through GraphQL: the
 * documents, the shapes they answer with, and the calls, shared by test/message-lifecycle*.
 */
import { gqlOk, type Caller, type Target } from './groups.js';

// --- documents ---------------------------------------------------------------------------------

const MESSAGE = /* GraphQL */ `
  fragment LifecycleMessage on Message {
    id
    content
    editedAt
    deletedAt
    isDeleted
    cursor
    reactions {
      emoji
      count
      reactedByMe
      users {
        id
      }
    }
    replyTo {
      id
      content
      isDeleted
    }
  }
`;

export const SEND = /* GraphQL */ `
  mutation Send($chatId: ID!, $content: String!, $replyTo: ID) {
    sendMessage(chatId: $chatId, content: $content, replyTo: $replyTo) {
      ...LifecycleMessage
    }
  }
  ${MESSAGE}
`;
const EDIT = /* GraphQL */ `
  mutation Edit($messageId: ID!, $content: String!) {
    editMessage(messageId: $messageId, content: $content) {
      ...LifecycleMessage
    }
  }
  ${MESSAGE}
`;
const DELETE = /* GraphQL */ `
  mutation Delete($messageId: ID!) {
    deleteMessage(messageId: $messageId) {
      ...LifecycleMessage
    }
  }
  ${MESSAGE}
`;
const ADD_REACTION = /* GraphQL */ `
  mutation AddReaction($messageId: ID!, $emoji: String!) {
    addReaction(messageId: $messageId, emoji: $emoji) {
      ...LifecycleMessage
    }
  }
  ${MESSAGE}
`;
const REMOVE_REACTION = /* GraphQL */ `
  mutation RemoveReaction($messageId: ID!, $emoji: String!) {
    removeReaction(messageId: $messageId, emoji: $emoji) {
      ...LifecycleMessage
    }
  }
  ${MESSAGE}
`;
const HISTORY = /* GraphQL */ `
  query History($id: ID!, $last: Int) {
    chat(id: $id) {
      lastMessagePreview
      lastMessage {
        id
      }
      messages(last: $last) {
        edges {
          node {
            ...LifecycleMessage
          }
        }
      }
    }
  }
  ${MESSAGE}
`;
export const CHAT_EVENTS = /* GraphQL */ `
  subscription Events($chatId: ID!, $after: String) {
    chatEvents(chatId: $chatId, after: $after) {
      __typename
      cursor
      seq
      ... on MessageAdded {
        message {
          ...LifecycleMessage
        }
      }
      ... on MessageEdited {
        message {
          ...LifecycleMessage
        }
      }
      ... on MessageDeleted {
        message {
          ...LifecycleMessage
        }
        actor {
          id
        }
      }
      ... on ReactionsChanged {
        message {
          ...LifecycleMessage
        }
        actor {
          id
        }
      }
    }
  }
  ${MESSAGE}
`;

// --- shapes and calls --------------------------------------------------------------------------

export interface Reaction {
  emoji: string;
  count: number;
  reactedByMe: boolean;
  users: { id: string }[];
}

export interface Message {
  id: string;
  content: string;
  editedAt: string | null;
  deletedAt: string | null;
  isDeleted: boolean;
  cursor: string;
  reactions: Reaction[];
  replyTo: { id: string; content: string; isDeleted: boolean } | null;
}

export interface TimelineEvent {
  __typename: string;
  cursor: string;
  seq: number;
  message: Message;
  actor?: { id: string };
}

export interface History {
  lastMessagePreview: string | null;
  lastMessage: { id: string } | null;
  messages: Message[];
}

/** The calls, against whichever server `target` names when they are made. */
export function lifecycleCalls(target: () => Target) {
  const send = async (caller: Caller, chatId: string, content: string, replyTo?: string) =>
    (await gqlOk<{ sendMessage: Message }>(target(), SEND, { chatId, content, replyTo }, caller))
      .sendMessage;
  const edit = (caller: Caller, messageId: string, content: string) =>
    target().gql<{ editMessage: Message }>(EDIT, { messageId, content }, caller.token);
  const remove = (caller: Caller, messageId: string) =>
    target().gql<{ deleteMessage: Message }>(DELETE, { messageId }, caller.token);
  const react = (caller: Caller, messageId: string, emoji: string) =>
    target().gql<{ addReaction: Message }>(ADD_REACTION, { messageId, emoji }, caller.token);
  const unreact = (caller: Caller, messageId: string, emoji: string) =>
    target().gql<{ removeReaction: Message }>(REMOVE_REACTION, { messageId, emoji }, caller.token);

  /** The chat's summary and its newest 100 messages as `caller` reads them. */
  async function historyAs(caller: Caller, chatId: string): Promise<History> {
    const data = await gqlOk<{
      chat: Omit<History, 'messages'> & { messages: { edges: { node: Message }[] } };
    }>(target(), HISTORY, { id: chatId, last: 100 }, caller);
    return { ...data.chat, messages: data.chat.messages.edges.map((edge) => edge.node) };
  }

  async function messageAs(caller: Caller, chatId: string, messageId: string) {
    const found = (await historyAs(caller, chatId)).messages.find((each) => each.id === messageId);
    if (!found) throw new Error(`message ${messageId} not in ${chatId}`);
    return found;
  }

  return { send, edit, remove, react, unreact, historyAs, messageAs };
}
