/**
 * Moving an embedded store from SQLite (the embedded default before PostgreSQL) into the
 * store's PostgreSQL, once, at the first start that finds SQLite files in it: FerretDB is
 * started on the SQLite files, every database's collections are copied with their indexes, the
 * copy is checked (every collection holds as many documents as its original), and the SQLite
 * files are moved aside into `sqlite-before-postgres/` (kept, not deleted). A copy that is
 * interrupted is started again by the next start: documents copied before are recognised by
 * their `_id` and skipped.
 */
import { mkdir, readdir, rename } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import {
  MongoBulkWriteError,
  MongoClient,
  type Db,
  type Document,
  type IndexDescription,
} from 'mongodb';
import { EmbeddedDatabaseUnavailable } from './embedded-errors.js';

const COPY_BATCH = 1000;
export const SQLITE_BACKUP_DIR = 'sqlite-before-postgres';

type StartSqlite = (options: { port: number; dataDir: string }) => Promise<{
  url: string;
  stop(): Promise<void>;
}>;

/** The SQLite files of a store (FerretDB writes `<database>.sqlite` and its -wal/-shm files). */
export async function sqliteFilesIn(dataDir: string): Promise<string[]> {
  const names = await readdir(resolve(dataDir)).catch(() => [] as string[]);
  return names.filter((name) => /\.sqlite(-wal|-shm|-journal)?$/.test(name));
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/** Copies every database of the SQLite store in `dataDir` into `targetUrl`, then moves it aside. */
export async function migrateSqliteStore(
  dataDir: string,
  targetUrl: string,
  startSqlite: StartSqlite,
  progress: (line: string) => void,
): Promise<void> {
  progress(`found a SQLite store in ${dataDir}: copying it into PostgreSQL (once)`);
  const source = await startSqlite({ port: await freePort(), dataDir });
  const from = new MongoClient(source.url);
  const to = new MongoClient(targetUrl);
  try {
    await Promise.all([from.connect(), to.connect()]);
    const { databases } = await from.db('admin').admin().listDatabases({ nameOnly: true });
    for (const { name } of databases) {
      const copied = await copyDatabase(from.db(name), to.db(name));
      progress(`  ${name}: ${copied} documents copied`);
    }
  } finally {
    await Promise.allSettled([from.close(), to.close()]);
    await source.stop();
  }
  const backup = join(resolve(dataDir), SQLITE_BACKUP_DIR);
  await mkdir(backup, { recursive: true });
  for (const file of await sqliteFilesIn(dataDir)) {
    await rename(join(resolve(dataDir), file), join(backup, file));
  }
  progress(`  done; the SQLite files are kept in ${backup}`);
}

async function copyDatabase(from: Db, to: Db): Promise<number> {
  let total = 0;
  for (const { name } of await from.listCollections({}, { nameOnly: true }).toArray()) {
    const source = from.collection(name);
    const target = to.collection(name);
    const indexes = (await source.listIndexes().toArray()) as (IndexDescription & Document)[];
    for (const { key, name: indexName, unique, sparse } of indexes) {
      if (indexName === '_id_') continue;
      await target.createIndex(key, {
        name: indexName,
        ...(unique ? { unique } : {}),
        ...(sparse ? { sparse } : {}),
      });
    }
    let batch: Document[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      try {
        await target.insertMany(batch, { ordered: false });
      } catch (error) {
        // Copied by an earlier, interrupted start: the same `_id`, the same document.
        const duplicatesOnly =
          error instanceof MongoBulkWriteError &&
          [error.writeErrors].flat().every((each) => each.code === 11000);
        if (!duplicatesOnly) throw error;
      }
      batch = [];
    };
    for await (const doc of source.find({}, { batchSize: COPY_BATCH })) {
      batch.push(doc);
      if (batch.length >= COPY_BATCH) await flush();
    }
    await flush();
    const [had, has] = await Promise.all([source.countDocuments({}), target.countDocuments({})]);
    if (had !== has) {
      throw new EmbeddedDatabaseUnavailable(
        `copying ${from.databaseName}.${name} from SQLite: ${had} documents there, ${has} copied; ` +
          'the SQLite files are left in place and the next start tries again',
      );
    }
    total += has;
  }
  return total;
}
