/**
 * A server started as an operator starts it — `npm start` in a checkout, the image's command in
 * its folder — as a process of its own: its port from the log, its output, SIGTERM and exit code.
 * Every process is the leader of its own group, so `killAll()` also reaches what `npm` started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, symlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

export interface ServerProcess {
  child: ChildProcess;
  /** Resolves with the port of the log line "GraphQL (and GraphiQL) at http://localhost:<port>/"; rejects if the process ends first. */
  port: Promise<number>;
  output(): string;
  /** The exit code (null if ended by a signal). */
  exited: Promise<number | null>;
  /**
   * Sends SIGTERM to the process (not its group) and returns its exit code; SIGKILL to the group
   * after 15 s. Throws if anything of its group runs on once it has exited (then killed).
   */
  stop(): Promise<number | null>;
}

/** Every process started, for killAll (what one started may outlive it). */
const started = new Set<ChildProcess>();

export function startProcess(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string> },
): ServerProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  started.add(child);
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-50_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolveExit) =>
    child.once('exit', (code) => resolveExit(code)),
  );
  const port = new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => {
      child.stdout!.off('data', look);
      reject(new Error(`no port after ${START_TIMEOUT_MS} ms:\n${output}`));
    }, START_TIMEOUT_MS);
    const look = () => {
      const match = /GraphiQL\) at http:\/\/localhost:(\d+)\//.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', look);
      resolvePort(Number(match[1]));
    };
    child.stdout!.on('data', look);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before serving:\n${output}`));
    });
  });
  port.catch(() => {}); // read by the test; a failure to start is reported there
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => killGroup(child), STOP_TIMEOUT_MS);
    const code = await exited;
    clearTimeout(timer);
    // The server a shell started may outlive the shell (sh dies on SIGTERM, its child runs on).
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
    if (groupAlive(child)) {
      killGroup(child);
      throw new Error(`${command} exited (${code}) but left processes running:\n${output}`);
    }
    return code;
  };
  return { child, port, output: () => output, exited, stop };
}

function groupAlive(child: ChildProcess): boolean {
  try {
    if (child.pid) process.kill(-child.pid, 0);
    return Boolean(child.pid);
  } catch {
    return false;
  }
}

function killGroup(child: ChildProcess) {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** SIGKILL to the group of every process started, whatever is left of it (for afterAll). */
export function killAll(): void {
  for (const child of started) if (groupAlive(child)) killGroup(child);
  started.clear();
}

/** Copies `paths` (relative to the repository) from `from` into `to`, keeping their places. */
export async function copyPaths(from: string, to: string, paths: string[]): Promise<void> {
  for (const path of paths) {
    await mkdir(dirname(join(to, path)), { recursive: true });
    await cp(join(from, path), join(to, path), { recursive: true });
  }
}

/** A `node_modules` in `dir` that is the checkout's (its dev dependencies installed). */
export async function linkCheckoutModules(dir: string): Promise<void> {
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
}

/** The environment a server process gets: nothing of the test runner's (npm_*, NODE_OPTIONS…). */
export function processEnv(env: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    // npm asks the registry whether it is out of date; not the test's business.
    npm_config_update_notifier: 'false',
    LOG_LEVEL: 'info',
    ...env,
  };
}
