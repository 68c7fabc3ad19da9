import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import type { LocalFlink } from '../flink/local/cluster.js';
import { LocalJobs } from './localJobs.js';
import { lastReconciledSpec, operatorError, reconciledSpecJson, writableStatus } from './operatorStatus.js';
import { WorkQueue, type ReconcileResult } from '../controllers/queue.js';
import { canonicalJson, isObject } from '../domain/objects.js';
import { restartingWatch } from '../kube/watch.js';
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

/** What one step of the lifecycle makes of a status; undefined when there is nothing to do. */
export function nextStatus(deployment: FlinkDeployment, fault: SimOperatorFault | undefined, at: Date): FlinkDeploymentStatus | undefined {
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

  const invalid = validateSpec(spec);
  if (invalid) {
    const error = operatorError('org.apache.flink.kubernetes.operator.exception.ValidationException', invalid);
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
        clusterInfo: { 'flink-version': String(spec.flinkVersion ?? ''), 'flink-revision': 'simulated', 'total-cpu': '1.0', 'total-memory': '2147483648' },
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
  private stopWatching: (() => Promise<void>) | undefined;
  private readonly stepMs: number;
  /** Real jobs on local Flink, when there is one. */
  private readonly jobs: LocalJobs | undefined;

  constructor(private readonly options: SimOperatorOptions) {
    this.stepMs = options.stepMs ?? 500;
    this.jobs = options.flink ? new LocalJobs({ flink: options.flink, log: options.log }) : undefined;
    this.queue = new WorkQueue({ name: 'simulated flink operator', reconcile: (key) => this.reconcile(key), log: options.log, baseDelayMs: 100, maxDelayMs: 5_000 });
  }

  /** Starts watching FlinkDeployments. */
  start(): void {
    this.queue.start();
    this.stopWatching = restartingWatch({
      deployments: this.options.deployments,
      onChange: (obj) => {
        if (obj.metadata?.namespace && obj.metadata.name) this.queue.add(`${obj.metadata.namespace}/${obj.metadata.name}`);
      },
      log: this.options.log,
      maxDelayMs: 5_000,
    });
  }

  /** Stops watching; steps in flight finish. */
  async stop(): Promise<void> {
    await this.stopWatching?.();
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
      await this.options.deployments.replaceStatus({ ...deployment, status: step.status });
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
    const deployment = await deployments.get(namespace, name);
    if (!deployment) {
      this.faults.delete(key);
      this.lastStep.delete(key);
      return;
    }
    const finalizers = deployment.metadata.finalizers ?? [];
    if (deployment.metadata.deletionTimestamp) {
      if (finalizers.includes(OPERATOR_FINALIZER)) {
        await this.jobs?.cleanup(deployment);
        await deployments.patch(namespace, name, {
          metadata: { resourceVersion: deployment.metadata.resourceVersion, finalizers: finalizers.filter((f) => f !== OPERATOR_FINALIZER) },
        });
        log.debug('simulated operator: cleaned up', { key });
      }
      return;
    }
    if (!finalizers.includes(OPERATOR_FINALIZER)) {
      await deployments.patch(namespace, name, { metadata: { resourceVersion: deployment.metadata.resourceVersion, finalizers: [...finalizers, OPERATOR_FINALIZER] } });
      return;
    }
    if (this.jobs && !validateSpec(deployment.spec)) return this.realStep(deployment);
    const fault = this.faults.get(key);
    const wait = (this.lastStep.get(key) ?? 0) + this.stepMs - Date.now();
    if (wait > 0 && !fault) return { requeueAfterMs: wait };
    const next = nextStatus(deployment, fault, new Date());
    if (!next) return;
    this.lastStep.set(key, Date.now() + (fault?.kind === 'jobmanager-lost' ? (fault.forMs ?? 0) : 0));
    await deployments.replaceStatus({ ...deployment, status: writableStatus(next) });
    if (fault) this.faults.delete(key);
    log.debug('simulated operator: step', { key, lifecycleState: next.lifecycleState, jobManager: next.jobManagerDeploymentStatus, job: next.jobStatus?.state });
    return { requeueAfterMs: this.stepMs };
  }
}
