/**
 * The production image, without a container engine (issue 18, item 1): the Dockerfile is read,
 * its build stage is replayed in one folder and its run stage laid out in another — the same
 * COPY lines, `npm ci --omit=dev` from the registry — and the server is started there with the
 * image's environment and command against the test database. A runtime import of a dev
 * dependency, a file the server reads that the image lacks, or Node flags that drift from
 * package.json fail here.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  copies,
  execForm,
  instructions,
  options,
  parseDockerfile,
  sentToBuilder,
  type Copy,
  type Stage,
} from './support/dockerfile.js';
import {
  ROOT,
  killAll,
  linkCheckoutModules,
  processEnv,
  startProcess,
} from './support/server-process.js';

const run = promisify(execFile);

const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  config: { serverNodeFlags: string };
  devDependencies: Record<string, string>;
};
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8');
const stages = parseDockerfile(dockerfile);
const buildStage = stages[0]!;
const runStage = stages.at(-1)!;

/** What the run stage holds, and from where: the test lays out exactly this. */
const RUN_STAGE_COPIES: Copy[] = [
  { from: undefined, sources: ['package.json', 'package-lock.json'], destination: './' },
  { from: undefined, sources: ['schema/'], destination: 'schema/' },
  { from: 'build', sources: ['/app/dist/'], destination: 'dist/' },
];
const RUN_STAGE_ENTRIES = ['dist', 'node_modules', 'package-lock.json', 'package.json', 'schema'];

const temporary: string[] = [];
afterAll(async () => {
  killAll();
  await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Files under a path of the repository (the path itself for a file), relative, with /. */
function filesOf(path: string): string[] {
  const full = join(ROOT, path);
  if (!statSync(full).isDirectory()) return [path.replace(/\/$/, '')];
  return readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)).split('\\').join('/'));
}

/** COPY as Docker does it: a folder's contents into the destination, a file into it (…/) or as it. */
async function applyCopy(copy: Copy, sourceRoot: string, target: string) {
  for (const source of copy.sources) {
    const from = join(sourceRoot, source);
    const to = statSync(from).isDirectory()
      ? join(target, copy.destination)
      : copy.destination.endsWith('/')
        ? join(target, copy.destination, basename(source))
        : join(target, copy.destination);
    await mkdir(dirname(to), { recursive: true });
    await cp(from, to, { recursive: true });
  }
}

const runCommands = (stage: Stage) => instructions(stage, 'RUN').map(({ args }) => args);

describe('the Dockerfile', () => {
  it('builds on one pinned Node image, in two stages', () => {
    expect(stages.map((stage) => stage.name)).toEqual(['build', 'run']);
    expect(buildStage.image).toMatch(/^node:\d+\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
    expect(runStage.image).toBe(buildStage.image);
    expect(instructions(buildStage, 'WORKDIR').map(({ args }) => args)).toEqual(['/app']);
    expect(runCommands(buildStage)).toEqual(['npm ci --no-audit --no-fund', 'npm run build']);
  });

  it('runs as a non-root user, in production, with the Node flags of package.json', () => {
    expect(instructions(runStage, 'ENV').map(({ args }) => args)).toContain('NODE_ENV=production');
    const [user] = instructions(runStage, 'USER').map(({ args }) => args);
    expect(user).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
    expect(instructions(runStage, 'EXPOSE').map(({ args }) => args)).toEqual(['8001']);
    expect(instructions(runStage, 'STOPSIGNAL').map(({ args }) => args)).toEqual(['SIGTERM']);
    const [command] = instructions(runStage, 'CMD').map(({ args }) => execForm(args));
    expect(command).toEqual([
      'node',
      ...packageJson.config.serverNodeFlags.split(' ').filter(Boolean),
      'dist/main.js',
    ]);
    const [healthcheck] = instructions(runStage, 'HEALTHCHECK').map(({ args }) => args);
    expect(Object.keys(options(healthcheck!))).toEqual(
      expect.arrayContaining(['interval', 'timeout', 'start-period', 'retries']),
    );
    expect(execForm(healthcheck!).slice(0, 2)).toEqual(['node', '-e']);
    expect(execForm(healthcheck!)[2]).toContain('/healthz');
  });

  it('copies into the run stage exactly what the layout test lays out', () => {
    expect(copies(runStage)).toEqual(RUN_STAGE_COPIES);
    const [install, ...rest] = runCommands(runStage);
    expect(rest).toEqual([]);
    expect(install).toMatch(
      /^npm ci --omit=dev --ignore-scripts\b[^&]*&& npm cache clean --force$/,
    );
  });

  it('gets from .dockerignore every file it copies, and no node_modules, dist, data, .env, .git, tests', () => {
    const copied = stages.flatMap(copies).filter((copy) => copy.from === undefined);
    const files = copied.flatMap((copy) => copy.sources.flatMap(filesOf));
    expect(files.length).toBeGreaterThan(50);
    expect(files.filter((file) => !sentToBuilder(dockerignore, file))).toEqual([]);
    const outside = [
      '.env',
      '.git/HEAD',
      'node_modules/fastify/package.json',
      'dist/main.js',
      'data/ferretdb/zerohour_chat.sqlite',
      'test/image.test.ts',
      'bench/results/2026-12-06.json',
      'bench/run.ts',
      'Dockerfile',
    ];
    expect(outside.filter((path) => sentToBuilder(dockerignore, path))).toEqual([]);
  });

  it('is what docker-compose.yml builds once and runs twice, with no npm and no shared node_modules', () => {
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    expect(compose.match(/^ +build:/gm)).toEqual(['    build:']);
    expect(compose).toMatch(/^ {2}image: zerohour-chat:local$/m);
    expect(compose).toMatch(/^ {2}app1:\n {4}<<: \*app\n/m);
    expect(compose).toMatch(/^ {2}app2:\n {4}<<: \*app\n/m);
    expect(compose).not.toMatch(/npm|node_modules|\.:\/app/);
  });
});

it('the run stage, laid out in a folder, serves with the image command and stops on SIGTERM', async () => {
  const timings: string[] = [];
  const time = async <T>(what: string, step: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const result = await step();
    timings.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
  };

  // The build stage: its COPY lines into /app; `npm ci` (the lockfile's whole tree) is the
  // checkout's node_modules; then `npm run build`.
  const buildDir = await mkdtemp(join(tmpdir(), 'zerohour-image-build-'));
  temporary.push(buildDir);
  for (const copy of copies(buildStage)) await applyCopy(copy, ROOT, buildDir);
  await linkCheckoutModules(buildDir);
  await time('npm run build', () =>
    run('npm', ['run', 'build'], { cwd: buildDir, env: processEnv({}) }),
  );

  // The run stage: its COPY lines (from the context or the build stage's /app), its `npm ci`.
  const runDir = await mkdtemp(join(tmpdir(), 'zerohour-image-run-'));
  temporary.push(runDir);
  for (const copy of copies(runStage)) {
    if (copy.from === 'build') {
      const fromBuild = { ...copy, sources: copy.sources.map((path) => relative('/app', path)) };
      await applyCopy(fromBuild, buildDir, runDir);
    } else {
      await applyCopy(copy, ROOT, runDir);
    }
  }
  const install = runCommands(runStage)[0]!.split('&&')[0]!.trim().split(/\s+/);
  expect(install.slice(0, 2)).toEqual(['npm', 'ci']);
  await time('npm ci --omit=dev', () =>
    run('npm', install.slice(1), {
      cwd: runDir,
      env: processEnv({ NODE_ENV: 'production' }),
    }),
  );

  expect((await readdir(runDir)).sort()).toEqual(RUN_STAGE_ENTRIES);
  const devOnly = Object.keys(packageJson.devDependencies).filter((name) =>
    existsSync(join(runDir, 'node_modules', name)),
  );
  expect(devOnly).toEqual([]);
  // Nothing above the folder could lend it a module either.
  for (let dir = dirname(runDir); dir !== dirname(dir); dir = dirname(dir)) {
    expect(existsSync(join(dir, 'node_modules')), `${dir}/node_modules`).toBe(false);
  }

  // The image's environment and command; the port, interface and database are the test's.
  const imageEnv = Object.fromEntries(
    instructions(runStage, 'ENV').map(({ args }) => args.split('=', 2) as [string, string]),
  );
  const dbName = `image_${randomUUID().slice(0, 8)}`;
  const [node, ...args] = execForm(instructions(runStage, 'CMD')[0]!.args);
  expect(node).toBe('node');
  const server = startProcess(process.execPath, args, {
    cwd: runDir,
    env: processEnv({
      ...imageEnv,
      PORT: '0',
      HOST: '127.0.0.1',
      MONGO_URL: inject('mongoUrl'),
      DB_NAME: dbName,
      SECRET_KEY: randomBytes(48).toString('base64'),
    }),
  });
  const port = await time('start', () => server.port);
  const base = `http://127.0.0.1:${port}`;
  try {
    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
    const ready = await fetch(`${base}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready' }]);

    const gql = async (query: string, variables?: object, token?: string) => {
      const response = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as { data?: Record<string, unknown>; errors?: unknown };
    };
    expect(await gql('{ __typename }')).toEqual({ data: { __typename: 'Query' } });
    // Production hashing cost (600,000 rounds): the production floor, as the image runs it.
    const registered = await gql(
      `mutation ($input: RegisterInput!) { register(input: $input) { accessToken } }`,
      {
        input: {
          firstName: 'Image',
          lastName: 'Test',
          mobileNo: '1234567',
          email: `${dbName}@example.com`,
          username: dbName,
          password: 'correct horse battery staple',
          securityPhrase: 'built once, run anywhere',
        },
      },
    );
    const token = (registered.data?.register as { accessToken: string } | undefined)?.accessToken;
    expect(token, JSON.stringify(registered)).toBeTruthy();
    expect(await gql('{ me { username } }', undefined, token)).toEqual({
      data: { me: { username: dbName } },
    });

    // The HEALTHCHECK's own command, as Docker would run it in the container.
    const [, ...check] = execForm(instructions(runStage, 'HEALTHCHECK')[0]!.args);
    await expect(
      run(process.execPath, check, { env: processEnv({ PORT: String(port) }) }),
    ).resolves.toBeDefined();
  } finally {
    const code = await time('SIGTERM to exit', () => server.stop());
    expect(code, server.output()).toBe(0);
    expect(server.output()).toContain('SIGTERM: shutting down');
    const client = await MongoClient.connect(inject('mongoUrl'));
    await client.db(dbName).dropDatabase();
    await client.close();
  }
  console.log(`image layout: ${timings.join(', ')}`);
}, 240_000);
