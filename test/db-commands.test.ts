/**
 * No N+1: a page of chats or messages costs a fixed number of database commands, whatever its
 * size (counted with the driver's command monitoring on the server's own client).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestServer, type TestServer } from './support/server.js';
import { createChat, registerUser, sendMessage, type TestUser } from './support/users.js';
import { waitFor } from './support/wait.js';

const CHATS_PAGE = /* GraphQL */ `
  query Chats($first: Int!) {
    chats(first: $first) {
      edges {
        cursor
        node {
          id
          createdAt
          participants {
            id
            username
          }
          otherUser {
            id
            username
            firstName
            isOnline
          }
          lastMessage {
            id
            content
            isOwn
            sender {
              id
              username
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

const HISTORY_PAGE = /* GraphQL */ `
  query History($chatId: ID!, $last: Int!) {
    chat(id: $chatId) {
      id
      messages(last: $last) {
        edges {
          node {
            id
            content
            isOwn
            sender {
              id
              username
            }
          }
        }
      }
    }
  }
`;

let server: TestServer;
let viewer: TestUser;
let busyChat: string;

beforeAll(async () => {
  server = await startTestServer();
  viewer = await registerUser(server);
  const others = await Promise.all(Array.from({ length: 50 }, () => registerUser(server)));
  const chatIds: string[] = [];
  for (const other of others) {
    const chatId = await createChat(server, viewer, other);
    chatIds.push(chatId);
    await sendMessage(server, other, chatId, `hello from ${other.username}`);
    await sendMessage(server, viewer, chatId, `hi ${other.username}`);
  }
  busyChat = chatIds[0]!;
  for (let index = 0; index < 100; index += 1) {
    await sendMessage(server, index % 2 ? viewer : others[0]!, busyChat, `message ${index}`);
  }
}, 120_000);
afterAll(() => server?.stop());

async function commandsFor(query: string, variables: Record<string, unknown>) {
  let response: Awaited<ReturnType<TestServer['gql']>> | undefined;
  const commands = await server.countCommands(async () => {
    response = await server.gql(query, variables, viewer.token);
  });
  expect(response?.errors).toBeUndefined();
  return { commands, data: response?.data };
}

describe('database commands per page', () => {
  it('grows with the page size when DataLoader batching is off (the N+1 the loaders prevent)', async () => {
    server.service.app.batchLoads = false;
    try {
      const large = await commandsFor(CHATS_PAGE, { first: 50 });
      expect(large.commands.length).toBeGreaterThan(50);
    } finally {
      server.service.app.batchLoads = true;
    }
  });

  it('chats page with other users, last messages and their senders: constant in page size', async () => {
    const small = await commandsFor(CHATS_PAGE, { first: 5 });
    const large = await commandsFor(CHATS_PAGE, { first: 50 });
    const edges = (large.data as { chats: { edges: { node: { lastMessage: unknown } }[] } }).chats
      .edges;
    expect(edges).toHaveLength(50);
    expect(edges.every((edge) => edge.node.lastMessage)).toBe(true);
    console.log(
      `chats(first: 5): ${small.commands.length} commands [${small.commands}]; ` +
        `chats(first: 50): ${large.commands.length} commands [${large.commands}]`,
    );
    expect(large.commands.length).toBe(small.commands.length);
    expect(large.commands.length).toBeLessThanOrEqual(4);
  });

  it('history page of messages with senders: constant in page size', async () => {
    const small = await commandsFor(HISTORY_PAGE, { chatId: busyChat, last: 10 });
    const large = await commandsFor(HISTORY_PAGE, { chatId: busyChat, last: 100 });
    const edges = (large.data as { chat: { messages: { edges: unknown[] } } }).chat.messages.edges;
    expect(edges).toHaveLength(100);
    console.log(
      `messages(last: 10): ${small.commands.length} commands [${small.commands}]; ` +
        `messages(last: 100): ${large.commands.length} commands [${large.commands}]`,
    );
    expect(large.commands.length).toBe(small.commands.length);
    expect(large.commands.length).toBeLessThanOrEqual(4);
  });
});

describe('database commands of a reconnect wave', () => {
  it('graphql-ws sockets that connect and subscribe together share their user and chat reads', async () => {
    const SOCKETS = 30;
    const missingChat = '00000000-0000-4000-8000-000000000000';
    const sockets = await Promise.all(
      Array.from({ length: SOCKETS }, async () => {
        const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
        const messages: { type: string; payload?: unknown }[] = [];
        socket.on('message', (data) => messages.push(JSON.parse(String(data))));
        await new Promise((resolve) => socket.once('open', resolve));
        return { socket, messages };
      }),
    );
    const has = (type: string) =>
      sockets.every(({ messages }) => messages.some((m) => m.type === type));
    const commands = await server.countCommands(async () => {
      // As after a restart: every socket authenticates at once, then subscribes (its chat is
      // looked up to check membership). The sockets are open already, so that every
      // connection_init goes out in one turn (openAckedSocket's would spread over the opens).
      for (const { socket } of sockets) {
        socket.send(
          JSON.stringify({
            type: 'connection_init',
            payload: { authorization: `Bearer ${viewer.token}` },
          }),
        );
      }
      await waitFor(() => has('connection_ack'), 'every connection_ack');
      for (const { socket } of sockets) {
        socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: {
              query: 'subscription ($c: ID!) { messageAdded(chatId: $c) { id } }',
              variables: { c: missingChat },
            },
          }),
        );
      }
      await waitFor(() => has('complete'), 'every subscription to be refused');
    });
    for (const { messages, socket } of sockets) {
      const refusal = messages.find((m) => m.type === 'next');
      expect(JSON.stringify(refusal?.payload)).toContain('NOT_FOUND');
      socket.close();
    }
    const finds = commands.filter((name) => name === 'find').length;
    console.log(`${SOCKETS} sockets connecting and subscribing together: ${finds} find commands`);
    // Without the shared batches: one users find and one chats find per socket.
    expect(finds).toBeLessThanOrEqual(SOCKETS / 2);
  });
});
