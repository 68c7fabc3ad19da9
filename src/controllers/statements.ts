import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import { canonicalJson, isObject } from '../domain/objects.js';
import { sqlShape, type SqlShape } from '../domain/sql.js';
import { now } from '../domain/time.js';
import { JobManagerClient, TERMINAL_JOB_STATES, describeStackTrace, type JobState } from '../flink/jobManager.js';
import { FlinkError } from '../flink/rest.js';
import { KubeError } from '../kube/errors.js';
import type { FlinkDeployments } from '../kube/flinkDeployments.js';
import type { StatementSpec } from '../schemas/statement.js';
import type { StatementEngine } from '../statements/engine.js';
import { executionOf, type Execution } from '../statements/execution.js';
import { DETAIL, isPrepared, type StatementStatus } from '../statements/prepare.js';
import { resultSchema } from '../statements/rows.js';
import { currentCatalog, isGone, refusal, sessionProperties, sessionTimeZone, SqlRefused, SqlSession, targetProperties } from '../statements/sessions.js';
import type { ComputePool } from '../store/computePools.js';
import type { Store } from '../store/index.js';
import type { NewStatementException, StatementWithEnvironment } from '../store/statements.js';
import { MANAGED_BY } from './applicationDeployment.js';
import { FIELD_MANAGER } from './applications.js';
import type { ReconcileResult } from './queue.js';
import { clusterName, clusterState, desiredSessionCluster, ownerOf, ownerSelector, upToDate, type ClusterOwner } from './sessionCluster.js';

/** Where a session cluster's JobManager answers, for drey (REST) and for the gateway (address and port). */
export type ClusterEndpoint = { restUrl: string; address: string; port: number } | { unavailable: string };

/** Finds the JobManager of a session cluster. */
export type ClusterLocator = (cluster: { namespace: string; name: string }) => ClusterEndpoint;

/** Options of the statement controller. */
export interface StatementControllerOptions {
  store: Store;
  deployments: FlinkDeployments;
  engine: StatementEngine;
  locate: ClusterLocator;
  log: Logger;
  /** How often a running job is looked at. */
  observeMs?: number;
  /** How long a statement the API is preparing is left to it before the controller prepares it. */
  prepareGraceMs?: number;
}

/** How often a query's gateway session is kept alive (the gateway drops sessions idle for 10 minutes). */
const HEARTBEAT_MS = 60_000;
/** How soon a step that waits on Flink or the cluster is looked at again. */
const SOON_MS = 250;

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

/** The statement's phase for a job that is not terminal: RUNNING once every task runs. */
function livePhase(job: JobView): { phase: string; detail: string } {
  if (job.state === 'FAILING' || job.state === 'RESTARTING') return { phase: 'FAILING', detail: `The statement's job is ${job.state.toLowerCase()}.` };
  if (job.state === 'RUNNING' && job.tasksRunning) return { phase: 'RUNNING', detail: DETAIL.running };
  return { phase: 'PENDING', detail: DETAIL.pending };
}

/** Savepoint failures that only mean "not yet": the job's tasks are still starting. */
const NOT_YET = /not being executed at the moment|Not all required tasks are currently running/;

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

/** A job's name on Flink: findable again by a controller that lost track of a submission. */
export function jobName(envName: string, name: string, attempt: number): string {
  return `${envName}/${name}#${attempt}`;
}

/**
 * Runs SQL statements on Flink, level-triggered like the application controller: for a query or
 * INSERT it brings up the statement's session cluster (DEDICATED pools) or uses its pool's (SHARED),
 * submits the statement through a gateway session, follows its job on the JobManager, stops it with
 * a savepoint and resumes from it, rescales it, and tears everything down on deletion. Status,
 * execution and exceptions are written once per pass, and only when they changed.
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

  /** Reconciles the statement `<environment>/<statement>`. */
  async reconcile(key: string): Promise<ReconcileResult | void> {
    const [envName, name] = splitKey(key);
    const statement = await this.options.store.statements.find(envName, name);
    if (!statement) return this.deleteClusters({ kind: 'statement', environment: envName, name });
    const execution = executionOf(statement.execution);
    const status = statement.status as StatementStatus;
    if (statement.deletionRequestedAt) return this.teardown(statement, execution);
    if (!isPrepared(status)) return this.prepareLate(statement);
    const shape = sqlShape((statement.spec as StatementSpec).statement);
    if (shape.sqlClass !== 'query' && shape.sqlClass !== 'insert') return;
    const outcome = await this.decide(statement, shape, execution, status);
    await this.record(statement, outcome);
    return outcome.requeueAfterMs !== undefined ? { requeueAfterMs: outcome.requeueAfterMs } : undefined;
  }

  /** Every key a resync must look at: statements that may move or hold something, and stray clusters. */
  async keys(): Promise<string[]> {
    const keys = new Set(await this.options.store.statements.keys());
    for (const d of await this.options.deployments.list(`${MANAGED_BY.key}=${MANAGED_BY.value}`)) {
      const owner = ownerOf(d);
      if (owner?.kind === 'statement') keys.add(`${owner.environment}/${owner.name}`);
    }
    return [...keys];
  }

  /** Prepares a statement the API could not (the gateway was unreachable, or drey stopped meanwhile). */
  private async prepareLate(statement: StatementWithEnvironment): Promise<ReconcileResult | void> {
    const { store, engine } = this.options;
    const waited = Date.now() - statement.createdAt.getTime();
    if (waited < this.prepareGraceMs) return { requeueAfterMs: this.prepareGraceMs - waited };
    if (!engine.preparer) {
      await store.statements.recordWaiting(statement.id, `Waiting for a SQL Gateway: ${engine.unavailable}.`, now());
      return;
    }
    const at = now();
    try {
      const env = statement.environment;
      const prepared = await engine.preparer.prepare(env, statement.spec as StatementSpec, await store.catalogEntries.list(env.id), at);
      const entry = prepared.catalogEntry && { id: randomUUID(), environmentId: env.id, statementName: statement.name, ...prepared.catalogEntry, at };
      await store.statements.recordPrepared(statement.id, prepared, entry, at);
    } catch (err) {
      await store.statements.recordWaiting(statement.id, `Waiting for the SQL Gateway: ${(err as Error).message}`, now());
      throw err;
    }
  }

  private jobManager(restUrl: string): JobManagerClient {
    let client = this.jobManagers.get(restUrl);
    if (!client) {
      client = new JobManagerClient({ baseUrl: restUrl, timeoutMs: 30_000, retries: 2 });
      this.jobManagers.set(restUrl, client);
    }
    return client;
  }

  /** The cluster a statement runs on: its own (DEDICATED) or its pool's (SHARED). */
  private clusterOf(statement: StatementWithEnvironment, pool: ComputePool): { namespace: string; name: string; owner: ClusterOwner } {
    const env = statement.environment;
    const shared = isObject(pool.spec) && pool.spec.type === 'SHARED';
    const owner: ClusterOwner = shared ? { kind: 'computePool', environment: env.name, name: pool.name } : { kind: 'statement', environment: env.name, name: statement.name };
    return { namespace: env.kubernetesNamespace, name: clusterName(owner.name), owner };
  }

  /** Decides the next step of a query or INSERT. */
  private async decide(statement: StatementWithEnvironment, shape: SqlShape, execution: Execution, status: StatementStatus): Promise<Outcome> {
    const { store, engine } = this.options;
    const spec = statement.spec as StatementSpec;
    const keep = (requeueAfterMs?: number): Outcome => ({ status, execution, requeueAfterMs });
    if (status.phase === 'FAILED' && execution.attempt === 0 && !execution.cluster) return keep(); // Flink refused it when it was prepared
    const pool = await store.computePools.get(statement.environmentId, statement.computePoolName);
    if (!pool) {
      if (execution.finished || status.phase === 'STOPPED') return keep();
      return { status: { ...status, phase: 'FAILED', detail: `Compute pool '${statement.computePoolName}' no longer exists.` }, execution: { ...execution, finished: true } };
    }
    const cluster = this.clusterOf(statement, pool);
    const endpoint = this.options.locate(cluster);
    if ('unavailable' in endpoint) return { status: { ...status, detail: endpoint.unavailable }, execution };
    const jm = this.jobManager(endpoint.restUrl);

    if (execution.stopping) return this.continueStop(statement, shape, execution, status, jm);

    if (execution.jobId && !execution.finished) {
      const job = await jobOf(jm, execution.jobId);
      if (job.state !== 'MISSING' && !TERMINAL_JOB_STATES.includes(job.state)) {
        if (spec.stopped) return this.beginStop(shape, execution, status, jm, 'stop', job);
        if (execution.parallelism !== (spec.parallelism ?? 1)) return this.beginStop(shape, execution, status, jm, 'rescale', job);
        return this.observe(statement, shape, execution, status, jm, job);
      }
      return this.ended(statement, shape, execution, status, jm, job.state);
    }

    if (spec.stopped || execution.finished) return this.release(statement, shape, execution, spec.stopped && !execution.finished ? stoppedStatus(status, execution) : status);

    if (!engine.sessions) return { status: { ...status, phase: 'PENDING', detail: `Waiting for a SQL Gateway: ${engine.unavailable}.` }, execution };

    // it should run and does not: bring up its cluster, then submit (or follow a submission)
    const ready = await this.ensureCluster(statement, pool, cluster, execution);
    if (!ready.ready) {
      if (ready.failed) return { status: { ...status, phase: 'FAILED', detail: ready.detail }, execution: { ...ready.execution, finished: true } };
      return { status: { ...status, phase: 'PENDING', detail: ready.detail }, execution: ready.execution, requeueAfterMs: this.observeMs };
    }
    if (execution.operation || execution.submitting) return this.followSubmission(statement, shape, ready.execution, status, jm);
    return this.submit(statement, shape, ready.execution, status, endpoint);
  }

  /** Applies a DEDICATED statement's session cluster, or checks its SHARED pool's. */
  private async ensureCluster(
    statement: StatementWithEnvironment,
    pool: ComputePool,
    cluster: { namespace: string; name: string; owner: ClusterOwner },
    execution: Execution,
  ): Promise<{ ready: boolean; failed?: boolean; detail: string; execution: Execution }> {
    const { deployments, log } = this.options;
    let live = await deployments.get(cluster.namespace, cluster.name);
    const owner = live && ownerOf(live);
    if (live && (owner?.kind !== cluster.owner.kind || owner.name !== cluster.owner.name || owner.environment !== cluster.owner.environment)) {
      return { ready: false, detail: `FlinkDeployment ${cluster.namespace}/${cluster.name} exists and is not drey's cluster for this statement.`, execution };
    }
    if (cluster.owner.kind === 'computePool') {
      const state = clusterState(live);
      const detail = live ? state.ready ? '' : `Compute pool '${pool.name}': ${'detail' in state ? state.detail : ''}` : `Compute pool '${pool.name}' has no running Flink cluster (its state is ${String((pool.spec as Record<string, unknown>).state ?? 'RUNNING')}).`;
      return { ready: state.ready, detail, execution };
    }
    const desired = desiredSessionCluster(statement.environment, pool, cluster.owner);
    let next = execution;
    if (!upToDate(desired, live)) {
      try {
        if (!live) await deployments.ensureNamespace(cluster.namespace, { [MANAGED_BY.key]: MANAGED_BY.value });
        live = await deployments.apply(desired, FIELD_MANAGER);
        log.info('applied statement cluster', { statement: `${statement.environment.name}/${statement.name}`, namespace: cluster.namespace, name: cluster.name });
      } catch (err) {
        if (err instanceof KubeError && [400, 403, 422].includes(err.code)) return { ready: false, failed: true, detail: `Its Flink cluster was refused: ${err.message}`, execution };
        throw err;
      }
    }
    if (!execution.cluster) next = { ...execution, cluster: { namespace: cluster.namespace, name: cluster.name } };
    const state = clusterState(live);
    return state.ready ? { ready: true, detail: '', execution: next } : { ready: false, failed: Boolean(state.failed), detail: state.detail, execution: next };
  }

  /** Opens a gateway session pointed at the cluster and submits the statement. */
  private async submit(
    statement: StatementWithEnvironment,
    shape: SqlShape,
    execution: Execution,
    status: StatementStatus,
    endpoint: { address: string; port: number },
  ): Promise<Outcome> {
    const { store, engine } = this.options;
    const spec = statement.spec as StatementSpec;
    const attempt = execution.attempt + 1;
    const resumeFrom = shape.sqlClass === 'insert' ? execution.savepoint : undefined;
    const intent: Execution = {
      ...execution,
      attempt,
      submitting: true,
      submittedAt: now().toISOString(),
      parallelism: spec.parallelism ?? 1,
      jobId: undefined,
      session: undefined,
      operation: undefined,
      finished: undefined,
    };
    const resuming = status.phase === 'STOPPED' || Boolean(execution.resubmitted) || execution.attempt > 0;
    const detail = execution.resubmitted ?? (resuming && resumeFrom ? `Resuming from savepoint ${resumeFrom}.` : DETAIL.pending);
    const pending: StatementStatus = { ...status, phase: 'PENDING', detail };
    // recorded before submitting: a controller that dies here finds the job by its name
    await this.record(statement, { status: pending, execution: intent, newRun: true });
    const properties = sessionProperties(statement.environment, spec, shape.mode, {
      ...targetProperties(endpoint),
      'pipeline.name': jobName(statement.environment.name, statement.name, attempt),
      ...(resumeFrom ? { 'execution.state-recovery.path': resumeFrom } : {}),
    });
    let session: SqlSession;
    try {
      session = await engine.sessions!.open(properties, await store.catalogEntries.list(statement.environmentId), currentCatalog(spec));
    } catch (err) {
      if (err instanceof SqlRefused) return { status: { ...status, phase: 'FAILED', detail: err.message }, execution: { ...intent, submitting: undefined, finished: true } };
      throw err;
    }
    const operation = await session.gateway.executeStatement(session.handle, shape.text);
    intent.timeZone = sessionTimeZone(properties);
    this.options.log.info('statement submitted', { statement: `${statement.environment.name}/${statement.name}`, attempt, fromSavepoint: resumeFrom ?? 'none' });
    return { status: pending, execution: { ...intent, session: session.handle, operation }, requeueAfterMs: SOON_MS };
  }

  /** Follows a submission until its job is known (or Flink refused it). */
  private async followSubmission(statement: StatementWithEnvironment, shape: SqlShape, execution: Execution, status: StatementStatus, jm: JobManagerClient): Promise<Outcome> {
    const gateway = this.options.engine.gateway!;
    const { session, operation } = execution;
    if (!session || !operation) return this.adopt(statement, shape, execution, status, jm);
    let opStatus;
    try {
      opStatus = await gateway.operationStatus(session, operation);
    } catch (err) {
      if (!isGone(err)) throw err;
      return this.adopt(statement, shape, execution, status, jm);
    }
    if (opStatus === 'INITIALIZED' || opStatus === 'PENDING' || opStatus === 'RUNNING') return { status, execution, requeueAfterMs: SOON_MS };
    const failed = (detail: string): Outcome => ({ status: { ...status, phase: 'FAILED', detail }, execution: { ...execution, submitting: undefined, finished: true } });
    let page;
    try {
      page = await gateway.fetchResults(session, operation, 0, { rowFormat: 'JSON', numbers: 'text' });
    } catch (err) {
      const refused = refusal(err);
      if (refused instanceof SqlRefused) {
        await new SqlSession(gateway, session).close().catch(() => undefined);
        return failed(refused.message);
      }
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
      delete next.session;
      delete next.operation;
      return { status, execution: next, requeueAfterMs: 0 };
    }
    const traits = { ...(status.traits ?? { sqlKind: shape.sqlKind }), schema: resultSchema(page.columns) };
    return { status: { ...status, traits }, execution: next, requeueAfterMs: 0 };
  }

  /**
   * A submission whose gateway session is unknown or gone: its job, if Flink has one under the
   * run's name, is adopted (an INSERT) or cancelled (a query, whose results went with the session);
   * otherwise the statement is submitted again.
   */
  private async adopt(statement: StatementWithEnvironment, shape: SqlShape, execution: Execution, status: StatementStatus, jm: JobManagerClient): Promise<Outcome> {
    const name = jobName(statement.environment.name, statement.name, execution.attempt);
    const found = (await jm.jobsOverview()).jobs.find((j) => j.name === name && !TERMINAL_JOB_STATES.includes(j.state as JobState));
    if (found && shape.sqlClass === 'insert') {
      return { status, execution: { ...execution, submitting: undefined, session: undefined, operation: undefined, jobId: found.jid }, requeueAfterMs: 0 };
    }
    if (found) await jm.cancel(found.jid).catch(() => undefined);
    return { status, execution: { ...execution, submitting: undefined, session: undefined, operation: undefined }, requeueAfterMs: 0 };
  }

  /** A live job: its phase, its new exceptions, and (for a query) a session kept alive. */
  private async observe(statement: StatementWithEnvironment, shape: SqlShape, execution: Execution, status: StatementStatus, jm: JobManagerClient, job: JobView): Promise<Outcome> {
    const live = livePhase(job);
    const next: StatementStatus = { ...status, ...live };
    const { exceptions, seenUntil } = await this.newExceptions(execution, jm);
    if (live.phase === 'FAILING' && exceptions.length > 0) next.detail = exceptions.at(-1)!.message;
    else if (live.phase === 'FAILING' && status.phase === 'FAILING') next.detail = status.detail;
    let nextExecution: Execution = { ...execution, ...(seenUntil ? { exceptionsSeenUntil: seenUntil } : {}) };
    if (shape.sqlClass === 'query' && execution.session) {
      const key = `${statement.id}#${execution.attempt}`;
      if (Date.now() - (this.heartbeats.get(key) ?? 0) > HEARTBEAT_MS) {
        try {
          await this.options.engine.gateway!.heartbeat(execution.session);
          this.heartbeats.set(key, Date.now());
        } catch (err) {
          if (!isGone(err)) throw err;
          await jm.cancel(execution.jobId!).catch(() => undefined);
          nextExecution = { ...nextExecution, session: undefined, operation: undefined, finished: true };
          return { status: { ...next, phase: 'FAILED', detail: 'The SQL Gateway session holding the results ended; the results are gone.' }, execution: nextExecution, exceptions };
        }
      }
    }
    if (execution.resubmitted && live.phase === 'RUNNING') {
      next.detail = `${execution.resubmitted} ${DETAIL.running}`;
    }
    return { status: next, execution: nextExecution, exceptions, requeueAfterMs: this.observeMs };
  }

  /** A job that ended, or that Flink no longer knows. */
  private async ended(statement: StatementWithEnvironment, shape: SqlShape, execution: Execution, status: StatementStatus, jm: JobManagerClient, state: JobState | 'MISSING'): Promise<Outcome> {
    const spec = statement.spec as StatementSpec;
    if (state === 'MISSING') {
      if (shape.sqlClass === 'insert' && !spec.stopped) {
        const why = `Flink lost the statement's job ${execution.jobId}; resubmitted ${execution.savepoint ? `from savepoint ${execution.savepoint}` : 'without state (it has no savepoint)'}.`;
        this.options.log.warn('statement job lost; resubmitting', { statement: `${statement.environment.name}/${statement.name}`, jobId: execution.jobId, savepoint: execution.savepoint ?? 'none' });
        return { status: { ...status, phase: 'PENDING', detail: why }, execution: { ...execution, jobId: undefined, resubmitted: why }, requeueAfterMs: 0 };
      }
      return { status: { ...status, phase: 'FAILED', detail: `Flink lost the statement's job ${execution.jobId}.` }, execution: { ...execution, finished: true }, requeueAfterMs: 0 };
    }
    const { exceptions, seenUntil } = await this.newExceptions(execution, jm);
    const finished: Execution = { ...execution, finished: true, ...(seenUntil ? { exceptionsSeenUntil: seenUntil } : {}) };
    if (state === 'FINISHED') return { status: { ...status, phase: 'COMPLETED', detail: DETAIL.completed }, execution: finished, exceptions, requeueAfterMs: 0 };
    if (state === 'FAILED') {
      const newest = exceptions.at(-1)?.message ?? (await this.options.store.statements.exceptions(statement.id))[0]?.message;
      return { status: { ...status, phase: 'FAILED', detail: newest ?? 'The statement\'s job failed.' }, execution: finished, exceptions, requeueAfterMs: 0 };
    }
    return { status: { ...status, phase: 'FAILED', detail: `The statement's job was ${state.toLowerCase()} outside drey.` }, execution: finished, exceptions, requeueAfterMs: 0 };
  }

  /**
   * Starts stopping a live job: with a savepoint for an INSERT (once its tasks run: a savepoint
   * needs them), a cancel for a query or a failing job (which cannot take one).
   */
  private async beginStop(shape: SqlShape, execution: Execution, status: StatementStatus, jm: JobManagerClient, reason: 'stop' | 'rescale', job: JobView): Promise<Outcome> {
    const jobId = execution.jobId!;
    const failing = job.state === 'FAILING' || job.state === 'RESTARTING';
    if (shape.sqlClass === 'query' || failing) {
      await cancelJob(jm, jobId);
      return { status, execution: { ...execution, stopping: { reason, jobId } }, requeueAfterMs: SOON_MS };
    }
    if (!job.tasksRunning) return { status, execution, requeueAfterMs: SOON_MS };
    const triggerId = await jm.stopWithSavepoint(jobId, { formatType: 'CANONICAL' });
    const detail = reason === 'stop' ? 'Stopping the statement with a savepoint.' : 'Rescaling: stopping the statement with a savepoint.';
    return { status: { ...status, detail }, execution: { ...execution, stopping: { reason, jobId, triggerId } }, requeueAfterMs: SOON_MS };
  }

  /** Follows a stop until the job has ended, keeping the savepoint it was stopped with. */
  private async continueStop(statement: StatementWithEnvironment, shape: SqlShape, execution: Execution, status: StatementStatus, jm: JobManagerClient): Promise<Outcome> {
    const stopping = execution.stopping!;
    let savepoint = execution.savepoint;
    let note = '';
    if (stopping.triggerId) {
      let result;
      try {
        result = await jm.savepointStatus(stopping.jobId, stopping.triggerId);
      } catch (err) {
        if (!(err instanceof FlinkError) || err.status !== 404) throw err;
        result = { status: 'FAILED' as const, message: 'Flink no longer knows the stop' };
      }
      if (result.status === 'IN_PROGRESS') return { status, execution, requeueAfterMs: SOON_MS };
      if (result.status === 'FAILED' && NOT_YET.test(result.message)) {
        // the tasks were still starting: ask again
        const triggerId = await jm.stopWithSavepoint(stopping.jobId, { formatType: 'CANONICAL' });
        return { status, execution: { ...execution, stopping: { ...stopping, triggerId } }, requeueAfterMs: SOON_MS };
      }
      if (result.status === 'COMPLETED') savepoint = result.location;
      else {
        note = ` The savepoint failed (${result.message}), so the job was cancelled${savepoint ? `; the statement resumes from the previous savepoint ${savepoint}` : ''}.`;
        await cancelJob(jm, stopping.jobId);
      }
    }
    const state = await jobState(jm, stopping.jobId);
    if (state !== 'MISSING' && !TERMINAL_JOB_STATES.includes(state)) return { status, execution: { ...execution, savepoint }, requeueAfterMs: SOON_MS };
    if (execution.session) await new SqlSession(this.options.engine.gateway!, execution.session).close().catch(() => undefined);
    const next: Execution = { ...execution, savepoint, stopping: undefined, jobId: undefined, session: undefined, operation: undefined, resubmitted: undefined };
    this.options.log.info('statement job stopped', { statement: `${statement.environment.name}/${statement.name}`, reason: stopping.reason, savepoint: savepoint ?? 'none' });
    if (stopping.reason === 'rescale') {
      const spec = statement.spec as StatementSpec;
      const detail = `Rescaling to parallelism ${spec.parallelism ?? 1}${shape.sqlClass === 'insert' && savepoint ? ` from savepoint ${savepoint}` : ''}.${note}`;
      return { status: { ...status, phase: 'PENDING', detail }, execution: next, requeueAfterMs: 0 };
    }
    return { status: stoppedStatus(status, next, note), execution: next, requeueAfterMs: 0 };
  }

  /**
   * A statement that does not run (stopped, or its run ended): its gateway session is closed and
   * its own cluster removed once nothing needs them (a finished query keeps both until its results
   * are read to the end).
   */
  private async release(statement: StatementWithEnvironment, shape: SqlShape, execution: Execution, status: StatementStatus): Promise<Outcome> {
    const spec = statement.spec as StatementSpec;
    const drained = statement.resultsDrainedAt !== null && statement.resultsDrainedAt.getTime() >= new Date(execution.submittedAt ?? 0).getTime();
    const resultsWanted = shape.sqlClass === 'query' && status.phase === 'COMPLETED' && !drained && !spec.stopped;
    if (resultsWanted) return { status, execution };
    let next = execution;
    if (next.session) {
      await new SqlSession(this.options.engine.gateway!, next.session).close().catch(() => undefined);
      next = { ...next, session: undefined, operation: undefined };
    }
    if (next.cluster) {
      const gone = await this.deleteClusters({ kind: 'statement', environment: statement.environment.name, name: statement.name });
      if (gone) return { status, execution: next, requeueAfterMs: gone.requeueAfterMs };
      next = { ...next, cluster: undefined };
    }
    return { status, execution: next };
  }

  /** Deletes a statement: cancels its job, closes its session, removes its cluster, then the row. */
  private async teardown(statement: StatementWithEnvironment, execution: Execution): Promise<ReconcileResult | void> {
    const { store, log, engine } = this.options;
    const jobId = execution.stopping?.jobId ?? execution.jobId;
    if (jobId && !execution.finished) {
      const pool = await store.computePools.get(statement.environmentId, statement.computePoolName);
      const endpoint = pool ? this.options.locate(this.clusterOf(statement, pool)) : undefined;
      if (endpoint && !('unavailable' in endpoint)) {
        const jm = this.jobManager(endpoint.restUrl);
        const state = await jobState(jm, jobId);
        if (state !== 'MISSING' && !TERMINAL_JOB_STATES.includes(state)) {
          await cancelJob(jm, jobId);
          return { requeueAfterMs: SOON_MS };
        }
      }
    }
    if (execution.session && engine.gateway) await new SqlSession(engine.gateway, execution.session).close().catch(() => undefined);
    const pending = await this.deleteClusters({ kind: 'statement', environment: statement.environment.name, name: statement.name });
    if (pending) return pending;
    await store.statements.remove(statement.id);
    log.info('statement deleted', { statement: `${statement.environment.name}/${statement.name}` });
  }

  /** Deletes an owner's session clusters; asks to come back while any are still going. */
  private async deleteClusters(owner: ClusterOwner): Promise<ReconcileResult | undefined> {
    const { deployments, log } = this.options;
    const found = (await deployments.list(ownerSelector(owner))).filter((d) => {
      const o = ownerOf(d);
      return o?.kind === owner.kind && o.environment === owner.environment && o.name === owner.name;
    });
    for (const d of found) {
      if (!d.metadata.deletionTimestamp) {
        await deployments.delete(d.metadata.namespace, d.metadata.name);
        log.info('deleted statement cluster', { namespace: d.metadata.namespace, name: d.metadata.name });
      }
    }
    return found.length ? { requeueAfterMs: 500 } : undefined;
  }

  /** Exceptions of the job newer than those recorded, oldest first. */
  private async newExceptions(execution: Execution, jm: JobManagerClient): Promise<{ exceptions: NewStatementException[]; seenUntil?: number }> {
    const seen = execution.exceptionsSeenUntil ?? 0;
    let entries;
    try {
      entries = (await jm.exceptions(execution.jobId!)).exceptionHistory.entries;
    } catch (err) {
      if (err instanceof FlinkError && err.status === 404) return { exceptions: [] };
      throw err;
    }
    const fresh = entries.filter((e) => e.timestamp > seen).sort((a, b) => a.timestamp - b.timestamp).slice(-10);
    if (fresh.length === 0) return { exceptions: [] };
    return {
      exceptions: fresh.map((e) => ({ id: randomUUID(), name: e.exceptionName, message: describeStackTrace(e.stacktrace), at: new Date(e.timestamp) })),
      seenUntil: fresh.at(-1)!.timestamp,
    };
  }

  /** Writes status, execution and exceptions when any of them changed. */
  private async record(statement: StatementWithEnvironment, outcome: Outcome): Promise<void> {
    const execution = JSON.parse(JSON.stringify(outcome.execution)) as Execution;
    const changed =
      canonicalJson(outcome.status) !== canonicalJson(statement.status) ||
      canonicalJson(execution) !== canonicalJson(statement.execution ?? { attempt: 0 }) ||
      (outcome.exceptions?.length ?? 0) > 0;
    if (!changed) return;
    await this.options.store.statements.recordObservation(statement.id, { status: outcome.status, execution, exceptions: outcome.exceptions, newRun: outcome.newRun }, now());
    statement.status = outcome.status as never;
    statement.execution = execution as never;
  }
}

/** The status of a stopped statement. */
function stoppedStatus(status: StatementStatus, execution: Execution, note = ''): StatementStatus {
  const savepoint = execution.savepoint;
  return { ...status, phase: 'STOPPED', detail: `Statement stopped${savepoint ? ` with savepoint ${savepoint}` : ''}.${note}` };
}

/** A job's state and whether its tasks all run, or MISSING when the JobManager does not know it. */
async function jobOf(jm: JobManagerClient, jobId: string): Promise<JobView> {
  try {
    const details = await jm.job(jobId);
    const counts = details['status-counts'] ?? {};
    const tasksRunning = Object.entries(counts).every(([state, n]) => n === 0 || state === 'RUNNING' || state === 'FINISHED');
    return { state: details.state, tasksRunning };
  } catch (err) {
    if (err instanceof FlinkError && err.status === 404) return { state: 'MISSING', tasksRunning: false };
    throw err;
  }
}

/** A job's state, or MISSING when the JobManager does not know it. */
async function jobState(jm: JobManagerClient, jobId: string): Promise<JobState | 'MISSING'> {
  try {
    return await jm.jobStatus(jobId);
  } catch (err) {
    if (err instanceof FlinkError && err.status === 404) return 'MISSING';
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
