import { createHash, randomUUID } from 'node:crypto';
import { EVENT_TYPES } from '../domain/applications.js';
import { canonicalJson, isObject, type JsonObject } from '../domain/objects.js';
import { FLINK_DEPLOYMENT, type FlinkDeployment } from '../kube/flinkDeployments.js';
import type { ApplicationWithEnvironment, NewEvent } from '../store/applications.js';

/** Labels and annotations drey puts on what it creates, so it can find its own and its orphans. */
export const MANAGED_BY = { key: 'app.kubernetes.io/managed-by', value: 'drey' } as const;
export const LABELS = { environment: 'drey.dev/environment', application: 'drey.dev/application', instance: 'drey.dev/instance' } as const;
export const ANNOTATIONS = { environment: 'drey.dev/environment', application: 'drey.dev/application', specHash: 'drey.dev/spec-hash' } as const;

/** The cache index of FlinkDeployments by the `<environment>/<application>` they belong to. */
export const BY_APPLICATION = 'application';

/** The label selector matching every FlinkDeployment drey manages. */
export const MANAGED_SELECTOR = `${MANAGED_BY.key}=${MANAGED_BY.value}`;

/** sha256 of a value's canonical JSON. */
export function hashOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/**
 * A name as a label value: label values stop at 63 characters, names may run to 253, so a long
 * name keeps its first 54 characters and gains 8 of its hash (the exact name is in an annotation).
 */
export function labelValue(name: string): string {
  if (name.length <= 63) return name;
  return `${name.slice(0, 54).replace(/[^a-z0-9]+$/, '')}-${hashOf(name).slice(0, 8)}`;
}

/** The selector matching the FlinkDeployments of one application. */
export function applicationSelector(environment: string, application: string): string {
  return `${MANAGED_SELECTOR},${LABELS.environment}=${labelValue(environment)},${LABELS.application}=${labelValue(application)}`;
}

/** The `<environment>/<application>` key a drey-managed FlinkDeployment belongs to, if it carries one. */
export function keyOf(deployment: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } }): string | undefined {
  const labels = deployment.metadata?.labels ?? {};
  const annotations = deployment.metadata?.annotations ?? {};
  if (labels[MANAGED_BY.key] !== MANAGED_BY.value) return undefined;
  const env = annotations[ANNOTATIONS.environment];
  const app = annotations[ANNOTATIONS.application];
  return env && app ? `${env}/${app}` : undefined;
}

function stringMap(value: unknown): Record<string, string> {
  if (!isObject(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/**
 * The FlinkDeployment an application should have: the current instance's merged spec, in the
 * environment's namespace, named after the application. Metadata from the application, then
 * the environment's `flinkApplicationDefaults.metadata` (the environment wins), then drey's own.
 */
export function desiredDeployment(app: ApplicationWithEnvironment, instance: { id: string; spec: unknown }): FlinkDeployment {
  const env = app.environment;
  const defaults = isObject(env.flinkApplicationDefaults) && isObject(env.flinkApplicationDefaults.metadata) ? env.flinkApplicationDefaults.metadata : {};
  const labels = {
    ...stringMap(app.labels),
    ...stringMap(defaults.labels),
    [MANAGED_BY.key]: MANAGED_BY.value,
    [LABELS.environment]: labelValue(env.name),
    [LABELS.application]: labelValue(app.name),
    [LABELS.instance]: instance.id,
  };
  const annotations: Record<string, string> = {
    ...stringMap(app.annotations),
    ...stringMap(defaults.annotations),
    [ANNOTATIONS.environment]: env.name,
    [ANNOTATIONS.application]: app.name,
  };
  const spec = structuredClone(instance.spec) as Record<string, unknown>;
  annotations[ANNOTATIONS.specHash] = hashOf({ spec, labels, annotations });
  return {
    apiVersion: `${FLINK_DEPLOYMENT.group}/${FLINK_DEPLOYMENT.version}`,
    kind: FLINK_DEPLOYMENT.kind,
    metadata: { name: app.name, namespace: env.kubernetesNamespace, labels, annotations },
    spec,
  };
}

/**
 * Whether the cluster's FlinkDeployment differs from what drey last applied: a missing one, a
 * changed desired state (the spec-hash annotation), or a spec or drey metadata edited behind drey's
 * back (the spec's hash as the cluster stored it at the last apply, and the labels and annotations).
 */
export function needsApply(desired: FlinkDeployment, live: FlinkDeployment | undefined, deployedSpecHash: string | null): boolean {
  if (!live) return true;
  const labels = live.metadata.labels ?? {};
  const annotations = live.metadata.annotations ?? {};
  if (Object.entries(desired.metadata.labels ?? {}).some(([k, v]) => labels[k] !== v)) return true;
  if (Object.entries(desired.metadata.annotations ?? {}).some(([k, v]) => annotations[k] !== v)) return true;
  return hashOf(live.spec) !== deployedSpecHash;
}

/** The application's `status`: the FlinkDeployment's, plus the instance the cluster runs. */
export function applicationStatus(live: FlinkDeployment | undefined, previous: JsonObject | null, error?: string): JsonObject {
  const observed = live?.status ?? {};
  const jobStatus = observed.jobStatus
    ? Object.fromEntries(
        (['jobId', 'jobName', 'state', 'startTime', 'updateTime', 'upgradeSavepointPath'] as const)
          .filter((k) => observed.jobStatus?.[k] !== undefined && observed.jobStatus?.[k] !== null)
          .map((k) => [k, observed.jobStatus?.[k]]),
      )
    : undefined;
  const reconciled = live && observed.observedGeneration !== undefined && observed.observedGeneration === live.metadata.generation;
  const instance = reconciled ? live.metadata.labels?.[LABELS.instance] : previous?.currentDeployedInstanceName;
  const shownError = error ?? observed.error ?? undefined;
  return {
    ...(jobStatus ? { jobStatus } : {}),
    ...(observed.lifecycleState ? { lifecycleState: observed.lifecycleState } : {}),
    ...(observed.jobManagerDeploymentStatus ? { jobManagerDeploymentStatus: observed.jobManagerDeploymentStatus } : {}),
    ...(observed.clusterInfo ? { clusterInfo: observed.clusterInfo } : {}),
    ...(shownError ? { error: shownError } : {}),
    ...(typeof instance === 'string' ? { currentDeployedInstanceName: instance } : {}),
  };
}

/** The first line of an operator error, which is often a JSON document with a `message`. */
function errorSummary(error: string): string {
  try {
    const parsed = JSON.parse(error) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message.split('\n')[0]!.slice(0, 500);
  } catch {
    // not JSON: the text itself
  }
  return error.split('\n')[0]!.slice(0, 500);
}

/** Events for what really changed between two statuses: cluster lifecycle, job state, a new error. */
export function statusEvents(previous: JsonObject | null, next: JsonObject, instanceName: string | null): NewEvent[] {
  const events: NewEvent[] = [];
  const event = (type: string, message: string, data: unknown) => events.push({ id: randomUUID(), instanceName, type, message, data });
  const before = (previous ?? {}) as { lifecycleState?: string; jobStatus?: { state?: string }; error?: string };
  const after = next as typeof before;
  if (after.lifecycleState && after.lifecycleState !== before.lifecycleState) {
    event(EVENT_TYPES.cluster, `Flink cluster status changed to ${after.lifecycleState}`, { newStatus: after.lifecycleState });
  }
  const state = after.jobStatus?.state;
  if (state && state !== before.jobStatus?.state) {
    event(EVENT_TYPES.job, `Flink job status changed to ${state}`, { newStatus: state });
  }
  if (after.error && after.error !== before.error) {
    event(EVENT_TYPES.exception, errorSummary(after.error), { exceptionString: after.error });
  }
  return events;
}
