/**
 * Scenario 13 (issue 19): the reads of a chat screen as the database grows. Messages are written
 * straight into the database in the shapes the server writes them (timeline event, history copy,
 * windows, chat summary) — 200,000 through the API would take an hour — a quarter of them in one
 * long chat; at every size each read is timed `runs` times, one at a time, through the real
 * server: the first, last and a middle history page of the long chat, its owner's chat list,
 * resuming `chatEvents` / `messageAdded` from 100 messages back (until the 100th replayed event
 * arrives), user search, and the legacy history of up to 1,000 messages.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import type { ChatDoc, MessageDoc, TimelineEventDoc } from '../../src/db/documents.js';
import { windowsOf } from '../../src/timeline/pages.js';
import { encodePosition } from '../../src/timeline/position.js';
import type { Bench } from '../context.js';
import { CHAT_EVENTS_AFTER, CHATS_PAGE, HISTORY_PAGE, MESSAGE_ADDED_AFTER } from '../queries.js';
import { row } from '../report.js';
import { ApiClient, createChat, registerUsers, type BenchUser } from '../seed.js';
import { monotonicMs, percentiles } from '../util.js';

const DB_NAME = 'bench_datasize';
const INSERT_BATCH = 2000;
const PAGE = 50;
const RESUME_BACK = 100;

const HISTORY_BEFORE = /* GraphQL */ `
  query HistoryBefore($chatId: ID!, $last: Int, $before: String, $first: Int) {
    chat(id: $chatId) {
      messages(last: $last, before: $before, first: $first) {
        edges {
          cursor
          node {
            id
            content
            createdAt
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
const SEARCH = /* GraphQL */ `
  query Search($query: String!) {
    searchUsers(query: $query, first: 20) {
      id
      username
    }
  }
`;

interface Read {
  name: string;
  target: number;
  run: () => Promise<void>;
}

export async function dataSizeScenario(bench: Bench): Promise<void> {
  const plan = bench.plan.dataSize;
  const server = await bench.startServer(DB_NAME);
  try {
    const api = new ApiClient(server.baseUrl);
    bench.progress.step(`13 data size: ${plan.users} users, ${plan.chats} chats`);
    const users = await registerUsers(api, plan.users, 'size');
    const [owner, partner] = users as [BenchUser, BenchUser];
    const long = await createChat(api, owner, partner);
    // The owner's chat list: the long chat and up to 10 more; the other chats among the others.
    const found = new Set<string>();
    for (const other of users.slice(2, 12)) found.add(await createChat(api, owner, other));
    const rest = users.slice(1);
    for (let index = 0; found.size < plan.chats; index += 1) {
      const a = rest[index % rest.length]!;
      const b = rest[(index + 1 + Math.floor(index / rest.length)) % rest.length]!;
      if (a !== b) found.add(await createChat(api, a, b));
    }
    const chats = [...found];
    const db = bench.db(DB_NAME);
    const seqs = new Map<string, number>();
    const lastOf = new Map<string, MessageDoc>();
    let stored = 0;
    const grow = async (to: number) => {
      while (stored < to) {
        const events: TimelineEventDoc[] = [];
        const copies: MessageDoc[] = [];
        for (; events.length < INSERT_BATCH && stored < to; stored += 1) {
          const longSeq = seqs.get(long) ?? 0;
          const chatId =
            stored % 4 === 0 && longSeq < plan.longChat ? long : chats[stored % chats.length]!;
          const seq = (seqs.get(chatId) ?? 0) + 1;
          seqs.set(chatId, seq);
          const sender = chatId === long ? (seq % 2 ? owner : partner) : users[stored % 2]!;
          const message: MessageDoc = {
            message_id: randomUUID(),
            chat_id: chatId,
            sender_id: sender.id,
            content: `message ${seq} of a chat that grows, with a few words in it`,
            timestamp: new Date(),
            message_type: 'text',
            seq,
          };
          const key = `${chatId}:${seq}`;
          const window = windowsOf(seq);
          events.push({
            _id: key,
            chat_id: chatId,
            seq,
            type: 'message',
            at: new Date(),
            message,
            window,
          });
          copies.push({ _id: key, ...message, window });
          lastOf.set(chatId, message);
        }
        await db.collection<TimelineEventDoc>('chat_events').insertMany(events);
        await db.collection<MessageDoc>('messages').insertMany(copies);
        bench.progress.update(`seeding: ${stored} / ${to} messages`);
      }
      for (const [chatId, message] of lastOf) {
        await db.collection<ChatDoc>('chats').updateOne(
          { chat_id: chatId },
          {
            $set: {
              last_message: message.content,
              last_message_time: message.timestamp,
              last_message_id: message.message_id,
              last_message_doc: message,
              last_seq: message.seq,
            },
          },
        );
      }
      lastOf.clear();
    };

    const gql = (query: string, variables: Record<string, unknown>) =>
      api.gql(query, variables, owner.token);
    const resume = (query: string, after: string, count: number) =>
      new Promise<void>((done, fail) => {
        let received = 0;
        const timer = setTimeout(() => fail(new Error(`resume: ${received} of ${count}`)), 30_000);
        const client = createClient({
          url: `${server.baseUrl.replace('http', 'ws')}/graphql`,
          webSocketImpl: WebSocket,
          connectionParams: { authorization: `Bearer ${owner.token}` },
          retryAttempts: 0,
        });
        const stop = client.subscribe(
          { query, variables: { chatId: long, after } },
          {
            next: () => {
              received += 1;
              if (received === count) {
                clearTimeout(timer);
                stop();
                void Promise.resolve(client.dispose()).then(done);
              }
            },
            error: fail,
            complete: () => undefined,
          },
        );
      });
    const reads = (): Read[] => {
      const last = seqs.get(long)!;
      const middle = encodePosition({ seq: Math.floor(last / 2) });
      const backwards = Math.min(RESUME_BACK, last);
      const back = encodePosition({ seq: last - backwards });
      return [
        {
          name: 'history, last page',
          target: 30,
          run: () => gql(HISTORY_PAGE, { chatId: long, last: PAGE }).then(() => undefined),
        },
        {
          name: 'history, first page',
          target: 30,
          run: () => gql(HISTORY_BEFORE, { chatId: long, first: PAGE }).then(() => undefined),
        },
        {
          name: 'history, middle page',
          target: 30,
          run: () =>
            gql(HISTORY_BEFORE, { chatId: long, last: PAGE, before: middle }).then(() => undefined),
        },
        {
          name: 'chat list',
          target: 30,
          run: () => gql(CHATS_PAGE, { first: 20 }).then(() => undefined),
        },
        {
          name: 'chatEvents(after:) 100 back',
          target: 30,
          run: () => resume(CHAT_EVENTS_AFTER, back, backwards),
        },
        {
          name: 'messageAdded(after:) 100 back',
          target: 30,
          run: () => resume(MESSAGE_ADDED_AFTER, back, backwards),
        },
        {
          name: 'user search',
          target: 30,
          run: () => gql(SEARCH, { query: 'size_1' }).then(() => undefined),
        },
        {
          name: 'legacy history (1,000)',
          target: 100,
          run: () =>
            api
              .getJson(`/api/chats/${long}/messages?limit=1000`, owner.token)
              .then(() => undefined),
        },
      ];
    };

    const firstP50 = new Map<string, number>();
    for (const size of plan.sizes) {
      const started = monotonicMs();
      await grow(size);
      const seeded = Math.round(monotonicMs() - started);
      bench.progress.step(`13 data size: ${size} messages (seeded in ${seeded} ms)`);
      const all = reads();
      for (const read of all) {
        bench.progress.update(`${size} messages: ${read.name}`);
        for (let warm = 0; warm < 2; warm += 1) await read.run();
        const samples: number[] = [];
        for (let index = 0; index < plan.runs; index += 1) {
          const start = monotonicMs();
          await read.run();
          samples.push(monotonicMs() - start);
        }
        const latency = percentiles(samples);
        const base = firstP50.get(read.name) ?? latency.p50;
        firstP50.set(read.name, base);
        const growth = latency.p50 / base;
        const met = latency.p50 < read.target && growth <= 1.5;
        bench.rows.push(
          row({
            scenario: `13 ${size.toLocaleString('en-US')} msgs · ${read.name}`,
            unit: 'request',
            ops: samples.length,
            latency,
            target: `p50 < ${read.target} ms, ≤ 1.5× at ${plan.sizes[0]!.toLocaleString('en-US')}`,
            measured: `p50 ${latency.p50.toFixed(1)} ms (${growth.toFixed(2)}×)`,
            met,
            notes: read === all[0] ? [`long chat: ${seqs.get(long)} messages`] : [],
          }),
        );
      }
    }
  } finally {
    await server.stop();
  }
}
