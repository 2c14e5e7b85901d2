/** Scraping and reading `GET /metrics` as Prometheus does (test/metrics.test.ts, the cluster's Redis metrics). */
import parsePrometheusTextFormat, { type MetricFamily } from 'parse-prometheus-text-format';
import { expect } from 'vitest';

interface Server {
  url: string;
}

export const METRICS_TOKEN = 'metrics-test-token-0123456789';

/** GET /metrics of a server (or a cluster's instance). */
export async function scrape(server: Server, token: string | null = METRICS_TOKEN) {
  return fetch(`${server.url}/metrics`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}

/**
 * The exposition's series. The parser reads it as Prometheus does, but folds the series of a
 * histogram with labels into one sample (its open issue #13), so a histogram's `_bucket`, `_sum`
 * and `_count` series are read again as series of their own.
 */
export function parse(text: string): MetricFamily[] {
  const families = parsePrometheusTextFormat(text);
  expect(families.length).toBeGreaterThan(0);
  return parsePrometheusTextFormat(text.replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped'));
}

export async function metrics(server: Server): Promise<MetricFamily[]> {
  const response = await scrape(server);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(await response.text());
}

/** The value of the sample of `name` whose labels include `labels` (0 when there is none). */
export function valueOf(
  families: MetricFamily[],
  name: string,
  labels: Record<string, string> = {},
) {
  const sample = samplesOf(families, name).find((each) =>
    Object.entries(labels).every(([key, value]) => each.labels?.[key] === value),
  );
  return Number(sample?.value ?? 0);
}

/**
 * The samples of `name`, from every family of that name: the histograms read as untyped come as
 * one family per label set (`_bucket`, `_sum`, `_count` of one command, then of the next).
 */
const samplesOf = (families: MetricFamily[], name: string) =>
  families.filter((each) => each.name === name).flatMap((each) => each.metrics);

/** Sum over the samples of `name` whose labels include `labels`. */
export function sumOf(families: MetricFamily[], name: string, labels: Record<string, string> = {}) {
  return samplesOf(families, name)
    .filter((each) => Object.entries(labels).every(([key, value]) => each.labels?.[key] === value))
    .reduce((total, each) => total + Number(each.value ?? 0), 0);
}
