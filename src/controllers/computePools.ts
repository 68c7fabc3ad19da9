import type { Logger } from '../log.js';
import { canonicalJson, isObject } from '../domain/objects.js';
import { now } from '../domain/time.js';
import type { DeploymentCache } from '../kube/cache.js';
import type { FlinkDeployments } from '../kube/flinkDeployments.js';
import type { Store } from '../store/index.js';
import type { ComputePoolWithEnvironment } from '../store/computePools.js';
import { splitKey } from './keys.js';
import type { ReconcileResult } from './queue.js';
import {
  applySessionCluster,
  clusterState,
  deleteSessionClusters,
  desiredSessionCluster,
  ownedBy,
  sessionClusterKeys,
  upToDate,
  type ClusterOwner,
} from './sessionCluster.js';

/** Options of the compute pool controller. */
export interface ComputePoolControllerOptions {
  store: Store;
  /** Writes go to the cluster through this. */
  deployments: FlinkDeployments;
  /** Reads come from this. */
  cache: DeploymentCache;
  log: Logger;
}

/** A pool's status as CMF reports it. */
export interface ComputePoolStatus {
  phase: string;
  message?: string;
}

/**
 * Keeps each SHARED compute pool's session cluster as the pool says (running, or removed while
 * SUSPENDED) and reports what that cluster is doing in the pool's status. A DEDICATED pool has no
 * cluster of its own (each statement gets one) and reports the phase DEDICATED.
 */
export class ComputePoolController {
  constructor(private readonly options: ComputePoolControllerOptions) {}

  /** Reconciles the pool `<environment>/<pool>`, logging through `log` (the queue's, bound to this reconcile). */
  async reconcile(key: string, log = this.options.log): Promise<ReconcileResult | void> {
    const [envName, name] = splitKey(key);
    const owner: ClusterOwner = { kind: 'computePool', environment: envName, name };
    const pool = await this.options.store.computePools.find(envName, name);
    if (!pool) return this.deleteClusters(owner, log);
    const spec = isObject(pool.spec) ? pool.spec : {};
    if (spec.type !== 'SHARED') return this.record(pool, { phase: 'DEDICATED' });
    if (spec.state === 'SUSPENDED') {
      const pending = await this.deleteClusters(owner, log);
      await this.record(pool, pending ? { phase: 'DELETING', message: 'Its Flink cluster is being removed.' } : { phase: 'SUSPENDED' });
      return pending;
    }
    return this.run(pool, owner, log);
  }

  /** `<environment>/<pool>` of every pool, and of stray pool clusters. */
  async keys(): Promise<string[]> {
    return [...new Set([...(await this.options.store.computePools.keys()), ...(await sessionClusterKeys(this.options.cache, 'computePool'))])];
  }

  private async run(pool: ComputePoolWithEnvironment, owner: ClusterOwner, log: Logger): Promise<ReconcileResult | void> {
    const { cache } = this.options;
    const env = pool.environment;
    const desired = desiredSessionCluster(env, pool, owner);
    await cache.synced();
    let live = cache.get(env.kubernetesNamespace, desired.metadata.name);
    if (live && !ownedBy(live, owner)) {
      return this.record(pool, { phase: 'FAILED', message: `FlinkDeployment ${env.kubernetesNamespace}/${desired.metadata.name} exists and is not drey's cluster for this pool.` });
    }
    if (!upToDate(desired, live)) {
      const applied = await applySessionCluster(this.options, desired, !live, log);
      if ('refused' in applied) return this.record(pool, { phase: 'FAILED', message: `Its Flink cluster was refused: ${applied.refused}` });
      live = applied.live;
    }
    const state = clusterState(live);
    if (state.ready) return this.record(pool, { phase: 'RUNNING' });
    return this.record(pool, state.failed ? { phase: 'FAILED', message: state.failed } : { phase: 'PENDING', message: state.detail });
  }

  private async record(pool: ComputePoolWithEnvironment, status: ComputePoolStatus): Promise<void> {
    if (canonicalJson(status) === canonicalJson(pool.status)) return;
    await this.options.store.computePools.recordStatus(pool.id, status, now());
  }

  private deleteClusters(owner: ClusterOwner, log: Logger): Promise<ReconcileResult | undefined> {
    return deleteSessionClusters(this.options, owner, log);
  }
}
