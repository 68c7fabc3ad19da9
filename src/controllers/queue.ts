import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import type { Metrics, QueueMetrics } from '../metrics.js';

/** What a reconcile asks of the queue: come back after a while even if nothing changes. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

/**
 * Reconciles one key, level-triggered: it reads the world afresh and never sees an event. It logs
 * through `log`, whose lines carry the controller, the key and an id of this one reconcile.
 */
export type Reconcile = (key: string, log: Logger) => Promise<ReconcileResult | void>;

/** Thrown by a reconcile for a problem that retrying cannot fix; it is recorded, not retried. */
export class TerminalError extends Error {}

/** Options of a work queue. */
export interface WorkQueueOptions {
  name: string;
  reconcile: Reconcile;
  log: Logger;
  /** Keys reconciled at the same time (never the same key twice at once). */
  concurrency?: number;
  /** First retry delay after an error; doubled per consecutive failure, with jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Where its depth, adds, retries, waits and reconciles are counted (under `name`). */
  metrics?: Metrics;
}

/**
 * A deduplicating queue of keys in the manner of controller-runtime's workqueue: a key added
 * while queued is queued once; added while being reconciled, it runs again afterwards; errors
 * requeue with exponential backoff and jitter.
 */
export class WorkQueue {
  private readonly options: Required<Omit<WorkQueueOptions, 'metrics'>>;
  private readonly metrics: QueueMetrics | undefined;
  /** When each queued key was queued, and each active key started (for the queue's metrics). */
  private readonly queuedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  private readonly queued = new Set<string>();
  private readonly order: string[] = [];
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private stopped = true;

  constructor(options: WorkQueueOptions) {
    const { metrics, ...rest } = options;
    this.options = { concurrency: 2, baseDelayMs: 200, maxDelayMs: 30_000, ...rest };
    this.metrics = metrics?.queue(options.name, {
      depth: () => this.order.length,
      longestRunningSeconds: () => (this.startedAt.size ? (performance.now() - Math.min(...this.startedAt.values())) / 1000 : 0),
    });
  }

  /** Starts taking keys off the queue. */
  start(): void {
    this.stopped = false;
    this.pump();
  }

  /** Stops: pending timers are dropped, reconciles in flight are awaited. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queued.clear();
    this.queuedAt.clear();
    this.order.length = 0;
    await Promise.allSettled([...this.running]);
  }

  /** Queues a key now. */
  add(key: string): void {
    this.put(key, false);
  }

  /** Queues a key; `again` for a key added while it was reconciled, already counted then. */
  private put(key: string, again: boolean): void {
    if (this.stopped) return;
    const timer = this.timers.get(key);
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(key);
    }
    if (this.active.has(key)) {
      if (!this.dirty.has(key)) this.metrics?.added();
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    if (!again) this.metrics?.added();
    this.queuedAt.set(key, performance.now());
    this.queued.add(key);
    this.order.push(key);
    this.pump();
  }

  /** Queues a key after a delay, unless something queues it sooner. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped || this.queued.has(key)) return;
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, timer);
  }

  private backoff(key: string): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    const { baseDelayMs, maxDelayMs } = this.options;
    const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(failures - 1, 20));
    return Math.round(delay * (0.5 + Math.random()));
  }

  private pump(): void {
    while (!this.stopped && this.active.size < this.options.concurrency) {
      const index = this.order.findIndex((k) => !this.active.has(k));
      if (index < 0) return;
      const [key] = this.order.splice(index, 1) as [string];
      this.queued.delete(key);
      this.metrics?.waited((performance.now() - (this.queuedAt.get(key) ?? performance.now())) / 1000);
      this.queuedAt.delete(key);
      this.active.add(key);
      const run = this.run(key).finally(() => {
        this.running.delete(run);
        this.active.delete(key);
        if (this.dirty.delete(key)) this.put(key, true);
        this.pump();
      });
      this.running.add(run);
    }
  }

  private async run(key: string): Promise<void> {
    const { name, reconcile } = this.options;
    // controller-runtime's fields: every line of one reconcile can be found by its id
    const log = this.options.log.child({ controller: name, key, reconcileID: randomUUID() });
    const started = performance.now();
    this.startedAt.set(key, started);
    const done = (result: 'success' | 'error' | 'requeue_after') => {
      this.startedAt.delete(key);
      this.metrics?.reconciled((performance.now() - started) / 1000, result);
    };
    try {
      const result = await reconcile(key, log);
      done(result?.requeueAfterMs !== undefined ? 'requeue_after' : 'success');
      this.failures.delete(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      done('error');
      if (err instanceof TerminalError) {
        this.failures.delete(key);
        log.warn(`${name}: not retried`, { error: err.message });
        return;
      }
      const delay = this.backoff(key);
      log.warn(`${name}: reconcile failed, retrying`, { inMs: delay, error: (err as Error).message });
      this.metrics?.retried();
      this.addAfter(key, delay);
    }
  }
}
