/** `npm start` as a user runs it: no MONGO_URL, so the embedded FerretDB comes up with the server. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { freePort } from './support/ports.js';

const temporary: string[] = [];
afterEach(async () => {
  await Promise.all(temporary.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, exited, output: () => output };
}

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

it('serves GraphiQL on the embedded database and stops both on SIGTERM', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'zerohour-start-'));
  temporary.push(dataDir);
  const [port, dbPort] = [await freePort(), await freePort()];
  const main = startMain({
    PORT: String(port),
    EMBEDDED_DB_PORT: String(dbPort),
    EMBEDDED_DB_DIR: dataDir,
  });
  const deadline = Date.now() + 60_000;
  while (!main.output().includes('GraphiQL) at')) {
    if (Date.now() > deadline || main.child.exitCode !== null) throw new Error(main.output());
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const page = await fetch(`http://127.0.0.1:${port}/graphql`, {
    headers: { accept: 'text/html' },
  });
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('ZeroHour Chat GraphQL');
  const query = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ searchUsers(query: "x") { id } }' }),
  });
  expect((await query.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  expect(await answers(dbPort)).toBe(true);

  main.child.kill('SIGTERM');
  expect(await main.exited).toBe(0);
  expect(await answers(dbPort)).toBe(false);
}, 90_000);

it('says to set MONGO_URL when neither FerretDB nor Go is available', async () => {
  const emptyCache = await mkdtemp(join(tmpdir(), 'zerohour-no-cache-'));
  temporary.push(emptyCache);
  const main = startMain({
    PATH: dirname(process.execPath),
    XDG_CACHE_HOME: emptyCache,
    EMBEDDED_DB_PORT: String(await freePort()),
  });
  expect(await main.exited).toBe(1);
  expect(main.output()).toContain('MONGO_URL');
  expect(main.output()).toMatch(/Go is not available/);
}, 30_000);
