/**
 * Scenario 7: `{ __typename }` through the full server (Fastify, CORS, plugins, context) against
 * graphql-yoga alone with the same schema on node:http, A B A B in the same run. The target is
 * against Yoga as it comes; a second reference without Yoga's body limit shows the full server
 * against Yoga's core alone (the full server reads bodies whole, without that limit's streams).
 */
import type { Bench, Measured } from '../context.js';
import { TYPENAME } from '../queries.js';
import type { ServerApi } from '../server.js';
import { alternate, rowOf, type Variant } from './http-runs.js';

const THROUGHPUT_TARGET = 0.7;

export async function yogaScenario(bench: Bench, server: Measured<ServerApi>): Promise<void> {
  const { plan, progress } = bench;
  progress.step('7 { __typename }: full server vs bare Yoga');
  const [bare, unlimited] = await Promise.all([
    bench.startBareYoga({ bodyLimit: true }),
    bench.startBareYoga({ bodyLimit: false }),
  ]);
  try {
    const request = (baseUrl: string) => ({
      url: `${baseUrl}/graphql`,
      method: 'POST' as const,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: TYPENAME }),
    });
    const variants: Variant[] = [
      { name: 'full', target: server, request: request(server.baseUrl) },
      { name: 'bare', target: bare, request: request(bare.baseUrl) },
      { name: 'unlimited', target: unlimited, request: request(unlimited.baseUrl) },
    ];
    for (const variant of variants) {
      const response = await fetch(variant.request.url, {
        method: 'POST',
        headers: variant.request.headers,
        body: variant.request.body,
      });
      const text = await response.text();
      if (!text.includes('"__typename":"Query"')) throw new Error(`${variant.name}: ${text}`);
    }
    const totals = await alternate(bench, '7 __typename', variants, {
      rounds: plan.yoga.rounds,
      seconds: plan.yoga.runSeconds,
      connections: plan.yoga.connections,
    });
    const full = rowOf('7 { __typename } · full server', totals.get('full')!);
    const bareRow = rowOf('7 { __typename } · bare Yoga', totals.get('bare')!);
    const unlimitedRow = rowOf(
      '7 { __typename } · bare Yoga, body limit off',
      totals.get('unlimited')!,
    );
    const against = (reference: typeof full) => {
      const ratio = (full.opsPerSec ?? 0) / (reference.opsPerSec ?? 1);
      const cpu = (full.cpuMsPer1k ?? 0) / (reference.cpuMsPer1k ?? 1);
      return { ratio, text: `${(ratio * 100).toFixed(0)}%, CPU ${cpu.toFixed(2)}×` };
    };
    const vsBare = against(bareRow);
    bench.rows.push(
      {
        ...full,
        target: `≥ ${THROUGHPUT_TARGET * 100}% of bare Yoga ops/s`,
        measured: vsBare.text,
        met: vsBare.ratio >= THROUGHPUT_TARGET,
      },
      bareRow,
      { ...unlimitedRow, measured: `full server: ${against(unlimitedRow).text}` },
    );

    if (plan.profile) {
      // Separate runs (not in the figures above): where the full stack spends its extra CPU.
      const http = await bench.http();
      for (const variant of variants) {
        progress.step(`profiling { __typename }: ${variant.name}`);
        await bench.profiled(variant.target, `{ __typename }, ${variant.name} (scenario 7)`, () =>
          http.call('run', {
            ...variant.request,
            connections: plan.yoga.connections,
            durationSeconds: plan.yoga.runSeconds,
          }),
        );
      }
    }
  } finally {
    await Promise.all([bare.stop(), unlimited.stop()]);
  }
}
