/**
 * One embedded database for the whole run (FerretDB on PostgreSQL, as `npm start` runs it),
 * started by the project's own launcher on a free port with a throwaway data directory, not
 * synced to disk. Each test file uses its own database in it. TEST_MONGO_URL points the suite at
 * another server (e.g. a real MongoDB) instead.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startFerretdb } from '../../src/db/ferretdb.js';
import { freePort } from './ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUrl: string;
  }
}

export default async function setup(project: TestProject) {
  if (process.env.TEST_MONGO_URL) {
    project.provide('mongoUrl', process.env.TEST_MONGO_URL);
    return;
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'zerohour-test-db-'));
  const ferretdb = await startFerretdb({
    port: await freePort(),
    dataDir,
    durable: false,
    progress: (line) => console.log(`[ferretdb] ${line}`),
  });
  project.provide('mongoUrl', ferretdb.url);
  return async () => {
    await ferretdb.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
