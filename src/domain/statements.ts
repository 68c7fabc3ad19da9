import { randomUUID } from 'node:crypto';
import { API_VERSION } from '../schemas/common.js';
import {
  statementSchema,
  statementUpdateSchema,
  STATEMENT_KIND,
  type StatementBody,
  type StatementSpec,
} from '../schemas/statement.js';
import { compileValidator } from '../schemas/validate.js';
import type { Environment } from '../store/environments.js';
import type { Store } from '../store/index.js';
import type { Statement, StatementException } from '../store/statements.js';
import type { StatementEngine } from '../statements/engine.js';
import { executionOf } from '../statements/execution.js';
import { DETAIL, isPrepared, prepareStatement } from '../statements/prepare.js';
import { PageTokens } from '../statements/tokens.js';
import { requireEnvironment } from './environments.js';
import { metadataOut, withEnvelope } from './envelope.js';
import { BadRequest, Gone, NotFound, Unprocessable } from './errors.js';
import { canonicalJson, isObject, type JsonObject } from './objects.js';
import { pageBody, type PageRequest } from './paging.js';
import { retryOnRace } from './retry.js';
import { StaleWrite } from '../store/errors.js';
import { sqlShape } from './sql.js';
import { now } from './time.js';

const validateCreate = compileValidator<StatementBody>(statementSchema);
const validateUpdate = compileValidator<StatementBody>(statementUpdateSchema);

/** Statement phases, as CMF names them. */
export const PHASES = ['PENDING', 'RUNNING', 'COMPLETED', 'DELETING', 'FAILING', 'FAILED', 'STOPPED'] as const;

/** Spec fields fixed at creation: changing them means a new statement. */
const IMMUTABLE: (keyof StatementSpec)[] = ['statement', 'computePoolName'];

/**
 * The environment's `statementDefaults.<mode>.flinkConfiguration` merged into the statement's,
 * the environment winning on a conflict (CMF gives environment settings precedence).
 */
function withDefaults(env: Environment, spec: StatementSpec): StatementSpec {
  const mode = sqlShape(spec.statement).mode;
  const defaults = isObject(env.statementDefaults) ? env.statementDefaults[mode] : undefined;
  const config = isObject(defaults) && isObject(defaults.flinkConfiguration) ? defaults.flinkConfiguration : {};
  return { ...spec, flinkConfiguration: { ...(spec.flinkConfiguration ?? {}), ...(config as Record<string, string>) } };
}

/** A statement as the API returns it. */
export function statementOut(statement: Statement): JsonObject {
  return {
    apiVersion: statement.apiVersion,
    kind: statement.kind,
    metadata: metadataOut(statement),
    spec: statement.spec,
    status: statement.status,
    ...(statement.result !== null ? { result: statement.result } : {}),
  };
}

function exceptionOut(exception: StatementException): JsonObject {
  return {
    apiVersion: API_VERSION,
    kind: 'StatementException',
    name: exception.name,
    message: exception.message,
    timestamp: exception.createdAt.toISOString(),
  };
}

/** Parses the `phase` list filter: CMF's lower-case values, accepted in any case. */
export function parsePhase(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const phase = value.toUpperCase();
  if (!(PHASES as readonly string[]).includes(phase)) {
    throw new BadRequest(`Query parameter 'phase' must be one of ${PHASES.map((p) => p.toLowerCase()).join(', ')}`);
  }
  return phase.toLowerCase();
}

/** What a DELETE did: removed at once, or accepted while the statement's job and cluster go. */
export type Deletion = 'deleted' | 'accepted';

/** The status a statement is created with, before it is prepared. */
function initialStatus(engine: StatementEngine | undefined): { phase: string; detail: string } {
  const why = engine?.unavailable ?? (engine ? undefined : 'no SQL Gateway is configured');
  return { phase: 'PENDING', detail: why ? `Waiting for a SQL Gateway: ${why}.` : DETAIL.pending };
}

function resultsPage(statement: Statement, data: unknown[], nextPageToken?: string): JsonObject {
  return {
    apiVersion: API_VERSION,
    kind: 'StatementResult',
    metadata: { creationTimestamp: statement.createdAt.toISOString(), annotations: nextPageToken ? { nextPageToken } : {} },
    results: { data },
  };
}

/** Statement use cases; `engine` reaches the SQL Gateway (statements wait without one). */
export function statements(store: Store, engine?: StatementEngine) {
  let tokens: Promise<PageTokens> | undefined;
  const pageTokens = () => (tokens ??= store.serverKeys.get('statement-result-page-tokens').then((key) => new PageTokens(key)).catch((err: unknown) => {
    tokens = undefined;
    throw err;
  }));

  async function requireStatement(envName: string, name: string): Promise<{ env: Environment; statement: Statement }> {
    const env = await requireEnvironment(store, envName);
    const statement = await store.statements.get(env.id, name);
    if (!statement) throw new NotFound(`Statement '${name}' not found in environment '${envName}'`);
    return { env, statement };
  }

  /**
   * Prepares a new statement as CMF does before answering: metadata and DDL run, queries and
   * INSERTs compile. A gateway that cannot be reached leaves it PENDING, saying why, for the
   * statement controller to prepare later.
   */
  async function prepare(env: Environment, statement: Statement): Promise<Statement> {
    if (!engine?.preparer) return statement;
    return (await prepareStatement(store, engine, env, statement)).statement;
  }

  return {
    async create(envName: string, body: JsonObject): Promise<JsonObject> {
      const env = await requireEnvironment(store, envName);
      const post = validateCreate(withEnvelope(body, STATEMENT_KIND));
      const statement = await store.statements.create({
        id: randomUUID(),
        environmentId: env.id,
        name: post.metadata.name,
        apiVersion: post.apiVersion,
        kind: post.kind,
        labels: post.metadata.labels ?? null,
        annotations: post.metadata.annotations ?? null,
        computePoolName: post.spec.computePoolName,
        spec: withDefaults(env, { ...post.spec, parallelism: post.spec.parallelism ?? 1, stopped: post.spec.stopped ?? false }),
        status: initialStatus(engine),
        at: now(),
      });
      return statementOut(await prepare(env, statement));
    },

    /**
     * Updates a statement: the Confluent CLI stops, resumes and rescales by PUTting the spec it
     * read back with `stopped` or `parallelism` changed. The SQL and the pool cannot change.
     */
    async update(envName: string, name: string, body: JsonObject): Promise<void> {
      const put = validateUpdate(withEnvelope(body, STATEMENT_KIND));
      if (put.metadata.name !== name) {
        throw new Unprocessable(`metadata.name '${put.metadata.name}' does not match the statement '${name}' in the path`);
      }
      await retryOnRace(async () => {
        const { env, statement } = await requireStatement(envName, name);
        const stored = statement.spec as StatementSpec;
        for (const field of IMMUTABLE) {
          if (put.spec[field] !== stored[field]) {
            throw new Unprocessable(`spec.${field} cannot be changed; create a new statement instead`);
          }
        }
        const spec = withDefaults(env, { ...stored, ...put.spec });
        const labels = put.metadata.labels ?? statement.labels;
        const annotations = put.metadata.annotations ?? statement.annotations;
        if (canonicalJson([spec, labels, annotations]) === canonicalJson([stored, statement.labels, statement.annotations])) {
          return statement;
        }
        return store.statements.update(statement, { spec, labels, annotations }, now());
      });
    },

    async get(envName: string, name: string): Promise<JsonObject> {
      return statementOut((await requireStatement(envName, name)).statement);
    },

    async list(envName: string, filter: { computePoolName?: string; phase?: string }, page: PageRequest): Promise<JsonObject> {
      const env = await requireEnvironment(store, envName);
      const result = await store.statements.list(env.id, filter, page);
      return pageBody(page, { items: result.items.map(statementOut), total: result.total });
    },

    /**
     * Deletes a statement: at once when it holds nothing on Flink, else it turns DELETING (202)
     * and goes once the controller has cancelled its job and removed its cluster and session.
     */
    async delete(envName: string, name: string): Promise<Deletion> {
      return retryOnRace(async () => {
        const { statement } = await requireStatement(envName, name);
        if (statement.deletionRequestedAt) return 'accepted';
        const execution = executionOf(statement.execution);
        const holds = execution.cluster || execution.session || execution.submitting || (execution.jobId && !execution.finished);
        if (!holds) {
          if (await store.statements.deleteIfUnchanged(statement)) return 'deleted';
          throw new StaleWrite(`Statement '${name}'`);
        }
        await store.statements.requestDeletion(statement, now());
        return 'accepted';
      });
    },

    /**
     * Results of a statement that returns rows, a page at a time. Metadata statements answer their
     * rows in one complete page. A query's pages come from its gateway session as they are asked
     * for; every page but the last carries `nextPageToken`, empty pages included. Statements that
     * return no rows answer 400; results of an earlier run, or that the gateway no longer holds, 410.
     */
    async results(envName: string, name: string, pageToken: string | undefined): Promise<JsonObject> {
      const { statement } = await requireStatement(envName, name);
      const shape = sqlShape((statement.spec as StatementSpec).statement);
      if (!shape.returnsRows) throw new BadRequest(`Statement '${name}' does not return results`);
      const position = pageToken ? (await pageTokens()).read(statement.id, pageToken) : undefined;
      const status = statement.status as { phase: string; traits?: { schema?: unknown } };
      if (shape.sqlClass !== 'query') {
        const result = statement.result as { results?: { data?: unknown[] } } | null;
        if (result || isPrepared(status)) return resultsPage(statement, result?.results?.data ?? []);
        return resultsPage(statement, [], (await pageTokens()).issue(statement.id, { attempt: 0, offset: 0 }));
      }
      const execution = executionOf(statement.execution);
      // a token issued before the run started names the run to come
      const started = execution.submitting || execution.operation || execution.jobId ? execution.attempt : execution.attempt + 1;
      const attempt = position?.attempt ?? started;
      if (attempt !== execution.attempt && attempt !== started) {
        throw new Gone(`Results are gone: statement '${name}' was restarted since this page-token was issued`);
      }
      const offset = position?.offset ?? 0;
      if (statement.resultsOffset !== null && offset < statement.resultsOffset - 1) {
        throw new Gone(`Results are gone: this page of statement '${name}' was read and released already`);
      }
      const reader = engine?.reader;
      if (attempt !== execution.attempt || !execution.session || !execution.operation || !status.traits?.schema || !reader) {
        if (['PENDING', 'RUNNING'].includes(status.phase) && !execution.finished) {
          return resultsPage(statement, [], (await pageTokens()).issue(statement.id, { attempt, offset }));
        }
        throw new Gone(`Results are gone: statement '${name}' is ${status.phase.toLowerCase()} and holds no results`);
      }
      const page = await reader.page(execution.session, execution.operation, offset, execution.timeZone);
      if (page === 'gone') throw new Gone(`Results are gone: the SQL Gateway no longer holds this page of statement '${name}'`);
      if (statement.resultsOffset === null || page.at > statement.resultsOffset) await store.statements.markResultsServed(statement.id, page.at);
      if (page.next === undefined) {
        await store.statements.markResultsDrained(statement.id, new Date(execution.submittedAt ?? 0), now());
        return resultsPage(statement, page.rows);
      }
      return resultsPage(statement, page.rows, (await pageTokens()).issue(statement.id, { attempt, offset: page.next }));
    },

    async exceptions(envName: string, name: string): Promise<JsonObject> {
      const { statement } = await requireStatement(envName, name);
      const rows = await store.statements.exceptions(statement.id);
      return { apiVersion: API_VERSION, kind: 'StatementExceptionList', data: rows.map(exceptionOut) };
    },
  };
}
