import type { Logger } from '../log.js';
import { canonicalJson, type JsonObject } from '../domain/objects.js';
import { now } from '../domain/time.js';
import { isRefused } from '../kube/errors.js';
import type { FlinkDeployment, FlinkDeployments } from '../kube/flinkDeployments.js';
import type { ApplicationWithEnvironment, Observation } from '../store/applications.js';
import type { Store } from '../store/index.js';
import {
  applicationSelector,
  applicationStatus,
  desiredDeployment,
  hashOf,
  keyOf,
  MANAGED_BY,
  MANAGED_SELECTOR,
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
  deployments: FlinkDeployments;
  log: Logger;
}


/**
 * Reconciles one application with its FlinkDeployment: observe (the row and the cluster),
 * decide (what the FlinkDeployment should be), apply (server-side apply, only when it differs),
 * record (status, the instance's job status and events, once, only when something changed).
 */
export class ApplicationController {
  constructor(private readonly options: ApplicationControllerOptions) {}

  /** Reconciles the application `<environment>/<application>`. */
  async reconcile(key: string): Promise<ReconcileResult | void> {
    const [envName, name] = splitKey(key);
    const app = await this.options.store.applications.find(envName, name);
    if (!app) return this.deleteStrays(envName, name, undefined);
    if (app.deletionRequestedAt) return this.finishDeletion(app);
    await this.deleteStrays(envName, name, app);

    const { store, deployments } = this.options;
    const namespace = app.environment.kubernetesNamespace;
    const instance = await store.applications.currentInstance(app.id);
    if (!instance) return;
    const desired = desiredDeployment(app, instance);
    let live = await deployments.get(namespace, app.name);
    if (live && keyOf(live) !== key) {
      return this.record(app, live, app.deployedSpecHash, `FlinkDeployment ${namespace}/${app.name} exists and is not managed by drey for this application`);
    }
    if (live?.metadata.deletionTimestamp) return { requeueAfterMs: DELETION_POLL_MS };

    let deployedSpecHash = app.deployedSpecHash;
    if (needsApply(desired, live, deployedSpecHash)) {
      try {
        if (!live) await deployments.ensureNamespace(namespace, { [MANAGED_BY.key]: MANAGED_BY.value });
        live = await deployments.apply(desired, FIELD_MANAGER);
        deployedSpecHash = hashOf(live.spec);
        this.options.log.info('applied FlinkDeployment', { key, namespace, name: app.name, instance: instance.id });
      } catch (err) {
        if (!isRefused(err)) throw err;
        await this.record(app, live, deployedSpecHash, err.message);
        return;
      }
    }
    await this.record(app, live, deployedSpecHash);
  }

  /** Writes status, the current instance's job status and events, if any of them changed. */
  private async record(app: ApplicationWithEnvironment, live: FlinkDeployment | undefined, deployedSpecHash: string | null, error?: string): Promise<void> {
    const { store } = this.options;
    const previous = (app.status ?? null) as JsonObject | null;
    const status = applicationStatus(live, previous, error);
    const instanceName = typeof status.currentDeployedInstanceName === 'string' ? status.currentDeployedInstanceName : null;
    const observation: Observation = { status, deployedSpecHash, events: statusEvents(previous, status, instanceName) };
    if (instanceName && status.jobStatus) {
      const instance = await store.applications.getInstance(app.id, instanceName);
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
  }

  /** Deletes the application's FlinkDeployments, then the application once they are gone. */
  private async finishDeletion(app: ApplicationWithEnvironment): Promise<ReconcileResult | void> {
    const pending = await this.deleteStrays(app.environment.name, app.name, undefined);
    if (pending) return pending;
    await this.options.store.applications.remove(app.id);
    this.options.log.info('application deleted', { key: `${app.environment.name}/${app.name}` });
  }

  /**
   * Deletes FlinkDeployments labelled for this application that should not exist: all of them when
   * the application is gone or being deleted, those in another namespace or under another name
   * otherwise. Asks to come back while any are still going.
   */
  private async deleteStrays(envName: string, name: string, app: ApplicationWithEnvironment | undefined): Promise<ReconcileResult | void> {
    const { deployments, log } = this.options;
    const key = `${envName}/${name}`;
    const found = await deployments.list(applicationSelector(envName, name));
    const orphans = found.filter(
      (d) => keyOf(d) === key && (!app || d.metadata.namespace !== app.environment.kubernetesNamespace || d.metadata.name !== app.name),
    );
    for (const orphan of orphans) {
      if (!orphan.metadata.deletionTimestamp) {
        await deployments.delete(orphan.metadata.namespace, orphan.metadata.name);
        log.info(app ? 'deleted orphaned FlinkDeployment' : 'deleted FlinkDeployment', { key, namespace: orphan.metadata.namespace, name: orphan.metadata.name });
      }
    }
    return orphans.length ? { requeueAfterMs: DELETION_POLL_MS } : undefined;
  }

  /** Every key that needs a look in a resync: the applications and any drey FlinkDeployment without one. */
  async keys(): Promise<string[]> {
    const keys = new Set(await this.options.store.applications.keys());
    for (const d of await this.options.deployments.list(MANAGED_SELECTOR)) {
      const key = keyOf(d);
      if (key) keys.add(key);
    }
    return [...keys];
  }
}
