/** The results: one row per measurement, printed as one table and written as JSON. */
import { writeFile } from 'node:fs/promises';
import type { Plan } from './plan.js';
import type { ProfileSummary } from './profile.js';
import type { Percentiles } from './util.js';

export interface Row {
  /** Scenario number of issue 4 and what was measured, e.g. "1 chats page · GraphQL". */
  scenario: string;
  /** What one operation is: request, delivery, connection, message. */
  unit: string;
  ops: number;
  opsPerSec: number | null;
  latency: Percentiles | null;
  /** Server process CPU (user + system) per 1,000 operations, ms. */
  cpuMsPer1k: number | null;
  /** Database process CPU per 1,000 operations, ms (FerretDB: not ours, for context). */
  dbCpuMsPer1k: number | null;
  rssMb: number | null;
  dbCommandsPerOp: number | null;
  lost: number | null;
  target: string | null;
  measured: string | null;
  met: boolean | null;
  notes: string[];
}

export function row(fields: Partial<Row> & Pick<Row, 'scenario' | 'unit'>): Row {
  return {
    ops: 0,
    opsPerSec: null,
    latency: null,
    cpuMsPer1k: null,
    dbCpuMsPer1k: null,
    rssMb: null,
    dbCommandsPerOp: null,
    lost: null,
    target: null,
    measured: null,
    met: null,
    notes: [],
    ...fields,
  };
}

export interface Machine {
  cpus: string;
  cores: number;
  memoryGb: number;
  node: string;
  os: string;
  database: string;
  /** 1-minute load average before and after the run: other work on the machine skews figures. */
  loadAverage: { before: number; after: number };
}

export interface Results {
  startedAt: string;
  mode: 'quick' | 'full';
  durationSeconds: number;
  machine: Machine;
  /** Sizes and durations the run used. */
  plan: Plan;
  rows: Row[];
  profiles: ProfileSummary[];
  notes: string[];
}

const number = (value: number | null | undefined, digits = 1) => {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 100 || digits === 0) return value.toFixed(0);
  return value.toFixed(digits);
};
const latency = (value: number | undefined) =>
  value === undefined || !Number.isFinite(value)
    ? '–'
    : value < 10
      ? value.toFixed(2)
      : value.toFixed(1);

const COLUMNS = [
  'scenario',
  'unit',
  'ops/s',
  'p50 ms',
  'p95 ms',
  'p99 ms',
  'CPU ms/1k',
  'DB CPU ms/1k',
  'RSS MB',
  'DB cmd/op',
  'lost',
  'target',
  'result',
] as const;
const RIGHT = new Set([
  'ops/s',
  'p50 ms',
  'p95 ms',
  'p99 ms',
  'CPU ms/1k',
  'DB CPU ms/1k',
  'RSS MB',
  'DB cmd/op',
  'lost',
]);

function cells(entry: Row): string[] {
  const verdict =
    entry.met === null
      ? (entry.measured ?? '')
      : `${entry.met ? 'met' : 'MISSED'}: ${entry.measured ?? ''}`;
  return [
    entry.scenario,
    entry.unit,
    number(entry.opsPerSec),
    latency(entry.latency?.p50),
    latency(entry.latency?.p95),
    latency(entry.latency?.p99),
    number(entry.cpuMsPer1k),
    number(entry.dbCpuMsPer1k, 0),
    number(entry.rssMb, 0),
    number(entry.dbCommandsPerOp, 2),
    entry.lost === null ? '' : String(entry.lost),
    entry.target ?? '',
    verdict,
  ];
}

/** The table as Markdown-compatible text (aligned pipes), so the README can quote it as is. */
export function formatTable(rows: Row[]): string {
  const body = rows.map(cells);
  const widths = COLUMNS.map((title, index) =>
    Math.max(title.length, ...body.map((line) => line[index]!.length)),
  );
  const render = (line: readonly string[]) =>
    `| ${line
      .map((cell, index) =>
        RIGHT.has(COLUMNS[index]!) ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!),
      )
      .join(' | ')} |`;
  const rule = `| ${widths.map((width, index) => (RIGHT.has(COLUMNS[index]!) ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width))).join(' | ')} |`;
  return [render(COLUMNS), rule, ...body.map(render)].join('\n');
}

export function formatReport(results: Results): string {
  const lines: string[] = [];
  const { machine } = results;
  lines.push(
    `ZeroHour Chat benchmark (${results.mode}), ${results.startedAt}, ${Math.round(results.durationSeconds)} s`,
    `${machine.cores} × ${machine.cpus}, ${machine.memoryGb} GB, Node ${machine.node}, ${machine.os}; database: ${machine.database}; ` +
      `load average ${machine.loadAverage.before.toFixed(1)} before, ${machine.loadAverage.after.toFixed(1)} after`,
    '',
    formatTable(results.rows),
    '',
    'CPU = server process CPU (user + system) per 1,000 operations; DB CPU = the FerretDB process (not ours).',
  );
  const withTargets = results.rows.filter((entry) => entry.met !== null);
  const met = withTargets.filter((entry) => entry.met).length;
  lines.push(`Targets: ${met} of ${withTargets.length} met.`);
  const notes = results.rows.flatMap((entry) =>
    entry.notes.map((note) => `- ${entry.scenario}: ${note}`),
  );
  if (notes.length || results.notes.length) {
    lines.push('', 'Notes:', ...results.notes.map((note) => `- ${note}`), ...notes);
  }
  for (const profile of results.profiles) {
    const cpu = profile.kind === 'cpu';
    lines.push(
      '',
      cpu
        ? `CPU profile: ${profile.label}: ${(profile.total / 1000).toFixed(1)} s busy (${profile.file})`
        : `Heap profile: ${profile.label}: ${(profile.total / 2 ** 20).toFixed(1)} MB still allocated (${profile.file})`,
    );
    const what = cpu ? 'self time' : 'allocated';
    lines.push(`  ${what} by package:`);
    for (const entry of profile.byPackage) {
      lines.push(`    ${entry.percent.toFixed(1).padStart(5)}%  ${entry.name}`);
    }
    lines.push(`  top functions (${what}):`);
    for (const entry of profile.byFunction) {
      lines.push(`    ${entry.percent.toFixed(1).padStart(5)}%  ${entry.name}`);
    }
  }
  return lines.join('\n');
}

export async function writeResults(path: string, results: Results): Promise<void> {
  const json = JSON.stringify(
    results,
    (key, value: unknown) =>
      typeof value === 'number' && !Number.isFinite(value)
        ? null
        : typeof value === 'number' && key !== 'ops'
          ? Math.round(value * 1000) / 1000
          : value,
    2,
  );
  await writeFile(path, `${json}\n`);
}
