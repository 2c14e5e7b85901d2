/**
 * Three `npm start` at once in one checkout all serve (issue 18, item 2). Before, each ran tsc
 * into the same dist/ and an instance loaded a module another tsc was rewriting (2 of 6 tries
 * on a two-core machine: ERR_MODULE_NOT_FOUND, or a SyntaxError on a missing export).
 *
 * Runs in a copy of the checkout (what a clone has, with the checkout's node_modules), so the
 * working tree's dist/ is never written: a fresh clone (no dist/), then with a source changed
 * (a rebuild over an existing dist/: what failed most often before), then unchanged (no build).
 */
import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, inject, it } from 'vitest';
import {
  ROOT,
  copyPaths,
  killAll,
  linkCheckoutModules,
  processEnv,
  startProcess,
  type ServerProcess,
} from './support/server-process.js';
import { TEST_ENV } from './support/server.js';

/** What `npm start` reads in a clone: package.json's scripts, the build script and its inputs, the SDL. */
const CHECKOUT = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'scripts',
  'src',
  'schema',
];

const temporary: string[] = [];
afterAll(async () => {
  killAll();
  await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })));
});

const dbName = `concurrent_${randomUUID().slice(0, 8)}`;

function npmStart(checkout: string): ServerProcess {
  return startProcess('npm', ['start'], {
    cwd: checkout,
    env: processEnv({ ...TEST_ENV, MONGO_URL: inject('mongoUrl'), DB_NAME: dbName }),
  });
}

async function serves(port: number, name: string) {
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  expect(health.status).toBe(200);
  const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: `mutation ($input: RegisterInput!) { register(input: $input) { user { username } } }`,
      variables: {
        input: {
          firstName: 'Con',
          lastName: 'Current',
          mobileNo: '1234567',
          email: `${name}@example.com`,
          username: name,
          password: 'password123',
          securityPhrase: 'three at once',
        },
      },
    }),
  });
  expect(await response.json()).toEqual({ data: { register: { user: { username: name } } } });
}

/** Starts three at once; each serves; stops them (SIGTERM to npm reaches the server: exit 0). */
async function threeAtOnce(checkout: string, round: string): Promise<string> {
  const servers = [npmStart(checkout), npmStart(checkout), npmStart(checkout)];
  const ports = await Promise.allSettled(servers.map((server) => server.port));
  const failed = ports.flatMap((result, index) =>
    result.status === 'rejected' ? [`npm start ${index + 1}: ${result.reason}`] : [],
  );
  if (failed.length > 0) {
    await Promise.all(servers.map((server) => server.stop()));
    expect.fail(`${round}: ${failed.length} of 3 did not serve\n${failed.join('\n')}`);
  }
  const opened = ports.map((result) => (result as PromiseFulfilledResult<number>).value);
  expect(new Set(opened).size).toBe(3);
  await Promise.all(opened.map((port, index) => serves(port, `${round}_${index}_${port}`)));
  const outputs = servers.map((server) => server.output());
  expect(await Promise.all(servers.map((server) => server.stop()))).toEqual([0, 0, 0]);
  return outputs.join('\n');
}

const compilations = (output: string) =>
  output.match(/build: compiled src\/ to dist\//g)?.length ?? 0;

it('three npm start at once in one checkout all serve: a fresh clone, a changed source, unchanged', async () => {
  const checkout = await mkdtemp(join(tmpdir(), 'zerohour-checkout-'));
  temporary.push(checkout);
  await copyPaths(ROOT, checkout, CHECKOUT);
  await linkCheckoutModules(checkout);

  // A fresh clone: no dist/. One builds, the other two wait for it and start without building.
  const fresh = await threeAtOnce(checkout, 'fresh');
  expect(compilations(fresh)).toBe(1);
  expect(fresh.match(/build: dist\/ was just built from these sources/g)?.length).toBe(2);

  // A source changed: dist/ is rebuilt once, while the other two wait.
  await appendFile(
    join(checkout, 'src/main.ts'),
    '\n// changed by test/concurrent-start.test.ts\n',
  );
  expect(compilations(await threeAtOnce(checkout, 'changed'))).toBe(1);

  // Nothing changed: nobody builds.
  expect(compilations(await threeAtOnce(checkout, 'unchanged'))).toBe(0);

  // No lock, stamp written, no staging folder left behind.
  const left = await readdir(join(checkout, 'dist'));
  expect(left).toContain('.build-stamp.json');
  expect(left.filter((entry) => entry.startsWith('.staging-') || entry === '.build.lock')).toEqual(
    [],
  );
}, 180_000);
