/**
 * The server under test in test/soak.test.ts, in a process of its own so that its heap can be
 * measured: run as `node --expose-gc --import tsx test/support/soak-server.ts`, configured by the
 * environment (as src/main.ts is), controlled over the IPC channel.
 *
 * Before the app is loaded it instruments what a leak would grow: listeners on plain
 * EventTargets (the event bus is one: every subscription, legacy socket and SSE stream adds a
 * listener and must remove it) and the listening servers (to count their open connections).
 *
 * IPC: the parent sends `{ id, command: 'stats' | 'stop' }` and gets `{ id, stats }` or
 * `{ id, stopped: true }`; the child sends `{ ready: true, port }` once it listens.
 */
import { getEventListeners } from 'node:events';
import { Server as NetServer } from 'node:net';

const trackedTargets = new Map<EventTarget, Set<string>>();
const addEventListener = EventTarget.prototype.addEventListener;
EventTarget.prototype.addEventListener = function (
  this: EventTarget,
  type: string,
  ...rest: unknown[]
) {
  // Plain EventTargets only (the bus); AbortSignals and sockets are subclasses.
  if (this.constructor === EventTarget) {
    const types = trackedTargets.get(this) ?? new Set<string>();
    trackedTargets.set(this, types);
    types.add(type);
  }
  return (addEventListener as (...args: unknown[]) => void).call(this, type, ...rest);
} as typeof EventTarget.prototype.addEventListener;

const listening = new Set<NetServer>();
const listen = NetServer.prototype.listen;
NetServer.prototype.listen = function (this: NetServer, ...args: unknown[]) {
  listening.add(this);
  return (listen as (...args: unknown[]) => NetServer).apply(this, args);
} as typeof NetServer.prototype.listen;

const { loadConfig } = await import('../../src/config.js');
const { createLogger } = await import('../../src/logger.js');
const { startService } = await import('../../src/start.js');

export interface SoakStats {
  /** V8 heap in use after forced garbage collections. */
  heapUsed: number;
  rss: number;
  /** Listeners on plain EventTargets (the event bus), by topic prefix. */
  busListeners: number;
  busListenersByTopic: Record<string, number>;
  /** Open TCP connections to the HTTP server (REST, GraphQL, WebSocket, SSE). */
  connections: number;
  /** process.getActiveResourcesInfo(), counted by kind (timers, sockets, …). */
  resources: Record<string, number>;
  gcExposed: boolean;
}

const gc = (globalThis as { gc?: () => void }).gc;

async function collect(): Promise<void> {
  for (let round = 0; round < 4; round++) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function stats(): Promise<SoakStats> {
  await collect();
  const byTopic: Record<string, number> = {};
  let busListeners = 0;
  for (const [target, types] of trackedTargets) {
    for (const type of types) {
      const count = getEventListeners(target, type).length;
      if (count === 0) continue;
      busListeners += count;
      const topic = type.split(':')[0] ?? type;
      byTopic[topic] = (byTopic[topic] ?? 0) + count;
    }
  }
  let connections = 0;
  for (const server of listening) {
    connections += await new Promise<number>((resolve) =>
      server.getConnections((error, count) => resolve(error ? 0 : count)),
    );
  }
  const resources: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) resources[kind] = (resources[kind] ?? 0) + 1;
  const memory = process.memoryUsage();
  return {
    heapUsed: memory.heapUsed,
    rss: memory.rss,
    busListeners,
    busListenersByTopic: byTopic,
    connections,
    resources,
    gcExposed: gc !== undefined,
  };
}

const config = loadConfig(process.env);
const service = await startService(config, createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'));

process.on('message', (message: { id: number; command: 'stats' | 'stop' }) => {
  const reply = (body: object) => process.send?.({ id: message.id, ...body });
  if (message.command === 'stats') {
    void stats().then((value) => reply({ stats: value }));
  } else if (message.command === 'stop') {
    void (async () => {
      await service.app.db.db.dropDatabase().catch(() => undefined);
      await service.stop();
      reply({ stopped: true });
      process.disconnect?.();
    })();
  }
});
// Without a parent the process has nothing to serve.
process.on('disconnect', () => setTimeout(() => process.exit(0), 100).unref());
process.send?.({ ready: true, port: service.port });
