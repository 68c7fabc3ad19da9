import type { Logger } from '../log.js';
import { canonicalJson, isObject } from '../domain/objects.js';
import { now } from '../domain/time.js';
import { KubeError } from '../kube/errors.js';
import type { FlinkDeployments } from '../kube/flinkDeployments.js';
import type { Store } from '../store/index.js';
import type { ComputePoolWithEnvironment } from '../store/computePools.js';
import { MANAGED_BY } from './applicationDeployment.js';
import { FIELD_MANAGER } from './applications.js';
import type { ReconcileResult } from './queue.js';
import { clusterName, clusterState, desiredSessionCluster, ownerOf, ownerSelector, upToDate, type ClusterOwner } from './sessionCluster.js';

/** Options of the compute pool controller. */
export interface ComputePoolControllerOptions {
  store: Store;
  deployments: FlinkDeployments;
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

  /** Reconciles the pool `<environment>/<pool>`. */
  async reconcile(key: string): Promise<ReconcileResult | void> {
    const slash = key.indexOf('/');
    const [envName, name] = [key.slice(0, slash), key.slice(slash + 1)];
    const owner: ClusterOwner = { kind: 'computePool', environment: envName, name };
    const pool = await this.options.store.computePools.find(envName, name);
    if (!pool) return this.deleteClusters(owner);
    const spec = isObject(pool.spec) ? pool.spec : {};
    if (spec.type !== 'SHARED') return this.record(pool, { phase: 'DEDICATED' });
    if (spec.state === 'SUSPENDED') {
      const pending = await this.deleteClusters(owner);
      await this.record(pool, pending ? { phase: 'DELETING', message: 'Its Flink cluster is being removed.' } : { phase: 'SUSPENDED' });
      return pending;
    }
    return this.run(pool, owner);
  }

  /** `<environment>/<pool>` of every pool, and of stray pool clusters. */
  async keys(): Promise<string[]> {
    const keys = new Set(await this.options.store.computePools.keys());
    for (const d of await this.options.deployments.list(`${MANAGED_BY.key}=${MANAGED_BY.value}`)) {
      const owner = ownerOf(d);
      if (owner?.kind === 'computePool') keys.add(`${owner.environment}/${owner.name}`);
    }
    return [...keys];
  }

  private async run(pool: ComputePoolWithEnvironment, owner: ClusterOwner): Promise<ReconcileResult | void> {
    const { deployments, log } = this.options;
    const env = pool.environment;
    const desired = desiredSessionCluster(env, pool, owner);
    let live = await deployments.get(env.kubernetesNamespace, clusterName(pool.name));
    const liveOwner = live && ownerOf(live);
    if (live && (liveOwner?.kind !== 'computePool' || liveOwner.name !== pool.name || liveOwner.environment !== env.name)) {
      return this.record(pool, { phase: 'FAILED', message: `FlinkDeployment ${env.kubernetesNamespace}/${desired.metadata.name} exists and is not drey's cluster for this pool.` });
    }
    if (!upToDate(desired, live)) {
      try {
        if (!live) await deployments.ensureNamespace(env.kubernetesNamespace, { [MANAGED_BY.key]: MANAGED_BY.value });
        live = await deployments.apply(desired, FIELD_MANAGER);
        log.info('applied compute pool cluster', { pool: `${env.name}/${pool.name}`, namespace: env.kubernetesNamespace, name: desired.metadata.name });
      } catch (err) {
        if (err instanceof KubeError && [400, 403, 422].includes(err.code)) return this.record(pool, { phase: 'FAILED', message: `Its Flink cluster was refused: ${err.message}` });
        throw err;
      }
    }
    const state = clusterState(live);
    if (state.ready) return this.record(pool, { phase: 'RUNNING' });
    return this.record(pool, state.failed ? { phase: 'FAILED', message: state.failed } : { phase: 'PENDING', message: state.detail });
  }

  private async record(pool: ComputePoolWithEnvironment, status: ComputePoolStatus): Promise<void> {
    if (canonicalJson(status) === canonicalJson(pool.status)) return;
    await this.options.store.computePools.recordStatus(pool.id, status, now());
  }

  private async deleteClusters(owner: ClusterOwner): Promise<ReconcileResult | undefined> {
    const { deployments, log } = this.options;
    const found = (await deployments.list(ownerSelector(owner))).filter((d) => {
      const o = ownerOf(d);
      return o?.kind === 'computePool' && o.environment === owner.environment && o.name === owner.name;
    });
    for (const d of found) {
      if (!d.metadata.deletionTimestamp) {
        await deployments.delete(d.metadata.namespace, d.metadata.name);
        log.info('deleted compute pool cluster', { namespace: d.metadata.namespace, name: d.metadata.name });
      }
    }
    return found.length ? { requeueAfterMs: 500 } : undefined;
  }
}
