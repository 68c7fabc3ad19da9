import { setTimeout as sleep } from 'node:timers/promises';
import { isObject } from '../domain/objects.js';
import { FlinkError } from '../flink/rest.js';
import type { ColumnInfo, RowDataJson, SqlGatewayClient } from '../flink/sqlGateway.js';
import type { Logger } from '../log.js';
import { refusalFor } from '../catalogs/guard.js';
import { catalogPlace, Redactor, SessionCatalogs } from '../catalogs/view.js';
import type { StatementSpec } from '../schemas/statement.js';
import type { EnvironmentCatalogEntry } from '../store/catalogEntries.js';
import type { Environment } from '../store/environments.js';

/**
 * SQL Gateway sessions for statements. A session is disposable: it is opened with the statement's
 * configuration, brought to the environment's catalog state by replaying the DDL kept in Postgres,
 * used, and closed. Nothing a later statement needs lives only in a session.
 */

/** Where a session's jobs go: the JobManager REST endpoint of the statement's Flink cluster. */
export interface ClusterTarget {
  address: string;
  port: number;
}

/** `spec.properties` keys the Confluent CLI sets that are not Flink options, and what they stand for. */
const CONTEXT_PROPERTIES = new Set(['sql.current-catalog', 'sql.current-database']);
/** Confluent's names for Flink options (the CLI forwards them from `SET`). */
const PROPERTY_ALIASES: Record<string, string> = {
  'sql.local-time-zone': 'table.local-time-zone',
  'sql.state-ttl': 'table.exec.state.ttl',
  'sql.tables.scan.idle-timeout': 'table.exec.source.idle-timeout',
};

function stringMap(value: unknown): Record<string, string> {
  if (!isObject(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** The environment's `statementDefaults.<mode>.flinkConfiguration`. */
export function environmentDefaults(env: Pick<Environment, 'statementDefaults'>, mode: 'interactive' | 'detached'): Record<string, string> {
  const defaults = isObject(env.statementDefaults) ? env.statementDefaults[mode] : undefined;
  return isObject(defaults) ? stringMap(defaults.flinkConfiguration) : {};
}

/**
 * A statement's session properties, from the weakest to the strongest: the statement's
 * `flinkConfiguration`; its `properties` (what the user `SET` in the shell, Confluent's names
 * translated); the environment's statement defaults for its mode (the environment wins, as for
 * applications); `spec.parallelism` as `parallelism.default` (the statement's own knob, which the
 * CLI's rescale turns); and what drey owns (the cluster the jobs go to, the savepoint to restore,
 * the job's name).
 */
export function sessionProperties(
  env: Pick<Environment, 'statementDefaults'>,
  spec: StatementSpec,
  mode: 'interactive' | 'detached',
  owned: Record<string, string> = {},
): Record<string, string> {
  const properties: Record<string, string> = {};
  for (const [key, value] of Object.entries(stringMap(spec.properties))) {
    if (CONTEXT_PROPERTIES.has(key) || key.startsWith('client.')) continue;
    properties[PROPERTY_ALIASES[key] ?? key] = value;
  }
  return {
    ...stringMap(spec.flinkConfiguration),
    ...properties,
    ...environmentDefaults(env, mode),
    ...(spec.parallelism !== undefined ? { 'parallelism.default': String(spec.parallelism) } : {}),
    ...owned,
  };
}

/**
 * The time zone a session shows TIMESTAMP_LTZ values in: its `table.local-time-zone`, or where that
 * is Flink's `default`, the zone of the machine (local Flink's gateway shares drey's).
 */
export function sessionTimeZone(properties: Record<string, string>): string {
  const zone = properties['table.local-time-zone'];
  return zone && zone !== 'default' ? zone : Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** The properties that send a session's jobs to a cluster. */
export function targetProperties(target: ClusterTarget): Record<string, string> {
  return { 'execution.target': 'remote', 'rest.address': target.address, 'rest.port': String(target.port) };
}

/** The catalog and database a statement asked for (`sql.current-catalog`, `sql.current-database`). */
export function currentCatalog(spec: StatementSpec): { catalog?: string; database?: string } {
  const properties = stringMap(spec.properties);
  return { catalog: properties['sql.current-catalog'] || undefined, database: properties['sql.current-database'] || undefined };
}

/** What a statement run to its end in a session answered. */
export interface SessionResult {
  columns: ColumnInfo[];
  rows: RowDataJson[];
  jobId?: string;
}

/** A Flink identifier in back quotes. */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** A statement Flink refused, with Flink's own message. */
export class SqlRefused extends Error {}

/** A gateway session and the operations drey runs in it. */
export class SqlSession {
  constructor(
    readonly gateway: SqlGatewayClient,
    readonly handle: string,
    /** Masks the environment's secret values in what Flink answers. */
    readonly redactor: Redactor = new Redactor([]),
  ) {}

  /**
   * Runs a statement to its end and returns every row (DDL and metadata answer at once). Flink's
   * refusal is a SqlRefused with its message; a gateway that cannot be reached is a FlinkError.
   */
  async run(sql: string, executionConfig?: Record<string, string>, options: { unmasked?: boolean } = {}): Promise<SessionResult> {
    try {
      const operation = await this.gateway.executeStatement(this.handle, sql, { executionConfig });
      const result = await this.collect(operation);
      if (!this.redactor.empty && !options.unmasked) result.rows = result.rows.map((row) => ({ ...row, fields: row.fields.map((f) => this.redactValue(f)) }));
      return result;
    } catch (err) {
      if (err instanceof SqlRefused) throw new SqlRefused(this.redactor.redact(err.message));
      throw err;
    }
  }

  private redactValue(value: unknown): unknown {
    if (typeof value === 'string') return this.redactor.redact(value);
    if (Array.isArray(value)) return value.map((v) => this.redactValue(v));
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.redactValue(v)]));
    return value;
  }

  /** Every row of an operation, until its end. */
  async collect(operation: string): Promise<SessionResult> {
    const result: SessionResult = { columns: [], rows: [] };
    for (let token = 0, idle = 0; ; ) {
      let page;
      try {
        page = await this.gateway.fetchResults(this.handle, operation, token, { rowFormat: 'JSON', numbers: 'text' });
      } catch (err) {
        throw refusal(err);
      }
      if (page.columns.length > 0) result.columns = page.columns;
      result.jobId ??= page.jobID;
      result.rows.push(...page.rows);
      if (page.resultType === 'EOS') return result;
      if (page.nextToken === undefined) throw new FlinkError(0, `results of operation ${operation} ended without a next token`);
      token = page.nextToken;
      if (page.resultType === 'NOT_READY' || page.rows.length === 0) await sleep(Math.min(200, 5 * 2 ** Math.min(idle++, 6)));
      else idle = 0;
    }
  }

  /** Closes the session; one the gateway no longer knows is closed already. */
  async close(): Promise<void> {
    try {
      await this.gateway.closeSession(this.handle);
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }
}

/** The gateway's words for a session or operation it no longer holds (Flink 2.3). */
const GONE = /Session '[^']*' does not exist|Can not find the submitted operation/;

/** Whether a gateway error says the session or operation no longer exists. */
export function isGone(err: unknown): boolean {
  return err instanceof FlinkError && (err.status === 404 || GONE.test(err.message) || err.errors.some((e) => GONE.test(e)));
}

/**
 * A gateway error that is Flink's answer to the SQL (an error body) rather than a transport
 * failure becomes a SqlRefused carrying Flink's message.
 */
export function refusal(err: unknown): unknown {
  if (err instanceof FlinkError && err.status >= 400 && err.status < 600 && !isGone(err)) return new SqlRefused(sqlErrorMessage(err));
  return err;
}

/** The gateway's own wrappers around the error that matters. */
const WRAPPER = /SqlGatewayException|Failed to (fetchResults|executeStatement|execute the operation)|Internal server error|<Exception on server side/;

/** A Java exception line without its fully qualified class name. */
function withoutClass(line: string): string {
  return line.replace(/^Caused by: /, '').replace(/^([a-zA-Z_$][\w$]*\.)+[\w$]*(Exception|Error|Throwable): /, '');
}

/**
 * What Flink says about a statement, in one line: the first exception of the server's stack trace
 * that is not the gateway's wrapping, and the deepest cause when that says something more
 * (`SQL validation failed. From line 1, column 15 to line 1, column 27: Object 'x' not found`).
 */
export function sqlErrorMessage(err: FlinkError): string {
  const lines = err.errors.join('\n').split('\n').map((l) => l.trim());
  const exceptions = lines.filter((l) => !l.startsWith('at ') && !l.startsWith('...') && /^(Caused by: )?([a-zA-Z_$][\w$]*\.)+[\w$]*(Exception|Error|Throwable)(: |$)/.test(l));
  const first = exceptions.find((l) => !WRAPPER.test(l));
  if (!first) return err.message;
  // Flink repeats the first sentence where it wraps its own exception: say it once
  const head = withoutClass(first).replace(/^(.+?\. )\1/, '$1');
  const deepest = withoutClass(exceptions.at(-1)!);
  return deepest && !head.includes(deepest) ? `${head} (caused by ${deepest})` : head;
}

/** Opens sessions that hold an environment's catalog. */
export class SqlSessions {
  constructor(private readonly options: { gateway: SqlGatewayClient; log: Logger }) {}

  get gateway(): SqlGatewayClient {
    return this.options.gateway;
  }

  /**
   * Opens a session with `properties`; creates the environment's Kafka catalogs in it (a part Flink
   * refuses becomes one of the catalogs' problems); refuses a statement `text` that would misuse a
   * Kafka catalog (guard.ts) and fails one that runs into a catalog's problem; replays the environment's catalog entries, each in the catalog and database
   * it ran in (an entry that no longer runs is skipped and logged: it fails in every session alike);
   * and makes the statement's catalog and database current. A failure closes the session again.
   */
  async open(
    properties: Record<string, string>,
    entries: EnvironmentCatalogEntry[],
    current: { catalog?: string; database?: string },
    catalogs: SessionCatalogs = SessionCatalogs.none,
    text = '',
  ): Promise<SqlSession> {
    const session = new SqlSession(this.gateway, await this.gateway.openSession({ properties }), catalogs.redactor);
    const home = { catalog: properties['table.builtin-catalog-name'] || 'default_catalog', database: properties['table.builtin-database-name'] || 'default_database' };
    try {
      for (const part of catalogs.statements) {
        try {
          await session.run(part.sql);
        } catch (err) {
          if (!(err instanceof SqlRefused)) throw err;
          catalogs.problems.push({ ...part, message: `${catalogPlace(part.catalog, part.database, part.table)}: Flink refused it: ${err.message}` });
        }
      }
      const refused = refusalFor(text, catalogs.catalogNames, current, home.catalog);
      if (refused) throw new SqlRefused(refused);
      const problem = catalogs.problemFor([text], current);
      if (problem) throw new SqlRefused(problem);
      let at: Position | undefined = home;
      for (const entry of entries) {
        try {
          at = await this.use(session, at, home, { catalog: entry.catalog, database: entry.database });
          await session.run(entry.statement);
        } catch (err) {
          if (!(err instanceof SqlRefused)) throw err;
          at = undefined; // where a half-done USE left the session is not known
          this.options.log.warn('environment catalog: an entry no longer runs; skipped', { statement: entry.statementName, error: err.message });
        }
      }
      await this.use(session, at, home, { catalog: current.catalog ?? null, database: current.database ?? null });
      return session;
    } catch (err) {
      await session.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Makes a catalog and database current, where the session is not there already (`at`, or
   * unknown). No database means the catalog's default one: Flink moves there only when the catalog
   * changes, so a session already in that catalog leaves it through the home catalog and back.
   */
  private async use(session: SqlSession, at: Position | undefined, home: Position, to: { catalog?: string | null; database?: string | null }): Promise<Position> {
    const catalog = to.catalog ?? home.catalog;
    const database = to.database ?? (catalog === home.catalog ? home.database : undefined);
    if (at && at.catalog === catalog && (database === undefined ? at.database === undefined : at.database === database)) return at;
    if (!at || at.catalog !== catalog) {
      // from an unknown place into a catalog's default database: through the home catalog, so that the catalog changes
      if (!at && database === undefined) await session.run(`USE CATALOG ${quoteIdentifier(home.catalog)}`);
      await session.run(`USE CATALOG ${quoteIdentifier(catalog)}`);
    } else if (database === undefined) {
      await session.run(`USE CATALOG ${quoteIdentifier(home.catalog)}`);
      await session.run(`USE CATALOG ${quoteIdentifier(catalog)}`);
    }
    if (database !== undefined) await session.run(`USE ${quoteIdentifier(database)}`);
    return { catalog, database };
  }
}

/** A session's current catalog and database; no database: the catalog's default. */
interface Position {
  catalog: string;
  database?: string;
}
