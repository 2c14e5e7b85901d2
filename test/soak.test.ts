/**
 * Soak (issue 6, point 10): several hundred live connections — graphql-ws subscribers, legacy
 * WebSockets and SSE streams over 50 users and 50 chats — held for about a minute while senders
 * send at a steady rate through GraphQL, REST `/api/send` and legacy WebSocket frames.
 *
 * Every message is delivered exactly once to every connection entitled to it (none lost, none
 * duplicated, none leaked to others). When everything is closed, the server — a child process
 * started with --expose-gc (test/support/soak-server.ts) — is back where it started: no open
 * connections, as many event-bus listeners and timers as before, every user offline, and its
 * heap after forced GC within a margin of the baseline.
 *
 * SOAK_SECONDS shortens or lengthens the sending phase (default 60).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import type { SoakStats } from './support/soak-server.js';
import { TEST_ENV } from './support/server.js';
import { sleep, waitFor } from './support/wait.js';

const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const USERS = 50;
const PER_KIND = 100;
/** Each of the three sending lanes sends one message per interval: 15 messages a second. */
const SEND_INTERVAL_MS = 200;
const HEAP_MARGIN_BYTES = 30 * 1024 * 1024;
const WAIT_MS = 20_000;

// ---------------------------------------------------------------------------------------------
// The server process.

interface ServerProcess {
  child: ChildProcess;
  port: number;
  output: string[];
  stats(): Promise<SoakStats>;
  stop(): Promise<void>;
}

async function startServerProcess(): Promise<ServerProcess> {
  const script = fileURLToPath(new URL('./support/soak-server.ts', import.meta.url));
  const child = fork(script, [], {
    execArgv: ['--expose-gc', '--import', 'tsx'],
    env: {
      ...process.env,
      ...TEST_ENV,
      MONGO_URL: inject('mongoUrl'),
      DB_NAME: `test_soak_${randomUUID().slice(0, 8)}`,
      SSE_KEEPALIVE_SECONDS: '5',
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const pending = new Map<number, (message: Record<string, unknown>) => void>();
  let nextId = 0;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`soak server did not start: ${output.join('')}`)),
      90_000,
    );
    child.on('message', (message: Record<string, unknown>) => {
      if (message.ready) {
        clearTimeout(timer);
        resolve(message.port as number);
      } else if (typeof message.id === 'number') {
        pending.get(message.id)?.(message);
        pending.delete(message.id);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`soak server exited with ${code}: ${output.join('')}`));
    });
  });
  const ask = (command: 'stats' | 'stop') =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(
        () => reject(new Error(`soak server: no answer to ${command}`)),
        30_000,
      );
      pending.set(id, (message) => {
        clearTimeout(timer);
        resolve(message);
      });
      child.send({ id, command });
    });
  return {
    child,
    port,
    output,
    stats: async () => (await ask('stats')).stats as SoakStats,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await ask('stop').catch(() => child.kill('SIGKILL'));
      await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP (own agent: its pooled connections are closed before the connection count is checked).

const agent = new Agent({ keepAlive: true, maxSockets: 8 });
let server: ServerProcess;

function postJson<T>(
  path: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; json: T }> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        method: 'POST',
        path,
        agent,
        timeout: WAIT_MS,
        headers: {
          'content-type': 'application/json',
          'content-length': payload.length,
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          try {
            resolve({
              status: response.statusCode ?? 0,
              json: JSON.parse(Buffer.concat(chunks).toString()) as T,
            });
          } catch (error) {
            reject(error as Error);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`POST ${path}: no answer in ${WAIT_MS} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function gql<Data>(query: string, variables: Record<string, unknown>, token?: string) {
  const { json } = await postJson<{ data?: Data; errors?: unknown[] }>(
    '/graphql',
    { query, variables },
    token,
  );
  if (json.errors || !json.data) throw new Error(`GraphQL: ${JSON.stringify(json.errors)}`);
  return json.data;
}

// ---------------------------------------------------------------------------------------------
// The population: users, chats, connections.

interface User {
  id: string;
  token: string;
  /** The two chats of this user in the ring. */
  chats: string[];
}

/** One live connection and everything it received. */
interface Connection {
  kind: 'graphql-ws' | 'legacy-ws' | 'sse';
  user: User;
  /** The chats whose messages this connection is entitled to. */
  chats: string[];
  /** Message contents received, with how many times. */
  received: Map<string, number>;
  problems: string[];
  /** Set when the connection ended before we closed it. */
  endedEarly: boolean;
  /** Legacy WebSocket only: sends a frame. */
  send?: (frame: object) => void;
  close(): Promise<void>;
}

function record(connection: Connection, content: unknown) {
  if (typeof content !== 'string') {
    connection.problems.push(`message without content: ${String(content)}`);
    return;
  }
  connection.received.set(content, (connection.received.get(content) ?? 0) + 1);
}

const SUBSCRIPTION = /* GraphQL */ `
  subscription ($chatId: ID!) {
    messageAdded(chatId: $chatId) {
      id
      content
    }
  }
`;

function openGraphQLWs(user: User, chatId: string): Connection {
  let closing = false;
  const client: Client = createClient({
    url: `ws://127.0.0.1:${server.port}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${user.token}` },
    retryAttempts: 0,
    lazy: false,
    keepAlive: 0,
    on: {
      closed: (event) => {
        if (!closing) {
          connection.endedEarly = true;
          connection.problems.push(`closed early: ${(event as { code?: number }).code}`);
        }
      },
    },
  });
  const connection: Connection = {
    kind: 'graphql-ws',
    user,
    chats: [chatId],
    received: new Map(),
    problems: [],
    endedEarly: false,
    async close() {
      closing = true;
      await client.dispose();
    },
  };
  client.subscribe<{ messageAdded: { id: string; content: string } }>(
    { query: SUBSCRIPTION, variables: { chatId } },
    {
      next: (result) => {
        if (result.errors) connection.problems.push(JSON.stringify(result.errors));
        else record(connection, result.data?.messageAdded.content);
      },
      error: (error) => {
        if (!closing) connection.problems.push(`subscription error: ${JSON.stringify(error)}`);
      },
      complete: () => {
        if (!closing) connection.problems.push('subscription completed early');
      },
    },
  );
  return connection;
}

function openLegacyWs(user: User): Promise<Connection> {
  const socket = new WebSocket(`ws://127.0.0.1:${server.port}/ws/${user.id}?token=${user.token}`);
  let closing = false;
  const closed = new Promise<void>((resolve) =>
    socket.once('close', (code) => {
      if (!closing) {
        connection.endedEarly = true;
        connection.problems.push(`closed early: ${code}`);
      }
      resolve();
    }),
  );
  const connection: Connection = {
    kind: 'legacy-ws',
    user,
    chats: user.chats,
    received: new Map(),
    problems: [],
    endedEarly: false,
    send: (frame) => socket.send(JSON.stringify(frame)),
    async close() {
      closing = true;
      if (socket.readyState !== WebSocket.CLOSED) socket.close(1000);
      await Promise.race([closed, sleep(5000).then(() => socket.terminate())]);
    },
  };
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as { type?: string; detail?: string; content?: string };
    if (frame.type === 'error') connection.problems.push(`error frame: ${frame.detail}`);
    else record(connection, frame.content);
  });
  socket.on('error', (error) => connection.problems.push(`socket error: ${error.message}`));
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(connection));
    socket.once('unexpected-response', (_request, response) =>
      reject(new Error(`legacy WebSocket refused: ${response.statusCode}`)),
    );
  });
}

function openSse(user: User): Promise<Connection> {
  return new Promise((resolve, reject) => {
    let closing = false;
    const req = request({
      host: '127.0.0.1',
      port: server.port,
      path: `/sse/${user.id}?token=${user.token}`,
      // A connection of its own, closed with the stream.
      agent: false,
      headers: { accept: 'text/event-stream' },
    });
    const connection: Connection = {
      kind: 'sse',
      user,
      chats: user.chats,
      received: new Map(),
      problems: [],
      endedEarly: false,
      async close() {
        closing = true;
        req.destroy();
        await sleep(0);
      },
    };
    req.on('error', (error) => {
      if (!closing) reject(error);
    });
    req.on('response', (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`SSE refused: ${response.statusCode}`));
        return;
      }
      response.setEncoding('utf8');
      let buffer = '';
      response.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split('\n')
            .find((line) => line.startsWith('data: '))
            ?.slice(6);
          if (!data) continue;
          const event = JSON.parse(data) as { type?: string; content?: string };
          if (event.type === 'connected') resolve(connection);
          else if (event.type === 'message') record(connection, event.content);
        }
      });
      response.on('close', () => {
        if (!closing) {
          connection.endedEarly = true;
          connection.problems.push('stream ended early');
        }
      });
    });
    req.end();
  });
}

/** Runs `tasks` with at most `limit` at a time. */
async function inBatches<T>(
  count: number,
  limit: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < count; start += limit) {
    const batch = Array.from({ length: Math.min(limit, count - start) }, (_, i) => task(start + i));
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  server = await startServerProcess();
}, 120_000);

afterAll(async () => {
  agent.destroy();
  await server?.stop();
}, 30_000);

describe('soak', () => {
  it(
    `holds ${PER_KIND * 3} connections for ${SOAK_SECONDS} s of steady sending, loses nothing, and returns to its baseline`,
    async () => {
      expect((await server.stats()).gcExposed).toBe(true);

      // --- users and chats: a ring, each user in two chats ------------------------------
      const users: User[] = await inBatches(USERS, 10, async (index) => {
        const suffix = `${index}_${randomUUID().slice(0, 6)}`;
        const data = await gql<{ register: { accessToken: string; user: { id: string } } }>(
          `mutation ($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`,
          {
            input: {
              firstName: 'Soak',
              lastName: `User${index}`,
              mobileNo: '9876543210',
              email: `soak-${suffix}@example.com`,
              username: `soak_${suffix}`,
              password: `pw-${suffix}`,
              securityPhrase: 'soak',
            },
          },
        );
        return { id: data.register.user.id, token: data.register.accessToken, chats: [] };
      });
      const chats = await inBatches(USERS, 10, async (index) => {
        const a = users[index]!;
        const b = users[(index + 1) % USERS]!;
        const data = await gql<{ createChat: { id: string } }>(
          `mutation ($other: ID!) { createChat(otherUserId: $other) { id } }`,
          { other: b.id },
          a.token,
        );
        return { id: data.createChat.id, members: [a, b] as const };
      });
      for (const chat of chats) for (const member of chat.members) member.chats.push(chat.id);

      let sequence = 0;
      const sendRest = async (from: User, chatId: string, content: string) => {
        const { status, json } = await postJson<{ status?: string }>(
          `/api/send/${from.id}`,
          { chat_id: chatId, content },
          from.token,
        );
        if (status !== 200 || json.status !== 'success')
          throw new Error(`REST send: ${status} ${JSON.stringify(json)}`);
      };

      // --- warm-up, then the baseline -----------------------------------------------------
      // Every code path runs once before the baseline, so lazily built state is in it.
      {
        const few = [
          openGraphQLWs(users[0]!, chats[0]!.id),
          await openLegacyWs(users[0]!),
          await openSse(users[0]!),
        ];
        await sleep(500);
        for (let i = 0; i < 3; i++) {
          await sendRest(users[1]!, chats[0]!.id, `warm:${i}`);
          await gql(
            `mutation ($c: ID!, $t: String!) { sendMessage(chatId: $c, content: $t) { id } }`,
            { c: chats[0]!.id, t: `warm:g${i}` },
            users[0]!.token,
          );
          few[1]!.send?.({ chat_id: chats[0]!.id, content: `warm:w${i}` });
        }
        await waitFor(() => few.every((c) => c.received.size >= 9), 'warm-up delivery', WAIT_MS);
        await Promise.all(few.map((connection) => connection.close()));
      }
      agent.destroy();
      await waitFor(
        async () => (await server.stats()).connections === 0,
        'warm-up connections closed',
        WAIT_MS,
      );
      const baseline = await server.stats();

      // --- open the connections ------------------------------------------------------------
      const graphqlWs = Array.from({ length: PER_KIND }, (_, index) => {
        const user = users[index % USERS]!;
        return openGraphQLWs(user, user.chats[Math.floor(index / USERS) % 2]!);
      });
      const legacyWs = await inBatches(PER_KIND, 20, (index) =>
        openLegacyWs(users[index % USERS]!),
      );
      const sse = await inBatches(PER_KIND, 20, (index) => openSse(users[index % USERS]!));
      const connections: Connection[] = [...graphqlWs, ...legacyWs, ...sse];

      // graphql-ws gives no acknowledgement of a subscription: a message in each chat, repeated
      // until every subscriber has seen one, shows that all are live.
      await waitFor(
        async () => {
          const waiting = new Set(
            connections
              .filter((c) => ![...c.received.keys()].some((k) => k.startsWith('ready:')))
              .flatMap((c) => c.chats),
          );
          if (waiting.size === 0) return true;
          await Promise.all(
            [...waiting].map((chatId) => {
              const chat = chats.find((c) => c.id === chatId)!;
              return sendRest(chat.members[0], chatId, `ready:${sequence++}`);
            }),
          );
          await sleep(500);
          return false;
        },
        'every connection live',
        30_000,
      );
      const peakConnections = await server.stats();

      // --- the soak: three lanes at a steady rate -----------------------------------------
      /** What was sent, by content: its chat. */
      const sent = new Map<string, string>();
      const failures: string[] = [];
      const samples: SoakStats[] = [];
      const started = Date.now();
      const stopAt = started + SOAK_SECONDS * 1000;
      const maxPerLane = Math.ceil((SOAK_SECONDS * 1000) / SEND_INTERVAL_MS) + 1;
      const lane = async (name: string, send: (n: number) => Promise<void>) => {
        for (let n = 0; n < maxPerLane && Date.now() < stopAt; n++) {
          try {
            await send(n);
          } catch (error) {
            failures.push(`${name} #${n}: ${(error as Error).message}`);
          }
          const next = started + (n + 1) * SEND_INTERVAL_MS;
          await sleep(Math.max(0, next - Date.now()));
        }
      };
      const pick = (n: number, offset: number) => {
        const chat = chats[(n * 7 + offset) % chats.length]!;
        return { chat, from: chat.members[n % 2]! };
      };
      const sampler = (async () => {
        while (Date.now() < stopAt) {
          await sleep(Math.min(10_000, Math.max(0, stopAt - Date.now())));
          if (Date.now() < stopAt) samples.push(await server.stats());
        }
      })();
      await Promise.all([
        lane('graphql', async (n) => {
          const { chat, from } = pick(n, 0);
          const content = `soak:g:${n}`;
          sent.set(content, chat.id);
          await gql(
            `mutation ($c: ID!, $t: String!) { sendMessage(chatId: $c, content: $t) { id } }`,
            { c: chat.id, t: content },
            from.token,
          );
        }),
        lane('rest', async (n) => {
          const { chat, from } = pick(n, 3);
          const content = `soak:r:${n}`;
          sent.set(content, chat.id);
          await sendRest(from, chat.id, content);
        }),
        lane('legacy-ws', async (n) => {
          const { chat, from } = pick(n, 5);
          const socket = legacyWs.find((c) => c.user === from)!;
          const content = `soak:w:${n}`;
          sent.set(content, chat.id);
          socket.send!({ chat_id: chat.id, content });
        }),
        sampler,
      ]);
      const sendingSeconds = (Date.now() - started) / 1000;

      // --- every connection got exactly what it was entitled to ---------------------------
      const expectedFor = (connection: Connection) =>
        [...sent]
          .filter(([, chatId]) => connection.chats.includes(chatId))
          .map(([content]) => content);
      const missingIn = (connection: Connection) =>
        expectedFor(connection).filter((content) => !connection.received.has(content));
      await waitFor(
        () => connections.every((c) => missingIn(c).length === 0 || c.endedEarly),
        'delivery of everything sent',
        WAIT_MS,
      ).catch(() => undefined);
      await sleep(500); // a duplicate would arrive by now
      let deliveries = 0;
      const report: string[] = [];
      for (const connection of connections) {
        const expected = new Set(expectedFor(connection));
        const soakReceived = [...connection.received].filter(([content]) =>
          content.startsWith('soak:'),
        );
        deliveries += soakReceived.reduce((total, [, times]) => total + times, 0);
        const lost = [...expected].filter((content) => !connection.received.has(content));
        const duplicated = soakReceived
          .filter(([, times]) => times > 1)
          .map(([content]) => content);
        const foreign = soakReceived
          .map(([content]) => content)
          .filter((content) => !expected.has(content));
        if (lost.length || duplicated.length || foreign.length || connection.problems.length) {
          report.push(
            `${connection.kind} of ${connection.user.id} (${connection.chats.join(', ')}): ` +
              `lost ${lost.length} ${lost.slice(0, 5).join(' ')}, duplicated ${duplicated.length}, ` +
              `not theirs ${foreign.length}, problems ${connection.problems.slice(0, 3).join('; ')}`,
          );
        }
      }

      // --- close everything; the server returns to its baseline ---------------------------
      await Promise.all(connections.map((connection) => connection.close()));
      // Every user's last connection closed: all offline again (presence released).
      const offline = async () => {
        for (let start = 0; start < users.length; start += 10) {
          const some = users.slice(start, start + 10);
          const data = await gql<Record<string, { isOnline: boolean } | null>>(
            `query { ${some.map((user, i) => `u${i}: user(id: "${user.id}") { isOnline }`).join(' ')} }`,
            {},
            users[0]!.token,
          );
          if (!Object.values(data).every((user) => user && !user.isOnline)) return false;
        }
        return true;
      };
      // (The query above comes from user 0 over HTTP, which counts as no connection.)
      const allOffline = await waitFor(offline, 'every user offline', 10_000).then(
        () => true,
        () => false,
      );
      agent.destroy();
      await waitFor(
        async () => {
          const now = await server.stats();
          return now.connections === 0 && now.busListeners <= baseline.busListeners;
        },
        'connections and bus listeners back to the baseline',
        10_000,
      ).catch(() => undefined);
      const after = await server.stats();

      const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
      console.log(
        [
          `soak: ${connections.length} connections, ${sent.size} messages sent in ${sendingSeconds.toFixed(0)} s ` +
            `(${(sent.size / sendingSeconds).toFixed(1)}/s), ${deliveries} deliveries counted`,
          `  connections: baseline ${baseline.connections}, held ${peakConnections.connections}, after ${after.connections}`,
          `  bus listeners: baseline ${baseline.busListeners}, held ${peakConnections.busListeners} ` +
            `${JSON.stringify(peakConnections.busListenersByTopic)}, after ${after.busListeners}`,
          `  timers: baseline ${baseline.resources.Timeout ?? 0}, held ${peakConnections.resources.Timeout ?? 0}, after ${after.resources.Timeout ?? 0}`,
          `  heap after GC: baseline ${mb(baseline.heapUsed)}, held ${mb(peakConnections.heapUsed)}, ` +
            `during ${samples.map((s) => mb(s.heapUsed)).join(' / ')}, after ${mb(after.heapUsed)}`,
        ].join('\n'),
      );

      expect(failures, 'sends that failed').toEqual([]);
      expect(report, 'connections that lost, duplicated or leaked messages').toEqual([]);
      // A steady rate: at least half the scheduled sends happened (the machine may be busy).
      expect(sent.size).toBeGreaterThanOrEqual(
        Math.floor(SOAK_SECONDS * 3 * (1000 / SEND_INTERVAL_MS) * 0.5),
      );
      expect(peakConnections.connections).toBeGreaterThanOrEqual(PER_KIND * 3);
      expect(allOffline, 'every user offline once their connections closed').toBe(true);
      expect(after.connections, 'open connections after closing everything').toBe(0);
      expect(after.busListeners, 'event-bus listeners after closing everything').toBe(
        baseline.busListeners,
      );
      expect(after.resources.Timeout ?? 0, 'timers after closing everything').toBeLessThanOrEqual(
        (baseline.resources.Timeout ?? 0) + 10,
      );
      expect(
        after.heapUsed,
        `heap after GC: ${mb(after.heapUsed)} vs baseline ${mb(baseline.heapUsed)}`,
      ).toBeLessThanOrEqual(baseline.heapUsed + HEAP_MARGIN_BYTES);
    },
    SOAK_SECONDS * 1000 + 120_000,
  );
});
