import type { Logger } from '../log.js';
import { canonicalJson, type JsonObject } from '../domain/objects.js';
import { now } from '../domain/time.js';
import type { DeploymentCache } from '../kube/cache.js';
import { isRefused } from '../kube/errors.js';
import type { FlinkDeployment, FlinkDeployments } from '../kube/flinkDeployments.js';
import type { ApplicationToReconcile, ApplicationVersion, Observation } from '../store/applications.js';
import type { Store } from '../store/index.js';
import {
  applicationStatus,
  BY_APPLICATION,
  desiredDeployment,
  hashOf,
  keyOf,
  MANAGED_BY,
  needsApply,
  statusEvents,
} from './applicationDeployment.js';
import { FIELD_MANAGER, splitKey } from './keys.js';
import type { ReconcileResult } from './queue.js';


/** How soon a deletion waiting on the cluster is looked at again. */
const DELETION_POLL_MS = 1_000;

/** Options of the application controller. */
export interface ApplicationControllerOptions {
  store: Store;
  /** Writes go to the cluster through this. */
  deployments: FlinkDeployments;
  /** Reads come from this: every FlinkDeployment, indexed by the application it belongs to. */
  cache: DeploymentCache;
  log: Logger;
}

/**
 * Everything a reconcile of one key reads, in one string: the application's and its environment's
 * versions (every API write moves one) and the resource version of each FlinkDeployment it looks
 * at. The same inputs make the same decisions, so a resync passes over a key whose inputs did
 * not move since a reconcile that changed nothing.
 */
function fingerprint(row: ApplicationVersion | undefined, deployments: (FlinkDeployment | undefined)[]): string {
  const seen = new Set<string>();
  for (const d of deployments) if (d) seen.add(`${d.metadata.namespace}/${d.metadata.name}@${d.metadata.resourceVersion}`);
  const db = row ? `${row.id}:${row.version}:${row.environment.id}:${row.environment.version}` : 'none';
  return `${db}|${[...seen].sort().join(',')}`;
}

/**
 * Reconciles one application with its FlinkDeployment: observe (the row, and the cluster through
 * the cache), decide (what the FlinkDeployment should be), apply (server-side apply, only when it
 * differs), record (status, the instance's job status and events, once, only when something
 * changed).
 */
export class ApplicationController {
  /** Keys whose last reconcile changed nothing, with what it read: a resync passes them over while that stays so. */
  private readonly settled = new Map<string, string>();

  constructor(private readonly options: ApplicationControllerOptions) {}

  /** Reconciles the application `<environment>/<application>`, logging through `log` (the queue's, bound to this reconcile). */
  async reconcile(key: string, log = this.options.log): Promise<ReconcileResult | void> {
    this.settled.delete(key);
    const { store, cache } = this.options;
    await cache.synced();
    const [envName, name] = splitKey(key);
    const app = await store.applications.find(envName, name);
    const owned = cache.byIndex(BY_APPLICATION, key);
    if (!app) return this.deleteStrays(owned, undefined, log);
    if (app.deletionRequestedAt) return this.finishDeletion(app, owned, log);
    const namespace = app.environment.kubernetesNamespace;
    let live = cache.get(namespace, app.name);
    const inputs = fingerprint(app, [...owned, live]);
    const strays = await this.deleteStrays(owned, app, log);

    const instance = app.instances[0];
    if (!instance) return;
    if (live && keyOf(live) !== key) {
      const wrote = await this.record(app, live, app.deployedSpecHash, `FlinkDeployment ${namespace}/${app.name} exists and is not managed by drey for this application`);
      if (!wrote && !strays) this.settled.set(key, inputs);
      return;
    }
    if (live?.metadata.deletionTimestamp) return { requeueAfterMs: DELETION_POLL_MS };

    const desired = desiredDeployment(app, instance);
    let deployedSpecHash = app.deployedSpecHash;
    if (needsApply(desired, live, deployedSpecHash)) {
      try {
        if (!live) await this.options.deployments.ensureNamespace(namespace, { [MANAGED_BY.key]: MANAGED_BY.value });
        live = await this.options.deployments.apply(desired, FIELD_MANAGER);
        cache.observe(live);
        deployedSpecHash = hashOf(live.spec);
        log.info('applied FlinkDeployment', { namespace, name: app.name, instance: instance.id });
      } catch (err) {
        if (!isRefused(err)) throw err;
        await this.record(app, live, deployedSpecHash, err.message);
        return;
      }
      await this.record(app, live, deployedSpecHash);
      return;
    }
    const wrote = await this.record(app, live, deployedSpecHash);
    if (!wrote && !strays) this.settled.set(key, inputs);
  }

  /** Writes status, the current instance's job status and events, if any of them changed; says whether it wrote. */
  private async record(app: ApplicationToReconcile, live: FlinkDeployment | undefined, deployedSpecHash: string | null, error?: string): Promise<boolean> {
    const { store } = this.options;
    const previous = (app.status ?? null) as JsonObject | null;
    const status = applicationStatus(live, previous, error);
    const instanceName = typeof status.currentDeployedInstanceName === 'string' ? status.currentDeployedInstanceName : null;
    const observation: Observation = { status, deployedSpecHash, events: statusEvents(previous, status, instanceName) };
    if (instanceName && status.jobStatus) {
      const current = app.instances[0];
      const instance = current?.id === instanceName ? current : await store.applications.getInstance(app.id, instanceName);
      if (instance && canonicalJson(instance.jobStatus) !== canonicalJson(status.jobStatus)) {
        observation.instanceJobStatus = { instanceId: instance.id, jobStatus: status.jobStatus };
      }
    }
    const unchanged =
      canonicalJson(previous) === canonicalJson(status) &&
      deployedSpecHash === app.deployedSpecHash &&
      observation.events.length === 0 &&
      !observation.instanceJobStatus;
    if (!unchanged) await store.applications.recordObservation(app.id, observation, now());
    return !unchanged;
  }

  /** Deletes the application's FlinkDeployments, then the application once they are gone. */
  private async finishDeletion(app: ApplicationToReconcile, owned: FlinkDeployment[], log: Logger): Promise<ReconcileResult | void> {
    // a FlinkDeployment drey made in a namespace it no longer watches is out of its sight: forgetting
    // the application would leave its job running with no owner, so it waits, saying why
    const refusal = this.options.deployments.scope.refusal(app.environment.kubernetesNamespace);
    if (refusal && app.deployedSpecHash !== null) {
      await this.record(app, undefined, app.deployedSpecHash, `cannot delete FlinkDeployment ${app.environment.kubernetesNamespace}/${app.name}: ${refusal}`);
      return;
    }
    const pending = await this.deleteStrays(owned, undefined, log);
    if (pending) return pending;
    await this.options.store.applications.remove(app.id);
    log.info('application deleted');
  }

  /**
   * Deletes FlinkDeployments labelled for this application that should not exist: all of them when
   * the application is gone or being deleted, those in another namespace or under another name
   * otherwise. Asks to come back while any are still going.
   */
  private async deleteStrays(owned: FlinkDeployment[], app: ApplicationToReconcile | undefined, log: Logger): Promise<ReconcileResult | void> {
    const { deployments } = this.options;
    const orphans = owned.filter((d) => !app || d.metadata.namespace !== app.environment.kubernetesNamespace || d.metadata.name !== app.name);
    for (const orphan of orphans) {
      if (!orphan.metadata.deletionTimestamp) {
        await deployments.delete(orphan.metadata.namespace, orphan.metadata.name);
        log.info(app ? 'deleted orphaned FlinkDeployment' : 'deleted FlinkDeployment', { namespace: orphan.metadata.namespace, name: orphan.metadata.name });
      }
    }
    return orphans.length ? { requeueAfterMs: DELETION_POLL_MS } : undefined;
  }

  /**
   * The keys a resync should look at: every application and every drey FlinkDeployment without
   * one, except those whose inputs are as they were at a reconcile that changed nothing. One slim
   * query and the cache answer it, so a resync of settled applications costs next to nothing.
   */
  async keys(): Promise<string[]> {
    const { store, cache } = this.options;
    await cache.synced();
    const due: string[] = [];
    const known = new Set<string>();
    const look = (key: string, inputs: string) => {
      known.add(key);
      if (this.settled.get(key) !== inputs) due.push(key);
    };
    for (const row of await store.applications.versions()) {
      const key = `${row.environment.name}/${row.name}`;
      look(key, fingerprint(row, [...cache.byIndex(BY_APPLICATION, key), cache.get(row.environment.kubernetesNamespace, row.name)]));
    }
    for (const key of cache.indexValues(BY_APPLICATION)) {
      if (!known.has(key)) look(key, fingerprint(undefined, cache.byIndex(BY_APPLICATION, key)));
    }
    for (const key of this.settled.keys()) if (!known.has(key)) this.settled.delete(key);
    return due;
  }
}
