/**
 * HTTP load generator (autocannon, programmatic) in its own process. Each `run` is one closed-
 * loop run against one URL; every response time is kept so that the orchestrator can pool runs
 * (A B A B) and take exact percentiles.
 */
import autocannon from 'autocannon';
import { emit, serveRpc } from '../ipc.js';

export interface HttpRunOptions {
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  durationSeconds: number;
}

export interface HttpRunResult {
  /** Requests that got a response. */
  requests: number;
  /**
   * Requests sent, including those still in flight when the run ended: the server serves them
   * too, so per-request costs are divided by this.
   */
  sent: number;
  /** Responses with a status outside 2xx. */
  non2xx: number;
  errors: number;
  timeouts: number;
  durationMs: number;
  /** Response times in ms, one per 2xx response. */
  latencies: Float64Array;
}

export type HttpLoadApi = { run: [HttpRunOptions, HttpRunResult] };

async function run(options: HttpRunOptions): Promise<HttpRunResult> {
  const latencies: number[] = [];
  let non2xx = 0;
  let sent = 0;
  const started = performance.now();
  let done: (result: autocannon.Result) => void = () => undefined;
  let fail: (error: unknown) => void = () => undefined;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    done = resolve;
    fail = reject;
  });
  const instance = autocannon(
    {
      url: options.url,
      method: options.method,
      headers: options.headers,
      body: options.body,
      connections: options.connections,
      duration: options.durationSeconds,
      timeout: 30,
      setupClient: (client) => {
        (client as unknown as NodeJS.EventEmitter).on('request', () => (sent += 1));
      },
    },
    (error, result) => (error ? fail(error) : done(result)),
  );
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    else non2xx += 1;
  });
  const result = await finished;
  return {
    requests: latencies.length + non2xx,
    sent: Math.max(sent, latencies.length + non2xx),
    non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationMs: performance.now() - started,
    latencies: Float64Array.from(latencies),
  };
}

serveRpc<HttpLoadApi>({ run });
emit('ready');
