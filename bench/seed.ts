/**
 * Seeding through the real API (users, one-to-one chats, messages) and, where the API has no
 * way, straight into the database (group chats: the schema's chats are one-to-one, but the
 * domain layer and the event bus deliver to any participant list).
 */
import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import type { ChatDoc } from '../src/db/documents.js';
import { postGraphQL } from '../test/support/graphql-http.js';
import { CREATE_CHAT, REGISTER, SEND_MESSAGE } from './queries.js';
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
): Promise<BenchUser[]> {
  return mapLimit(
    Array.from({ length: count }, (_, index) => index),
    4,
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
