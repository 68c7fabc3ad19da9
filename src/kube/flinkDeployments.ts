import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type Informer,
  type ObjectCache,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { KubeError, kubeCall, kubeError } from './errors.js';
import { NamespaceScope } from './scope.js';

/** The FlinkDeployment custom resource's coordinates. */
export const FLINK_DEPLOYMENT = { group: 'flink.apache.org', version: 'v1beta1', plural: 'flinkdeployments', kind: 'FlinkDeployment' } as const;

/** The finalizer the Flink Kubernetes Operator puts on every FlinkDeployment it manages. */
export const OPERATOR_FINALIZER = 'flinkdeployments.flink.apache.org/finalizer';

/** Object metadata, as far as drey reads and writes it. */
export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
}

/** `status.jobStatus` of a FlinkDeployment (field names checked against the CRD in a test). */
export interface JobStatus {
  jobId?: string;
  jobName?: string;
  state?: string;
  startTime?: string;
  updateTime?: string;
  upgradeSavepointPath?: string;
}

/** `status` of a FlinkDeployment, as written by the Flink operator (field names checked against the CRD in a test). */
export interface FlinkDeploymentStatus {
  jobStatus?: JobStatus;
  lifecycleState?: string;
  jobManagerDeploymentStatus?: string;
  error?: string | null;
  observedGeneration?: number;
  clusterInfo?: Record<string, string>;
  reconciliationStatus?: {
    state?: string;
    lastReconciledSpec?: string;
    lastStableSpec?: string;
    reconciliationTimestamp?: number;
  };
}

/** What a watch event says happened to an object. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

/** A FlinkDeployment custom resource. */
export interface FlinkDeployment {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Record<string, unknown>;
  status?: FlinkDeploymentStatus;
}

/** Options of the FlinkDeployment client. */
export interface FlinkDeploymentsOptions {
  kubeConfig: KubeConfig;
  /** Deadline of each call. */
  timeoutMs?: number;
  /** The namespaces drey manages (every one by default). */
  scope?: NamespaceScope;
}

/** FlinkDeployments and the namespaces they live in, through the Kubernetes API. */
export class FlinkDeployments {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly kubeConfig: KubeConfig;
  private readonly timeoutMs: number;
  /** The namespaces drey manages: lists and watches cover these, and nothing is written elsewhere. */
  readonly scope: NamespaceScope;
  /** Namespaces this client saw or made: asked for once, not before every new FlinkDeployment. */
  private readonly namespaces = new Set<string>();

  constructor({ kubeConfig, timeoutMs = 10_000, scope = NamespaceScope.ALL }: FlinkDeploymentsOptions) {
    this.kubeConfig = kubeConfig;
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.timeoutMs = timeoutMs;
    this.scope = scope;
  }

  private call<T>(what: string, op: () => Promise<T>): Promise<T> {
    return kubeCall(what, this.timeoutMs, op);
  }

  /**
   * Refuses, as the API server would with 403 (a scoped drey has no Role there), a write to a
   * namespace outside the scope, with a message saying which setting decides.
   */
  private checkScope(namespace: string): void {
    const refusal = this.scope.refusal(namespace);
    if (refusal) throw new KubeError(403, refusal);
  }

  /** The FlinkDeployment, or undefined when there is none. */
  async get(namespace: string, name: string): Promise<FlinkDeployment | undefined> {
    try {
      return await this.call(`get flinkdeployment ${namespace}/${name}`, () =>
        this.custom.getNamespacedCustomObject({ ...coordinates, namespace, name }),
      );
    } catch (err) {
      if (err instanceof KubeError && err.code === 404) return undefined;
      throw err;
    }
  }

  /** FlinkDeployments in every namespace matching a label selector. */
  async list(labelSelector?: string): Promise<FlinkDeployment[]> {
    const list = await this.call('list flinkdeployments', () =>
      this.custom.listClusterCustomObject({ ...coordinates, labelSelector }),
    );
    return (list as { items: FlinkDeployment[] }).items;
  }

  /**
   * Every FlinkDeployment in `namespace` (every namespace when undefined) with the list's
   * resourceVersion, where a watch takes over.
   */
  async listAll(namespace?: string): Promise<{ items: FlinkDeployment[]; resourceVersion: string }> {
    const list = (await this.call(`list flinkdeployments${namespace ? ` in ${namespace}` : ''}`, () =>
      namespace ? this.custom.listNamespacedCustomObject({ ...coordinates, namespace }) : this.custom.listClusterCustomObject({ ...coordinates }),
    )) as {
      items: FlinkDeployment[];
      metadata?: { resourceVersion?: string };
    };
    return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  /**
   * Watches every FlinkDeployment in `namespace` (every namespace when undefined) from
   * `resourceVersion` on (with bookmarks). `onEvent` gets each event; `ended` settles when the
   * stream ends: resolved when the server closed it (watch again from the last version seen),
   * rejected with a KubeError (410: the version is too old, list again).
   */
  watch(
    resourceVersion: string,
    onEvent: (type: WatchEventType, object: FlinkDeployment) => void,
    namespace?: string,
  ): { ended: Promise<void>; stop: () => void } {
    let controller: AbortController | undefined;
    let stopped = false;
    const ended = new Promise<void>((resolve, reject) => {
      const done = (err: unknown) => {
        const code = (err as { statusCode?: unknown } | null)?.statusCode;
        if (stopped || !err || (err as Error).name === 'AbortError') resolve();
        else reject(typeof code === 'number' ? new KubeError(code, `watch flinkdeployments: ${(err as Error).message}`) : kubeError(err));
      };
      const path = `/apis/${coordinates.group}/${coordinates.version}${namespace ? `/namespaces/${namespace}` : ''}/${coordinates.plural}`;
      new Watch(this.kubeConfig)
        .watch(path, { resourceVersion, allowWatchBookmarks: true }, (type: string, object: FlinkDeployment) => {
          if (type === 'ERROR') {
            const status = object as unknown as { code?: number; message?: string };
            done(new KubeError(status.code ?? 0, status.message ?? 'watch error'));
            controller?.abort();
          } else if (!stopped) onEvent(type as WatchEventType, object);
        }, done)
        .then((c) => {
          controller = c;
          if (stopped) c.abort();
        }, done);
    });
    return {
      ended,
      stop: () => {
        stopped = true;
        controller?.abort();
      },
    };
  }

  /** Server-side apply: the cluster ends up with exactly the fields `manager` sets here, whoever changed them since. */
  async apply(deployment: FlinkDeployment, manager: string): Promise<FlinkDeployment> {
    const { namespace, name } = deployment.metadata;
    this.checkScope(namespace);
    try {
      return await this.call(`apply flinkdeployment ${namespace}/${name}`, () =>
        this.custom.patchNamespacedCustomObject(
          { ...coordinates, namespace, name, body: deployment, fieldManager: manager, force: true },
          setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
        ),
      );
    } catch (err) {
      // the namespace went since it was seen: the next ensureNamespace asks again
      if (err instanceof KubeError && err.code === 404) this.namespaces.delete(namespace);
      throw err;
    }
  }

  /** JSON merge patch of the object (metadata or spec). */
  async patch(namespace: string, name: string, patch: object): Promise<FlinkDeployment> {
    return this.call(`patch flinkdeployment ${namespace}/${name}`, () =>
      this.custom.patchNamespacedCustomObject(
        { ...coordinates, namespace, name, body: patch },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
  }

  /** Replaces the status subresource, failing with 409 if the object changed since it was read: what an operator writes. */
  async replaceStatus(deployment: FlinkDeployment): Promise<FlinkDeployment> {
    const { namespace, name } = deployment.metadata;
    return this.call(`update flinkdeployment status ${namespace}/${name}`, () =>
      this.custom.replaceNamespacedCustomObjectStatus({ ...coordinates, namespace, name, body: deployment }),
    );
  }

  /** Deletes the FlinkDeployment if it is there; its finalizers may keep it a while. */
  async delete(namespace: string, name: string): Promise<void> {
    try {
      await this.call(`delete flinkdeployment ${namespace}/${name}`, () =>
        this.custom.deleteNamespacedCustomObject({ ...coordinates, namespace, name, propagationPolicy: 'Background' }),
      );
    } catch (err) {
      if (!(err instanceof KubeError && err.code === 404)) throw err;
    }
  }

  /**
   * Creates the namespace unless it exists (or this client already saw it). A scoped drey never
   * touches Namespace objects: the ones it manages exist, and it may write nowhere else.
   */
  async ensureNamespace(name: string, labels: Record<string, string>): Promise<void> {
    this.checkScope(name);
    if (!this.scope.all || this.namespaces.has(name)) return;
    try {
      await this.call(`get namespace ${name}`, () => this.core.readNamespace({ name }));
      this.namespaces.add(name);
      return;
    } catch (err) {
      if (!(err instanceof KubeError && err.code === 404)) throw err;
    }
    try {
      await this.call(`create namespace ${name}`, () =>
        this.core.createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } } }),
      );
    } catch (err) {
      if (!(err instanceof KubeError && err.code === 409)) throw err;
    }
    this.namespaces.add(name);
  }

  /** A list-then-watch cache of FlinkDeployments in all namespaces (it relists on 410 Gone). */
  informer(labelSelector?: string): Informer<KubernetesObject> & ObjectCache<KubernetesObject> {
    const path = `/apis/${coordinates.group}/${coordinates.version}/${coordinates.plural}`;
    return makeInformer<KubernetesObject>(
      this.kubeConfig,
      path,
      () => this.custom.listClusterCustomObject({ ...coordinates, labelSelector }),
      labelSelector,
    );
  }
}

const coordinates = { group: FLINK_DEPLOYMENT.group, version: FLINK_DEPLOYMENT.version, plural: FLINK_DEPLOYMENT.plural };
