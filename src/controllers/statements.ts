import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import { canonicalJson, isObject } from '../domain/objects.js';
import { sqlShape, type SqlShape } from '../domain/sql.js';
import { now } from '../domain/time.js';
import { JobManagerClient, TERMINAL_JOB_STATES, describeStackTrace, type JobState } from '../flink/jobManager.js';
import { FlinkError } from '../flink/rest.js';
import type { DeploymentCache } from '../kube/cache.js';
import type { FlinkDeployment, FlinkDeployments } from '../kube/flinkDeployments.js';
import type { StatementSpec } from '../schemas/statement.js';
import type { StatementEngine } from '../statements/engine.js';
import { executionOf, type Execution, type Stopping } from '../statements/execution.js';
import { DETAIL, isPrepared, prepareStatement, sessionCatalogs, type StatementStatus } from '../statements/prepare.js';
import { resultSchema } from '../statements/rows.js';
import { currentCatalog, isGone, refusal, sessionProperties, sessionTimeZone, SqlRefused, SqlSession, targetProperties } from '../statements/sessions.js';
import type { ComputePool } from '../store/computePools.js';
import type { Store } from '../store/index.js';
import type { NewStatementException, StatementWithEnvironment } from '../store/statements.js';
import { splitKey } from './keys.js';
import type { ReconcileResult } from './queue.js';
import type { Metrics } from '../metrics.js';
import {
  applySessionCluster,
  clusterName,
  clusterState,
  deleteSessionClusters,
  desiredSessionCluster,
  ownedBy,
  sessionClusterKeys,
  upToDate,
  type ClusterOwner,
} from './sessionCluster.js';

/** Where a session cluster's JobManager answers, for drey (REST) and for the gateway (address and port). */
export type ClusterEndpoint = { restUrl: string; address: string; port: number } | { unavailable: string };

/** Finds the JobManager of a session cluster. */
export type ClusterLocator = (cluster: { namespace: string; name: string }) => ClusterEndpoint;

/** Options of the statement controller. */
export interface StatementControllerOptions {
  store: Store;
  /** Writes go to the cluster through this. */
  deployments: FlinkDeployments;
  /** Reads come from this. */
  cache: DeploymentCache;
  engine: StatementEngine;
  locate: ClusterLocator;
  log: Logger;
  /** How often a running job is looked at. */
  observeMs?: number;
  /** Where JobManager calls are counted. */
  metrics?: Metrics;
  /** How long a statement the API is preparing is left to it before the controller prepares it. */
  prepareGraceMs?: number;
}

/** How often a query's gateway session is kept alive (the gateway drops sessions idle for 10 minutes). */
const HEARTBEAT_MS = 60_000;
/** How long a finished query's results are kept for its reader: the gateway's own idle timeout. */
const RESULTS_RETENTION_MS = 10 * 60_000;
/** How long a submission whose session is gone may still turn up as a job before it is submitted again. */
const ADOPT_GRACE_MS = 30_000;
/** How long a stop waits for a job's tasks to run (a savepoint needs them) before it cancels instead. */
const STOP_WAIT_MS = 60_000;
/** How soon a rescale whose savepoint failed is tried again. */
const RESCALE_RETRY_MS = 30_000;
/** How soon a step that waits on Flink or the cluster is looked at again. */
const SOON_MS = 250;

/** Savepoint failures that only mean "not yet": the job's tasks are still starting. */
const NOT_YET = /not being executed at the moment|Not all required tasks are currently running/;

/** What one reconcile decided: the status and execution to record, new exceptions, when to come back. */
interface Outcome {
  status: StatementStatus;
  execution: Execution;
  exceptions?: NewStatementException[];
  /** A new run starts (the results pages served so far belong to the last one). */
  newRun?: boolean;
  requeueAfterMs?: number;
}

/** A job as the controller sees it: its state, and whether all its tasks run. */
interface JobView {
  state: JobState | 'MISSING';
  tasksRunning: boolean;
}

/** The cluster a statement runs on, and whether it is up. */
interface Cluster {
  namespace: string;
  name: string;
  owner: ClusterOwner;
  /** The FlinkDeployment of that name, whoever owns it. */
  deployment: FlinkDeployment | undefined;
  up: boolean;
}

const live = (job: JobView): boolean => job.state !== 'MISSING' && !TERMINAL_JOB_STATES.includes(job.state);
const failing = (job: JobView): boolean => job.state === 'FAILING' || job.state === 'RESTARTING';

/** The statement's phase for a job that is not terminal: RUNNING once every task runs. */
function livePhase(job: JobView): { phase: string; detail: string } {
  if (failing(job)) return { phase: 'FAILING', detail: `The statement's job is ${job.state.toLowerCase()}.` };
  if (job.state === 'RUNNING' && job.tasksRunning) return { phase: 'RUNNING', detail: DETAIL.running };
  return { phase: 'PENDING', detail: DETAIL.pending };
}

/** A job's name on Flink: findable again by a controller that lost track of a submission. */
export function jobName(envName: string, name: string, attempt: number): string {
  return `${envName}/${name}#${attempt}`;
}

/**
 * Runs SQL statements on Flink, level-triggered like the application controller: for a query or
 * INSERT it brings up the statement's session cluster (DEDICATED pools) or uses its pool's (SHARED),
 * submits the statement through a gateway session, follows its job on the JobManager, stops it with
 * a savepoint and resumes from it, rescales it, and tears everything down on deletion. Every step
 * that starts something on Flink is recorded before it is taken, so that a controller that dies in
 * between finds it again; status, execution and exceptions are written only when they changed.
 */
export class StatementController {
  private readonly jobManagers = new Map<string, JobManagerClient>();
  private readonly heartbeats = new Map<string, number>();
  private readonly observeMs: number;
  private readonly prepareGraceMs: number;

  constructor(private readonly options: StatementControllerOptions) {
    this.observeMs = options.observeMs ?? 2_000;
    this.prepareGraceMs = options.prepareGraceMs ?? 30_000;
  }

  /** Reconciles the statement `<environment>/<statement>`, logging through `log` (the queue's, bound to this reconcile). */
  async reconcile(key: string, log = this.options.log): Promise<ReconcileResult | void> {
    const [envName, name] = splitKey(key);
    const statement = await this.options.store.statements.find(envName, name);
    if (!statement) return deleteSessionClusters(this.options, { kind: 'statement', environment: envName, name }, log);
    const execution = executionOf(statement.execution);
    const status = statement.status as StatementStatus;
    if (statement.deletionRequestedAt) return this.teardown(statement, execution, log);
    if (!isPrepared(status)) return this.prepareLate(statement, log);
    const shape = sqlShape((statement.spec as StatementSpec).statement);
    if (shape.sqlClass !== 'query' && shape.sqlClass !== 'insert') return;
    const outcome = await this.decide(statement, shape, execution, status, log);
    await this.record(statement, outcome);
    return outcome.requeueAfterMs !== undefined ? { requeueAfterMs: outcome.requeueAfterMs } : undefined;
  }

  /** Every key a resync must look at: statements that may move or hold something, and stray clusters. */
  async keys(): Promise<string[]> {
    return [...new Set([...(await this.options.store.statements.keys()), ...(await sessionClusterKeys(this.options.cache, 'statement'))])];
  }

  /** Prepares a statement the API could not (the gateway was unreachable, or drey stopped meanwhile). */
  private async prepareLate(statement: StatementWithEnvironment, log: Logger): Promise<ReconcileResult | void> {
    const waited = Date.now() - statement.createdAt.getTime();
    if (waited < this.prepareGraceMs) return { requeueAfterMs: this.prepareGraceMs - waited };
    const { waiting } = await prepareStatement(this.options.store, this.options.engine, statement.environment, statement);
    if (waiting) {
      log.warn('statement waits for the SQL Gateway', { error: waiting.message });
      throw waiting;
    }
  }

  private jobManager(restUrl: string): JobManagerClient {
    let client = this.jobManagers.get(restUrl);
    if (!client) {
      client = new JobManagerClient({ baseUrl: restUrl, timeoutMs: 30_000, retries: 2, ...(this.options.metrics ? { observe: this.options.metrics.flinkCall('jobmanager') } : {}) });
      this.jobManagers.set(restUrl, client);
    }
    return client;
  }

  /** The cluster a statement runs on, its own (DEDICATED) or its pool's (SHARED), and whether it is up. */
  private async clusterOf(statement: StatementWithEnvironment, pool: ComputePool): Promise<Cluster> {
    const env = statement.environment;
    const shared = isObject(pool.spec) && pool.spec.type === 'SHARED';
    const owner: ClusterOwner = shared ? { kind: 'computePool', environment: env.name, name: pool.name } : { kind: 'statement', environment: env.name, name: statement.name };
    const name = clusterName(owner.name);
    await this.options.cache.synced();
    const deployment = this.options.cache.get(env.kubernetesNamespace, name);
    const up = deployment !== undefined && ownedBy(deployment, owner) && clusterState(deployment).ready;
    return { namespace: env.kubernetesNamespace, name, owner, deployment, up };
  }

  /** Decides the next step of a query or INSERT. */
  private async decide(statement: StatementWithEnvironment, shape: SqlShape, execution: Execution, status: StatementStatus, log: Logger): Promise<Outcome> {
    const { store, engine } = this.options;
    const spec = statement.spec as StatementSpec;
    const inFlight = !execution.jobId && Boolean(execution.submitting || execution.operation);
    const hasJob = Boolean(execution.jobId) && !execution.finished;
    // refused or dry-run at preparation: there was never anything to run
    if (execution.attempt === 0 && !inFlight && !execution.cluster && (status.phase === 'FAILED' || status.phase === 'COMPLETED')) return { status, execution };

    const pool = await store.computePools.get(statement.environmentId, statement.computePoolName);
    if (!pool) {
      const failed = execution.finished || status.phase === 'STOPPED' ? status : { ...status, phase: 'FAILED', detail: `Compute pool '${statement.computePoolName}' no longer exists.` };
      return this.release(statement, shape, { ...execution, jobId: undefined, finished: true }, failed, log);
    }
    // nothing runs and nothing should: release what it still holds
    if (!execution.stopping && !hasJob && !inFlight && (spec.stopped || execution.finished)) {
      return this.release(statement, shape, execution, spec.stopped && !execution.finished ? stoppedStatus(status, execution) : status, log);
    }

    const cluster = await this.clusterOf(statement, pool);
    const endpoint = this.options.locate(cluster);
    if ('unavailable' in endpoint) return { status: { ...status, detail: endpoint.unavailable }, execution };
    const jm = this.jobManager(endpoint.restUrl);

    if (execution.stopping) return this.continueStop(statement, shape, execution, status, jm, cluster, log);
    if (hasJob) {
      // a cluster that is gone or not up has no jobs to ask about: that job is lost
      const job = cluster.up ? await jobOf(jm, execution.jobId!) : { state: 'MISSING' as const, tasksRunning: false };
      if (live(job)) {
        if (spec.stopped) return this.beginStop(execution, status, 'stop');
        if (execution.parallelism !== (spec.parallelism ?? 1)) return this.beginStop(execution, status, 'rescale');
        return this.observe(statement, shape, execution, status, jm, job);
      }
      return this.ended(statement, shape, execution, status, jm, job.state, log);
    }
    if (inFlight) return this.followSubmission(statement, shape, execution, status, jm, cluster);

    // it should run and does not: bring up its cluster, then submit
    if (!engine.sessions) return { status: { ...status, phase: 'PENDING', detail: `Waiting for a SQL Gateway: ${engine.unavailable}.` }, execution };
    const ready = await this.ensureCluster(statement, pool, cluster, execution, log);
    if (!ready.ready) {
      if (ready.failed) return { status: { ...status, phase: 'FAILED', detail: ready.detail }, execution: { ...ready.execution, finished: true }, requeueAfterMs: 0 };
      return { status: { ...status, phase: 'PENDING', detail: ready.detail }, execution: ready.execution, requeueAfterMs: this.observeMs };
    }
    return this.submit(statement, shape, ready.execution, status, endpoint, log);
  }

  /** Applies a DEDICATED statement's session cluster, or checks its SHARED pool's. */
  private async ensureCluster(
    statement: StatementWithEnvironment,
    pool: ComputePool,
    cluster: Cluster,
    execution: Execution,
    log: Logger,
  ): Promise<{ ready: boolean; failed?: boolean; detail: string; execution: Execution }> {
    let deployment = cluster.deployment;
    if (deployment && !ownedBy(deployment, cluster.owner)) {
      return { ready: false, detail: `FlinkDeployment ${cluster.namespace}/${cluster.name} exists and is not drey's cluster for this statement.`, execution };
    }
    if (cluster.owner.kind === 'computePool') {
      if (!deployment) return { ready: false, detail: `Compute pool '${pool.name}' has no running Flink cluster (its state is ${String((pool.spec as Record<string, unknown>).state ?? 'RUNNING')}).`, execution };
      const state = clusterState(deployment);
      return state.ready ? { ready: true, detail: '', execution } : { ready: false, detail: `Compute pool '${pool.name}': ${state.detail}`, execution };
    }
    const desired = desiredSessionCluster(statement.environment, pool, cluster.owner);
    // recorded first: a cluster applied by a controller that died before recording it is still released
    const next: Execution = execution.cluster ? execution : { ...execution, cluster: { namespace: cluster.namespace, name: cluster.name } };
    if (!upToDate(desired, deployment)) {
      const applied = await applySessionCluster(this.options, desired, !deployment, log);
      if ('refused' in applied) return { ready: false, failed: true, detail: `Its Flink cluster was refused: ${applied.refused}`, execution: next };
      deployment = applied.live;
    }
    const state = clusterState(deployment);
    return state.ready ? { ready: true, detail: '', execution: next } : { ready: false, failed: Boolean(state.failed), detail: state.detail, execution: next };
  }

  /** Opens a gateway session pointed at the cluster and submits the statement, its intent recorded first. */
  private async submit(statement: StatementWithEnvironment, shape: SqlShape, execution: Execution, status: StatementStatus, endpoint: { address: string; port: number }, log: Logger): Promise<Outcome> {
    const { store, engine } = this.options;
    const spec = statement.spec as StatementSpec;
    const attempt = execution.attempt + 1;
    const resumeFrom = shape.sqlClass === 'insert' ? execution.savepoint : undefined;
    const properties = sessionProperties(statement.environment, spec, shape.mode, {
      ...targetProperties(endpoint),
      'pipeline.name': jobName(statement.environment.name, statement.name, attempt),
      ...(resumeFrom ? { 'execution.state-recovery.path': resumeFrom } : {}),
    });
    const intent: Execution = {
      ...execution,
      attempt,
      submitting: true,
      submittedAt: now().toISOString(),
      parallelism: spec.parallelism ?? 1,
      timeZone: sessionTimeZone(properties),
      jobId: undefined,
      session: undefined,
      operation: undefined,
      finished: undefined,
      finishedAt: undefined,
    };
    const detail = execution.resubmitted ?? (execution.attempt > 0 && resumeFrom ? `Resuming from savepoint ${resumeFrom}.` : DETAIL.pending);
    const pending: StatementStatus = { ...status, phase: 'PENDING', detail };
    await this.record(statement, { status: pending, execution: intent, newRun: true });
    let session: SqlSession;
    try {
      const entries = await store.catalogEntries.list(statement.environmentId);
      const catalogs = await sessionCatalogs(engine, statement.environmentId, spec, entries);
      session = await engine.sessions!.open(properties, entries, currentCatalog(spec), catalogs, shape.text);
    } catch (err) {
      if (err instanceof SqlRefused) return { status: { ...status, phase: 'FAILED', detail: err.message }, execution: { ...intent, submitting: undefined, finished: true }, requeueAfterMs: 0 };
      throw err;
    }
    let operation: string;
    try {
      operation = await session.gateway.executeStatement(session.handle, shape.text);
    } catch (err) {
      await session.close().catch(() => undefined);
      throw err;
    }
    log.info('statement submitted', { attempt, fromSavepoint: resumeFrom ?? 'none' });
    return { status: pending, execution: { ...intent, session: session.handle, operation }, requeueAfterMs: SOON_MS };
  }

  /** Follows a submission until its job is known (or Flink refused it). */
  private async followSubmission(statement: StatementWithEnvironment, shape: SqlShape, execution: Execution, status: StatementStatus, jm: JobManagerClient, cluster: Cluster): Promise<Outcome> {
    const gateway = this.options.engine.gateway;
    const { session, operation } = execution;
    if (!gateway || !session || !operation) return this.adopt(statement, shape, execution, status, jm, cluster);
    let opStatus;
    try {
      opStatus = await gateway.operationStatus(session, operation);
    } catch (err) {
      if (!isGone(err)) throw err;
      return this.adopt(statement, shape, execution, status, jm, cluster);
    }
    if (opStatus === 'INITIALIZED' || opStatus === 'PENDING' || opStatus === 'RUNNING') return { status, execution, requeueAfterMs: SOON_MS };
    const failed = (detail: string): Outcome => ({ status: { ...status, phase: 'FAILED', detail }, execution: { ...execution, submitting: undefined, finished: true, finishedAt: now().toISOString() }, requeueAfterMs: 0 });
    let page;
    try {
      page = await gateway.fetchResults(session, operation, 0, { rowFormat: 'JSON', numbers: 'text' });
    } catch (err) {
      const refused = refusal(err);
      if (refused instanceof SqlRefused) return failed(refused.message);
      throw refused;
    }
    if (opStatus !== 'FINISHED') return failed(`The SQL Gateway ended the statement's operation (${opStatus}).`);
    if (page.resultType === 'NOT_READY') return { status, execution, requeueAfterMs: SOON_MS };
    const jobId = page.jobID ?? (typeof page.rows[0]?.fields[0] === 'string' ? page.rows[0].fields[0] : undefined);
    if (!jobId) return failed('The statement started no Flink job.');
    const next: Execution = { ...execution, submitting: undefined, jobId };
    if (shape.sqlClass === 'insert') {
      // an INSERT's job runs on without the session
      await new SqlSession(gateway, session).close().catch(() => undefined);
      return { status, execution: { ...next, session: undefined, operation: undefined }, requeueAfterMs: 0 };
    }
    const traits = { ...(status.traits ?? { sqlKind: shape.sqlKind }), schema: resultSchema(page.columns) };
    return { status: { ...status, traits }, execution: next, requeueAfterMs: 0 };
  }

  /**
   * A submission whose gateway session is unknown or gone: a job Flink has under the run's name
   * (started since the statement was made) is adopted if it is an INSERT's, and cancelled if it is
   * a query's (its results went with the session). With none, it is submitted again, once the
   * submission had time to turn up.
   */
  private async adopt(statement: StatementWithEnvironment, shape: SqlShape, execution: Execution, status: StatementStatus, jm: JobManagerClient, cluster: Cluster): Promise<Outcome> {
    const found = cluster.up ? await this.jobsOfRun(statement, execution, jm) : [];
    const settled = { ...execution, submitting: undefined, session: undefined, operation: undefined };
    if (shape.sqlClass === 'insert' && found[0]) return { status, execution: { ...settled, jobId: found[0].jid }, requeueAfterMs: 0 };
    for (const job of found) if (!TERMINAL_JOB_STATES.includes(job.state)) await cancelJob(jm, job.jid);
    const waited = Date.now() - new Date(execution.submittedAt ?? 0).getTime();
    if (found.length === 0 && waited < ADOPT_GRACE_MS) return { status, execution, requeueAfterMs: 1_000 };
    return { status, execution: settled, requeueAfterMs: 0 };
  }

  /** The jobs Flink has under the name of the statement's current run, newest first. */
  private async jobsOfRun(statement: StatementWithEnvironment, execution: Execution, jm: JobManagerClient) {
    const name = jobName(statement.environment.name, statement.name, execution.attempt);
    const since = statement.createdAt.getTime();
    return (await jm.jobsOverview()).jobs.filter((j) => j.name === name && j['start-time'] >= since).sort((a, b) => b['start-time'] - a['start-time']);
  }

  /** A live job: its phase, its new exceptions, and (for a query) a session kept alive. */
  private async observe(statement: StatementWithEnvironment, shape: SqlShape, execution: Execution, status: StatementStatus, jm: JobManagerClient, job: JobView): Promise<Outcome> {
    const phase = livePhase(job);
    const next: StatementStatus = { ...status, ...phase };
    const { exceptions, seenUntil } = await newExceptions(execution, jm);
    if (phase.phase === 'FAILING') {
      // the newest failure, whether this pass or an earlier one saw it
      const newest = exceptions.at(-1)?.message ?? (await this.options.store.statements.exceptions(statement.id))[0]?.message;
      if (newest) next.detail = newest;
    } else if (execution.resubmitted && phase.phase === 'RUNNING') next.detail = `${execution.resubmitted} ${DETAIL.running}`;
    const observed: Execution = { ...execution, ...(seenUntil ? { exceptionsSeenUntil: seenUntil } : {}) };
    if (shape.sqlClass === 'query' && execution.session && !(await this.keepAlive(statement, execution))) {
      await cancelJob(jm, execution.jobId!);
      const lost = { ...observed, session: undefined, operation: undefined, finished: true, finishedAt: now().toISOString() };
      return { status: { ...next, phase: 'FAILED', detail: 'The SQL Gateway session holding the results ended; the results are gone.' }, execution: lost, exceptions, requeueAfterMs: 0 };
    }
    return { status: next, execution: observed, exceptions, requeueAfterMs: this.observeMs };
  }

  /** Heartbeats a query's gateway session now and then; false when the gateway no longer has it. */
  private async keepAlive(statement: StatementWithEnvironment, execution: Execution): Promise<boolean> {
    const key = `${statement.id}#${execution.attempt}`;
    if (Date.now() - (this.heartbeats.get(key) ?? 0) < HEARTBEAT_MS) return true;
    try {
      await this.options.engine.gateway?.heartbeat(execution.session!);
      this.heartbeats.set(key, Date.now());
      return true;
    } catch (err) {
      if (!isGone(err)) throw err;
      this.heartbeats.delete(key);
      return false;
    }
  }

  /** A job that ended, or that Flink no longer has. */
  private async ended(statement: StatementWithEnvironment, shape: SqlShape, execution: Execution, status: StatementStatus, jm: JobManagerClient, state: JobState | 'MISSING', log: Logger): Promise<Outcome> {
    const spec = statement.spec as StatementSpec;
    this.heartbeats.delete(`${statement.id}#${execution.attempt}`);
    const finishedAt = now().toISOString();
    if (state === 'MISSING') {
      if (shape.sqlClass === 'insert' && !spec.stopped) {
        const why = `Flink lost the statement's job ${execution.jobId}; resubmitted ${execution.savepoint ? `from savepoint ${execution.savepoint}` : 'without state (it has no savepoint)'}.`;
        log.warn('statement job lost; resubmitting', { jobId: execution.jobId, savepoint: execution.savepoint ?? 'none' });
        return { status: { ...status, phase: 'PENDING', detail: why }, execution: { ...execution, jobId: undefined, session: undefined, operation: undefined, resubmitted: why }, requeueAfterMs: 0 };
      }
      const detail = spec.stopped ? stoppedStatus(status, execution) : { ...status, phase: 'FAILED', detail: `Flink lost the statement's job ${execution.jobId}.` };
      return { status: detail, execution: { ...execution, jobId: undefined, finished: !spec.stopped || undefined, finishedAt }, requeueAfterMs: 0 };
    }
    // the exception history comes from Flink's cache of the job, refreshed every few seconds: wait until it has the end
    const cached = await jm.job(execution.jobId!).catch(() => undefined);
    if (cached && !TERMINAL_JOB_STATES.includes(cached.state)) return { status, execution, requeueAfterMs: 500 };
    const { exceptions, seenUntil } = await newExceptions(execution, jm);
    const finished: Execution = { ...execution, finished: true, finishedAt, ...(seenUntil ? { exceptionsSeenUntil: seenUntil } : {}) };
    if (state === 'FINISHED') return { status: { ...status, phase: 'COMPLETED', detail: DETAIL.completed }, execution: finished, exceptions, requeueAfterMs: 0 };
    if (state === 'FAILED') {
      const newest = exceptions.at(-1)?.message ?? (await this.options.store.statements.exceptions(statement.id))[0]?.message;
      return { status: { ...status, phase: 'FAILED', detail: newest ?? "The statement's job failed." }, execution: finished, exceptions, requeueAfterMs: 0 };
    }
    return { status: { ...status, phase: 'FAILED', detail: `The statement's job was ${state.toLowerCase()} outside drey.` }, execution: finished, exceptions, requeueAfterMs: 0 };
  }

  /** Records that a live job is to stop (for a stop or a rescale); `continueStop` does it. */
  private beginStop(execution: Execution, status: StatementStatus, reason: Stopping['reason']): Outcome {
    const detail = reason === 'stop' ? 'Stopping the statement.' : 'Rescaling the statement.';
    return { status: { ...status, detail }, execution: { ...execution, stopping: { reason, jobId: execution.jobId!, since: now().toISOString() } }, requeueAfterMs: 0 };
  }

  /**
   * Stops a job step by step, each step recorded before the next: an INSERT with a savepoint (asked
   * once its tasks run, again while Flink says they are starting), a query or a failing job with a
   * cancel. A stop whose savepoint fails cancels; a rescale whose savepoint fails leaves the job
   * running and tries again later. When the job has ended, the savepoint is kept for the next run.
   */
  private async continueStop(statement: StatementWithEnvironment, shape: SqlShape, execution: Execution, status: StatementStatus, jm: JobManagerClient, cluster: Cluster, log: Logger): Promise<Outcome> {
    const stopping = execution.stopping!;
    const job = cluster.up ? await jobOf(jm, stopping.jobId) : { state: 'MISSING' as const, tasksRunning: false };
    const step = (next: Partial<Stopping>, detail?: string): Outcome => ({
      status: detail ? { ...status, detail } : status,
      execution: { ...execution, stopping: { ...stopping, ...next } },
      requeueAfterMs: SOON_MS,
    });
    if (live(job)) {
      const savepointWanted = shape.sqlClass === 'insert' && !failing(job) && !stopping.cancelled;
      if (!savepointWanted) {
        await cancelJob(jm, stopping.jobId);
        return step({ cancelled: true });
      }
      if (!stopping.triggerId) {
        if (!job.tasksRunning && Date.now() - new Date(stopping.since).getTime() < STOP_WAIT_MS) return step({});
        if (!job.tasksRunning) return step({ cancelled: true, note: ' Its tasks never all ran, so it was cancelled without a savepoint.' });
        return step({ triggerId: await jm.stopWithSavepoint(stopping.jobId, { formatType: 'CANONICAL' }) });
      }
      if (stopping.savepoint) return step({});
      let result;
      try {
        result = await jm.savepointStatus(stopping.jobId, stopping.triggerId);
      } catch (err) {
        if (!(err instanceof FlinkError) || err.status !== 404) throw err;
        return step({ triggerId: undefined }); // Flink forgot the stop (a new JobManager): ask again
      }
      if (result.status === 'IN_PROGRESS') return step({});
      if (result.status === 'COMPLETED') return step({ savepoint: result.location });
      if (NOT_YET.test(result.message)) return step({ triggerId: undefined });
      if (stopping.reason === 'rescale') {
        const detail = `Rescaling waits: the savepoint failed (${result.message}); the statement runs on and the rescale is tried again.`;
        return { status: { ...status, detail }, execution: { ...execution, stopping: undefined }, requeueAfterMs: RESCALE_RETRY_MS };
      }
      return step({ cancelled: true, note: ` The savepoint failed (${result.message}), so the job was cancelled.` });
    }

    // the job has ended: keep its savepoint (read back from Flink if the stop was not recorded)
    let savepoint = stopping.savepoint ?? execution.savepoint;
    if (!stopping.savepoint && !stopping.cancelled && shape.sqlClass === 'insert' && job.state === 'FINISHED') {
      savepoint = (await jm.checkpoints(stopping.jobId).catch(() => undefined))?.latest.savepoint?.external_path ?? savepoint;
    }
    if (execution.session && this.options.engine.gateway) await new SqlSession(this.options.engine.gateway, execution.session).close().catch(() => undefined);
    this.heartbeats.delete(`${statement.id}#${execution.attempt}`);
    const note = `${stopping.note ?? ''}${stopping.cancelled && savepoint ? ` The next run restores from the previous savepoint ${savepoint}.` : ''}`;
    const next: Execution = { ...execution, savepoint, stopping: undefined, jobId: undefined, session: undefined, operation: undefined, resubmitted: undefined };
    log.info('statement job stopped', { reason: stopping.reason, savepoint: savepoint ?? 'none' });
    if (stopping.reason === 'rescale') {
      const spec = statement.spec as StatementSpec;
      const from = shape.sqlClass === 'insert' && savepoint ? ` from savepoint ${savepoint}` : '';
      return { status: { ...status, phase: 'PENDING', detail: `Rescaling to parallelism ${spec.parallelism ?? 1}${from}.${note}` }, execution: next, requeueAfterMs: 0 };
    }
    return { status: stoppedStatus(status, next, note), execution: next, requeueAfterMs: 0 };
  }

  /**
   * A statement that does not run (stopped, or its run ended): its gateway session is closed and
   * its own cluster removed once nothing needs them. A finished query keeps both while its results
   * are wanted: until they are read to the end, or for as long as the gateway keeps an idle session.
   */
  private async release(statement: StatementWithEnvironment, shape: SqlShape, execution: Execution, status: StatementStatus, log: Logger): Promise<Outcome> {
    const spec = statement.spec as StatementSpec;
    const drained = statement.resultsDrainedAt !== null && statement.resultsDrainedAt.getTime() >= new Date(execution.submittedAt ?? 0).getTime();
    const keptUntil = new Date(execution.finishedAt ?? 0).getTime() + RESULTS_RETENTION_MS;
    const resultsWanted = shape.sqlClass === 'query' && status.phase === 'COMPLETED' && execution.session && !drained && !spec.stopped && Date.now() < keptUntil;
    if (resultsWanted) return { status, execution, requeueAfterMs: keptUntil - Date.now() };
    let next = execution;
    if (next.session) {
      if (this.options.engine.gateway) await new SqlSession(this.options.engine.gateway, next.session).close().catch(() => undefined);
      next = { ...next, session: undefined, operation: undefined };
    }
    if (next.cluster) {
      const pending = await deleteSessionClusters(this.options, { kind: 'statement', environment: statement.environment.name, name: statement.name }, log);
      if (pending) return { status, execution: next, requeueAfterMs: pending.requeueAfterMs };
      next = { ...next, cluster: undefined };
    }
    return { status, execution: next };
  }

  /** Deletes a statement: cancels its job (or a submission's), closes its session, removes its cluster, then the row. */
  private async teardown(statement: StatementWithEnvironment, execution: Execution, log: Logger): Promise<ReconcileResult | void> {
    const { store, engine, deployments } = this.options;
    const pool = await store.computePools.get(statement.environmentId, statement.computePoolName);
    const cluster = pool && (await this.clusterOf(statement, pool));
    const endpoint = cluster && cluster.up ? this.options.locate(cluster) : undefined;
    if (endpoint && !('unavailable' in endpoint)) {
      const jm = this.jobManager(endpoint.restUrl);
      const known = execution.stopping?.jobId ?? (execution.finished ? undefined : execution.jobId);
      const jobIds = known ? [known] : execution.submitting || execution.operation ? (await this.jobsOfRun(statement, execution, jm)).map((j) => j.jid) : [];
      let cancelling = false;
      for (const jobId of jobIds) {
        const state = await jobOf(jm, jobId);
        if (live(state)) {
          await cancelJob(jm, jobId);
          cancelling = true;
        }
      }
      if (cancelling) return { requeueAfterMs: SOON_MS };
    }
    if (execution.session && engine.gateway) await new SqlSession(engine.gateway, execution.session).close().catch(() => undefined);
    const pending = await deleteSessionClusters(this.options, { kind: 'statement', environment: statement.environment.name, name: statement.name }, log);
    if (pending) return pending;
    this.heartbeats.delete(`${statement.id}#${execution.attempt}`);
    await store.statements.remove(statement.id);
    log.info('statement deleted');
  }

  /** Masks the environment's secret values in an outcome's detail (in place) and exceptions. */
  private async redact(statement: StatementWithEnvironment, outcome: Outcome): Promise<NewStatementException[] | undefined> {
    const catalogs = this.options.engine.catalogs;
    if (!catalogs || (outcome.status.detail === undefined && !outcome.exceptions?.length)) return outcome.exceptions;
    const redactor = await catalogs.redactor(statement.environmentId);
    if (redactor.empty) return outcome.exceptions;
    if (typeof outcome.status.detail === 'string') outcome.status = { ...outcome.status, detail: redactor.redact(outcome.status.detail) };
    return outcome.exceptions?.map((e) => ({ ...e, message: redactor.redact(e.message) }));
  }

  /**
   * Writes status, execution and exceptions when any of them changed (never over a DELETE). What
   * Flink said may quote a catalog's connection config, so the environment's secret values are
   * masked first (and compared masked, as stored).
   */
  private async record(statement: StatementWithEnvironment, outcome: Outcome): Promise<void> {
    const execution = JSON.parse(JSON.stringify(outcome.execution)) as Execution;
    const changed = () =>
      canonicalJson(outcome.status) !== canonicalJson(statement.status) ||
      canonicalJson(execution) !== canonicalJson(statement.execution ?? { attempt: 0 }) ||
      (outcome.exceptions?.length ?? 0) > 0;
    if (!changed()) return;
    outcome.exceptions = await this.redact(statement, outcome);
    if (!changed()) return;
    const at = now();
    await this.options.store.statements.recordObservation(statement.id, { status: outcome.status, execution, exceptions: outcome.exceptions, newRun: outcome.newRun }, at);
    // what the row holds now, for a second record in the same pass
    statement.status = outcome.status as never;
    statement.execution = execution as never;
  }
}

/** The status of a stopped statement. */
function stoppedStatus(status: StatementStatus, execution: Execution, note = ''): StatementStatus {
  const savepoint = execution.savepoint;
  return { ...status, phase: 'STOPPED', detail: `Statement stopped${savepoint ? ` with savepoint ${savepoint}` : ''}.${note}` };
}

/**
 * A job's state and whether its tasks all run, or MISSING when the JobManager does not know it. The
 * state comes from the job's status, which is current; its details (for the tasks) come from a
 * cache Flink refreshes every few seconds (`web.refresh-interval`), and can show a job that ended
 * as still running.
 */
async function jobOf(jm: JobManagerClient, jobId: string): Promise<JobView> {
  try {
    const state = await jm.jobStatus(jobId);
    if (state !== 'RUNNING') return { state, tasksRunning: false };
    const counts = (await jm.job(jobId))['status-counts'] ?? {};
    const tasksRunning = Object.entries(counts).every(([s, n]) => n === 0 || s === 'RUNNING' || s === 'FINISHED');
    return { state, tasksRunning };
  } catch (err) {
    if (err instanceof FlinkError && err.status === 404) return { state: 'MISSING', tasksRunning: false };
    throw err;
  }
}

/** Cancels a job; one already gone is fine. */
async function cancelJob(jm: JobManagerClient, jobId: string): Promise<void> {
  try {
    await jm.cancel(jobId);
  } catch (err) {
    if (!(err instanceof FlinkError) || (err.status !== 404 && err.status !== 409)) throw err;
  }
}

/** Exceptions of the job newer than those recorded, oldest first (at most the 10 kept). */
async function newExceptions(execution: Execution, jm: JobManagerClient): Promise<{ exceptions: NewStatementException[]; seenUntil?: number }> {
  let entries;
  try {
    entries = (await jm.exceptions(execution.jobId!)).exceptionHistory.entries;
  } catch (err) {
    if (err instanceof FlinkError && err.status === 404) return { exceptions: [] };
    throw err;
  }
  const seen = execution.exceptionsSeenUntil ?? 0;
  const fresh = entries.filter((e) => e.timestamp > seen).sort((a, b) => a.timestamp - b.timestamp).slice(-10);
  if (fresh.length === 0) return { exceptions: [] };
  return {
    exceptions: fresh.map((e) => ({ id: randomUUID(), name: e.exceptionName, message: describeStackTrace(e.stacktrace), at: new Date(e.timestamp) })),
    seenUntil: fresh.at(-1)!.timestamp,
  };
}
