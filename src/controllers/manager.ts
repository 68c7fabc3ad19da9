import type { Logger } from '../log.js';
import type { FlinkDeployments } from '../kube/flinkDeployments.js';
import { restartingWatch } from '../kube/watch.js';
import type { StatementEngine } from '../statements/engine.js';
import { APPLICATION_CHANNEL } from '../store/applications.js';
import { COMPUTE_POOL_CHANNEL } from '../store/computePools.js';
import type { Store } from '../store/index.js';
import { listen } from '../store/notifications.js';
import { STATEMENT_CHANNEL } from '../store/statements.js';
import { keyOf, MANAGED_SELECTOR } from './applicationDeployment.js';
import { ApplicationController } from './applications.js';
import { ComputePoolController } from './computePools.js';
import { WorkQueue, type Reconcile } from './queue.js';
import { ownerOf } from './sessionCluster.js';
import { StatementController, type ClusterLocator } from './statements.js';

/** Options of the controller manager. */
export interface ControllerManagerOptions {
  store: Store;
  deployments: FlinkDeployments;
  databaseUrl: string;
  log: Logger;
  /** The SQL Gateway statements run through (or why there is none). */
  engine: StatementEngine;
  /** Where each session cluster's JobManager answers. */
  locateCluster: ClusterLocator;
  /** How often every resource is reconciled even if nothing was heard. */
  resyncMs?: number;
}

/** One controller with its queue, the channel its API writes arrive on, and its resync keys. */
interface Loop {
  queue: WorkQueue;
  channel: string;
  keys: () => Promise<string[]>;
}

/**
 * Runs the application, statement and compute pool controllers while this process leads: keys
 * arrive from API writes (Postgres notifications), from the cluster (one FlinkDeployment watch,
 * each object routed to the controller that owns it) and from a periodic resync; a broken watch
 * is restarted with backoff.
 */
export class ControllerManager {
  readonly applications: ApplicationController;
  readonly statements: StatementController;
  readonly computePools: ComputePoolController;
  private readonly loops: Record<'applications' | 'statements' | 'computePools', Loop>;
  private stops: (() => Promise<void>)[] = [];
  private resync: NodeJS.Timeout | undefined;

  constructor(private readonly options: ControllerManagerOptions) {
    const { store, deployments, log, engine } = options;
    this.applications = new ApplicationController({ store, deployments, log });
    this.statements = new StatementController({ store, deployments, log, engine, locate: options.locateCluster });
    this.computePools = new ComputePoolController({ store, deployments, log });
    const loop = (name: string, channel: string, reconcile: Reconcile, keys: () => Promise<string[]>, concurrency: number): Loop => ({
      queue: new WorkQueue({ name, reconcile, log, concurrency }),
      channel,
      keys,
    });
    this.loops = {
      applications: loop('applications', APPLICATION_CHANNEL, (k) => this.applications.reconcile(k), () => this.applications.keys(), 4),
      statements: loop('statements', STATEMENT_CHANNEL, (k) => this.statements.reconcile(k), () => this.statements.keys(), 4),
      computePools: loop('compute pools', COMPUTE_POOL_CHANNEL, (k) => this.computePools.reconcile(k), () => this.computePools.keys(), 2),
    };
  }

  /** Starts watching and reconciling. */
  async start(): Promise<void> {
    const { log, databaseUrl, resyncMs = 30_000 } = this.options;
    for (const loop of Object.values(this.loops)) {
      loop.queue.start();
      this.stops.push(
        listen({ databaseUrl, channel: loop.channel, onMessage: (key) => loop.queue.add(key), onConnected: () => void this.enqueueAll(loop), log }),
      );
    }
    this.stops.push(
      restartingWatch({
        deployments: this.options.deployments,
        labelSelector: MANAGED_SELECTOR,
        onChange: (obj) => {
          const key = keyOf(obj);
          if (key) return this.loops.applications.queue.add(key);
          const owner = ownerOf(obj);
          if (owner) this.loops[owner.kind === 'statement' ? 'statements' : 'computePools'].queue.add(`${owner.environment}/${owner.name}`);
        },
        onRestart: () => void Promise.all(Object.values(this.loops).map((l) => this.enqueueAll(l))),
        log,
      }),
    );
    this.resync = setInterval(() => void Promise.all(Object.values(this.loops).map((l) => this.enqueueAll(l))), resyncMs);
    this.resync.unref();
    await Promise.all(Object.values(this.loops).map((l) => this.enqueueAll(l)));
  }

  /** Stops watching; reconciles in flight finish first. */
  async stop(): Promise<void> {
    clearInterval(this.resync);
    const stops = this.stops;
    this.stops = [];
    for (const stop of stops) await stop();
    await Promise.all(Object.values(this.loops).map((l) => l.queue.stop()));
  }

  private async enqueueAll(loop: Loop): Promise<void> {
    try {
      for (const key of await loop.keys()) loop.queue.add(key);
    } catch (err) {
      this.options.log.warn('resync failed', { error: (err as Error).message });
    }
  }
}
