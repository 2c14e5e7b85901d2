import type { IncomingMessage } from 'node:http';

/**
 * The client's address for rate limits. Behind a trusted load balancer (TRUST_PROXY=on) it is
 * the first X-Forwarded-For entry; otherwise the socket's peer, which a client cannot forge.
 */
export function clientAddress(request: IncomingMessage, trustProxy: boolean): string {
  const forwarded = request.headers['x-forwarded-for'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
  if (trustProxy && first) return first;
  return request.socket.remoteAddress ?? 'unknown';
}
