/**
 * Scenario 7's reference: graphql-yoga with the same schema on a bare node:http server — no
 * Fastify, no plugins (limits, presence), no context factory, no error masking hook. With
 * BARE_YOGA_BODY_LIMIT=off, without Yoga's request body limit too (it pipes every body through a
 * web stream; the full server reads bodies whole instead), for a like-for-like figure.
 */
import { createServer } from 'node:http';
import { createYoga } from 'graphql-yoga';
import { schema } from '../src/graphql/schema.js';
import { emit, serveRpc } from './ipc.js';
import { measuredHandlers, type MeasuredApi } from './measured.js';

export type BareYogaApi = MeasuredApi;

const yoga = createYoga({
  schema,
  graphqlEndpoint: '/graphql',
  logging: false,
  landingPage: false,
  maxRequestBodySize: process.env.BARE_YOGA_BODY_LIMIT === 'off' ? false : undefined,
});
const server = createServer(yoga);
server.keepAliveTimeout = 72_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();

serveRpc<BareYogaApi>(measuredHandlers());
emit('ready', {
  port: typeof address === 'object' && address ? address.port : 0,
  pid: process.pid,
});
