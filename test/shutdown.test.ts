/** SIGTERM: requests in flight finish, sockets close with 1001, streams end, exit 0 in bounds. */
import { spawn } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from './support/ports.js';
import { TEST_SECRET } from './support/server.js';

const children: ReturnType<typeof spawn>[] = [];
afterAll(() => children.forEach((child) => child.kill('SIGKILL')));

it('drains and exits 0 on SIGTERM', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      MONGO_URL: inject('mongoUrl'),
      DB_NAME: `shutdown_${port}`,
      SECRET_KEY: TEST_SECRET,
      // Slow hashing keeps a login in flight while the signal arrives.
      PASSWORD_HASH_ROUNDS: '1000000',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 30_000;
  while (!output.includes('GraphiQL) at')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(output);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const base = `http://127.0.0.1:${port}`;
  const register = await fetch(`${base}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      first_name: 'Shut',
      last_name: 'Down',
      mobile_no: '1234567',
      email: `shut-${port}@example.com`,
      username: `shut_${port}`,
      password: 'password123',
      security_phrase: 'phrase',
    }),
  });
  const { access_token: token, user_data: user } = (await register.json()) as {
    access_token: string;
    user_data: { user_id: string };
  };

  // A graphql-ws socket, a legacy WebSocket, a legacy SSE stream and a GraphQL SSE subscription.
  const graphqlWs = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws');
  const legacyWs = new WebSocket(`ws://127.0.0.1:${port}/ws/${user.user_id}?token=${token}`);
  const closes = [graphqlWs, legacyWs].map(
    (socket) => new Promise<number>((resolve) => socket.once('close', (code) => resolve(code))),
  );
  await Promise.all(
    [graphqlWs, legacyWs].map((socket) => new Promise((resolve) => socket.once('open', resolve))),
  );
  const legacySse = await fetch(`${base}/sse/${user.user_id}?token=${token}`);
  const graphqlSse = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query: 'subscription { presenceChanged(userIds: ["x"]) { id } }' }),
  });
  const streamsEnded = Promise.all([legacySse.text(), graphqlSse.text()]);

  const inFlight = fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: `shut_${port}`, password: 'password123' }),
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = Date.now();
  child.kill('SIGTERM');
  expect((await inFlight).status).toBe(200);
  expect(await Promise.all(closes)).toEqual([1001, 1001]);
  await streamsEnded;
  const code = await exited;
  if (code !== 0) console.log(output);
  expect(code).toBe(0);
  expect(Date.now() - started).toBeLessThan(10_000);
}, 60_000);
