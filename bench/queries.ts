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
