/**
 * The embedded database: FerretDB v1.24.2 (MongoDB wire protocol) on an embedded PostgreSQL
 * (./postgres.ts), as child processes. Used by `npm start` when MONGO_URL is unset and by the
 * test suite. PostgreSQL rather than SQLite because FerretDB's PostgreSQL handler pushes
 * equality filters on top-level fields down to the database (and ./postgres.ts indexes them),
 * where the SQLite handler reads a whole collection for any filter but `_id` equality.
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
import { EmbeddedDatabaseUnavailable } from './embedded-errors.js';
import { migrateSqliteStore, sqliteFilesIn } from './migrate-sqlite.js';
import { startPostgres } from './postgres.js';

export const FERRETDB_VERSION = 'v1.24.2';
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
const START_TIMEOUT_MS = 15_000;

const run = promisify(execFile);

export { EmbeddedDatabaseUnavailable };

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
  /** The store: PostgreSQL's cluster in `postgres/` under it. */
  dataDir: string;
  host?: string;
  /** False for throwaway stores (the test suite): nothing is synced to disk. */
  durable?: boolean;
  progress?: Progress;
}

/** The folder of the PostgreSQL cluster in an embedded store. */
export const postgresDirOf = (dataDir: string) => join(resolve(dataDir), 'postgres');

/**
 * Starts PostgreSQL in `dataDir`, then FerretDB on it, and resolves once FerretDB accepts
 * connections; the first time, copies a SQLite store found in `dataDir` into it
 * (./migrate-sqlite.ts).
 */
export async function startFerretdb(options: StartFerretdbOptions): Promise<RunningFerretdb> {
  const host = options.host ?? '127.0.0.1';
  const binary = await ensureFerretdbBinary(options.progress);
  if (await portAnswers(host, options.port)) {
    throw new EmbeddedDatabaseUnavailable(
      `port ${options.port} is already in use; set EMBEDDED_DB_PORT to a free port or MONGO_URL to a running server`,
    );
  }
  const postgres = await startPostgres({
    dataDir: postgresDirOf(options.dataDir),
    durable: options.durable,
    progress: options.progress,
  });
  const child = spawnFerretdb(binary, [
    '--handler=postgresql',
    `--postgresql-url=postgres://postgres@/postgres?host=${postgres.socketDir}`,
    `--listen-addr=${host}:${options.port}`,
  ]);
  let ferretdb: RunningFerretdb | undefined;
  try {
    ferretdb = await running(child, host, options.port, postgres.stop);
    if ((await sqliteFilesIn(options.dataDir)).length > 0) {
      await migrateSqliteStore(
        options.dataDir,
        ferretdb.url,
        startSqliteFerretdb,
        options.progress ?? (() => undefined),
      );
    }
    return ferretdb;
  } catch (error) {
    await (ferretdb ?? postgres).stop();
    throw error;
  }
}

/**
 * FerretDB on the SQLite files of `dataDir` (the embedded store before PostgreSQL), for reading
 * them once into PostgreSQL (./migrate-sqlite.ts).
 */
export async function startSqliteFerretdb(options: {
  port: number;
  dataDir: string;
}): Promise<RunningFerretdb> {
  const host = '127.0.0.1';
  const binary = await ensureFerretdbBinary();
  const child = spawnFerretdb(binary, [
    '--handler=sqlite',
    `--sqlite-url=file:${resolve(options.dataDir)}/`,
    `--listen-addr=${host}:${options.port}`,
  ]);
  return running(child, host, options.port, async () => undefined);
}

function spawnFerretdb(binary: string, args: string[]): ChildProcess {
  return spawn(
    binary,
    [...args, '--telemetry=disable', '--state-dir=-', '--debug-addr=-', '--log-level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

/** Resolves once `child` accepts connections on the port; `after` runs once it has stopped. */
async function running(
  child: ChildProcess,
  host: string,
  port: number,
  after: () => Promise<void>,
): Promise<RunningFerretdb> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await portAnswers(host, port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new EmbeddedDatabaseUnavailable(`FerretDB did not start:\n${stderr}`);
    }
    await new Promise((wait) => setTimeout(wait, 50));
  }

  return {
    url: `mongodb://${host}:${port}/`,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await after();
    },
  };
}
