/** Types of parse-prometheus-text-format (it ships none): the families of an exposition. */
declare module 'parse-prometheus-text-format' {
  export interface Sample {
    labels?: Record<string, string>;
    /** Counters, gauges, untyped. */
    value?: string;
    /** Histograms: cumulative count per upper bound (`le`), then count and sum. */
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }

  export interface MetricFamily {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: Sample[];
  }

  export default function parsePrometheusTextFormat(text: string): MetricFamily[];
}
