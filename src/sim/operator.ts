import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import type { LocalFlink } from '../flink/local/cluster.js';
import { LocalJobs } from './localJobs.js';
import { lastReconciledSpec, operatorError, reconciledSpecJson, writableStatus } from './operatorStatus.js';
import { WorkQueue, type ReconcileResult } from '../controllers/queue.js';
import { canonicalJson, isObject } from '../domain/objects.js';
import { DeploymentCache } from '../kube/cache.js';
import { OPERATOR_FINALIZER, type FlinkDeployment, type FlinkDeploymentStatus, type FlinkDeployments } from '../kube/flinkDeployments.js';

/** Options of the simulated Flink operator. */
export interface SimOperatorOptions {
  deployments: FlinkDeployments;
  log: Logger;
  /** Time between two lifecycle steps (the real operator's reconcile interval plus Flink's start-up). */
  stepMs?: number;
  /** Real Flink: FlinkDeployments' jobs run there instead of being simulated. */
  flink?: LocalFlink;
}

/** A fault to inject into one FlinkDeployment at its next reconcile. */
export type SimOperatorFault =
  | { kind: 'job-failed'; exception: string }
  /** The JobManager disappears; recovery starts after `forMs` (default: one step), or at `recover()`. */
  | { kind: 'jobmanager-lost'; forMs?: number };

/** The checks of the real operator's validator that a simulated cluster can make, with its messages. */
export function validateSpec(spec: Record<string, unknown>): string | undefined {
  if (!spec.flinkVersion) return 'Flink Version must be defined.';
  if (!isObject(spec.jobManager)) return 'JobManager spec should not be null';
  if (!isObject(spec.taskManager)) return 'TaskManager spec should not be null';
  const job = spec.job;
  if (isObject(job)) {
    if (!job.jarURI) return 'Jar URI must be defined';
    if (job.parallelism !== undefined && (typeof job.parallelism !== 'number' || job.parallelism < 1)) return 'Job parallelism must be larger than 0';
    const config = isObject(spec.flinkConfiguration) ? spec.flinkConfiguration : {};
    if (job.upgradeMode === 'last-state' && !config['high-availability.type'] && !config['high-availability']) {
      return 'Job could not be upgraded with last-state while HA disabled';
    }
    if ((job.upgradeMode === 'savepoint' || job.upgradeMode === 'last-state') && !config['state.savepoints.dir'] && !config['execution.checkpointing.savepoint-dir']) {
      return 'Savepoint directory (state.savepoints.dir) must be defined for savepoint and last-state upgrade modes';
    }
  }
  return undefined;
}

/** Whether the real operator runs a FlinkDeployment as a session cluster: by its last reconciled spec once there is one (`Mode.getMode`). */
export function isSessionDeployment(deployment: FlinkDeployment): boolean {
  const last = deployment.status ? lastReconciledSpec(deployment.status) : undefined;
  return !isObject((isObject(last) ? last : deployment.spec).job);
}

/** The real validator's checks on a FlinkDeployment: its spec, and no switch between application and session mode. */
function validateDeployment(deployment: FlinkDeployment): string | undefined {
  const invalid = validateSpec(deployment.spec);
  if (invalid || !deployment.status) return invalid;
  const last = lastReconciledSpec(deployment.status);
  if (!isObject(last) || isObject(last.job) === isObject(deployment.spec.job)) return undefined;
  return isObject(last.job) ? 'Cannot switch from job to session cluster' : 'Cannot switch from session to job cluster';
}

/** What a ready cluster's REST API reports as `clusterInfo`, when the cluster is simulated. */
function simulatedClusterInfo(spec: Record<string, unknown>): Record<string, string> {
  return { 'flink-version': String(spec.flinkVersion ?? ''), 'flink-revision': 'simulated', 'total-cpu': '1.0', 'total-memory': '2147483648' };
}

const VALIDATION_EXCEPTION = 'org.apache.flink.kubernetes.operator.exception.ValidationException';

/** What one step of the lifecycle makes of a status (`clusterInfo`: what a ready cluster's REST API reports); undefined when there is nothing to do. */
export function nextStatus(
  deployment: FlinkDeployment,
  fault: SimOperatorFault | undefined,
  at: Date,
  clusterInfo = simulatedClusterInfo(deployment.spec),
): FlinkDeploymentStatus | undefined {
  if (isSessionDeployment(deployment)) return nextSessionStatus(deployment, at, clusterInfo);
  const spec = deployment.spec;
  const status = deployment.status ?? {};
  const generation = deployment.metadata.generation ?? 1;
  const job = isObject(spec.job) ? spec.job : undefined;
  const jobName = deployment.metadata.name;
  const suspended = job?.state === 'suspended';
  const millis = String(at.getTime());
  const reconciled = {
    state: 'DEPLOYED',
    lastReconciledSpec: reconciledSpecJson(deployment),
    reconciliationTimestamp: at.getTime(),
    ...(status.reconciliationStatus?.lastStableSpec ? { lastStableSpec: status.reconciliationStatus.lastStableSpec } : {}),
  };

  const invalid = validateDeployment(deployment);
  if (invalid) {
    const error = operatorError(VALIDATION_EXCEPTION, invalid);
    if (status.error === error) return undefined;
    return { ...status, lifecycleState: status.lifecycleState ?? 'CREATED', error };
  }
  if (fault?.kind === 'job-failed') {
    const error = operatorError('org.apache.flink.runtime.JobException', fault.exception);
    return { ...status, lifecycleState: 'FAILED', jobStatus: { ...status.jobStatus, jobName, state: 'FAILED', updateTime: millis }, error };
  }
  if (fault?.kind === 'jobmanager-lost') {
    return {
      ...status,
      lifecycleState: 'DEPLOYED',
      jobManagerDeploymentStatus: 'MISSING',
      jobStatus: { ...status.jobStatus, jobName, state: 'RECONCILING', updateTime: millis },
      error: operatorError('org.apache.flink.kubernetes.operator.exception.MissingJobManagerException', 'Missing JobManager deployment'),
    };
  }

  const savepoint = () =>
    job?.upgradeMode === 'savepoint' || job?.upgradeMode === 'last-state'
      ? { upgradeSavepointPath: `file:///tmp/flink-savepoints/savepoint-${(status.jobStatus?.jobId ?? '000000').slice(0, 6)}-${randomBytes(6).toString('hex')}` }
      : {};
  const deploying = (): FlinkDeploymentStatus => ({
    lifecycleState: 'DEPLOYED',
    jobManagerDeploymentStatus: 'DEPLOYING',
    jobStatus: { jobName, state: 'RECONCILING', ...(status.jobStatus?.upgradeSavepointPath ? { upgradeSavepointPath: status.jobStatus.upgradeSavepointPath } : {}) },
    reconciliationStatus: reconciled,
    observedGeneration: generation,
  });
  const suspendedStatus = (): FlinkDeploymentStatus => ({
    lifecycleState: 'SUSPENDED',
    jobManagerDeploymentStatus: 'MISSING',
    jobStatus: { ...status.jobStatus, jobName, state: 'SUSPENDED', updateTime: millis, ...(status.jobStatus?.jobId ? savepoint() : {}) },
    reconciliationStatus: reconciled,
    observedGeneration: generation,
  });

  if (!status.lifecycleState || (status.lifecycleState === 'CREATED' && !status.reconciliationStatus)) {
    if (!status.lifecycleState) {
      return { lifecycleState: 'CREATED', jobManagerDeploymentStatus: 'DEPLOYING', jobStatus: { jobName, state: 'RECONCILING' } };
    }
    return suspended ? suspendedStatus() : deploying();
  }
  const specChanged = canonicalJson(lastReconciledSpec(status)) !== canonicalJson(spec);
  if (specChanged) {
    if (status.lifecycleState === 'SUSPENDED' || status.lifecycleState === 'FAILED' || status.lifecycleState === 'UPGRADING') {
      return suspended ? suspendedStatus() : deploying();
    }
    return { ...status, lifecycleState: 'UPGRADING', reconciliationStatus: { ...status.reconciliationStatus, state: 'UPGRADING' }, error: undefined };
  }
  if (status.lifecycleState === 'UPGRADING') {
    // the spec went back to what runs while an upgrade was pending: redeploy it
    return suspended ? suspendedStatus() : deploying();
  }
  if (status.observedGeneration !== generation) {
    // a change that left the spec as it was (edited and put back): only the generation moved on
    return { ...status, observedGeneration: generation, reconciliationStatus: { ...status.reconciliationStatus, ...reconciled, state: status.reconciliationStatus?.state ?? 'DEPLOYED' } };
  }
  if (status.lifecycleState === 'DEPLOYED') {
    if (status.jobManagerDeploymentStatus === 'MISSING') {
      return { ...status, jobManagerDeploymentStatus: 'DEPLOYING', error: undefined };
    }
    if (status.jobManagerDeploymentStatus !== 'READY') {
      return {
        ...status,
        jobManagerDeploymentStatus: 'READY',
        jobStatus: { ...status.jobStatus, jobName, jobId: randomUUID().replace(/-/g, ''), state: 'CREATED', startTime: millis, updateTime: millis },
        clusterInfo,
        error: undefined,
      };
    }
    if (status.jobStatus?.state !== 'RUNNING') {
      return { ...status, jobStatus: { ...status.jobStatus, jobName, state: 'RUNNING', updateTime: millis } };
    }
    return {
      ...status,
      lifecycleState: 'STABLE',
      reconciliationStatus: { ...status.reconciliationStatus, lastStableSpec: status.reconciliationStatus?.lastReconciledSpec },
    };
  }
  return undefined;
}

/** A `status.conditions` entry, as Kubernetes defines one. */
interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}

/** A session cluster's status: the real operator also writes its `Running` condition. */
type SessionStatus = FlinkDeploymentStatus & { conditions?: Condition[] };

/** The reason and message of the `Running` condition for each JobManager deployment status (`JobManagerDeploymentStatus`). */
const JOB_MANAGER_CONDITIONS: Record<string, [reason: string, message: string]> = {
  READY: ['JobManagerReady', 'JobManager is running and ready to receive REST API calls'],
  DEPLOYED_NOT_READY: ['DeployedNotReady', 'JobManager is running but not yet ready to receive REST API calls'],
  DEPLOYING: ['JobManagerIsDeploying', 'JobManager process is starting up'],
  MISSING: ['JobManagerDeploymentMissing', 'JobManager deployment not found'],
  ERROR: ['Error', 'JobManager deployment failed'],
};

/** A session cluster's status with its `Running` condition brought up to date; the transition time moves only when the condition's status does. */
function withRunningCondition(status: SessionStatus, at: Date): SessionStatus {
  const jm = status.jobManagerDeploymentStatus ?? 'MISSING';
  const [reason, message] = JOB_MANAGER_CONDITIONS[jm] ?? [jm, jm];
  const running = jm === 'READY' ? 'True' : 'False';
  const before = status.conditions?.find((c) => c.type === 'Running');
  const lastTransitionTime = before?.status === running ? before.lastTransitionTime : at.toISOString();
  return { ...status, conditions: [{ type: 'Running', status: running, reason, message, lastTransitionTime }] };
}

/** A session cluster's lifecycle state, derived from the rest of its status as `CommonStatus.getLifecycleState()` does. */
function sessionLifecycleState(status: SessionStatus): string {
  const reconciliation = status.reconciliationStatus;
  if (!reconciliation?.lastReconciledSpec) return status.error ? 'FAILED' : 'CREATED';
  if (reconciliation.state === 'UPGRADING') return 'UPGRADING';
  return reconciliation.lastStableSpec === reconciliation.lastReconciledSpec ? 'STABLE' : 'DEPLOYED';
}

/** What the real SessionObserver sees of a deployed session cluster: its JobManager coming up, then its REST API answering. */
function observeSession(status: SessionStatus, clusterInfo: Record<string, string>): SessionStatus | undefined {
  const reconciliation = status.reconciliationStatus;
  // the real operator observes nothing before the first deployment, nor while an upgrade is under way
  if (!reconciliation?.lastReconciledSpec || reconciliation.state === 'UPGRADING') return undefined;
  if (status.jobManagerDeploymentStatus === 'DEPLOYING') return { ...status, jobManagerDeploymentStatus: 'DEPLOYED_NOT_READY' };
  if (status.jobManagerDeploymentStatus !== 'DEPLOYED_NOT_READY' && status.jobManagerDeploymentStatus !== 'READY') return undefined;
  const stable = reconciliation.state === 'DEPLOYED' ? { ...reconciliation, lastStableSpec: reconciliation.lastReconciledSpec } : reconciliation;
  return {
    ...status,
    jobManagerDeploymentStatus: 'READY',
    clusterInfo: { ...status.clusterInfo, ...clusterInfo },
    reconciliationStatus: stable,
    ...(stable.lastStableSpec === stable.lastReconciledSpec ? { error: undefined } : {}),
  };
}

/**
 * One step of a session cluster (no `spec.job`), as the real operator's SessionReconciler and
 * SessionObserver take it: CREATED, UPGRADING (the spec to deploy recorded), DEPLOYED with the
 * JobManager DEPLOYING, DEPLOYED_NOT_READY, then READY and STABLE with `clusterInfo`. A new spec
 * redeploys the cluster the same way. There is no job, so `jobStatus` holds no job fields.
 */
function nextSessionStatus(deployment: FlinkDeployment, at: Date, clusterInfo: Record<string, string>): FlinkDeploymentStatus | undefined {
  const spec = deployment.spec;
  const before = deployment.status ?? {};
  // what the real operator's first status write holds: FlinkDeploymentStatus' defaults
  const status: SessionStatus = before.lifecycleState
    ? before
    : { jobManagerDeploymentStatus: 'MISSING', jobStatus: {}, clusterInfo: {}, reconciliationStatus: { reconciliationTimestamp: 0, state: 'UPGRADING' }, conditions: [] };
  const generation = deployment.metadata.generation ?? 1;
  const write = (next: SessionStatus): FlinkDeploymentStatus | undefined => {
    const clean = writableStatus({ ...next, lifecycleState: sessionLifecycleState(next) });
    return canonicalJson(clean) === canonicalJson(before) ? undefined : clean;
  };

  const invalid = validateDeployment(deployment);
  if (invalid) {
    const error = operatorError(VALIDATION_EXCEPTION, invalid);
    if (status.error !== error) return write({ ...status, error });
    // the real operator goes on observing what it deployed last
    const observed = observeSession(status, clusterInfo);
    return observed && write({ ...observed, error });
  }
  if (!before.lifecycleState) return write(status);
  const reconciliation = status.reconciliationStatus ?? {};
  const reconciled = { ...reconciliation, lastReconciledSpec: reconciledSpecJson(deployment), reconciliationTimestamp: at.getTime() };
  if (canonicalJson(lastReconciledSpec(status)) !== canonicalJson(spec)) {
    // the real operator deletes the cluster and records the spec it is about to deploy
    return write({ ...status, reconciliationStatus: { ...reconciled, state: 'UPGRADING' }, observedGeneration: generation, error: undefined });
  }
  if (reconciliation.state === 'UPGRADING') {
    return write(withRunningCondition({ ...status, jobManagerDeploymentStatus: 'DEPLOYING', reconciliationStatus: { ...reconciled, state: 'DEPLOYED' }, error: undefined }, at));
  }
  if (status.observedGeneration !== generation) {
    // a change that left the spec as it was: only the generation moves on
    return write(withRunningCondition({ ...status, reconciliationStatus: { ...reconciliation, lastReconciledSpec: reconciled.lastReconciledSpec }, observedGeneration: generation }, at));
  }
  const observed = observeSession(status, clusterInfo);
  return observed && write(withRunningCondition(observed, at));
}

/** FlinkDeployments stepped at once (the real operator's default is 50 reconciler threads). */
const CONCURRENCY = 16;

/**
 * A simulated Flink Kubernetes Operator: it watches FlinkDeployments and moves each through the
 * real operator's lifecycle, one step per `stepMs`, writing only the status subresource and its
 * finalizer, as the real one does.
 */
export class SimOperator {
  private readonly queue: WorkQueue;
  private readonly faults = new Map<string, SimOperatorFault>();
  /** When each FlinkDeployment last took a step: its own status write must not hurry the next one. */
  private readonly lastStep = new Map<string, number>();
  /** Every FlinkDeployment, list-then-watch: a step reads from here, never from the API server. */
  private readonly cache: DeploymentCache;
  private readonly stepMs: number;
  /** Real jobs on local Flink, when there is one. */
  private readonly jobs: LocalJobs | undefined;

  constructor(private readonly options: SimOperatorOptions) {
    this.stepMs = options.stepMs ?? 500;
    this.jobs = options.flink ? new LocalJobs({ flink: options.flink, log: options.log }) : undefined;
    this.queue = new WorkQueue({
      name: 'simulated flink operator',
      reconcile: (key) => this.reconcile(key),
      log: options.log,
      concurrency: CONCURRENCY,
      baseDelayMs: 100,
      maxDelayMs: 5_000,
    });
    this.cache = new DeploymentCache({
      deployments: options.deployments,
      log: options.log,
      maxDelayMs: 5_000,
      onChange: (d) => this.queue.add(`${d.metadata.namespace}/${d.metadata.name}`),
    });
  }

  /** Starts watching FlinkDeployments. */
  start(): void {
    this.queue.start();
    this.cache.start();
  }

  /** Stops watching; steps in flight finish. */
  async stop(): Promise<void> {
    await this.cache.stop();
    await this.queue.stop();
  }

  /** Injects a fault into a FlinkDeployment at its next step: a failed job, or a lost JobManager. */
  inject(namespace: string, name: string, fault: SimOperatorFault): void {
    const key = `${namespace}/${name}`;
    this.faults.set(key, fault);
    this.queue.add(key);
  }

  /** The fault injected into a FlinkDeployment that its next step has yet to apply, if any. */
  pendingFault(namespace: string, name: string): SimOperatorFault | undefined {
    return this.faults.get(`${namespace}/${name}`);
  }

  /** Ends a lost JobManager's outage now: its recovery starts at the next step instead of after `forMs`. */
  recover(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    this.lastStep.delete(key);
    this.queue.add(key);
  }

  /** A step of a FlinkDeployment whose job runs on local Flink. */
  private async realStep(deployment: FlinkDeployment): Promise<ReconcileResult> {
    const step = await this.jobs!.step(deployment);
    if (step.status) {
      this.cache.observe(await this.options.deployments.replaceStatus({ ...deployment, status: step.status }));
      this.options.log.debug('simulated operator: real job step', {
        key: `${deployment.metadata.namespace}/${deployment.metadata.name}`,
        lifecycleState: step.status.lifecycleState,
        job: step.status.jobStatus?.state,
      });
    }
    return { requeueAfterMs: step.requeueAfterMs };
  }

  /** One step for one FlinkDeployment: finalizer, deletion, then the next lifecycle status. */
  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { deployments, log } = this.options;
    const [namespace, name] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
    await this.cache.synced();
    const deployment = this.cache.get(namespace, name);
    if (!deployment) {
      this.faults.delete(key);
      this.lastStep.delete(key);
      return;
    }
    const finalizers = deployment.metadata.finalizers ?? [];
    const session = isSessionDeployment(deployment);
    if (deployment.metadata.deletionTimestamp) {
      if (finalizers.includes(OPERATOR_FINALIZER)) {
        // a session deployment stands for the local cluster, which others share: drey cancels its own jobs first
        if (!session) await this.jobs?.cleanup(deployment);
        this.cache.observe(
          await deployments.patch(namespace, name, {
            metadata: { resourceVersion: deployment.metadata.resourceVersion, finalizers: finalizers.filter((f) => f !== OPERATOR_FINALIZER) },
          }),
        );
        log.debug('simulated operator: cleaned up', { key });
      }
      return;
    }
    if (!finalizers.includes(OPERATOR_FINALIZER)) {
      this.cache.observe(await deployments.patch(namespace, name, { metadata: { resourceVersion: deployment.metadata.resourceVersion, finalizers: [...finalizers, OPERATOR_FINALIZER] } }));
      return;
    }
    if (this.jobs && !session && !validateDeployment(deployment)) return this.realStep(deployment);
    const fault = this.faults.get(key);
    const wait = (this.lastStep.get(key) ?? 0) + this.stepMs - Date.now();
    if (wait > 0 && !fault) return { requeueAfterMs: wait };
    // with local Flink, a session deployment stands for the local session cluster: its JobManager says what it runs
    const next = nextStatus(deployment, fault, new Date(), session && this.jobs ? await this.jobs.clusterInfo() : undefined);
    if (!next) return;
    this.lastStep.set(key, Date.now() + (fault?.kind === 'jobmanager-lost' ? (fault.forMs ?? 0) : 0));
    this.cache.observe(await deployments.replaceStatus({ ...deployment, status: writableStatus(next) }));
    if (fault) this.faults.delete(key);
    log.debug('simulated operator: step', { key, lifecycleState: next.lifecycleState, jobManager: next.jobManagerDeploymentStatus, job: next.jobStatus?.state });
    return { requeueAfterMs: this.stepMs };
  }
}
