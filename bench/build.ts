/**
 * The processes the bench measures run compiled JavaScript, as `npm start` does, not through tsx:
 * tsx compiles with esbuild's `keepNames`, which gives every named closure a property dictionary
 * of its own (hundreds of bytes per idle connection) and costs CPU on every call that makes one.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/**
 * The Node flags `npm start` runs the server with (package.json `config.serverNodeFlags`); every
 * measured process gets them, the baselines too. (Read by the orchestrator, which runs from the
 * sources: ROOT is the repository there.)
 */
export function serverNodeFlags(): string[] {
  const { config } = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {
    config: { serverNodeFlags: string };
  };
  return config.serverNodeFlags.split(' ').filter(Boolean);
}

/** Where `tsconfig.bench.json` puts src/ and bench/ (dist/ is ignored by git and the linters). */
export const BUILD_DIR = `${ROOT}dist/bench/`;

export function compileForBench(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', `${ROOT}tsconfig.bench.json`], { stdio: 'inherit' });
  // The compiled schema module reads the SDL from ../schema/, beside it.
  if (!existsSync(`${BUILD_DIR}schema`)) symlinkSync(`${ROOT}schema`, `${BUILD_DIR}schema`, 'dir');
}
