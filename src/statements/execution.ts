import { isObject } from '../domain/objects.js';

/**
 * How a statement runs on Flink, as the statement controller records it (the `execution` column):
 * enough to find its cluster, gateway session and job again after a restart or a change of leader.
 */
export interface Execution {
  /** Runs started so far; each submission (first run, resume, rescale, resubmission) is a new one. */
  attempt: number;
  /** The FlinkDeployment drey made for this statement alone (DEDICATED pools). */
  cluster?: { namespace: string; name: string };
  /** The gateway session and operation of the current run (a query keeps them for its results). */
  session?: string;
  operation?: string;
  /** A submission was started and its operation may not be recorded yet. */
  submitting?: boolean;
  /** When the current run was submitted (ISO time). */
  submittedAt?: string;
  /** The Flink job of the current run. */
  jobId?: string;
  /** The time zone the current run's session shows TIMESTAMP_LTZ values in. */
  timeZone?: string;
  /** The parallelism the current run was submitted with. */
  parallelism?: number;
  /** A stop in progress, each step recorded before the next is taken. */
  stopping?: Stopping;
  /** The newest savepoint the statement was stopped with: the next run restores from it. */
  savepoint?: string;
  /** The current run ended and its outcome is recorded. */
  finished?: boolean;
  /** When the current run ended (ISO time): a finished query's results are kept for a while after. */
  finishedAt?: string;
  /** The timestamp of the newest job exception recorded (milliseconds). */
  exceptionsSeenUntil?: number;
  /** The job was resubmitted because Flink lost it (for the status detail). */
  resubmitted?: string;
}

/** A stop of a statement's job in progress. */
export interface Stopping {
  /** A stop (the statement goes STOPPED) or a rescale (it runs again at the new parallelism). */
  reason: 'stop' | 'rescale';
  jobId: string;
  /** When the stop was asked for (ISO time). */
  since: string;
  /** The stop-with-savepoint trigger, once asked for. */
  triggerId?: string;
  /** Where the savepoint went, once Flink said. */
  savepoint?: string;
  /** The job was cancelled instead (a query, a failing job, a failed savepoint). */
  cancelled?: boolean;
  /** Why, for the status detail. */
  note?: string;
}

/** The execution a statement row holds, or a fresh one. */
export function executionOf(value: unknown): Execution {
  return isObject(value) && typeof value.attempt === 'number' ? (value as unknown as Execution) : { attempt: 0 };
}
