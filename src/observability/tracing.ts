/**
 * Request ids and trace ids. Every HTTP request and WebSocket upgrade has a request id: the
 * client's `x-request-id` when it looks like one (a load balancer's or a client's), else a new
 * one; responses carry it back as `x-request-id`. Every message sent has a trace id, on the log
 * line of its send and on each delivery's, on every instance (it travels with the event on the
 * bus).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebSocketServer } from 'ws';
import type { SendTransport } from './metrics.js';

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * What an incoming request id may look like: ids, UUIDs, trace headers' values. Nothing longer
 * (a token pasted there is never logged) and nothing that could break a log line or a header.
 */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The request id for a request with these headers. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

/** A new trace id, for one message from its send to its deliveries. */
export const newTraceId = (): string => randomUUID();

/** Where a request comes from, for the send it may make: its id, transport and arrival time. */
export interface RequestOrigin {
  requestId: string;
  transport: SendTransport;
  /** `performance.now()` when the request (or frame, or operation) arrived. */
  receivedAt: number;
}

/** An upgrade being answered: its request id, and what to do once its status is known. */
export interface UpgradeTrace {
  requestId: string;
  answered(status: number): void;
}

/** By the upgrading socket (`request.socket`), until the upgrade is answered. */
const upgrades = new WeakMap<object, UpgradeTrace>();
/** By upgrade request: its id, for the connection it becomes (the request is let go then). */
const upgradeIds = new WeakMap<IncomingMessage, string>();

export function traceUpgrade(request: IncomingMessage, trace: UpgradeTrace): void {
  upgrades.set(request.socket, trace);
  upgradeIds.set(request, trace.requestId);
}

/** The request id of an upgrade request. */
export function requestIdOfUpgrade(request: IncomingMessage): string | undefined {
  return upgradeIds.get(request);
}

/** Marks the upgrade on `socket` answered with `status`; its request id, if it was traced. */
export function upgradeAnswered(socket: object, status: number): string | undefined {
  const trace = upgrades.get(socket);
  if (!trace) return undefined;
  upgrades.delete(socket);
  trace.answered(status);
  return trace.requestId;
}

/** The 101 answers of `server` carry their request id, and count as answered. */
export function traceAcceptedUpgrades(server: WebSocketServer): void {
  server.on('headers', (headers, request) => {
    const requestId = upgradeAnswered(request.socket, 101);
    if (requestId) headers.push(`${REQUEST_ID_HEADER}: ${requestId}`);
  });
}
