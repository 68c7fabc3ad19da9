import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every metric drey exposes on `/metrics`, with its type and labels: the chart's dashboard and alerts
 * may use only these (a test keeps the three in sync). Names and labels follow controller-runtime
 * and client-go, so dashboards written for Go controllers read drey too.
 */
export const METRICS = {
  http_request_duration_seconds: { type: 'histogram', labels: ['method', 'route', 'code'] },
  http_requests_in_flight: { type: 'gauge', labels: [] },
  controller_runtime_reconcile_total: { type: 'counter', labels: ['controller', 'result'] },
  controller_runtime_reconcile_errors_total: { type: 'counter', labels: ['controller'] },
  controller_runtime_reconcile_time_seconds: { type: 'histogram', labels: ['controller'] },
  workqueue_depth: { type: 'gauge', labels: ['name'] },
  workqueue_adds_total: { type: 'counter', labels: ['name'] },
  workqueue_retries_total: { type: 'counter', labels: ['name'] },
  workqueue_queue_duration_seconds: { type: 'histogram', labels: ['name'] },
  workqueue_work_duration_seconds: { type: 'histogram', labels: ['name'] },
  workqueue_longest_running_processor_seconds: { type: 'gauge', labels: ['name'] },
  leader_election_master_status: { type: 'gauge', labels: ['name'] },
  rest_client_requests_total: { type: 'counter', labels: ['code', 'method', 'host'] },
  rest_client_request_duration_seconds: { type: 'histogram', labels: ['verb', 'host'] },
  drey_flink_client_requests_total: { type: 'counter', labels: ['client', 'code'] },
  drey_flink_client_request_duration_seconds: { type: 'histogram', labels: ['client'] },
  drey_flink_deployments: { type: 'gauge', labels: ['phase'] },
  drey_statements: { type: 'gauge', labels: ['phase'] },
  drey_db_pool_connections: { type: 'gauge', labels: ['state'] },
  drey_build_info: { type: 'gauge', labels: ['version', 'revision', 'nodejs_version'] },
  drey_flink_deployment_crd_served: { type: 'gauge', labels: [] },
  // prom-client's defaults (Linux), named as Go's process collector names them
  process_cpu_seconds_total: { type: 'counter', labels: [] },
  process_start_time_seconds: { type: 'gauge', labels: [] },
  process_resident_memory_bytes: { type: 'gauge', labels: [] },
  process_open_fds: { type: 'gauge', labels: [] },
  process_max_fds: { type: 'gauge', labels: [] },
  nodejs_eventloop_lag_seconds: { type: 'gauge', labels: [] },
  nodejs_eventloop_lag_p99_seconds: { type: 'gauge', labels: [] },
  nodejs_heap_size_total_bytes: { type: 'gauge', labels: [] },
  nodejs_heap_size_used_bytes: { type: 'gauge', labels: [] },
  nodejs_gc_duration_seconds: { type: 'histogram', labels: ['kind'] },
  nodejs_version_info: { type: 'gauge', labels: ['version', 'major', 'minor', 'patch'] },
} as const satisfies Record<string, { type: 'counter' | 'gauge' | 'histogram'; labels: readonly string[] }>;

/** The name of a metric drey exposes. */
export type MetricName = keyof typeof METRICS;

/** Every metric name drey exposes on `/metrics`. */
export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];

/** The controllers' names, the `controller` label (and the `name` of their work queues). */
export type ControllerName = 'application' | 'statement' | 'computepool';

/** How a reconcile ended, in controller-runtime's words. */
export type ReconcileResultLabel = 'success' | 'error' | 'requeue' | 'requeue_after';

/** What one work queue reports; `depth` and the longest running reconcile are read at each scrape. */
export interface QueueMetrics {
  /** A key was queued (not one already waiting). */
  added(): void;
  /** A key was queued again after its reconcile failed. */
  retried(): void;
  /** A key left the queue after waiting this long. */
  waited(seconds: number): void;
  /** A reconcile ended after this long, with this result. */
  reconciled(seconds: number, result: ReconcileResultLabel): void;
}

/** What a work queue tells the scrape about itself. */
export interface QueueState {
  depth(): number;
  /** How long the oldest reconcile still running has run, in seconds (0 when none runs). */
  longestRunningSeconds(): number;
}

/** Records one call of a client: its HTTP status (0: no answer) and how long it took. */
export type CallObserver = (call: { method: string; url: string; status: number; seconds: number }) => void;

/** Counts by phase, read from the database at each scrape. */
export type PhaseCounts = () => Promise<Record<string, number>>;

/** Options of drey's metrics. */
export interface MetricsOptions {
  /** The pool whose connections `drey_db_pool_connections` reports. */
  pool?: pg.Pool;
  /** FlinkDeployments and statements by phase. */
  phases?: { flinkDeployments: PhaseCounts; statements: PhaseCounts };
  /** `drey_build_info`'s revision; `DREY_REVISION` or `unknown` when absent. */
  revision?: string;
}

/** controller-runtime's reconcile time buckets (`pkg/internal/controller/metrics`). */
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20,
  25, 30, 40, 50, 60,
];
/** client-go's workqueue buckets: `ExponentialBuckets(10e-9, 10, 12)`. */
const QUEUE_BUCKETS = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);
/** OpenTelemetry's advised HTTP server buckets. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** client-go's REST client latency buckets. */
const CLIENT_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];

/** drey's version, from the package.json beside `src/` or `dist/`. */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The host of a URL, for the `host` label (never a path or a query). */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'unknown';
  }
}

/**
 * One registry per drey (several dreys can run in one process, as tests do), holding every metric
 * of `METRICS`. Components get it as an option and record into it; nothing here is global.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly queues = new Map<string, QueueState>();
  private readonly lastPhases = { flinkDeployments: {} as Record<string, number>, statements: {} as Record<string, number> };

  readonly httpDuration: Histogram<'method' | 'route' | 'code'>;
  readonly httpInFlight: Gauge;
  private readonly leaderStatus: Gauge<'name'>;
  private readonly reconcileTotal: Counter<'controller' | 'result'>;
  private readonly reconcileErrors: Counter<'controller'>;
  private readonly reconcileTime: Histogram<'controller'>;
  private readonly queueAdds: Counter<'name'>;
  private readonly queueRetries: Counter<'name'>;
  private readonly queueDuration: Histogram<'name'>;
  private readonly workDuration: Histogram<'name'>;
  private readonly kubeRequests: Counter<'code' | 'method' | 'host'>;
  private readonly kubeDuration: Histogram<'verb' | 'host'>;
  private readonly flinkRequests: Counter<'client' | 'code'>;
  private readonly flinkDuration: Histogram<'client'>;
  private crdServed: () => boolean = () => true;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    const queues = this.queues;
    collectDefaultMetrics({ register: this.registry });
    const build = new Gauge({ name: 'drey_build_info', help: "drey's version and revision, and the Node.js running it (always 1)", labelNames: METRICS.drey_build_info.labels, registers });
    build.set({ version: packageVersion(), revision: options.revision ?? (process.env.DREY_REVISION || 'unknown'), nodejs_version: process.version }, 1);
    this.httpDuration = new Histogram({ name: 'http_request_duration_seconds', help: 'API requests by method, route template and status code', labelNames: METRICS.http_request_duration_seconds.labels, buckets: HTTP_BUCKETS, registers });
    this.httpInFlight = new Gauge({ name: 'http_requests_in_flight', help: 'API requests being served', registers });
    this.reconcileTotal = new Counter({ name: 'controller_runtime_reconcile_total', help: 'Reconciles per controller and result', labelNames: METRICS.controller_runtime_reconcile_total.labels, registers });
    this.reconcileErrors = new Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Reconciles that failed, per controller', labelNames: METRICS.controller_runtime_reconcile_errors_total.labels, registers });
    this.reconcileTime = new Histogram({ name: 'controller_runtime_reconcile_time_seconds', help: 'How long reconciles take, per controller', labelNames: METRICS.controller_runtime_reconcile_time_seconds.labels, buckets: RECONCILE_BUCKETS, registers });
    // gauges read from each work queue when scraped
    const perQueue = (name: 'workqueue_depth' | 'workqueue_longest_running_processor_seconds', help: string, read: (state: QueueState) => number) =>
      new Gauge({
        name,
        help,
        labelNames: METRICS[name].labels,
        registers,
        collect() {
          for (const [queue, state] of queues) this.set({ name: queue }, read(state));
        },
      });
    perQueue('workqueue_depth', 'Keys waiting in each work queue', (state) => state.depth());
    this.queueAdds = new Counter({ name: 'workqueue_adds_total', help: 'Keys queued, per work queue', labelNames: METRICS.workqueue_adds_total.labels, registers });
    this.queueRetries = new Counter({ name: 'workqueue_retries_total', help: 'Keys queued again after a failed reconcile, per work queue', labelNames: METRICS.workqueue_retries_total.labels, registers });
    this.queueDuration = new Histogram({ name: 'workqueue_queue_duration_seconds', help: 'How long keys wait in a work queue', labelNames: METRICS.workqueue_queue_duration_seconds.labels, buckets: QUEUE_BUCKETS, registers });
    this.workDuration = new Histogram({ name: 'workqueue_work_duration_seconds', help: 'How long processing a key takes', labelNames: METRICS.workqueue_work_duration_seconds.labels, buckets: QUEUE_BUCKETS, registers });
    perQueue('workqueue_longest_running_processor_seconds', 'How long the longest running reconcile of each work queue has run', (state) => state.longestRunningSeconds());
    this.leaderStatus = new Gauge({ name: 'leader_election_master_status', help: '1 while this process leads, 0 while it is a backup', labelNames: METRICS.leader_election_master_status.labels, registers });
    this.kubeRequests = new Counter({ name: 'rest_client_requests_total', help: 'Kubernetes API calls by status code, method and host', labelNames: METRICS.rest_client_requests_total.labels, registers });
    this.kubeDuration = new Histogram({ name: 'rest_client_request_duration_seconds', help: 'Kubernetes API call latency by verb and host', labelNames: METRICS.rest_client_request_duration_seconds.labels, buckets: CLIENT_BUCKETS, registers });
    this.flinkRequests = new Counter({ name: 'drey_flink_client_requests_total', help: 'Flink REST calls (JobManager, SQL Gateway) by status code', labelNames: METRICS.drey_flink_client_requests_total.labels, registers });
    this.flinkDuration = new Histogram({ name: 'drey_flink_client_request_duration_seconds', help: 'Flink REST call latency', labelNames: METRICS.drey_flink_client_request_duration_seconds.labels, buckets: CLIENT_BUCKETS, registers });
    const phases = options.phases;
    const last = this.lastPhases;
    const byPhase = (name: 'drey_flink_deployments' | 'drey_statements', help: string, which: keyof typeof last) =>
      new Gauge({
        name,
        help,
        labelNames: METRICS[name].labels,
        registers,
        // one query per scrape; while the database is away, the last counts stay
        async collect() {
          if (!phases) return;
          last[which] = await phases[which]().catch(() => last[which]);
          this.reset();
          for (const [phase, count] of Object.entries(last[which])) this.set({ phase }, count);
        },
      });
    byPhase('drey_flink_deployments', "Applications' FlinkDeployments by lifecycle state", 'flinkDeployments');
    byPhase('drey_statements', 'Statements by phase', 'statements');
    const crd = () => this.crdServed();
    new Gauge({
      name: 'drey_flink_deployment_crd_served',
      help: '1 while the cluster serves the FlinkDeployment CRD (the Flink Kubernetes Operator is installed), 0 when it said it does not',
      registers,
      collect() {
        this.set(crd() ? 1 : 0);
      },
    });
    const pool = options.pool;
    new Gauge({
      name: 'drey_db_pool_connections',
      help: "Connections of drey's database pool: total, idle, and requests waiting for one",
      labelNames: METRICS.drey_db_pool_connections.labels,
      registers,
      collect() {
        if (!pool) return;
        this.set({ state: 'total' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      },
    });
  }

  /** The Prometheus text of every metric, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** The recorder of one controller's work queue (its name is the controller's). */
  queue(name: string, state: QueueState): QueueMetrics {
    this.queues.set(name, state);
    return {
      added: () => this.queueAdds.inc({ name }),
      retried: () => this.queueRetries.inc({ name }),
      waited: (seconds) => this.queueDuration.observe({ name }, seconds),
      reconciled: (seconds, result) => {
        this.workDuration.observe({ name }, seconds);
        this.reconcileTime.observe({ controller: name }, seconds);
        this.reconcileTotal.inc({ controller: name, result });
        if (result === 'error') this.reconcileErrors.inc({ controller: name });
      },
    };
  }

  /**
   * Where `drey_flink_deployment_crd_served` is read: whether the cluster serves the FlinkDeployment
   * CRD (the Flink operator is installed). Unset, 1: the simulated cluster always serves it.
   */
  flinkDeploymentCrd(served: () => boolean): void {
    this.crdServed = served;
  }

  /** Records whether this process holds the lease `name`. */
  leading(name: string, leading: boolean): void {
    this.leaderStatus.set({ name }, leading ? 1 : 0);
  }

  /** Records Kubernetes API calls. */
  readonly kubeCall: CallObserver = ({ method, url, status, seconds }) => {
    const host = hostOf(url);
    this.kubeRequests.inc({ code: status ? String(status) : '<error>', method, host });
    this.kubeDuration.observe({ verb: method, host }, seconds);
  };

  /** Records the calls of one kind of Flink client. */
  flinkCall(client: 'jobmanager' | 'sqlgateway'): CallObserver {
    return ({ status, seconds }) => {
      this.flinkRequests.inc({ client, code: status ? String(status) : '<error>' });
      this.flinkDuration.observe({ client }, seconds);
    };
  }
}
