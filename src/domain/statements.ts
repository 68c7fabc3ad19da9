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
import { requireEnvironment } from './environments.js';
import { metadataOut, withEnvelope } from './envelope.js';
import { BadRequest, NotFound, Unprocessable } from './errors.js';
import { canonicalJson, isObject, type JsonObject } from './objects.js';
import { pageBody, type PageRequest } from './paging.js';
import { retryOnRace } from './retry.js';
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

/** Statement use cases. */
export function statements(store: Store) {
  async function requireStatement(envName: string, name: string): Promise<{ env: Environment; statement: Statement }> {
    const env = await requireEnvironment(store, envName);
    const statement = await store.statements.get(env.id, name);
    if (!statement) throw new NotFound(`Statement '${name}' not found in environment '${envName}'`);
    return { env, statement };
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
        status: { phase: 'PENDING' },
        at: now(),
      });
      return statementOut(statement);
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

    async delete(envName: string, name: string): Promise<void> {
      await store.statements.delete((await requireStatement(envName, name)).statement);
    },

    /**
     * Results of a statement that returns rows. The rows arrive with execution; until then the
     * result is empty. Statements that never return rows answer 400.
     */
    async results(envName: string, name: string, pageToken: string | undefined): Promise<JsonObject> {
      const { statement } = await requireStatement(envName, name);
      const spec = statement.spec as StatementSpec;
      if (!sqlShape(spec.statement).returnsRows) {
        throw new BadRequest(`Statement '${name}' does not return results`);
      }
      if (pageToken !== undefined && pageToken !== '') {
        throw new BadRequest(`Unknown page-token for statement '${name}'`);
      }
      return {
        apiVersion: API_VERSION,
        kind: 'StatementResult',
        metadata: { creationTimestamp: statement.createdAt.toISOString(), annotations: {} },
        results: { data: [] },
      };
    },

    async exceptions(envName: string, name: string): Promise<JsonObject> {
      const { statement } = await requireStatement(envName, name);
      const rows = await store.statements.exceptions(statement.id);
      return { apiVersion: API_VERSION, kind: 'StatementExceptionList', data: rows.map(exceptionOut) };
    },
  };
}
