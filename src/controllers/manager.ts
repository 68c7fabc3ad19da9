import type { Logger } from '../log.js';
import type { ControllerName, Metrics } from '../metrics.js';
import type { DeploymentCache } from '../kube/cache.js';
import type { FlinkDeployments } from '../kube/flinkDeployments.js';
import type { StatementEngine } from '../statements/engine.js';
import { APPLICATION_CHANNEL } from '../store/applications.js';
import { COMPUTE_POOL_CHANNEL } from '../store/computePools.js';
import type { Store } from '../store/index.js';
import { listen } from '../store/notifications.js';
import { STATEMENT_CHANNEL } from '../store/statements.js';
import { keyOf } from './applicationDeployment.js';
import { ApplicationController } from './applications.js';
import { ComputePoolController } from './computePools.js';
import { createDeploymentCache } from './deploymentCache.js';
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
  /** Where reconciles, work queues and Flink calls are counted. */
  metrics?: Metrics;
}

/** One controller with its queue, the channel its API writes arrive on, and its resync keys. */
interface Loop {
  queue: WorkQueue;
  channel: string;
  keys: () => Promise<string[]>;
}

/** Keys each controller reconciles at once: reconciles wait on Postgres and the API server, not on this CPU. */
const CONCURRENCY = { applications: 16, statements: 8, computePools: 4 } as const;

/**
 * Runs the application, statement and compute pool controllers while this process leads: keys
 * arrive from API writes (Postgres notifications), from the cluster (one FlinkDeployment cache,
 * each change routed to the controller that owns the object) and from a periodic resync, which
 * passes over what has not changed since it last settled.
 */
export class ControllerManager {
  readonly applications: ApplicationController;
  readonly statements: StatementController;
  readonly computePools: ComputePoolController;
  private readonly loops: Record<'applications' | 'statements' | 'computePools', Loop>;
  private stops: (() => Promise<void>)[] = [];
  private resync: NodeJS.Timeout | undefined;
  private readonly cache: DeploymentCache;
  private running = false;

  constructor(private readonly options: ControllerManagerOptions) {
    const { store, deployments, log, engine, metrics } = options;
    this.cache = createDeploymentCache({ deployments, log, onChange: (d) => this.route(d) });
    const cache = this.cache;
    this.applications = new ApplicationController({ store, deployments, cache, log });
    this.statements = new StatementController({ store, deployments, cache, log, engine, locate: options.locateCluster, ...(metrics ? { metrics } : {}) });
    this.computePools = new ComputePoolController({ store, deployments, cache, log });
    const loop = (name: ControllerName, channel: string, reconcile: Reconcile, keys: () => Promise<string[]>, concurrency: number): Loop => ({
      queue: new WorkQueue({ name, reconcile, log, concurrency, ...(metrics ? { metrics } : {}) }),
      channel,
      keys,
    });
    this.loops = {
      applications: loop('application', APPLICATION_CHANNEL, (k, l) => this.applications.reconcile(k, l), () => this.applications.keys(), CONCURRENCY.applications),
      statements: loop('statement', STATEMENT_CHANNEL, (k, l) => this.statements.reconcile(k, l), () => this.statements.keys(), CONCURRENCY.statements),
      computePools: loop('computepool', COMPUTE_POOL_CHANNEL, (k, l) => this.computePools.reconcile(k, l), () => this.computePools.keys(), CONCURRENCY.computePools),
    };
  }

  /** Starts watching and reconciling. */
  async start(): Promise<void> {
    const { log, databaseUrl, resyncMs = 30_000 } = this.options;
    this.running = true;
    this.cache.start();
    for (const loop of Object.values(this.loops)) {
      loop.queue.start();
      this.stops.push(
        listen({ databaseUrl, channel: loop.channel, onMessage: (key) => loop.queue.add(key), onConnected: () => void this.enqueueAll(loop), log }),
      );
    }
    this.resync = setInterval(() => void Promise.all(Object.values(this.loops).map((l) => this.enqueueAll(l))), resyncMs);
    this.resync.unref();
  }

  /** Stops watching; reconciles in flight finish first. */
  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.resync);
    const stops = this.stops;
    this.stops = [];
    for (const stop of stops) await stop();
    await this.cache.stop();
    await Promise.all(Object.values(this.loops).map((l) => l.queue.stop()));
  }

  /** Hands a FlinkDeployment that changed to the controller that owns it. */
  private route(deployment: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } }): void {
    const key = keyOf(deployment);
    if (key) return this.loops.applications.queue.add(key);
    const owner = ownerOf(deployment);
    if (owner) this.loops[owner.kind === 'statement' ? 'statements' : 'computePools'].queue.add(`${owner.environment}/${owner.name}`);
  }

  private async enqueueAll(loop: Loop): Promise<void> {
    try {
      for (const key of await loop.keys()) loop.queue.add(key);
    } catch (err) {
      if (this.running) this.options.log.warn('resync failed', { error: (err as Error).message });
    }
  }
}
