import { randomUUID } from 'node:crypto';
import { now } from '../domain/time.js';
import { FlinkError } from '../flink/rest.js';
import { API_VERSION } from '../schemas/common.js';
import type { StatementSpec } from '../schemas/statement.js';
import { sqlShape, type SqlShape } from '../domain/sql.js';
import type { EnvironmentCatalogEntry } from '../store/catalogEntries.js';
import type { Environment } from '../store/environments.js';
import type { Store } from '../store/index.js';
import type { Statement } from '../store/statements.js';
import { Unmappable } from '../catalogs/avro.js';
import { createTopicTable, dropTopicTable, isDdlFailure, layoutOf, layoutQueries, mayChange, tableChange, type TableChange } from '../catalogs/ddl.js';
import { TopicExists } from '../catalogs/kafka.js';
import { catalogPlace, SessionCatalogs } from '../catalogs/view.js';
import type { StatementEngine } from './engine.js';
import { cmfRow, resultSchema, type CmfRow } from './rows.js';
import { currentCatalog, sessionProperties, sessionTimeZone, SqlRefused, type SqlSession, type SqlSessions } from './sessions.js';

/**
 * What CMF does with a statement before answering its POST: metadata and DDL statements run there
 * and then (COMPLETED with their rows, or FAILED with Flink's message); queries and INSERTs are
 * compiled, so that SQL Flink refuses is FAILED at once, and their traits are known; they stay
 * PENDING for the statement controller to run on a cluster.
 */

/** The details CMF puts in `status.detail`. */
export const DETAIL = {
  pending: 'Statement execution pending.',
  running: 'Statement execution in progress.',
  completed: 'Statement execution completed.',
  dryRun: 'Dry run: the statement is valid; nothing was run or kept (sql.dry-run is true).',
} as const;

/** `status.traits` as CMF serves it. */
export interface StatementTraits {
  sqlKind: string;
  isBounded?: boolean;
  isAppendOnly?: boolean;
  upsertColumns?: number[];
  schema?: ReturnType<typeof resultSchema>;
}

/** A statement's status. */
export interface StatementStatus {
  phase: string;
  detail?: string;
  traits?: StatementTraits;
  [other: string]: unknown;
}

/** The `result` of a statement answered at creation. */
export interface InlineResult {
  apiVersion: string;
  kind: 'StatementResult';
  metadata: { creationTimestamp: string; annotations: Record<string, string> };
  results: { data: CmfRow[] };
}

/** What preparing a statement decided. */
export interface Prepared {
  status: StatementStatus;
  result?: InlineResult;
  /** DDL that changed the environment's catalog, to keep for later sessions. */
  catalogEntry?: { statement: string; catalog: string | null; database: string | null };
}

/** Whether a statement's status shows it was prepared (compiled or run) already. */
export function isPrepared(status: unknown): boolean {
  return typeof status === 'object' && status !== null && 'traits' in status;
}

/** Whether the statement only asks to be checked (`sql.dry-run`), not run. */
function isDryRun(spec: StatementSpec): boolean {
  return String((spec.properties as Record<string, string> | undefined)?.['sql.dry-run'] ?? '').toLowerCase() === 'true';
}

function failed(shape: SqlShape, detail: string): Prepared {
  return { status: { phase: 'FAILED', detail, traits: { sqlKind: shape.sqlKind } } };
}

/**
 * Whether a query or INSERT only reads bounded sources: the planner accepts it in batch mode then,
 * and refuses it ("unbounded ... batch mode") otherwise.
 */
async function isBounded(session: SqlSession, text: string): Promise<boolean> {
  try {
    await session.run(`EXPLAIN ${text}`, { 'execution.runtime-mode': 'batch' });
    return true;
  } catch (err) {
    if (err instanceof SqlRefused) return false;
    throw err;
  }
}

/**
 * Whether the statement's result is append-only, from `EXPLAIN CHANGELOG_MODE`: the changelog
 * mode of the plan's top node below any sink is `[I]`.
 */
export function appendOnlyFromPlan(plan: string): boolean | undefined {
  const section = plan.split('== Optimized Physical Plan ==')[1]?.split('\n== ')[0] ?? '';
  const top = section
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '' && !l.startsWith('Sink(') && l.includes('changelogMode='));
  const mode = top && /changelogMode=\[([^\]]*)\]/.exec(top)?.[1];
  return mode === undefined ? undefined : mode === 'I';
}

/** The session's built-in catalog and database, where names without them are resolved by default. */
function homeCatalog(properties: Record<string, string>): { catalog: string; database: string } {
  return { catalog: properties['table.builtin-catalog-name'] || 'default_catalog', database: properties['table.builtin-database-name'] || 'default_database' };
}

/**
 * Makes a Kafka catalog's topic and subjects follow a CREATE or DROP TABLE Flink accepted in the
 * session: a new table's topic is created with subjects from its columns (read back from the
 * session), a dropped one's deleted. Returns what went wrong, naming the table.
 */
async function applyTableChange(session: SqlSession, change: TableChange, existed: boolean, catalogs: SessionCatalogs): Promise<string | undefined> {
  const { db, table } = change;
  try {
    if (change.action === 'create' && !existed) {
      const queries = layoutQueries(db, table);
      // read as Flink says it (masking would garble a column named like a secret's username); the table holds no secret
      const described = await session.run(queries.describe, undefined, { unmasked: true });
      const created = await session.run(queries.showCreate, undefined, { unmasked: true });
      try {
        await createTopicTable(db, table, layoutOf(described.rows.map((r) => r.fields), String(created.rows[0]?.fields[0] ?? '')));
      } catch (err) {
        // IF NOT EXISTS of a topic the listing did not show yet
        if (!(change.lenient && err instanceof TopicExists)) throw err;
      }
    } else if (change.action === 'drop' && existed) {
      await dropTopicTable(db, table, catalogs.databases.filter((d) => d.catalog === db.catalog && d.database !== db.database));
    }
    return undefined;
  } catch (err) {
    if (!isDdlFailure(err)) throw err;
    return `${catalogPlace(db.catalog, db.database, table)}: ${err.message}`;
  } finally {
    catalogs.forget(db);
  }
}

/** Prepares statements in sessions that hold the environment's catalog. */
export class StatementPreparer {
  constructor(private readonly sessions: SqlSessions) {}

  /**
   * Prepares one statement: refuses what drey does not run, runs metadata and DDL, compiles
   * queries and INSERTs. Throws only when the gateway cannot be reached (the statement then waits).
   */
  async prepare(env: Environment, spec: StatementSpec, entries: EnvironmentCatalogEntry[], at: Date, catalogs = SessionCatalogs.none): Promise<Prepared> {
    const shape = sqlShape(spec.statement);
    if (shape.refused) return failed(shape, shape.refused);
    const current = currentCatalog(spec);
    const properties = sessionProperties(env, spec, shape.mode);
    let change: TableChange | undefined;
    try {
      change = shape.sqlClass === 'ddl' ? tableChange(shape.text, current, catalogs.databases, homeCatalog(properties)) : undefined;
    } catch (err) {
      if (err instanceof Unmappable) return failed(shape, err.message);
      throw err;
    }
    if (change && !mayChange(env.name, change.db)) {
      const { catalog, database } = change.db;
      return failed(shape, `Environment '${env.name}' may not create or drop tables in ${catalogPlace(catalog, database)}: it is not in the database's ddlEnvironments.`);
    }
    let session: SqlSession;
    try {
      session = await this.sessions.open(properties, entries, current, catalogs, shape.text);
    } catch (err) {
      if (err instanceof SqlRefused) return failed(shape, err.message);
      throw err;
    }
    try {
      if (shape.sqlClass === 'query' || shape.sqlClass === 'insert') return await this.compile(session, shape, spec);
      // a dry run of DDL runs in this session only (it is thrown away): nothing is kept
      const dryRun = isDryRun(spec);
      const existed = change !== undefined && catalogs.has(change.db, change.table);
      const answer = await session.run(shape.text);
      if (change && !dryRun) {
        const problem = await applyTableChange(session, change, existed, catalogs);
        if (problem) return failed(shape, catalogs.redactor.redact(problem));
      }
      const result: InlineResult = {
        apiVersion: API_VERSION,
        kind: 'StatementResult',
        metadata: { creationTimestamp: at.toISOString(), annotations: {} },
        results: { data: answer.rows.map((row) => cmfRow(row, answer.columns, sessionTimeZone(properties))) },
      };
      return {
        status: {
          phase: 'COMPLETED',
          detail: dryRun ? DETAIL.dryRun : DETAIL.completed,
          traits: { sqlKind: shape.sqlKind, isBounded: true, isAppendOnly: true, schema: resultSchema(answer.columns) },
        },
        result,
        // a Kafka catalog's table lives in Kafka and the registry, not in the environment's catalog
        ...(shape.changesCatalog && !dryRun && !change ? { catalogEntry: { statement: shape.text, catalog: current.catalog ?? null, database: current.database ?? null } } : {}),
      };
    } catch (err) {
      if (err instanceof SqlRefused) return failed(shape, err.message);
      throw err;
    } finally {
      await session.close().catch(() => undefined);
    }
  }

  private async compile(session: SqlSession, shape: SqlShape, spec: StatementSpec): Promise<Prepared> {
    let explained;
    try {
      // the statement on a line of its own: Flink's columns are then the statement's own, and its lines one more
      explained = await session.run(`EXPLAIN CHANGELOG_MODE\n${shape.text}`);
    } catch (err) {
      if (err instanceof SqlRefused) throw new SqlRefused(err.message.replace(/\bline (\d+)/g, (_, n: string) => `line ${Number(n) - 1}`));
      throw err;
    }
    const plan = explained.rows.map((r) => String(r.fields[0] ?? '')).join('\n');
    const traits: StatementTraits = { sqlKind: shape.sqlKind, isBounded: await isBounded(session, shape.text) };
    const appendOnly = appendOnlyFromPlan(plan);
    if (appendOnly !== undefined) traits.isAppendOnly = appendOnly;
    if (isDryRun(spec)) return { status: { phase: 'COMPLETED', detail: DETAIL.dryRun, traits } };
    return { status: { phase: 'PENDING', detail: DETAIL.pending, traits } };
  }
}

/**
 * The Kafka catalogs a statement's session holds in its environment: every catalog and database it
 * sees, and in the catalogs the statement (or an environment catalog entry) names or is in, the
 * tables they name (every table for SHOW).
 */
export async function sessionCatalogs(engine: StatementEngine, environmentId: string, spec: StatementSpec, entries: EnvironmentCatalogEntry[]): Promise<SessionCatalogs> {
  if (!engine.catalogs) return SessionCatalogs.none;
  const shape = sqlShape(spec.statement);
  return engine.catalogs.forSession(environmentId, [shape.text, ...entries.map((e) => e.statement)], shape.keyword === 'SHOW', currentCatalog(spec));
}

/**
 * Prepares a stored statement and records the outcome (with the environment catalog's new entry),
 * for the API at POST and for the controller later. A gateway that cannot be reached leaves it
 * waiting, saying so without its address, and is returned with the row; anything else is thrown.
 */
export async function prepareStatement(
  store: Store,
  engine: StatementEngine,
  env: Environment,
  statement: Statement,
): Promise<{ statement: Statement; waiting?: FlinkError }> {
  if (!engine.preparer) {
    return { statement: await store.statements.recordWaiting(statement.id, `Waiting for a SQL Gateway: ${engine.unavailable}.`, now()) };
  }
  const at = now();
  try {
    const spec = statement.spec as StatementSpec;
    const entries = await store.catalogEntries.list(env.id);
    const prepared = await engine.preparer.prepare(env, spec, entries, at, await sessionCatalogs(engine, env.id, spec, entries));
    const entry = prepared.catalogEntry && { id: randomUUID(), environmentId: env.id, statementName: statement.name, ...prepared.catalogEntry, at };
    return { statement: await store.statements.recordPrepared(statement.id, prepared, entry, at) };
  } catch (err) {
    if (!(err instanceof FlinkError)) throw err;
    const why = err.status === 0 ? 'it does not answer' : `it answered HTTP ${err.status}`;
    const waiting = await store.statements.recordWaiting(statement.id, `Waiting for the SQL Gateway: ${why}; the statement is prepared once it does.`, now());
    return { statement: waiting, waiting: err };
  }
}
