/**
 * The metric names drey exposes on /metrics, copied from the issue 14 runtime contract. The
 * dashboard and the alerts may use only these. The metrics module will export the authoritative
 * list; this copy is to be replaced by it (see the chart's test).
 */
export const HISTOGRAMS = [
  'http_request_duration_seconds',
  'controller_runtime_reconcile_time_seconds',
  'workqueue_queue_duration_seconds',
  'workqueue_work_duration_seconds',
  'rest_client_request_duration_seconds',
  'drey_flink_client_request_duration_seconds',
] as const;

export const METRIC_NAMES: readonly string[] = [
  ...HISTOGRAMS,
  'http_requests_in_flight',
  'controller_runtime_reconcile_total',
  'controller_runtime_reconcile_errors_total',
  'workqueue_depth',
  'workqueue_adds_total',
  'workqueue_retries_total',
  'workqueue_longest_running_processor_seconds',
  'leader_election_master_status',
  'rest_client_requests_total',
  'drey_flink_client_requests_total',
  'drey_flink_deployments',
  'drey_statements',
  'drey_db_pool_connections',
  'drey_build_info',
  // prom-client's defaults the dashboard uses
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_eventloop_lag_seconds',
  'nodejs_heap_size_used_bytes',
];

/** The series Prometheus derives from a metric: a histogram's _bucket, _count and _sum. */
export function seriesOf(name: string): string[] {
  return (HISTOGRAMS as readonly string[]).includes(name) ? [`${name}_bucket`, `${name}_count`, `${name}_sum`] : [name];
}
