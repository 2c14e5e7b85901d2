import { randomUUID } from 'node:crypto';
import type { TestServer } from './server.js';

export interface TestUser {
  id: string;
  username: string;
  password: string;
  token: string;
  securityPhrase: string;
  email: string;
}

export const REGISTER = /* GraphQL */ `
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      accessToken
      tokenType
      user {
        id
        username
        firstName
        lastName
        email
        mobileNo
        isOnline
      }
    }
  }
`;

export function registrationInput(overrides: Record<string, string> = {}) {
  const suffix = randomUUID().slice(0, 8);
  return {
    firstName: 'Test',
    lastName: `User${suffix}`,
    mobileNo: '9876543210',
    email: `user-${suffix}@example.com`,
    username: `user_${suffix}`,
    password: `pw-${suffix}`,
    securityPhrase: 'My favourite colour is Blue',
    ...overrides,
  };
}

/** Registers a fresh user through the API and returns its credentials. */
export async function registerUser(
  server: Pick<TestServer, 'gql'>,
  overrides: Record<string, string> = {},
): Promise<TestUser> {
  const input = registrationInput(overrides);
  const response = await server.gql<{
    register: { accessToken: string; user: { id: string } };
  }>(REGISTER, { input });
  if (!response.data?.register) throw new Error(`register failed: ${JSON.stringify(response)}`);
  return {
    id: response.data.register.user.id,
    username: input.username,
    password: input.password,
    token: response.data.register.accessToken,
    securityPhrase: input.securityPhrase,
    email: input.email,
  };
}

export const CREATE_CHAT = /* GraphQL */ `
  mutation CreateChat($otherUserId: ID!) {
    createChat(otherUserId: $otherUserId) {
      id
    }
  }
`;

export async function createChat(
  server: Pick<TestServer, 'gql'>,
  a: TestUser,
  b: TestUser,
): Promise<string> {
  const response = await server.gql<{ createChat: { id: string } }>(
    CREATE_CHAT,
    { otherUserId: b.id },
    a.token,
  );
  if (!response.data?.createChat) throw new Error(`createChat failed: ${JSON.stringify(response)}`);
  return response.data.createChat.id;
}

export const SEND = /* GraphQL */ `
  mutation Send($chatId: ID!, $content: String!, $clientMessageId: String) {
    sendMessage(chatId: $chatId, content: $content, clientMessageId: $clientMessageId) {
      id
      content
      createdAt
      isOwn
      clientMessageId
      sender {
        id
        username
      }
    }
  }
`;

export async function sendMessage(
  server: TestServer,
  sender: TestUser,
  chatId: string,
  content: string,
): Promise<string> {
  const response = await server.gql<{ sendMessage: { id: string } }>(
    SEND,
    { chatId, content },
    sender.token,
  );
  if (!response.data?.sendMessage) throw new Error(`send failed: ${JSON.stringify(response)}`);
  return response.data.sendMessage.id;
}
