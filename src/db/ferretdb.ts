/**
 * The embedded database: FerretDB v1.24.2 (MongoDB wire protocol on SQLite) as a child process.
 * Used by `npm start` when MONGO_URL is unset and by the test suite.
 *
 * A plain `go install` of FerretDB builds a binary that panics at start-up (the module zip lacks
 * the generated build/version/version.txt), so the binary is built from a writable copy of the
 * module with that file written in, then cached.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { access, chmod, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { createConnection } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const FERRETDB_VERSION = 'v1.24.2';
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
const START_TIMEOUT_MS = 15_000;

const run = promisify(execFile);

export class EmbeddedDatabaseUnavailable extends Error {
  override name = 'EmbeddedDatabaseUnavailable';
}

export interface RunningFerretdb {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

type Progress = (line: string) => void;

function cachedBinaryPath(): string {
  const cacheRoot = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(cacheRoot, 'zerohour', 'ferretdb', FERRETDB_VERSION, 'ferretdb');
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && (await isExecutable(join(dir, name)))) return join(dir, name);
  }
  return undefined;
}

/** True when the binary runs and reports the pinned version. */
async function isPinnedFerretdb(path: string): Promise<boolean> {
  try {
    const { stdout } = await run(path, ['--version'], { timeout: 10_000 });
    return stdout.includes(`version: ${FERRETDB_VERSION}`);
  } catch {
    return false;
  }
}

async function buildWithGo(target: string, progress: Progress): Promise<void> {
  const go = await findOnPath('go');
  if (!go) {
    throw new EmbeddedDatabaseUnavailable(
      `FerretDB ${FERRETDB_VERSION} is not installed and Go is not available to build it. ` +
        'Install Go 1.24+ (or put a `ferretdb` binary on PATH), or set MONGO_URL to a MongoDB server.',
    );
  }
  const env = { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' };
  progress(`building FerretDB ${FERRETDB_VERSION} with Go (first run only; about 2 minutes)…`);
  progress('  1/3 downloading the module and its dependencies');
  const { stdout } = await run(
    go,
    ['mod', 'download', '-json', `${FERRETDB_MODULE}@${FERRETDB_VERSION}`],
    {
      env,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const moduleDir = (JSON.parse(stdout) as { Dir?: string }).Dir;
  if (!moduleDir)
    throw new EmbeddedDatabaseUnavailable('go mod download did not report a module directory');

  const work = await mkdtemp(join(tmpdir(), 'ferretdb-build-'));
  try {
    await cp(moduleDir, work, { recursive: true });
    await run('chmod', ['-R', 'u+w', work]);
    await writeFile(join(work, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
    progress('  2/3 compiling');
    await mkdir(join(target, '..'), { recursive: true });
    const partial = `${target}.partial`;
    await run(go, ['build', '-trimpath', '-buildvcs=false', '-o', partial, './cmd/ferretdb'], {
      cwd: work,
      env,
      maxBuffer: 16 * 1024 * 1024,
    });
    await chmod(partial, 0o755);
    await run('mv', [partial, target]);
    progress(`  3/3 cached at ${target}`);
  } finally {
    await run('chmod', ['-R', 'u+w', work]).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Path of a FerretDB binary of the pinned version: FERRETDB_BIN, then PATH, then the cache,
 * building into the cache when none is found.
 */
export async function ensureFerretdbBinary(progress: Progress = () => undefined): Promise<string> {
  const candidates = [process.env.FERRETDB_BIN, await findOnPath('ferretdb'), cachedBinaryPath()];
  for (const candidate of candidates) {
    if (candidate && (await isPinnedFerretdb(candidate))) return candidate;
  }
  const target = cachedBinaryPath();
  await buildWithGo(target, progress);
  if (!(await isPinnedFerretdb(target))) {
    throw new EmbeddedDatabaseUnavailable(`the FerretDB built at ${target} does not run`);
  }
  return target;
}

function portAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

export interface StartFerretdbOptions {
  port: number;
  dataDir: string;
  host?: string;
  progress?: Progress;
}

/** Starts FerretDB on SQLite under `dataDir` and resolves once it accepts connections. */
export async function startFerretdb(options: StartFerretdbOptions): Promise<RunningFerretdb> {
  const host = options.host ?? '127.0.0.1';
  const binary = await ensureFerretdbBinary(options.progress);
  if (await portAnswers(host, options.port)) {
    throw new EmbeddedDatabaseUnavailable(
      `port ${options.port} is already in use; set EMBEDDED_DB_PORT to a free port or MONGO_URL to a running server`,
    );
  }
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const child = spawn(
    binary,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dataDir}/`,
      `--listen-addr=${host}:${options.port}`,
      '--telemetry=disable',
      '--state-dir=-',
      '--debug-addr=-',
      '--log-level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await portAnswers(host, options.port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new EmbeddedDatabaseUnavailable(`FerretDB did not start:\n${stderr}`);
    }
    await new Promise((wait) => setTimeout(wait, 50));
  }

  return {
    url: `mongodb://${host}:${options.port}/`,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
