/**
 * Closed-loop HTTP runs of several variants, alternated A B A B (order reversed every other
 * round) so that drift cancels, each measured on the process that serves it.
 */
import type { Api } from '../ipc.js';
import type { Bench, Measured } from '../context.js';
import type { HttpRunOptions } from '../load/http.js';
import { row, type Row } from '../report.js';
import { concatSamples, percentiles } from '../util.js';

export interface Variant {
  name: string;
  target: Measured<Api>;
  request: Omit<HttpRunOptions, 'connections' | 'durationSeconds'>;
}

export interface VariantTotals {
  name: string;
  requests: number;
  /** Requests the server served, including those the load generator abandoned at the end. */
  served: number;
  failed: number;
  durationMs: number;
  cpuMs: number;
  dbCpuMs: number;
  commands: number;
  commandsByName: Record<string, number>;
  latencies: Float64Array[];
  rss: number;
}

export async function alternate(
  bench: Bench,
  label: string,
  variants: Variant[],
  options: { rounds: number; seconds: number; connections: number },
): Promise<Map<string, VariantTotals>> {
  const http = await bench.http();
  const totals = new Map<string, VariantTotals>(
    variants.map((variant) => [
      variant.name,
      {
        name: variant.name,
        requests: 0,
        served: 0,
        failed: 0,
        durationMs: 0,
        cpuMs: 0,
        dbCpuMs: 0,
        commands: 0,
        commandsByName: {},
        latencies: [],
        rss: 0,
      },
    ]),
  );
  const runs = options.rounds * variants.length;
  let done = 0;
  for (let round = 0; round < options.rounds; round += 1) {
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    for (const variant of order) {
      done += 1;
      bench.progress.update(`run ${done}/${runs} ${variant.name}`);
      const window = await bench.measure(variant.target, async () => {
        const result = await http.call('run', {
          ...variant.request,
          connections: options.connections,
          durationSeconds: options.seconds,
        });
        await bench.settle(variant.target);
        return result;
      });
      const sum = totals.get(variant.name)!;
      const run = window.result;
      sum.requests += run.requests;
      sum.served += run.sent;
      sum.failed += run.non2xx + run.errors + run.timeouts;
      sum.durationMs += run.durationMs;
      sum.cpuMs += window.cpuMs;
      sum.dbCpuMs += window.dbCpuMs;
      sum.commands += window.commands;
      for (const [name, count] of Object.entries(window.commandsByName)) {
        sum.commandsByName[name] = (sum.commandsByName[name] ?? 0) + count;
      }
      sum.latencies.push(run.latencies);
      sum.rss = window.stats.rss;
    }
  }
  bench.progress.update(`${label} done`);
  return totals;
}

/** Server CPU per request. */
export const cpuPerOp = (totals: VariantTotals) => totals.cpuMs / Math.max(1, totals.served);

export function rowOf(scenario: string, totals: VariantTotals, unit = 'request'): Row {
  const ops = totals.requests;
  const served = Math.max(1, totals.served);
  return row({
    scenario,
    unit,
    ops,
    opsPerSec: ops / (totals.durationMs / 1000),
    latency: percentiles(concatSamples(totals.latencies)),
    cpuMsPer1k: (1000 * totals.cpuMs) / served,
    dbCpuMsPer1k: (1000 * totals.dbCpuMs) / served,
    rssMb: totals.rss / 2 ** 20,
    dbCommandsPerOp: totals.commands / served,
    notes: totals.failed ? [`${totals.failed} failed requests (non-2xx, errors, timeouts)`] : [],
  });
}
