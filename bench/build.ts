/**
 * The processes the bench measures run compiled JavaScript, as `npm start` does, not through tsx:
 * tsx compiles with esbuild's `keepNames`, which gives every named closure a property dictionary
 * of its own (hundreds of bytes per idle connection) and costs CPU on every call that makes one.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Where `tsconfig.bench.json` puts src/ and bench/ (dist/ is ignored by git and the linters). */
export const BUILD_DIR = `${ROOT}dist/bench/`;

export function compileForBench(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', `${ROOT}tsconfig.bench.json`], { stdio: 'inherit' });
  // The compiled schema module reads the SDL from ../schema/, beside it.
  if (!existsSync(`${BUILD_DIR}schema`)) symlinkSync(`${ROOT}schema`, `${BUILD_DIR}schema`, 'dir');
}
