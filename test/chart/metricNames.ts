/**
 * The metric names drey exposes on /metrics (`METRICS` in src/metrics.ts, which test/ops checks
 * against a real scrape): the dashboard and the alerts may use only these.
 */
import { METRICS, METRIC_NAMES as NAMES } from '../../src/metrics.js';

export const METRIC_NAMES: readonly string[] = NAMES;

export const HISTOGRAMS: readonly string[] = NAMES.filter((name) => METRICS[name].type === 'histogram');

/** The series Prometheus derives from a metric: a histogram's _bucket, _count and _sum. */
export function seriesOf(name: string): string[] {
  return HISTOGRAMS.includes(name) ? [`${name}_bucket`, `${name}_count`, `${name}_sum`] : [name];
}
