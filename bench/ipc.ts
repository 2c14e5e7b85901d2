/**
 * A tiny typed RPC over Node's IPC channel, so that every process of the benchmark (server, raw
 * baseline, load generators) is a child the orchestrator drives and queries.
 *
 * An API is a map of method name to `[params, result]`. The child serves it with `serveRpc`; the
 * parent calls it through the `Worker` that `startWorker` returns. Children announce themselves
 * with `emit('ready', …)` and may send other events (progress) at any time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { BUILD_DIR } from './build.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Api = Record<string, [params: any, result: any]>;

type Handlers<A extends Api> = {
  [K in keyof A]: (params: A[K][0]) => A[K][1] | Promise<A[K][1]>;
};

interface RpcRequest {
  rpc: number;
  method: string;
  params: unknown;
}
interface RpcResponse {
  rpc: number;
  result?: unknown;
  error?: string;
}
interface RpcEvent {
  event: string;
  data: unknown;
}

/** Child side: answers the parent's calls. */
export function serveRpc<A extends Api>(handlers: Handlers<A>): void {
  process.on('message', (raw) => {
    const request = raw as RpcRequest;
    if (typeof request?.rpc !== 'number') return;
    const handler = handlers[request.method as keyof A];
    const reply = (response: Omit<RpcResponse, 'rpc'>) =>
      process.send?.({ rpc: request.rpc, ...response });
    if (!handler) {
      reply({ error: `unknown method ${request.method}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(request.params as A[keyof A][0]))
      .then(
        (result) => reply({ result }),
        (error: unknown) =>
          reply({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  // The orchestrator going away means the run is over.
  process.on('disconnect', () => process.exit(0));
}

/** Child side: an event for the parent (`ready`, progress). */
export function emit(event: string, data: unknown = null): void {
  process.send?.({ event, data } satisfies RpcEvent);
}

export interface Worker<A extends Api> {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Resolves with the data of the child's `ready` event. */
  ready: Promise<unknown>;
  call<K extends keyof A & string>(
    method: K,
    params: A[K][0],
    timeoutMs?: number,
  ): Promise<A[K][1]>;
  onEvent(listener: (event: string, data: unknown) => void): () => void;
  /** The last lines the child wrote to stdout/stderr. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
  kill(graceMs?: number): Promise<void>;
}

export interface WorkerOptions {
  env?: Record<string, string>;
  /** Extra Node flags (before the script). */
  nodeArgs?: string[];
  /** Soft file-descriptor limit to raise the child to (through `sh -c ulimit`). */
  nofile?: number;
  readyTimeoutMs?: number;
}

/** Starts `bench/<script>`, compiled (see build.ts), with an IPC channel. */
export function startWorker<A extends Api>(
  name: string,
  script: string,
  options: WorkerOptions = {},
): Worker<A> {
  const compiled = `${BUILD_DIR}bench/${script.replace(/\.ts$/, '.js')}`;
  const nodeArgs = [...(options.nodeArgs ?? []), compiled];
  const [command, args] = options.nofile
    ? [
        '/bin/sh',
        [
          '-c',
          `ulimit -n ${options.nofile} 2>/dev/null; exec "$@"`,
          'sh',
          process.execPath,
          ...nodeArgs,
        ],
      ]
    : [process.execPath, nodeArgs];
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'advanced',
    env: { ...process.env, ...options.env },
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Set<(event: string, data: unknown) => void>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const output = () => lines.join('\n');

  child.on('message', (raw) => {
    const message = raw as RpcResponse | RpcEvent;
    if ('rpc' in message) {
      const call = pending.get(message.rpc);
      pending.delete(message.rpc);
      if (message.error !== undefined) call?.reject(new Error(`${name}: ${message.error}`));
      else call?.resolve(message.result);
    } else if ('event' in message) {
      for (const listener of listeners) listener(message.event, message.data);
    }
  });
  child.once('exit', (code, signal) => {
    const error = new Error(`${name} exited (${signal ?? code})\n${output().slice(-3000)}`);
    for (const call of pending.values()) call.reject(error);
    pending.clear();
  });

  const ready = new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start\n${output()}`)),
      options.readyTimeoutMs ?? 60_000,
    );
    const unsubscribe = onEvent((event, data) => {
      if (event !== 'ready') return;
      clearTimeout(timer);
      unsubscribe();
      resolve(data);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before it was ready (${signal ?? code})\n${output()}`));
    });
  });
  ready.catch(() => undefined);

  function onEvent(listener: (event: string, data: unknown) => void) {
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }

  return {
    name,
    pid: child.pid ?? -1,
    child,
    ready,
    call(method, params, timeoutMs = 600_000) {
      if (child.exitCode !== null || child.signalCode !== null) {
        return Promise.reject(new Error(`${name} is not running\n${output().slice(-3000)}`));
      }
      const rpc = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(rpc);
          reject(new Error(`${name}.${method} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(rpc, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as never);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.send({ rpc, method, params } satisfies RpcRequest);
      });
    },
    onEvent,
    output,
    async kill(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
