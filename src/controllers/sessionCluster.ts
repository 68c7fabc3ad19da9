/**
 * The Flink session clusters statements run on: a FlinkDeployment without a job, built from a
 * compute pool's `clusterSpec` (with the environment's `computePoolDefaults`, the environment
 * winning), one per statement on a DEDICATED pool and one per SHARED pool.
 */
import type { Logger } from '../log.js';
import { deepMerge, isObject } from '../domain/objects.js';
import { isRefused } from '../kube/errors.js';
import type { DeploymentCache } from '../kube/cache.js';
import { FLINK_DEPLOYMENT, type FlinkDeployment, type FlinkDeployments } from '../kube/flinkDeployments.js';
import type { ComputePool } from '../store/computePools.js';
import type { Environment } from '../store/environments.js';
import { hashOf, labelValue, MANAGED_BY } from './applicationDeployment.js';
import { FIELD_MANAGER } from './keys.js';
import type { ReconcileResult } from './queue.js';

/** Labels and annotations of session clusters (beside drey's managed-by and environment labels). */
export const SESSION_LABELS = { environment: 'drey.dev/environment', statement: 'drey.dev/statement', computePool: 'drey.dev/compute-pool' } as const;
export const SESSION_ANNOTATIONS = {
  environment: 'drey.dev/environment',
  statement: 'drey.dev/statement',
  computePool: 'drey.dev/compute-pool',
  specHash: 'drey.dev/spec-hash',
} as const;

/** What a session cluster is for. */
export type ClusterOwner = { kind: 'statement' | 'computePool'; environment: string; name: string };

/** The cache index of session clusters by owner, and how it files an owner: `<kind>:<environment>/<name>`. */
export const BY_SESSION_OWNER = 'sessionOwner';
export function sessionOwnerKey(owner: ClusterOwner): string {
  return `${owner.kind}:${owner.environment}/${owner.name}`;
}

/** The longest FlinkDeployment name the operator accepts (Flink's cluster-id limit). */
const MAX_CLUSTER_NAME = 45;

/** A FlinkDeployment name for a statement or pool: its own name, or a shortened one with a hash. */
export function clusterName(name: string): string {
  if (name.length <= MAX_CLUSTER_NAME) return name;
  return `${name.slice(0, MAX_CLUSTER_NAME - 9).replace(/[^a-z0-9]+$/, '')}-${hashOf(name).slice(0, 8)}`;
}

/** The owner a drey session cluster belongs to, if it carries one. */
export function ownerOf(deployment: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } }): ClusterOwner | undefined {
  const labels = deployment.metadata?.labels ?? {};
  const annotations = deployment.metadata?.annotations ?? {};
  if (labels[MANAGED_BY.key] !== MANAGED_BY.value) return undefined;
  const environment = annotations[SESSION_ANNOTATIONS.environment];
  if (!environment) return undefined;
  for (const kind of ['statement', 'computePool'] as const) {
    const name = annotations[SESSION_ANNOTATIONS[kind]];
    if (name) return { kind, environment, name };
  }
  return undefined;
}

/** The cluster spec of a pool as it applies now: its `clusterSpec` with the environment's defaults. */
export function poolClusterSpec(env: Environment, pool: ComputePool): Record<string, unknown> {
  const spec = isObject(pool.spec) && isObject(pool.spec.clusterSpec) ? pool.spec.clusterSpec : {};
  const defaults = isObject(env.computePoolDefaults) && isObject(env.computePoolDefaults.clusterSpec) ? env.computePoolDefaults.clusterSpec : undefined;
  return (defaults ? deepMerge(spec, defaults) : structuredClone(spec)) as Record<string, unknown>;
}

/** The session FlinkDeployment an owner should have: the pool's cluster spec without a job. */
export function desiredSessionCluster(env: Environment, pool: ComputePool, owner: ClusterOwner): FlinkDeployment {
  const { job: _job, ...spec } = poolClusterSpec(env, pool);
  const labels = {
    ...(isObject(pool.labels) ? (Object.fromEntries(Object.entries(pool.labels).filter((e) => typeof e[1] === 'string')) as Record<string, string>) : {}),
    [MANAGED_BY.key]: MANAGED_BY.value,
    [SESSION_LABELS.environment]: labelValue(env.name),
    [SESSION_LABELS[owner.kind]]: labelValue(owner.name),
  };
  const annotations: Record<string, string> = {
    [SESSION_ANNOTATIONS.environment]: env.name,
    [SESSION_ANNOTATIONS[owner.kind]]: owner.name,
  };
  annotations[SESSION_ANNOTATIONS.specHash] = hashOf({ spec, labels, annotations });
  return {
    apiVersion: `${FLINK_DEPLOYMENT.group}/${FLINK_DEPLOYMENT.version}`,
    kind: FLINK_DEPLOYMENT.kind,
    metadata: { name: clusterName(owner.name), namespace: env.kubernetesNamespace, labels, annotations },
    spec,
  };
}

/** Whether a live session cluster is what drey would apply now. */
export function upToDate(desired: FlinkDeployment, live: FlinkDeployment | undefined): boolean {
  return live?.metadata.annotations?.[SESSION_ANNOTATIONS.specHash] === desired.metadata.annotations?.[SESSION_ANNOTATIONS.specHash];
}

/** What a session cluster is doing, for statement and pool status. */
export type ClusterState = { ready: true } | { ready: false; failed?: string; detail: string };

/** Reads a session cluster's state off its status, as the Flink operator writes it. */
export function clusterState(live: FlinkDeployment | undefined): ClusterState {
  if (!live) return { ready: false, detail: 'Its Flink cluster is being created.' };
  if (live.metadata.deletionTimestamp) return { ready: false, detail: 'Its Flink cluster is being deleted.' };
  const status = live.status ?? {};
  // the operator retries a transient error by itself; only a refused spec or a broken JobManager is failed
  if (status.error && (status.jobManagerDeploymentStatus === 'ERROR' || status.lifecycleState === 'FAILED')) {
    return { ready: false, failed: operatorMessage(status.error), detail: `Its Flink cluster failed: ${operatorMessage(status.error)}` };
  }
  if (status.jobManagerDeploymentStatus === 'READY') return { ready: true };
  return { ready: false, detail: `Its Flink cluster is starting (JobManager ${status.jobManagerDeploymentStatus ?? 'not deployed yet'}).` };
}

/** The first line of the operator's `status.error` (a JSON document with `message`, or plain text). */
export function operatorMessage(error: string): string {
  let message = error;
  try {
    const parsed = JSON.parse(error) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // plain text
  }
  return message.split('\n')[0]!.slice(0, 500);
}

/** Whether a FlinkDeployment is drey's session cluster of exactly this owner. */
export function ownedBy(deployment: FlinkDeployment, owner: ClusterOwner): boolean {
  const o = ownerOf(deployment);
  return o?.kind === owner.kind && o.environment === owner.environment && o.name === owner.name;
}

/** What applying a session cluster came to: the cluster as stored, or the API server's refusal. */
export type Applied = { live: FlinkDeployment } | { refused: string };

/** The cluster as the controllers see it: writes through the API, reads from the cache. */
export interface ClusterAccess {
  deployments: FlinkDeployments;
  cache: DeploymentCache;
}

/** Applies a session cluster (its namespace first, when it is new); a refusal is returned, anything else thrown. */
export async function applySessionCluster({ deployments, cache }: ClusterAccess, desired: FlinkDeployment, isNew: boolean, log: Logger): Promise<Applied> {
  try {
    if (isNew) await deployments.ensureNamespace(desired.metadata.namespace, { [MANAGED_BY.key]: MANAGED_BY.value });
    const live = await deployments.apply(desired, FIELD_MANAGER);
    cache.observe(live);
    log.info('applied session cluster', { namespace: desired.metadata.namespace, name: desired.metadata.name });
    return { live };
  } catch (err) {
    if (isRefused(err)) return { refused: err.message };
    throw err;
  }
}

/** Deletes an owner's session clusters; asks to come back while any are still going. */
export async function deleteSessionClusters({ deployments, cache }: ClusterAccess, owner: ClusterOwner, log: Logger): Promise<ReconcileResult | undefined> {
  await cache.synced();
  const found = cache.byIndex(BY_SESSION_OWNER, sessionOwnerKey(owner));
  for (const d of found) {
    if (!d.metadata.deletionTimestamp) {
      await deployments.delete(d.metadata.namespace, d.metadata.name);
      log.info('deleted session cluster', { namespace: d.metadata.namespace, name: d.metadata.name });
    }
  }
  return found.length ? { requeueAfterMs: 500 } : undefined;
}

/** `<environment>/<name>` of every session cluster of one kind of owner (for resyncs: strays too). */
export async function sessionClusterKeys(cache: DeploymentCache, kind: ClusterOwner['kind']): Promise<string[]> {
  await cache.synced();
  const prefix = `${kind}:`;
  return cache.indexValues(BY_SESSION_OWNER).flatMap((k) => (k.startsWith(prefix) ? [k.slice(prefix.length)] : []));
}
