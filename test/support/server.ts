/** Starts the real service in-process on a free port, against the suite's database. */
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import type { DestinationStream } from 'pino';
import { inject } from 'vitest';
import { WebSocket } from 'ws';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startService, type RunningService } from '../../src/start.js';
import { postGraphQL, type GraphQLResponse } from './graphql-http.js';

export type { GraphQLResponse };

export interface TestServer {
  url: string;
  graphqlUrl: string;
  wsUrl: string;
  service: RunningService;
  /** POSTs a GraphQL operation, with `Authorization: Bearer token` when given. */
  gql<Data = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<GraphQLResponse<Data>>;
  /** A graphql-ws client; closed by `stop()`. */
  wsClient(connectionParams?: Record<string, unknown>): Client;
  /** Names of the database commands `action` issued (driver command monitoring). */
  countCommands(action: () => Promise<unknown>): Promise<string[]>;
  /** The database commands `action` issued, each as `<name> <collection>` (`find users`). */
  commandsOn(action: () => Promise<unknown>): Promise<string[]>;
  stop(): Promise<void>;
}

export const TEST_SECRET = 'test-secret-key-that-is-long-enough-0123456789';

/** Environment of a server under test, apart from its database (MONGO_URL, DB_NAME). */
export const TEST_ENV: Readonly<Record<string, string>> = {
  NODE_ENV: 'test',
  HOST: '127.0.0.1',
  PORT: '0',
  SECRET_KEY: TEST_SECRET,
  // Cheap hashes keep the suite fast; the production floor is checked in config tests.
  PASSWORD_HASH_ROUNDS: '2000',
  // The suite makes many users from one address; test/rate-limits.test.ts sets real limits.
  RATE_LIMIT_LOGIN_PER_USERNAME: '1000000',
  RATE_LIMIT_AUTH_PER_IP: '1000000',
  RATE_LIMIT_SENDS_PER_USER: '1000000',
  RATE_LIMIT_CONNECTIONS_PER_IP: '1000000',
  RATE_LIMIT_UPLOADS_PER_USER: '1000000',
};

export interface TestServerOptions {
  /** Where the server's log goes (JSON lines), at `logLevel` (default: debug when given). */
  log?: DestinationStream;
  logLevel?: string;
}

export async function startTestServer(
  env: Record<string, string> = {},
  options: TestServerOptions = {},
): Promise<TestServer> {
  const config = loadConfig({
    ...TEST_ENV,
    MONGO_URL: inject('mongoUrl'),
    DB_NAME: `test_${randomUUID().slice(0, 8)}`,
    ...env,
  });
  const logger = options.log
    ? createLogger(options.logLevel ?? 'debug', options.log)
    : createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const service = await startService(config, logger, { monitorCommands: true });
  const url = `http://127.0.0.1:${service.port}`;
  const clients: Client[] = [];

  return {
    url,
    graphqlUrl: `${url}/graphql`,
    wsUrl: `ws://127.0.0.1:${service.port}/graphql`,
    service,
    gql: (query, variables, token) => postGraphQL(`${url}/graphql`, query, variables, token),
    wsClient(connectionParams) {
      const client = createClient({
        url: `ws://127.0.0.1:${service.port}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams,
        retryAttempts: 0,
        lazy: true,
      });
      clients.push(client);
      return client;
    },
    async countCommands(action) {
      const names: string[] = [];
      const listener = (event: { commandName: string }) => names.push(event.commandName);
      service.app.db.client.on('commandStarted', listener);
      try {
        await action();
      } finally {
        service.app.db.client.off('commandStarted', listener);
      }
      return names;
    },
    async commandsOn(action) {
      const commands: string[] = [];
      const listener = (event: { commandName: string; command: Record<string, unknown> }) =>
        commands.push(`${event.commandName} ${String(event.command[event.commandName])}`);
      service.app.db.client.on('commandStarted', listener);
      try {
        await action();
      } finally {
        service.app.db.client.off('commandStarted', listener);
      }
      return commands;
    },
    async stop() {
      await Promise.all(clients.map((client) => client.dispose()));
      await service.app.db.db.dropDatabase();
      await service.stop();
    },
  };
}
