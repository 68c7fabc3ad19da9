/**
 * A typed client of Flink's JobManager REST API (checked against Flink 2.3.0): cluster and job
 * reads, savepoints, stop and cancel, and jar upload and run. The bodies are named after the
 * schemas of Flink's REST reference; where Flink 2.3 answers differently from that reference, the
 * types follow what Flink actually sends (noted on the field).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { FlinkError, FlinkRest, flinkMessage, type FlinkRestOptions } from './rest.js';

/** The states of a job (`JobStatus` in Flink). */
export type JobState =
  | 'INITIALIZING'
  | 'CREATED'
  | 'RUNNING'
  | 'FAILING'
  | 'FAILED'
  | 'CANCELLING'
  | 'CANCELED'
  | 'FINISHED'
  | 'RESTARTING'
  | 'SUSPENDED'
  | 'RECONCILING';

/** States a job never leaves. */
export const TERMINAL_JOB_STATES: readonly JobState[] = ['FAILED', 'CANCELED', 'FINISHED'];

/** GET /config: the web UI's configuration, which is where the Flink version is found. */
export interface DashboardConfiguration {
  'refresh-interval': number;
  'timezone-name': string;
  'timezone-offset': number;
  'flink-version': string;
  'flink-revision': string;
  features: Record<string, boolean>;
}

/** GET /overview. */
export interface ClusterOverviewWithVersion {
  taskmanagers: number;
  'slots-total': number;
  'slots-available': number;
  'jobs-running': number;
  'jobs-finished': number;
  'jobs-cancelled': number;
  'jobs-failed': number;
  'flink-version': string;
  'flink-commit': string;
}

/**
 * One job of GET /jobs/overview. The reference spells the fields `jobId`, `jobName`, `status`;
 * Flink 2.3 sends `jid`, `name`, `state`, as typed here.
 */
export interface JobDetails {
  jid: string;
  name: string;
  state: JobState;
  jobType?: string;
  'start-time': number;
  /** -1 while the job runs. */
  'end-time': number;
  duration: number;
  'last-modification': number;
  /** Task counts per execution state, lowercase (`running`, `finished`, ..., `total`). */
  tasks: Record<string, number>;
}

/** GET /jobs/overview. */
export interface MultipleJobsDetails {
  jobs: JobDetails[];
}

/** One vertex of GET /jobs/:id (the vertex summary, not the per-subtask detail of /vertices/:id). */
export interface JobVertexDetailsInfo {
  id: string;
  name: string;
  parallelism: number;
  maxParallelism: number;
  /** The vertex's aggregated execution state. */
  status: string;
  'start-time': number;
  'end-time': number;
  duration: number;
  /** Subtask counts per execution state, uppercase. */
  tasks: Record<string, number>;
  metrics: Record<string, number | boolean>;
}

/** GET /jobs/:id. */
export interface JobDetailsInfo {
  jid: string;
  name: string;
  /** Present from Flink 2.1 on; equal to the job id for a job run from a jar. */
  'application-id'?: string;
  isStoppable: boolean;
  state: JobState;
  'job-type'?: string;
  'start-time': number;
  'end-time': number;
  duration: number;
  maxParallelism: number;
  now: number;
  /** When the job entered each state (0 for states it never entered). */
  timestamps: Partial<Record<JobState, number>>;
  vertices: JobVertexDetailsInfo[];
  'status-counts': Record<string, number>;
  /** The reference says a string; Flink 2.3 sends the plan as an object. */
  plan: unknown;
}

/** GET /jobs/:id/status. */
export interface JobStatusInfo {
  status: JobState;
}

/** One failure of a job, as Flink reports it in its exception history. */
export interface ExceptionInfo {
  exceptionName: string;
  /** The whole Java stack trace, including its `Caused by:` chain. */
  stacktrace: string;
  timestamp: number;
  /** Absent for a global failure (one not raised by a task). */
  taskName?: string;
  endpoint?: string;
  taskManagerId?: string;
  failureLabels?: Record<string, string>;
}

/** An exception history entry: a failure and the failures that happened with it. */
export interface RootExceptionInfo extends ExceptionInfo {
  concurrentExceptions: ExceptionInfo[];
}

/** The exception history of a job, newest first. */
export interface JobExceptionHistory {
  entries: RootExceptionInfo[];
  truncated: boolean;
}

/**
 * GET /jobs/:id/exceptions. Flink 2.x dropped the deprecated `root-exception`, `timestamp`,
 * `all-exceptions` and `truncated` members: only `exceptionHistory` is sent.
 */
export interface JobExceptionsInfoWithHistory {
  exceptionHistory: JobExceptionHistory;
}

/** The `counts` of GET /jobs/:id/checkpoints. */
export interface Counts {
  restored: number;
  total: number;
  in_progress: number;
  completed: number;
  failed: number;
}

/** What every checkpoint statistic has. */
export interface CheckpointStatistics {
  /** `completed`, `failed` or `in_progress` (the reference calls it `clazz`). */
  className: string;
  id: number;
  status: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  is_savepoint: boolean;
  /** `CANONICAL` or `NATIVE` for a savepoint, null for a checkpoint. */
  savepointFormat?: string | null;
  trigger_timestamp: number;
  latest_ack_timestamp: number;
  checkpointed_size?: number;
  state_size: number;
  end_to_end_duration: number;
  num_subtasks: number;
  num_acknowledged_subtasks: number;
  checkpoint_type: string;
}

/** A completed checkpoint or savepoint and where it was written. */
export interface CompletedCheckpointStatistics extends CheckpointStatistics {
  external_path: string;
  discarded: boolean;
}

/** A failed checkpoint and why. */
export interface FailedCheckpointStatistics extends CheckpointStatistics {
  failure_timestamp: number;
  failure_message: string;
}

/** The checkpoint or savepoint a job started from. */
export interface RestoredCheckpointStatistics {
  id: number;
  restore_timestamp: number;
  is_savepoint: boolean;
  external_path: string;
}

/** The `latest` of GET /jobs/:id/checkpoints; each is null when there is none. */
export interface LatestCheckpoints {
  completed: CompletedCheckpointStatistics | null;
  savepoint: CompletedCheckpointStatistics | null;
  failed: FailedCheckpointStatistics | null;
  restored: RestoredCheckpointStatistics | null;
}

/** GET /jobs/:id/checkpoints. */
export interface CheckpointingStatistics {
  counts: Counts;
  summary: Record<string, unknown>;
  latest: LatestCheckpoints;
  history: CheckpointStatistics[];
}

/** How a savepoint is written: CANONICAL (portable across state backends) or NATIVE (the backend's own). */
export type SavepointFormatType = 'CANONICAL' | 'NATIVE';

/** POST /jobs/:id/savepoints (note the kebab-case, unlike the stop body). */
export interface SavepointTriggerRequestBody {
  'target-directory'?: string;
  'cancel-job'?: boolean;
  formatType?: SavepointFormatType;
}

/** POST /jobs/:id/stop. */
export interface StopWithSavepointRequestBody {
  targetDirectory?: string;
  drain?: boolean;
  formatType?: SavepointFormatType;
}

/** The answer to an asynchronous operation's trigger. */
export interface TriggerResponse {
  'request-id': string;
}

/** A Java exception as Flink serialises it in an asynchronous operation's result. */
export interface SerializedThrowable {
  class: string;
  'stack-trace': string;
  'serialized-throwable'?: string;
}

/** The outcome of a savepoint: a location, or the failure that prevented it. */
export interface SavepointInfo {
  location?: string;
  'failure-cause'?: SerializedThrowable;
}

/** GET /jobs/:id/savepoints/:triggerId. `operation` is null while IN_PROGRESS. */
export interface AsynchronousOperationResult<O> {
  status: { id: 'IN_PROGRESS' | 'COMPLETED' };
  operation?: O | null;
}

/** POST /jars/upload. */
export interface JarUploadResponseBody {
  /** The jar's path on the JobManager; its last segment is the jar id. */
  filename: string;
  status: 'success';
}

/** An entry point found in an uploaded jar's manifest. */
export interface JarEntryInfo {
  name: string;
  description: string | null;
}

/** One uploaded jar. */
export interface JarFileInfo {
  id: string;
  name: string;
  uploaded: number;
  entry: JarEntryInfo[];
}

/** GET /jars. */
export interface JarListInfo {
  address: string;
  files: JarFileInfo[];
}

/** POST /jars/:id/run. */
export interface JarRunRequestBody {
  entryClass?: string;
  programArgsList?: string[];
  parallelism?: number;
  savepointPath?: string;
  allowNonRestoredState?: boolean;
  /** Configuration applied to this job only (e.g. `state.backend.type`), from Flink 1.19 on. */
  flinkConfiguration?: Record<string, string>;
}

/** The answer to POST /jars/:id/run. */
export interface JarRunResponseBody {
  jobid: string;
  /** Sent from Flink 2.1 on. */
  applicationId?: string;
}

/** Where a savepoint stands, with the failure reduced to one line when it failed. */
export type SavepointStatus =
  | { status: 'IN_PROGRESS' }
  | { status: 'COMPLETED'; location: string }
  | { status: 'FAILED'; message: string; failureCause: SerializedThrowable };

/** Options of a savepoint taken while the job keeps running (or is cancelled right after). */
export interface TriggerSavepointOptions {
  targetDirectory?: string;
  cancelJob?: boolean;
  formatType?: SavepointFormatType;
}

/** Options of stop-with-savepoint. */
export interface StopWithSavepointOptions {
  targetDirectory?: string;
  /** Emit MAX_WATERMARK and flush windows before stopping (for a job that will not be resumed). */
  drain?: boolean;
  formatType?: SavepointFormatType;
}

/** Options of a jar run. */
export interface RunJarOptions {
  entryClass?: string;
  /** The program's arguments, one entry per argument (sent as `programArgsList`, so no quoting). */
  programArgs?: string[];
  parallelism?: number;
  savepointPath?: string;
  allowNonRestoredState?: boolean;
  flinkConfiguration?: Record<string, string>;
}

/** Options of {@link JobManagerClient.awaitSavepoint}. */
export interface AwaitSavepointOptions {
  timeoutMs: number;
  /** Delay between two status reads. */
  intervalMs?: number;
}

/** Settings of a JobManager REST endpoint (the transport's settings). */
export type JobManagerClientOptions = FlinkRestOptions;

/**
 * One line for a Java stack trace from Flink (an exception history entry, a savepoint failure): its
 * first line and, when it says something else, its deepest `Caused by`.
 */
export function describeStackTrace(stackTrace: string): string {
  return flinkMessage([stackTrace]);
}

const LONG_CALL_MS = 60_000;

function segment(id: string): string {
  return encodeURIComponent(id);
}


/** A client of one Flink JobManager's REST API. */
export class JobManagerClient {
  private readonly rest: FlinkRest;

  constructor(options: JobManagerClientOptions) {
    this.rest = new FlinkRest(options);
  }

  /** The endpoint this client talks to. */
  get baseUrl(): string {
    return this.rest.baseUrl;
  }

  /** The web UI configuration, which carries `flink-version`. */
  config(): Promise<DashboardConfiguration> {
    return this.rest.call('flink config', { method: 'GET', path: '/config', safe: true });
  }

  /** Task managers, slots and job counts of the cluster. */
  overview(): Promise<ClusterOverviewWithVersion> {
    return this.rest.call('flink overview', { method: 'GET', path: '/overview', safe: true });
  }

  /** Every job the cluster knows, running or finished. */
  jobsOverview(): Promise<MultipleJobsDetails> {
    return this.rest.call('flink jobs overview', { method: 'GET', path: '/jobs/overview', safe: true });
  }

  /** A job's details: its state, timestamps and vertices. */
  job(jobId: string): Promise<JobDetailsInfo> {
    return this.rest.call(`flink job ${jobId}`, { method: 'GET', path: `/jobs/${segment(jobId)}`, safe: true });
  }

  /**
   * A job's state. Flink answers an unknown job here with a 500 (FlinkJobNotFoundException) where
   * every other job resource says 404; the client turns it into the 404 it means.
   */
  async jobStatus(jobId: string): Promise<JobState> {
    const what = `flink job ${jobId} status`;
    try {
      const body = await this.rest.call<JobStatusInfo>(what, { method: 'GET', path: `/jobs/${segment(jobId)}/status`, safe: true });
      return body.status;
    } catch (err) {
      const e = err as FlinkError;
      if (e.status === 500 && e.errors.some((m) => m.includes('FlinkJobNotFoundException'))) {
        throw new FlinkError(404, e.message, e.errors);
      }
      throw e;
    }
  }

  /** A job's exception history (newest first); an entry's `stacktrace` has Flink's whole cause chain. */
  exceptions(jobId: string): Promise<JobExceptionsInfoWithHistory> {
    return this.rest.call(`flink job ${jobId} exceptions`, { method: 'GET', path: `/jobs/${segment(jobId)}/exceptions`, safe: true });
  }

  /** Checkpoint counts and the latest completed, failed and restored checkpoints or savepoints. */
  checkpoints(jobId: string): Promise<CheckpointingStatistics> {
    return this.rest.call(`flink job ${jobId} checkpoints`, { method: 'GET', path: `/jobs/${segment(jobId)}/checkpoints`, safe: true });
  }

  /** Starts a savepoint (the job keeps running unless `cancelJob`); returns the trigger id to poll. */
  async triggerSavepoint(jobId: string, options: TriggerSavepointOptions = {}): Promise<string> {
    const body: SavepointTriggerRequestBody = {
      'target-directory': options.targetDirectory,
      'cancel-job': options.cancelJob ?? false,
      formatType: options.formatType,
    };
    const answer = await this.rest.call<TriggerResponse>(`flink savepoint of job ${jobId}`, {
      method: 'POST',
      path: `/jobs/${segment(jobId)}/savepoints`,
      body,
    });
    return answer['request-id'];
  }

  /** Starts stop-with-savepoint; returns the trigger id, polled like a savepoint's. */
  async stopWithSavepoint(jobId: string, options: StopWithSavepointOptions = {}): Promise<string> {
    const body: StopWithSavepointRequestBody = {
      targetDirectory: options.targetDirectory,
      drain: options.drain ?? false,
      formatType: options.formatType,
    };
    const answer = await this.rest.call<TriggerResponse>(`flink stop of job ${jobId}`, {
      method: 'POST',
      path: `/jobs/${segment(jobId)}/stop`,
      body,
    });
    return answer['request-id'];
  }

  /** Where a savepoint (or stop-with-savepoint) stands. */
  async savepointStatus(jobId: string, triggerId: string): Promise<SavepointStatus> {
    const result = await this.rest.call<AsynchronousOperationResult<SavepointInfo>>(`flink savepoint ${triggerId} of job ${jobId}`, {
      method: 'GET',
      path: `/jobs/${segment(jobId)}/savepoints/${segment(triggerId)}`,
      safe: true,
    });
    if (result.status.id === 'IN_PROGRESS') return { status: 'IN_PROGRESS' };
    const cause = result.operation?.['failure-cause'];
    if (cause) return { status: 'FAILED', message: describeStackTrace(cause['stack-trace'] ?? cause.class), failureCause: cause };
    const location = result.operation?.location;
    if (!location) throw new FlinkError(200, `flink savepoint ${triggerId} of job ${jobId}: completed without a location or a failure`);
    return { status: 'COMPLETED', location };
  }

  /**
   * Polls a savepoint until it completes and returns its location. A failed savepoint throws a
   * FlinkError with Flink's reason (status 200: Flink answered, the operation failed); running out of
   * time throws one with status 0.
   */
  async awaitSavepoint(jobId: string, triggerId: string, options: AwaitSavepointOptions): Promise<string> {
    const deadline = Date.now() + options.timeoutMs;
    const intervalMs = options.intervalMs ?? 500;
    for (;;) {
      const state = await this.savepointStatus(jobId, triggerId);
      if (state.status === 'COMPLETED') return state.location;
      if (state.status === 'FAILED') {
        throw new FlinkError(200, `flink savepoint of job ${jobId} failed: ${state.message}`, [state.failureCause['stack-trace']]);
      }
      if (Date.now() + intervalMs > deadline) {
        throw new FlinkError(0, `flink savepoint of job ${jobId}: not completed within ${options.timeoutMs} ms (trigger ${triggerId})`);
      }
      await sleep(intervalMs);
    }
  }

  /** Cancels a job (no savepoint). Flink accepts it at once; the job passes CANCELLING to CANCELED. */
  async cancel(jobId: string): Promise<void> {
    await this.rest.call(`flink cancel of job ${jobId}`, { method: 'PATCH', path: `/jobs/${segment(jobId)}`, query: { mode: 'cancel' } });
  }

  /** Uploads a job jar; returns its jar id (the last segment of the stored file name). */
  async uploadJar(fileName: string, bytes: Uint8Array): Promise<string> {
    const form = new FormData();
    form.append('jarfile', new Blob([new Uint8Array(bytes)], { type: 'application/x-java-archive' }), fileName);
    const answer = await this.rest.call<JarUploadResponseBody>(`flink upload of ${fileName}`, {
      method: 'POST',
      path: '/jars/upload',
      form,
      timeoutMs: LONG_CALL_MS,
    });
    const id = answer.filename.split('/').at(-1);
    if (!id) throw new FlinkError(200, `flink upload of ${fileName}: Flink answered without a file name`);
    return id;
  }

  /** The jars uploaded to this JobManager. */
  listJars(): Promise<JarListInfo> {
    return this.rest.call('flink jars', { method: 'GET', path: '/jars', safe: true });
  }

  /** Runs an uploaded jar's main method, which submits the job; returns the job id. */
  async runJar(jarId: string, options: RunJarOptions = {}): Promise<string> {
    const body: JarRunRequestBody = {
      entryClass: options.entryClass,
      programArgsList: options.programArgs,
      parallelism: options.parallelism,
      savepointPath: options.savepointPath,
      allowNonRestoredState: options.allowNonRestoredState,
      flinkConfiguration: options.flinkConfiguration,
    };
    const answer = await this.rest.call<JarRunResponseBody>(`flink run of jar ${jarId}`, {
      method: 'POST',
      path: `/jars/${segment(jarId)}/run`,
      body,
      timeoutMs: LONG_CALL_MS,
    });
    return answer.jobid;
  }

  /** Deletes an uploaded jar (Flink answers 400 for a jar it does not have). */
  async deleteJar(jarId: string): Promise<void> {
    await this.rest.call(`flink delete of jar ${jarId}`, { method: 'DELETE', path: `/jars/${segment(jarId)}` });
  }
}
