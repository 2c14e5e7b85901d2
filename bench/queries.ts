/** The GraphQL documents the benchmark sends. */

export const REGISTER = /* GraphQL */ `
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      accessToken
      user {
        id
        username
      }
    }
  }
`;

export const CREATE_CHAT = /* GraphQL */ `
  mutation CreateChat($otherUserId: ID!) {
    createChat(otherUserId: $otherUserId) {
      id
    }
  }
`;

export const SEND_MESSAGE = /* GraphQL */ `
  mutation Send($chatId: ID!, $content: String!) {
    sendMessage(chatId: $chatId, content: $content) {
      id
      createdAt
    }
  }
`;

/** Scenario 1: the chat list as the client's dashboard asks for it. */
export const CHATS_PAGE = /* GraphQL */ `
  query ChatsPage($first: Int!) {
    chats(first: $first) {
      edges {
        cursor
        node {
          id
          createdAt
          otherUser {
            id
            username
            firstName
            lastName
            isOnline
          }
          lastMessage {
            id
            content
            createdAt
            isOwn
            sender {
              id
              username
              firstName
              lastName
            }
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

/** Scenario 2: a page of a chat's history with its senders. */
export const HISTORY_PAGE = /* GraphQL */ `
  query History($chatId: ID!, $last: Int!) {
    chat(id: $chatId) {
      id
      messages(last: $last) {
        edges {
          cursor
          node {
            id
            content
            createdAt
            isOwn
            sender {
              id
              username
              firstName
              lastName
            }
          }
        }
        pageInfo {
          hasPreviousPage
          startCursor
        }
      }
    }
  }
`;

/** What a chat screen subscribes to. */
export const MESSAGE_ADDED = /* GraphQL */ `
  subscription MessageAdded($chatId: ID!) {
    messageAdded(chatId: $chatId) {
      id
      content
      createdAt
      isOwn
      sender {
        id
        username
        firstName
        lastName
      }
    }
  }
`;

export const TYPENAME = '{ __typename }';

/** What a resuming chat screen subscribes to (scenario 9): the message and where it stands. */
const RESUMED_MESSAGE = /* GraphQL */ `
  id
  content
  createdAt
  isOwn
  sender {
    id
    username
    firstName
    lastName
  }
`;

/** Scenario 9: messageAdded from a position (`cursor` is the position of the message). */
export const MESSAGE_ADDED_AFTER = /* GraphQL */ `
  subscription MessageAddedAfter($chatId: ID!, $after: String) {
    messageAdded(chatId: $chatId, after: $after) {
      cursor
      ${RESUMED_MESSAGE}
    }
  }
`;

/** Scenario 9: the chat's event feed from a position, the same message fields. */
export const CHAT_EVENTS_AFTER = /* GraphQL */ `
  subscription ChatEventsAfter($chatId: ID!, $after: String) {
    chatEvents(chatId: $chatId, after: $after) {
      cursor
      seq
      ... on MessageAdded {
        message {
          ${RESUMED_MESSAGE}
        }
      }
    }
  }
`;

/** Scenario 9: a chat's history, oldest first, paged forwards (the order resumes must keep). */
export const HISTORY_FORWARDS = /* GraphQL */ `
  query HistoryForwards($chatId: ID!, $after: String) {
    chat(id: $chatId) {
      messages(first: 100, after: $after) {
        edges {
          node {
            id
            content
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

/** Scenarios 3 and 10: a group with the caller as its OWNER. */
export const CREATE_GROUP_CHAT = /* GraphQL */ `
  mutation CreateGroupChat($title: String!, $memberIds: [ID!]!) {
    createGroupChat(title: $title, memberIds: $memberIds) {
      id
      kind
      members(first: 1) {
        totalCount
      }
    }
  }
`;

/**
 * Scenario 3 (issue 14): the chat list of a user with one-to-one and group chats, with a page of
 * each chat's members and their roles.
 */
export const MIXED_CHATS_PAGE = /* GraphQL */ `
  query MixedChatsPage($first: Int!) {
    chats(first: $first) {
      edges {
        cursor
        node {
          id
          kind
          title
          createdAt
          otherUser {
            id
            username
          }
          lastMessage {
            id
            content
            createdAt
            sender {
              id
              username
            }
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
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

/** Scenario 10: a group member's screen of the chat's timeline (no field depends on the viewer). */
export const CHAT_EVENTS = /* GraphQL */ `
  subscription ChatEvents($chatId: ID!) {
    chatEvents(chatId: $chatId) {
      cursor
      seq
      ... on MessageAdded {
        message {
          id
          content
          createdAt
        }
      }
    }
  }
`;

/** Scenario 3 (issue 15): the chats page with unread badges and "seen" ticks. */
export const READ_STATE_CHATS_PAGE = /* GraphQL */ `
  query ReadStateChatsPage($first: Int!) {
    chats(first: $first) {
      edges {
        node {
          id
          unreadCount
          readPositions {
            user {
              id
            }
            cursor
            readAt
          }
        }
      }
    }
  }
`;

/** Scenario 3 (issue 16): a group's history with each message's reactions and what it replies to. */
export const REACTIONS_HISTORY_PAGE = /* GraphQL */ `
  query ReactionsHistoryPage($chatId: ID!, $last: Int!) {
    chat(id: $chatId) {
      messages(last: $last) {
        edges {
          node {
            id
            content
            editedAt
            isDeleted
            sender {
              id
              username
            }
            reactions {
              emoji
              count
              reactedByMe
              users {
                id
                username
              }
            }
            replyTo {
              id
              content
              isDeleted
              sender {
                id
              }
            }
          }
        }
      }
    }
  }
`;

export const SEND_REPLY = /* GraphQL */ `
  mutation SendReply($chatId: ID!, $content: String!, $replyTo: ID) {
    sendMessage(chatId: $chatId, content: $content, replyTo: $replyTo) {
      id
    }
  }
`;

export const ADD_REACTION = /* GraphQL */ `
  mutation AddReaction($messageId: ID!, $emoji: String!) {
    addReaction(messageId: $messageId, emoji: $emoji) {
      id
    }
  }
`;
