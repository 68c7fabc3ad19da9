import type { Logger } from '../log.js';
import type { FlinkDeployments } from '../kube/flinkDeployments.js';
import { restartingWatch } from '../kube/watch.js';
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
  private stopWatching: (() => Promise<void>) | undefined;
  private resync: NodeJS.Timeout | undefined;

  constructor(private readonly options: ControllerManagerOptions) {
    this.applications = new ApplicationController({ store: options.store, deployments: options.deployments, log: options.log });
    this.queue = new WorkQueue({ name: 'applications', reconcile: (key) => this.applications.reconcile(key), log: options.log, concurrency: 4 });
  }

  /** Starts watching and reconciling. */
  async start(): Promise<void> {
    const { log, databaseUrl, resyncMs = 30_000 } = this.options;
    this.queue.start();
    this.stopListening = listen({
      databaseUrl,
      channel: APPLICATION_CHANNEL,
      onMessage: (key) => this.queue.add(key),
      onConnected: () => void this.enqueueAll(),
      log,
    });
    this.stopWatching = restartingWatch({
      deployments: this.options.deployments,
      labelSelector: MANAGED_SELECTOR,
      onChange: (obj) => {
        const key = keyOf(obj);
        if (key) this.queue.add(key);
      },
      onRestart: () => void this.enqueueAll(),
      log,
    });
    this.resync = setInterval(() => void this.enqueueAll(), resyncMs);
    this.resync.unref();
    await this.enqueueAll();
  }

  /** Stops watching; reconciles in flight finish first. */
  async stop(): Promise<void> {
    clearInterval(this.resync);
    await this.stopListening?.();
    await this.stopWatching?.();
    await this.queue.stop();
  }

  private async enqueueAll(): Promise<void> {
    try {
      for (const key of await this.applications.keys()) this.queue.add(key);
    } catch (err) {
      this.options.log.warn('resync failed', { error: (err as Error).message });
    }
  }
}
