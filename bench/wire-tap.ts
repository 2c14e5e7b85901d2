/**
 * Counts the database commands a process sends, on the wire: a TCP proxy between that process
 * and FerretDB that reads the command name of every OP_MSG request (the first key of its body
 * document) and forwards the bytes untouched.
 *
 * This is what the driver's command monitoring counts, without its price in the measured process
 * (with `monitorCommands` the driver deserialises every reply a second time for the event), so
 * the CPU figures of the same run stay clean. Handshakes and heartbeats are not counted, as
 * command monitoring does not report them either. It also adds up, per command, the time from
 * the request to its reply (`responseTo`) on the wire: where the database spends a request's
 * time (FerretDB runs one query at a time, so under load this includes waiting for others).
 */
import { createConnection, createServer, type Socket } from 'node:net';

const OP_MSG = 2013;
const HEADER_BYTES = 16;
/** Enough of a message to read its command name. */
const PEEK_BYTES = 128;
const NOT_COUNTED = new Set([
  'hello',
  'ismaster',
  'isMaster',
  'ping',
  'buildInfo',
  'buildinfo',
  'getParameter',
  'endSessions',
  'saslStart',
  'saslContinue',
]);

export interface WireTap {
  url: string;
  /** Commands seen so far, by name and collection (`find users`, `update chats`). */
  counts(): Record<string, number>;
  /** Request-to-reply time so far, by command as in `counts` (ms). */
  times(): Record<string, number>;
  close(): Promise<void>;
}

const BSON_STRING = 0x02;

/**
 * The command of an OP_MSG whose first bytes are `head`: its name, and the collection when the
 * first element is one (`find users`), or null.
 */
function commandOf(head: Buffer): { name: string; collection: string | null } | null {
  if (head.length < HEADER_BYTES + 7 || head.readInt32LE(12) !== OP_MSG) return null;
  // flagBits (4), then section kind 0 (body): a BSON document whose first element names the command.
  if (head[HEADER_BYTES + 4] !== 0) return null;
  const typeAt = HEADER_BYTES + 4 + 1 + 4;
  const keyEnd = head.indexOf(0, typeAt + 1);
  if (keyEnd <= typeAt + 1) return null;
  const name = head.toString('utf8', typeAt + 1, keyEnd);
  if (head[typeAt] !== BSON_STRING || keyEnd + 5 > head.length) return { name, collection: null };
  const length = head.readInt32LE(keyEnd + 1);
  const end = Math.min(head.length, keyEnd + 5 + length - 1);
  return { name, collection: head.toString('utf8', keyEnd + 5, end) };
}

/** Reads message boundaries in a stream and hands the head of each message on, once. */
function messageReader(onMessage: (head: Buffer) => void) {
  let pending = Buffer.alloc(0);
  /** Bytes of the current message still to skip once its head was read. */
  let skip = 0;
  return (chunk: Buffer) => {
    let data = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    pending = Buffer.alloc(0);
    while (data.length > 0) {
      if (skip > 0) {
        const skipped = Math.min(skip, data.length);
        skip -= skipped;
        data = data.subarray(skipped);
        continue;
      }
      if (data.length < 4) {
        pending = Buffer.from(data);
        return;
      }
      const length = data.readInt32LE(0);
      if (data.length < Math.min(length, PEEK_BYTES)) {
        pending = Buffer.from(data);
        return;
      }
      onMessage(data.subarray(0, Math.min(length, PEEK_BYTES)));
      skip = length;
    }
  };
}

export async function startWireTap(target: URL): Promise<WireTap> {
  const counts: Record<string, number> = {};
  const times: Record<string, number> = {};
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    sockets.add(client).add(upstream);
    /** Counted requests awaiting their reply, by requestID. */
    const waiting = new Map<number, { name: string; sentAt: bigint }>();
    const requests = messageReader((head) => {
      const command = commandOf(head);
      if (!command || NOT_COUNTED.has(command.name)) return;
      const name = command.collection ? `${command.name} ${command.collection}` : command.name;
      counts[name] = (counts[name] ?? 0) + 1;
      waiting.set(head.readInt32LE(4), { name, sentAt: process.hrtime.bigint() });
    });
    const replies = messageReader((head) => {
      if (head.length < HEADER_BYTES) return;
      const request = waiting.get(head.readInt32LE(8));
      if (!request) return;
      waiting.delete(head.readInt32LE(8));
      const ms = Number(process.hrtime.bigint() - request.sentAt) / 1e6;
      times[request.name] = (times[request.name] ?? 0) + ms;
    });
    client.on('data', (chunk: Buffer) => {
      requests(chunk);
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk: Buffer) => replies(chunk));
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `mongodb://127.0.0.1:${port}/?directConnection=true`,
    counts: () => ({ ...counts }),
    times: () => ({ ...times }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
