/**
 * What the transports and services report, each with a one-line call: metrics (./metrics.ts,
 * only when METRICS_TOKEN is set) and the trace lines of the log. A message's lines carry its
 * trace id from its send (`message stored`, debug) to each delivery (`delivered`, debug), on
 * every instance. Nothing here logs a token, a password, a security phrase or a message's text.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { MongoClient } from 'mongodb';
import type { Logger } from 'pino';
import type { ChatFeedEvent } from '../events/bus.js';
import { Metrics, UNMATCHED, type OperationOutcome, type Transport } from './metrics.js';
import { REQUEST_ID_HEADER, requestIdFrom, traceUpgrade, type RequestOrigin } from './tracing.js';

/** Requests whose line was written. */
const answered = new WeakSet<FastifyRequest>();

interface RedisClient {
  status: string;
  on(event: 'ready' | 'close', listener: () => void): unknown;
}

export class Telemetry {
  /** Null unless METRICS_TOKEN is set: nothing is collected that nobody may read. */
  readonly metrics: Metrics | null;
  /** graphql-ws operations that are subscriptions, among those running. */
  private readonly wsSubscriptions = new WeakSet<object>();
  private wsSubscriptionCount = 0;

  constructor(
    private readonly logger: Logger,
    options: { metrics: boolean },
  ) {
    this.metrics = options.metrics ? new Metrics() : null;
    this.metrics?.countSubscriptions('graphql-ws', () => this.wsSubscriptionCount);
  }

  /** `read` gives the transport's open connections when scraped. */
  countConnections(transport: Transport, read: () => number): void {
    this.metrics?.countConnections(transport, read);
  }

  countSubscriptions(transport: Transport, read: () => number): void {
    this.metrics?.countSubscriptions(transport, read);
  }

  /** A graphql-ws operation (`key`: its subscribe payload) turned out to be a subscription. */
  wsSubscriptionStarted(key: object): void {
    if (this.wsSubscriptions.has(key)) return;
    this.wsSubscriptions.add(key);
    this.wsSubscriptionCount += 1;
  }

  /** A graphql-ws operation completed (a subscription or not). */
  wsOperationEnded(key: object): void {
    if (this.wsSubscriptions.delete(key)) this.wsSubscriptionCount -= 1;
  }

  /** A message was stored (its send acknowledged): the first line of its trace. */
  messageSent(
    origin: RequestOrigin | undefined,
    traceId: string,
    message: { chat_id: string; seq: number },
  ): void {
    const transport = origin?.transport ?? 'other';
    this.metrics?.messageSent(
      transport,
      origin ? (performance.now() - origin.receivedAt) / 1000 : null,
    );
    this.logger.debug(
      {
        requestId: origin?.requestId,
        traceId,
        transport,
        chatId: message.chat_id,
        seq: message.seq,
      },
      'message stored',
    );
  }

  /** `event` was written to a client connection. Live events (with a trace id) give the lag. */
  delivered(transport: Transport, event: ChatFeedEvent): void {
    const traceId = 'traceId' in event ? event.traceId : undefined;
    if (this.metrics) {
      const lag =
        traceId && 'message' in event
          ? (Date.now() - event.message.timestamp.getTime()) / 1000
          : null;
      this.metrics.delivered(transport, lag);
    }
    if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug(
        { traceId, transport, chatId: event.chatId, seq: 'seq' in event ? event.seq : null },
        'delivered',
      );
    }
  }

  /** A connection was closed for falling too far behind. */
  slowConsumer(transport: Transport): void {
    this.metrics?.slowConsumer(transport);
    this.logger.debug({ transport }, 'slow consumer disconnected');
  }

  rateLimited(limit: string): void {
    this.metrics?.rateLimited(limit);
  }

  graphqlOperation(type: string, name: string | undefined, outcome: OperationOutcome): void {
    this.metrics?.graphqlOperation(type, name, outcome);
  }

  /**
   * An HTTP request's line (info) and its count, once per request: when its response finished,
   * or when its stream opened (./http.ts).
   */
  requestAnswered(request: FastifyRequest, reply: FastifyReply): void {
    if (answered.has(request)) return;
    answered.add(request);
    const route = request.routeOptions.url;
    const status = reply.statusCode;
    const durationMs = reply.elapsedTime;
    this.metrics?.httpRequest(request.method, route, status, durationMs / 1000);
    request.log.info(
      {
        method: request.method,
        route: route ?? UNMATCHED,
        status,
        durationMs: Math.round(durationMs * 10) / 10,
      },
      'request',
    );
  }

  /**
   * A WebSocket upgrade arrived: it gets a request id (see ./tracing.ts), and a request line
   * once it is answered (101, or the refusal's status).
   */
  traceUpgrade(request: IncomingMessage, route: string | undefined): void {
    const requestId = requestIdFrom(request.headers[REQUEST_ID_HEADER]);
    const startedAt = performance.now();
    traceUpgrade(request, {
      requestId,
      answered: (status) => {
        const durationMs = performance.now() - startedAt;
        this.metrics?.httpRequest('GET', route, status, durationMs / 1000);
        this.logger.info(
          {
            requestId,
            method: 'GET',
            route: route ?? UNMATCHED,
            status,
            durationMs: Math.round(durationMs * 10) / 10,
          },
          'request',
        );
      },
    });
  }

  /** Database command durations, from the driver's command monitoring (`monitorCommands`). */
  watchDatabase(client: MongoClient): void {
    const metrics = this.metrics;
    if (!metrics) return;
    client.on('commandSucceeded', (event) =>
      metrics.dbCommand(event.commandName, event.duration / 1000, false),
    );
    client.on('commandFailed', (event) =>
      metrics.dbCommand(event.commandName, event.duration / 1000, true),
    );
  }

  /** Whether each Redis connection is ready, and how often one came back after being lost. */
  watchRedis(clients: Record<string, RedisClient>): void {
    const metrics = this.metrics;
    if (!metrics) return;
    for (const [name, client] of Object.entries(clients)) {
      let lost = false;
      metrics.redisState(name, client.status === 'ready');
      client.on('ready', () => {
        metrics.redisState(name, true);
        if (lost) metrics.redisReconnected(name);
        lost = false;
      });
      client.on('close', () => {
        metrics.redisState(name, false);
        lost = true;
      });
    }
  }
}
