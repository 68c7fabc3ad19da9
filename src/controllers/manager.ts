import type { Logger } from '../log.js';
import type { FlinkDeployments } from '../kube/flinkDeployments.js';
import { APPLICATION_CHANNEL } from '../store/applications.js';
import type { Store } from '../store/index.js';
import { listen } from '../store/notifications.js';
import { keyOf, MANAGED_SELECTOR } from './applicationDeployment.js';
import { ApplicationController } from './applications.js';
import { WorkQueue } from './queue.js';

/** Options of the controller manager. */
export interface ControllerManagerOptions {
  store: Store;
  deployments: FlinkDeployments;
  databaseUrl: string;
  log: Logger;
  /** How often every application is reconciled even if nothing was heard. */
  resyncMs?: number;
}

/**
 * Runs the application controller while this process leads: keys arrive from API writes
 * (Postgres notifications), from the cluster (a FlinkDeployment informer) and from a periodic
 * resync; a broken watch is restarted with backoff.
 */
export class ControllerManager {
  readonly applications: ApplicationController;
  private readonly queue: WorkQueue;
  private stopListening: (() => Promise<void>) | undefined;
  private informer: ReturnType<FlinkDeployments['informer']> | undefined;
  private resync: NodeJS.Timeout | undefined;
  private informerRestart: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly options: ControllerManagerOptions) {
    this.applications = new ApplicationController({ store: options.store, deployments: options.deployments, log: options.log });
    this.queue = new WorkQueue({ name: 'applications', reconcile: (key) => this.applications.reconcile(key), log: options.log, concurrency: 4 });
  }

  /** Starts watching and reconciling. */
  async start(): Promise<void> {
    const { log, databaseUrl, resyncMs = 30_000 } = this.options;
    this.running = true;
    this.queue.start();
    this.stopListening = listen({
      databaseUrl,
      channel: APPLICATION_CHANNEL,
      onMessage: (key) => this.queue.add(key),
      onConnected: () => void this.enqueueAll(),
      log,
    });
    this.startInformer(0);
    this.resync = setInterval(() => void this.enqueueAll(), resyncMs);
    this.resync.unref();
    await this.enqueueAll();
  }

  /** Stops watching; reconciles in flight finish first. */
  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.resync);
    clearTimeout(this.informerRestart);
    await this.stopListening?.();
    await this.informer?.stop().catch(() => undefined);
    this.informer = undefined;
    await this.queue.stop();
  }

  /** True when no key is queued, waiting or being reconciled. */
  get idle(): boolean {
    return this.queue.idle;
  }

  private async enqueueAll(): Promise<void> {
    try {
      for (const key of await this.applications.keys()) this.queue.add(key);
    } catch (err) {
      this.options.log.warn('resync failed', { error: (err as Error).message });
    }
  }

  private startInformer(failures: number): void {
    if (!this.running) return;
    const informer = this.options.deployments.informer(MANAGED_SELECTOR);
    const enqueue = (obj: unknown) => {
      const key = keyOf(obj as Parameters<typeof keyOf>[0]);
      if (key) this.queue.add(key);
    };
    informer.on('add', enqueue);
    informer.on('update', enqueue);
    informer.on('delete', enqueue);
    informer.on('connect', () => {
      failures = 0;
    });
    let failed = false;
    const onError = (err: unknown) => {
      if (failed || !this.running || this.informer !== informer) return;
      failed = true;
      const delay = Math.min(30_000, 250 * 2 ** failures) * (0.5 + Math.random());
      this.options.log.warn('FlinkDeployment watch failed, restarting', { inMs: Math.round(delay), error: (err as Error)?.message });
      void informer.stop().catch(() => undefined);
      this.informerRestart = setTimeout(() => {
        void this.enqueueAll();
        this.startInformer(failures + 1);
      }, delay);
      this.informerRestart.unref();
    };
    informer.on('error', onError);
    this.informer = informer;
    informer.start().catch(onError);
  }
}
