/**
 * The Prometheus metrics of one server (prom-client, one registry per server), all defined here.
 * Every label takes its values from a fixed list (transports, limits, connections), from what
 * the server itself defines (route patterns, command names, operation types), or, for the names
 * clients choose (GraphQL operation names), from the first few distinct ones (`BoundedLabel`):
 * never a user id, a chat id or a raw path.
 *
 * Deliveries happen per socket per event (thousands per message), so their counter and lag
 * histogram are plain arrays indexed by transport, turned into exposition lines only when
 * scraped; prom-client's own `observe` costs ~0.4 µs a call, against ~0.04 µs here.
 */
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type Metric,
} from 'prom-client';

/** What the registry reads of a metric when scraped (prom-client's shape). */
interface Exposed {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: { metricName?: string; labels: Record<string, string | number>; value: number }[];
}

/** The long-lived connections, by protocol. */
export const TRANSPORTS = ['graphql-ws', 'graphql-sse', 'legacy-ws', 'legacy-sse'] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** Where a message was sent from. */
export const SEND_TRANSPORTS = ['graphql', 'legacy-ws', 'legacy-rest', 'other'] as const;
export type SendTransport = (typeof SEND_TRANSPORTS)[number];

export type OperationOutcome = 'ok' | 'error' | 'invalid';

/** Seconds: from a millisecond to ten seconds (sends, requests, delivery lag). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds: database commands are mostly sub-millisecond on MongoDB. */
const DB_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Distinct GraphQL operation names kept as label values; later ones are folded into OTHER. */
export const MAX_OPERATION_NAMES = 100;
/** Distinct database command names kept; the driver's are a few dozen. */
const MAX_COMMAND_NAMES = 50;
export const ANONYMOUS = '(anonymous)';
export const OTHER = '(other)';
export const UNMATCHED = '(unmatched)';

/**
 * A label whose values come from outside: the first `max` distinct values that match `shape`
 * are kept, anything else is `OTHER`. Bounded whatever a client sends.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(
    private readonly max: number,
    private readonly shape: RegExp,
  ) {}

  of(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max || !this.shape.test(value)) return OTHER;
    this.seen.add(value);
    return value;
  }
}

/** A counter per transport, as plain numbers. */
class TransportCounter {
  private readonly counts = new Float64Array(TRANSPORTS.length);

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(transport: number): void {
    this.counts[transport]! += 1;
  }

  async get(): Promise<Exposed> {
    return {
      name: this.name,
      help: this.help,
      type: 'counter',
      aggregator: 'sum',
      values: TRANSPORTS.map((transport, index) => ({
        labels: { transport },
        value: this.counts[index]!,
      })),
    };
  }
}

/** A histogram per transport, as plain numbers: bucket counts, sum and count. */
class TransportHistogram {
  private readonly buckets: Float64Array;
  private readonly sums = new Float64Array(TRANSPORTS.length);
  private readonly counts = new Float64Array(TRANSPORTS.length);

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {
    this.buckets = new Float64Array(TRANSPORTS.length * bounds.length);
  }

  observe(transport: number, seconds: number): void {
    const { bounds } = this;
    let bucket = 0;
    while (bucket < bounds.length && seconds > bounds[bucket]!) bucket += 1;
    if (bucket < bounds.length) this.buckets[transport * bounds.length + bucket]! += 1;
    this.sums[transport]! += seconds;
    this.counts[transport]! += 1;
  }

  async get(): Promise<Exposed> {
    const values: Exposed['values'] = [];
    TRANSPORTS.forEach((transport, index) => {
      let cumulative = 0;
      this.bounds.forEach((bound, bucket) => {
        cumulative += this.buckets[index * this.bounds.length + bucket]!;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { le: bound, transport },
          value: cumulative,
        });
      });
      const count = this.counts[index]!;
      values.push(
        { metricName: `${this.name}_bucket`, labels: { le: '+Inf', transport }, value: count },
        { metricName: `${this.name}_sum`, labels: { transport }, value: this.sums[index]! },
        { metricName: `${this.name}_count`, labels: { transport }, value: count },
      );
    });
    return {
      name: this.name,
      help: this.help,
      type: 'histogram',
      aggregator: 'sum',
      values,
    };
  }
}

const transportIndex = new Map<Transport, number>(TRANSPORTS.map((name, index) => [name, index]));

export class Metrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;

  /** Read when scraped: how many connections (and subscriptions) are open, per transport. */
  private readonly connectionSources = new Map<Transport, () => number>();
  private readonly subscriptionSources = new Map<Transport, () => number>();

  private readonly deliveries = new TransportCounter(
    'zerohour_deliveries_total',
    'Chat timeline events (messages, group changes) written to a client connection, by transport',
  );
  private readonly deliveryLag = new TransportHistogram(
    'zerohour_delivery_lag_seconds',
    "From a message's timestamp (taken as its event is stored) to its write to a client " +
      'connection, live deliveries only (not replays), by transport',
    LATENCY_BUCKETS,
  );

  private readonly messagesSent: Counter<'transport'>;
  private readonly sendDuration: Histogram<'transport'>;
  private readonly slowConsumers: Counter<'transport'>;
  private readonly operations: Counter<'type' | 'operation' | 'outcome'>;
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpDuration: Histogram<'method' | 'route'>;
  private readonly dbCommands: Histogram<'command' | 'outcome'>;
  private readonly redisConnected: Gauge<'connection'>;
  private readonly redisReconnects: Counter<'connection'>;
  private readonly rateLimitRefusals: Counter<'limit'>;

  private readonly operationNames = new BoundedLabel(
    MAX_OPERATION_NAMES,
    /^[_A-Za-z][_0-9A-Za-z]{0,63}$/,
  );
  private readonly commandNames = new BoundedLabel(MAX_COMMAND_NAMES, /^[A-Za-z]{1,40}$/);

  constructor() {
    const registers = [this.registry];
    const { connectionSources, subscriptionSources } = this;
    // Event-loop lag, heap, GC, CPU, file descriptors: prom-client's defaults.
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'zerohour_connections',
      help: 'Open client connections, by transport',
      labelNames: ['transport'],
      registers,
      collect: function (this: Gauge<'transport'>) {
        for (const [transport, read] of connectionSources) this.set({ transport }, read());
      },
    });
    new Gauge({
      name: 'zerohour_subscriptions',
      help: 'Running GraphQL subscriptions, by transport (each legacy connection is one feed)',
      labelNames: ['transport'],
      registers,
      collect: function (this: Gauge<'transport'>) {
        for (const [transport, read] of subscriptionSources) this.set({ transport }, read());
      },
    });
    this.registry.registerMetric(this.deliveries as unknown as Metric);
    this.registry.registerMetric(this.deliveryLag as unknown as Metric);
    this.messagesSent = new Counter({
      name: 'zerohour_messages_sent_total',
      help: 'Messages stored, by the transport they were sent over',
      labelNames: ['transport'],
      registers,
    });
    this.sendDuration = new Histogram({
      name: 'zerohour_send_duration_seconds',
      help: 'From receiving a send (request or frame) to the message being stored, by transport',
      labelNames: ['transport'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.slowConsumers = new Counter({
      name: 'zerohour_slow_consumer_disconnects_total',
      help: 'Connections closed for falling more than 4 MiB behind, by transport',
      labelNames: ['transport'],
      registers,
    });
    this.operations = new Counter({
      name: 'zerohour_graphql_operations_total',
      help:
        'GraphQL operations by type, operation name (the first 100 distinct names; later ones ' +
        `${OTHER}, unnamed ones ${ANONYMOUS}) and outcome (ok, error: with errors, invalid: ` +
        'refused before running)',
      labelNames: ['type', 'operation', 'outcome'],
      registers,
    });
    this.httpRequests = new Counter({
      name: 'zerohour_http_requests_total',
      help: `HTTP requests and WebSocket upgrades by method, route pattern (${UNMATCHED} for none) and status`,
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'zerohour_http_request_duration_seconds',
      help: 'Until the response starts (a stream: until it opens), by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.dbCommands = new Histogram({
      name: 'zerohour_db_command_duration_seconds',
      help: 'Database commands from request to reply (driver command monitoring), by command name',
      labelNames: ['command', 'outcome'],
      buckets: DB_BUCKETS,
      registers,
    });
    this.redisConnected = new Gauge({
      name: 'zerohour_redis_connected',
      help: 'Whether each Redis connection of the event bus is ready (1) or not (0)',
      labelNames: ['connection'],
      registers,
    });
    this.redisReconnects = new Counter({
      name: 'zerohour_redis_reconnects_total',
      help: 'Redis connections restored after being lost, by connection',
      labelNames: ['connection'],
      registers,
    });
    this.rateLimitRefusals = new Counter({
      name: 'zerohour_rate_limit_refusals_total',
      help: 'Attempts refused by a rate limit, by limit',
      labelNames: ['limit'],
      registers,
    });
  }

  /** `read` is called at each scrape for the transport's open connections. */
  countConnections(transport: Transport, read: () => number): void {
    this.connectionSources.set(transport, read);
  }

  countSubscriptions(transport: Transport, read: () => number): void {
    this.subscriptionSources.set(transport, read);
  }

  delivered(transport: Transport, lagSeconds: number | null): void {
    const index = transportIndex.get(transport)!;
    this.deliveries.inc(index);
    if (lagSeconds !== null) this.deliveryLag.observe(index, Math.max(0, lagSeconds));
  }

  messageSent(transport: SendTransport, seconds: number | null): void {
    this.messagesSent.inc({ transport });
    if (seconds !== null) this.sendDuration.observe({ transport }, seconds);
  }

  slowConsumer(transport: Transport): void {
    this.slowConsumers.inc({ transport });
  }

  graphqlOperation(type: string, name: string | undefined, outcome: OperationOutcome): void {
    const operation = name ? this.operationNames.of(name) : ANONYMOUS;
    this.operations.inc({ type, operation, outcome });
  }

  httpRequest(
    method: string,
    route: string | undefined,
    status: number,
    seconds: number | null,
  ): void {
    const labels = { method, route: route ?? UNMATCHED };
    this.httpRequests.inc({ ...labels, status: String(status) });
    if (seconds !== null) this.httpDuration.observe(labels, seconds);
  }

  dbCommand(command: string, seconds: number, failed: boolean): void {
    const labels = { command: this.commandNames.of(command), outcome: failed ? 'error' : 'ok' };
    this.dbCommands.observe(labels, seconds);
  }

  redisState(connection: string, connected: boolean): void {
    this.redisConnected.set({ connection }, connected ? 1 : 0);
  }

  redisReconnected(connection: string): void {
    this.redisReconnects.inc({ connection });
  }

  rateLimited(limit: string): void {
    this.rateLimitRefusals.inc({ limit });
  }

  /** The exposition, in Prometheus's text format. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}
