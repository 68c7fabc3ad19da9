import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson, isObject } from '../domain/objects.js';
import { FlinkError } from '../flink/rest.js';
import { JobManagerClient, TERMINAL_JOB_STATES, describeStackTrace, type JobState } from '../flink/jobManager.js';
import type { LocalFlink } from '../flink/local/cluster.js';
import { STREAMING_EXAMPLES } from '../flink/local/distribution.js';
import type { FlinkDeployment, FlinkDeploymentStatus } from '../kube/flinkDeployments.js';
import type { Logger } from '../log.js';
import { lastReconciledSpec, operatorError, reconciledSpecJson, writableStatus } from './operatorStatus.js';

/**
 * The simulated operator's hands on real Flink: a FlinkDeployment's job runs on drey's local
 * session cluster, submitted by jar upload and run; suspending stops it with a savepoint (or cancels
 * it, for `upgradeMode: stateless`); starting again resumes from that savepoint; and the job's state,
 * id and exceptions in the status come from the JobManager's REST API.
 */

/** What a jarURI runs on local Flink. */
export type ResolvedJar = { file: string; entryClass?: string } | { unresolvable: string };

const EXAMPLES_PREFIX = 'local:///opt/flink/examples/streaming/';

/**
 * Maps a jarURI to a file on this machine: Flink's streaming examples as a distribution's image has
 * them (`local:///opt/flink/examples/streaming/<Name>.jar`), or a `file://` path that exists here.
 */
export function resolveJar(jarURI: string, flink: LocalFlink): ResolvedJar {
  if (jarURI.startsWith(EXAMPLES_PREFIX)) {
    const entryClass = STREAMING_EXAMPLES[jarURI.slice(EXAMPLES_PREFIX.length)];
    if (entryClass) return { file: flink.distribution.streamingExamplesJar, entryClass };
  }
  if (jarURI.startsWith('file://')) {
    const file = new URL(jarURI).pathname;
    if (existsSync(file)) return { file };
    return { unresolvable: `jarURI '${jarURI}' names a file that does not exist on this machine` };
  }
  const examples = Object.keys(STREAMING_EXAMPLES).join(', ');
  return {
    unresolvable:
      `jarURI '${jarURI}' cannot be run by drey's local Flink: it runs Flink's streaming examples ` +
      `(${EXAMPLES_PREFIX}<name> with <name> one of ${examples}) and jars at file:// paths on this machine`,
  };
}

function specHash(deployment: FlinkDeployment): string {
  return createHash('sha256').update(canonicalJson(deployment.spec)).digest('hex');
}

/** Flink's configuration of a FlinkDeployment, as the string map a jar run takes. */
function flinkConfiguration(spec: Record<string, unknown>): Record<string, string> {
  const config = isObject(spec.flinkConfiguration) ? spec.flinkConfiguration : {};
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

/** What this process did last to a FlinkDeployment's job, kept in case writing the status failed. */
interface Action {
  specHash: string;
  jobId?: string;
  upgradeSavepointPath?: string;
}

/** The outcome of one step: a status to write (if it changed) and when to look again. */
export interface JobStep {
  status?: FlinkDeploymentStatus;
  requeueAfterMs: number;
}

/** Options of {@link LocalJobs}. */
export interface LocalJobsOptions {
  flink: LocalFlink;
  log: Logger;
  /** How often a running job's state is read from the JobManager. */
  observeMs?: number;
}

/** Runs FlinkDeployments' jobs on local Flink. */
export class LocalJobs {
  private readonly jm: JobManagerClient;
  /** Uploaded jars: local file → jar id on the JobManager. */
  private readonly jars = new Map<string, string>();
  private readonly actions = new Map<string, Action>();
  private readonly observeMs: number;

  constructor(private readonly options: LocalJobsOptions) {
    this.jm = new JobManagerClient({ baseUrl: options.flink.restUrl, timeoutMs: 30_000 });
    this.observeMs = options.observeMs ?? 2_000;
  }

  /** One step for a FlinkDeployment whose spec passed validation. */
  async step(deployment: FlinkDeployment): Promise<JobStep> {
    const key = `${deployment.metadata.namespace}/${deployment.metadata.name}`;
    const spec = deployment.spec;
    const job = isObject(spec.job) ? spec.job : {};
    const generation = deployment.metadata.generation ?? 1;
    const hash = specHash(deployment);
    const before = deployment.status ?? {};
    const action = this.actions.get(key);
    // what this process knows happened, even if the status write that recorded it failed
    const status: FlinkDeploymentStatus =
      action?.specHash === hash
        ? {
            ...before,
            jobStatus: {
              ...before.jobStatus,
              ...(action.jobId ? { jobId: action.jobId } : {}),
              ...(action.upgradeSavepointPath ? { upgradeSavepointPath: action.upgradeSavepointPath } : {}),
            },
          }
        : before;
    const reconciled = {
      state: 'DEPLOYED',
      lastReconciledSpec: reconciledSpecJson(deployment),
      reconciliationTimestamp: Date.now(),
      ...(before.reconciliationStatus?.lastStableSpec ? { lastStableSpec: before.reconciliationStatus.lastStableSpec } : {}),
    };
    const specChanged = canonicalJson(lastReconciledSpec(before)) !== canonicalJson(spec);
    const wantRunning = job.state !== 'suspended';
    const stateful = job.upgradeMode === 'savepoint' || job.upgradeMode === 'last-state';
    const changed = (next: FlinkDeploymentStatus): JobStep => {
      const clean = writableStatus(next);
      return canonicalJson(clean) === canonicalJson(before) ? { requeueAfterMs: this.observeMs } : { status: clean, requeueAfterMs: this.observeMs };
    };

    const jar = resolveJar(String(job.jarURI ?? ''), this.options.flink);
    if ('unresolvable' in jar) {
      return changed({
        ...status,
        lifecycleState: 'FAILED',
        jobManagerDeploymentStatus: 'ERROR',
        jobStatus: { ...status.jobStatus, jobName: deployment.metadata.name, state: 'FAILED' },
        reconciliationStatus: reconciled,
        observedGeneration: generation,
        error: operatorError('org.apache.flink.kubernetes.operator.exception.ReconciliationException', jar.unresolvable),
      });
    }

    // observe
    const jobId = status.jobStatus?.jobId;
    let state: JobState | 'MISSING' | undefined;
    let jobName = status.jobStatus?.jobName ?? deployment.metadata.name;
    if (jobId) {
      try {
        const details = await this.jm.job(jobId);
        state = details.state;
        jobName = details.name;
      } catch (err) {
        if ((err as FlinkError).status !== 404) throw err;
        state = 'MISSING';
      }
    }
    const live = state !== undefined && state !== 'MISSING' && !TERMINAL_JOB_STATES.includes(state);

    // stop a job that should not run (suspended, or about to be replaced by a new spec)
    if (live && jobId && (!wantRunning || specChanged)) {
      let upgradeSavepointPath = status.jobStatus?.upgradeSavepointPath;
      try {
        upgradeSavepointPath = await this.stop(jobId, spec, stateful);
      } catch (err) {
        return changed({ ...status, error: operatorError('org.apache.flink.util.FlinkException', (err as Error).message) });
      }
      this.actions.set(key, { specHash: hash, jobId, upgradeSavepointPath });
      const stoppedState = await this.settle(jobId);
      const stopped: FlinkDeploymentStatus = {
        ...status,
        jobStatus: { ...status.jobStatus, jobName, jobId, state: stoppedState, updateTime: String(Date.now()), upgradeSavepointPath },
      };
      if (!wantRunning) {
        this.options.log.info('local Flink: job suspended', { key, jobId, savepoint: upgradeSavepointPath ?? 'none (stateless)' });
        return changed({
          ...stopped,
          lifecycleState: 'SUSPENDED',
          jobManagerDeploymentStatus: 'MISSING',
          reconciliationStatus: reconciled,
          observedGeneration: generation,
          error: undefined,
        });
      }
      return this.submit(key, deployment, jar, stopped, reconciled, hash, stateful);
    }

    if (!wantRunning) {
      if (before.lifecycleState === 'SUSPENDED' && !specChanged && before.observedGeneration === generation) return { requeueAfterMs: this.observeMs };
      return changed({ ...status, lifecycleState: 'SUSPENDED', jobManagerDeploymentStatus: 'MISSING', reconciliationStatus: reconciled, observedGeneration: generation });
    }

    // (re)submit: first deployment, a new spec, a resumed application, or a job local Flink lost
    if (specChanged || state === 'MISSING' || (!jobId && before.lifecycleState !== 'FAILED')) {
      return this.submit(key, deployment, jar, status, reconciled, hash, stateful);
    }

    if (!jobId || !state) return { requeueAfterMs: this.observeMs }; // a submission that failed: wait for a new spec

    // a job of the current spec: report what the JobManager says
    const observedState = state;
    const next: FlinkDeploymentStatus = {
      ...status,
      observedGeneration: generation,
      jobStatus: { ...status.jobStatus, jobName, jobId, state: observedState, ...(observedState !== status.jobStatus?.state ? { updateTime: String(Date.now()) } : {}) },
    };
    if (observedState === 'FAILED') {
      return changed({ ...next, lifecycleState: 'FAILED', error: await this.failure(jobId) });
    }
    if (observedState === 'RUNNING' || observedState === 'FINISHED') {
      return changed({
        ...next,
        lifecycleState: 'STABLE',
        jobManagerDeploymentStatus: 'READY',
        reconciliationStatus: { ...status.reconciliationStatus, state: 'DEPLOYED', lastStableSpec: status.reconciliationStatus?.lastReconciledSpec },
        error: undefined,
      });
    }
    return changed(next);
  }

  /** The local cluster's `clusterInfo` as the real operator reads it from a JobManager's REST API; fails while the JobManager does not answer. */
  async clusterInfo(): Promise<Record<string, string>> {
    const overview = await this.jm.overview();
    return { 'flink-version': overview['flink-version'], 'flink-revision': overview['flink-commit'] };
  }

  /** Cancels a FlinkDeployment's job as it is deleted (the real operator deletes its cluster). */
  async cleanup(deployment: FlinkDeployment): Promise<void> {
    const key = `${deployment.metadata.namespace}/${deployment.metadata.name}`;
    const jobId = this.actions.get(key)?.jobId ?? deployment.status?.jobStatus?.jobId;
    this.actions.delete(key);
    if (!jobId) return;
    try {
      const state = await this.jm.jobStatus(jobId);
      if (!TERMINAL_JOB_STATES.includes(state)) await this.jm.cancel(jobId);
    } catch (err) {
      if ((err as FlinkError).status !== 404) throw err;
    }
  }

  /** Stops a job: with a savepoint (its location returned) when the upgrade mode keeps state, else a cancel. */
  private async stop(jobId: string, spec: Record<string, unknown>, stateful: boolean): Promise<string | undefined> {
    if (!stateful) {
      await this.jm.cancel(jobId);
      return undefined;
    }
    const config = flinkConfiguration(spec);
    const formatType = (config['kubernetes.operator.savepoint.format.type'] ?? 'CANONICAL').toUpperCase() === 'NATIVE' ? 'NATIVE' : 'CANONICAL';
    const targetDirectory = config['execution.checkpointing.savepoint-dir'] ?? config['state.savepoints.dir'];
    const trigger = await this.jm.stopWithSavepoint(jobId, { formatType, ...(targetDirectory ? { targetDirectory } : {}) });
    return this.jm.awaitSavepoint(jobId, trigger, { timeoutMs: 120_000 });
  }

  /** Waits (briefly) until a stopped job reaches a terminal state, and returns it. */
  private async settle(jobId: string): Promise<JobState> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const state = await this.jm.jobStatus(jobId);
      if (TERMINAL_JOB_STATES.includes(state) || Date.now() > deadline) return state;
      await sleep(200);
    }
  }

  /** The newest entry of a job's exception history, as `status.error`. */
  private async failure(jobId: string): Promise<string> {
    const history = await this.jm.exceptions(jobId);
    const newest = history.exceptionHistory.entries[0];
    if (!newest) return operatorError('org.apache.flink.runtime.JobException', `job ${jobId} failed`);
    return operatorError(newest.exceptionName, describeStackTrace(newest.stacktrace));
  }

  private async upload(file: string): Promise<string> {
    const known = this.jars.get(file);
    if (known) return known;
    const jarId = await this.jm.uploadJar(path.basename(file), await readFile(file));
    this.jars.set(file, jarId);
    return jarId;
  }

  private async submit(
    key: string,
    deployment: FlinkDeployment,
    jar: { file: string; entryClass?: string },
    status: FlinkDeploymentStatus,
    reconciled: NonNullable<FlinkDeploymentStatus['reconciliationStatus']>,
    hash: string,
    stateful: boolean,
  ): Promise<JobStep> {
    const spec = deployment.spec;
    const job = isObject(spec.job) ? spec.job : {};
    const generation = deployment.metadata.generation ?? 1;
    const resumeFrom = (stateful ? status.jobStatus?.upgradeSavepointPath : undefined) ?? (status.jobStatus?.jobId ? undefined : (job.initialSavepointPath as string | undefined));
    const run = {
      entryClass: (job.entryClass as string | undefined) ?? jar.entryClass,
      programArgs: Array.isArray(job.args) ? job.args.map(String) : undefined,
      parallelism: typeof job.parallelism === 'number' ? job.parallelism : undefined,
      savepointPath: resumeFrom,
      allowNonRestoredState: job.allowNonRestoredState === true ? true : undefined,
      flinkConfiguration: flinkConfiguration(spec),
    };
    let jobId: string;
    try {
      try {
        jobId = await this.jm.runJar(await this.upload(jar.file), run);
      } catch (err) {
        if ((err as FlinkError).status !== 404 && !/jar file .* does not exist/i.test((err as Error).message)) throw err;
        this.jars.delete(jar.file); // local Flink lost its uploaded jars: upload again
        jobId = await this.jm.runJar(await this.upload(jar.file), run);
      }
    } catch (err) {
      this.options.log.warn('local Flink: job submission failed', { key, error: (err as Error).message });
      return {
        status: writableStatus({
          ...status,
          lifecycleState: 'FAILED',
          jobManagerDeploymentStatus: 'READY',
          jobStatus: { ...status.jobStatus, jobName: deployment.metadata.name, jobId: undefined, state: 'FAILED', updateTime: String(Date.now()) },
          reconciliationStatus: reconciled,
          observedGeneration: generation,
          error: operatorError('org.apache.flink.client.program.ProgramInvocationException', (err as Error).message),
        }),
        requeueAfterMs: this.observeMs,
      };
    }
    this.actions.set(key, { specHash: hash, jobId, upgradeSavepointPath: status.jobStatus?.upgradeSavepointPath });
    this.options.log.info('local Flink: job submitted', { key, jobId, entryClass: run.entryClass, fromSavepoint: resumeFrom ?? 'none' });
    const clusterInfo = await this.clusterInfo().catch(() => ({ 'flink-version': this.options.flink.distribution.version, 'flink-revision': '' }));
    const next: FlinkDeploymentStatus = {
      ...status,
      lifecycleState: 'DEPLOYED',
      jobManagerDeploymentStatus: 'READY',
      jobStatus: {
        ...status.jobStatus,
        jobName: deployment.metadata.name,
        jobId,
        state: 'CREATED',
        startTime: String(Date.now()),
        updateTime: String(Date.now()),
      },
      clusterInfo,
      reconciliationStatus: reconciled,
      observedGeneration: generation,
      error: undefined,
    };
    return { status: writableStatus(next), requeueAfterMs: 500 };
  }
}
