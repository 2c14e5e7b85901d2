/**
 * `npm run build` and the first half of `npm start`: compiles src/ to dist/ with tsc, one build
 * at a time per checkout.
 *
 *   node scripts/build.mjs                 compile
 *   node scripts/build.mjs --if-changed    compile unless dist/ was built from these very sources
 *
 * Several `npm start` at once in one checkout (a process manager starting N instances, the old
 * compose file) used to run tsc into the same dist/ together, and an instance whose tsc finished
 * first loaded a module another tsc was rewriting: it died with ERR_MODULE_NOT_FOUND or a
 * SyntaxError. Now:
 *
 * - a build holds dist/.build.lock while it runs; the others wait for it;
 * - dist/.build-stamp.json records a hash of what the build reads (src/, the tsconfigs, the
 *   lockfile, this script); with --if-changed a start whose sources match starts at once, and
 *   one that waited for a build of the same sources does not build again;
 * - tsc writes into a staging folder, and each file is then renamed into dist/: a process loading
 *   dist/ meanwhile reads every file whole (old or new), never half-written; a failed compile
 *   leaves dist/ as it was.
 *
 * The lock is proper-lockfile's: its holder refreshes it while building, so the lock of a build
 * that died is taken over once it has gone unrefreshed for LOCK_STALE_MS.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import lockfile from 'proper-lockfile';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');
const LOCK = join(DIST, '.build.lock');
const STAMP = join(DIST, '.build-stamp.json');
/** What the build reads: a change to any of them makes dist/ stale. */
const INPUTS = [
  'src',
  'tsconfig.json',
  'tsconfig.build.json',
  'package-lock.json',
  'scripts/build.mjs',
];
const LOCK_STALE_MS = 10_000;

const say = (line) => process.stderr.write(`build: ${line}\n`);

/** Relative paths (with /) of the files under a folder, sorted. */
function filesUnder(dir) {
  const files = [];
  const walk = (current) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push(relative(dir, path).split(sep).join('/'));
    }
  };
  walk(dir);
  return files.sort();
}

function sourcesHash() {
  const hash = createHash('sha256');
  for (const input of INPUTS) {
    const path = join(ROOT, input);
    const files = statSync(path).isDirectory()
      ? filesUnder(path).map((file) => `${input}/${file}`)
      : [input];
    for (const file of files) {
      hash
        .update(`${file}\0`)
        .update(readFileSync(join(ROOT, file)))
        .update('\0');
    }
  }
  return hash.digest('hex');
}

function readStamp() {
  try {
    return JSON.parse(readFileSync(STAMP, 'utf8'));
  } catch {
    return null;
  }
}

const isFresh = (sources) => readStamp()?.sources === sources && existsSync(join(DIST, 'main.js'));

/** Holds dist/.build.lock until this process exits, waiting for another build's if need be. */
async function holdLock() {
  const options = { stale: LOCK_STALE_MS, realpath: false, lockfilePath: LOCK };
  try {
    await lockfile.lock(DIST, options);
    return;
  } catch (error) {
    if (error.code !== 'ELOCKED') throw error;
  }
  say('waiting for another build to finish');
  const retries = { forever: true, factor: 1, minTimeout: 100, maxTimeout: 100 };
  await lockfile.lock(DIST, { ...options, retries });
}

function tscPath() {
  try {
    return createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    say('TypeScript is not installed: run `npm ci` (with the dev dependencies) first');
    process.exit(1);
  }
}

/** The running tsc, ended with this process on a signal. */
let tsc = null;

function compile(outDir) {
  return new Promise((resolve, reject) => {
    tsc = spawn(
      process.execPath,
      [tscPath(), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', outDir],
      { cwd: ROOT, stdio: 'inherit' },
    );
    tsc.once('error', reject);
    tsc.once('exit', (code, signal) => {
      tsc = null;
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

async function build(sources) {
  const started = Date.now();
  const staging = join(DIST, `.staging-${process.pid}`);
  // Left by builds that died: only the holder of the lock builds, so none is in use.
  for (const entry of readdirSync(DIST)) {
    if (entry.startsWith('.staging-')) rmSync(join(DIST, entry), { recursive: true, force: true });
  }
  say('compiling src/ to dist/ (tsc)');
  const code = await compile(staging);
  if (code !== 0) {
    rmSync(staging, { recursive: true, force: true });
    say(`tsc failed (exit ${code}); dist/ is unchanged`);
    return code;
  }
  const files = filesUnder(staging);
  const previous = readStamp()?.files ?? [];
  rmSync(STAMP, { force: true });
  for (const file of files) {
    mkdirSync(dirname(join(DIST, file)), { recursive: true });
    renameSync(join(staging, file), join(DIST, file));
  }
  const kept = new Set(files);
  for (const file of previous) if (!kept.has(file)) rmSync(join(DIST, file), { force: true });
  rmSync(staging, { recursive: true, force: true });
  writeFileSync(`${STAMP}.tmp`, JSON.stringify({ sources, files }));
  renameSync(`${STAMP}.tmp`, STAMP);
  say(`compiled src/ to dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

const ifChanged = process.argv.includes('--if-changed');
if (ifChanged && isFresh(sourcesHash())) process.exit(0);

mkdirSync(DIST, { recursive: true });
// A signal while waiting or building ends tsc too; proper-lockfile gives the lock back on exit.
const signals = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };
for (const [signal, number] of Object.entries(signals)) {
  process.on(signal, () => {
    tsc?.kill(signal);
    process.exit(128 + number);
  });
}
await holdLock();
// Hashed once the lock is ours: a build that held it may have been of newer sources.
const sources = sourcesHash();
if (ifChanged && isFresh(sources)) {
  say('dist/ was just built from these sources');
  process.exit(0);
}
process.exitCode = await build(sources);
