/**
 * Seeding through the real API (users, one-to-one chats, groups, messages) and, for scenario 5's
 * many-participant chats (written before groups existed), straight into the database: a chat of
 * several participants without `kind: 'group'`, which the server treats as a one-to-one chat of
 * more than two — which is also why the legacy WS and SSE transports, which never carry real
 * groups, deliver its messages.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import type { ChatDoc } from '../src/db/documents.js';
import { postGraphQL } from '../test/support/graphql-http.js';
import { CREATE_CHAT, CREATE_GROUP_CHAT, REGISTER, SEND_MESSAGE } from './queries.js';
import { mapLimit } from './util.js';

export interface BenchUser {
  id: string;
  username: string;
  token: string;
}

export class ApiClient {
  constructor(readonly baseUrl: string) {}

  async gql<Data>(query: string, variables: Record<string, unknown> = {}, token?: string) {
    const body = await postGraphQL<Data>(`${this.baseUrl}/graphql`, query, variables, token);
    if (body.status !== 200 || body.errors || !body.data) {
      throw new Error(`GraphQL ${body.status}: ${JSON.stringify(body).slice(0, 500)}`);
    }
    return body.data;
  }

  async getJson(path: string, token: string): Promise<unknown> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
    return response.json();
  }
}

export async function registerUsers(
  api: ApiClient,
  count: number,
  prefix: string,
  { concurrency = 4, first = 0 }: { concurrency?: number; first?: number } = {},
): Promise<BenchUser[]> {
  return mapLimit(
    Array.from({ length: count }, (_, index) => first + index),
    concurrency,
    async (index) => {
      const suffix = randomUUID().slice(0, 8);
      const username = `${prefix}_${index}_${suffix}`;
      const data = await api.gql<{ register: { accessToken: string; user: { id: string } } }>(
        REGISTER,
        {
          input: {
            firstName: 'Bench',
            lastName: `User${index}`,
            mobileNo: '9876543210',
            email: `${username}@bench.example.com`,
            username,
            password: `pw-${suffix}`,
            securityPhrase: 'benchmarks are not tests',
          },
        },
      );
      return { id: data.register.user.id, username, token: data.register.accessToken };
    },
  );
}

export async function createChat(api: ApiClient, a: BenchUser, b: BenchUser): Promise<string> {
  const data = await api.gql<{ createChat: { id: string } }>(
    CREATE_CHAT,
    { otherUserId: b.id },
    a.token,
  );
  return data.createChat.id;
}

/** A group opened by `owner` with `members` (through the API); checks its member count. */
export async function createGroupChat(
  api: ApiClient,
  owner: BenchUser,
  title: string,
  members: BenchUser[],
): Promise<string> {
  const data = await api.gql<{
    createGroupChat: { id: string; kind: string; members: { totalCount: number } };
  }>(CREATE_GROUP_CHAT, { title, memberIds: members.map((user) => user.id) }, owner.token);
  const chat = data.createGroupChat;
  const expected = new Set([owner.id, ...members.map((user) => user.id)]).size;
  if (chat.kind !== 'GROUP' || chat.members.totalCount !== expected) {
    throw new Error(`createGroupChat: ${JSON.stringify(chat)}, expected ${expected} members`);
  }
  return chat.id;
}

export async function sendMessage(
  api: ApiClient,
  sender: BenchUser,
  chatId: string,
  content: string,
): Promise<string> {
  const data = await api.gql<{ sendMessage: { id: string } }>(
    SEND_MESSAGE,
    { chatId, content },
    sender.token,
  );
  return data.sendMessage.id;
}

/** A chat of any number of participants, written as the domain layer writes chats. */
export async function insertGroupChat(db: Db, participants: BenchUser[]): Promise<string> {
  const chat: ChatDoc = {
    chat_id: randomUUID(),
    participants: participants.map((user) => user.id),
    created_at: new Date(),
    last_message: null,
    last_message_time: null,
  };
  await db.collection<ChatDoc>('chats').insertOne(chat);
  return chat.chat_id;
}
