import { randomUUID } from 'node:crypto';
import { compileValidator } from '../schemas/validate.js';
import { postEnvironmentSchema, type PostEnvironment } from '../schemas/environment.js';
import type { Store } from '../store/index.js';
import type { Environment, EnvironmentFields, Holdings } from '../store/environments.js';
import { NamespaceScope } from '../kube/scope.js';
import { BadRequest, Conflict, NotFound } from './errors.js';
import { canonicalJson, isObject, type JsonObject } from './objects.js';
import { pageBody, type PageRequest } from './paging.js';
import { retryOnRace } from './retry.js';
import { now } from './time.js';

const validate = compileValidator<PostEnvironment>(postEnvironmentSchema);

/** An environment as the API returns it. */
export function environmentOut(env: Environment, secrets?: Record<string, string>): JsonObject {
  return {
    name: env.name,
    created_time: env.createdAt.toISOString(),
    updated_time: env.updatedAt.toISOString(),
    kubernetesNamespace: env.kubernetesNamespace,
    ...(env.flinkApplicationDefaults !== null ? { flinkApplicationDefaults: env.flinkApplicationDefaults } : {}),
    ...(env.computePoolDefaults !== null ? { computePoolDefaults: env.computePoolDefaults } : {}),
    ...(env.statementDefaults !== null ? { statementDefaults: env.statementDefaults } : {}),
    ...(secrets ? { secrets } : {}),
  };
}

/**
 * Statement defaults merge per kind: the CLI sends `statementDefaults: {}` when it changes
 * nothing, so a kind left out (or null) keeps what is stored.
 */
function mergeStatementDefaults(stored: unknown, posted: PostEnvironment['statementDefaults']): unknown {
  if (posted === undefined || posted === null) return stored;
  const out: JsonObject = isObject(stored) ? { ...stored } : {};
  for (const kind of ['detached', 'interactive'] as const) {
    const value = posted[kind];
    if (value !== undefined && value !== null) out[kind] = value;
  }
  return Object.keys(out).length === 0 && stored === null ? null : out;
}

function describeHoldings(h: Holdings): string[] {
  const parts: [string, string[]][] = [
    ['applications', h.applications],
    ['compute pools', h.computePools],
    ['statements', h.statements],
    ['secret mappings', h.secretMappings],
  ];
  return parts.filter(([, names]) => names.length > 0).map(([what, names]) => `${what} ${names.join(', ')}`);
}

/** Resolves an environment by name or throws NotFound. */
export async function requireEnvironment(store: Store, name: string): Promise<Environment> {
  const env = await store.environments.get(name);
  if (!env) throw new NotFound(`Environment '${name}' not found`);
  return env;
}

/** Environment use cases; an environment may name only a namespace in `scope`. */
export function environments(store: Store, scope: NamespaceScope = NamespaceScope.ALL) {
  return {
    /**
     * Create-or-update. A field left out or null keeps the stored value; the namespace is set at
     * creation and may change only while the environment holds nothing that runs in it.
     */
    async createOrUpdate(body: JsonObject): Promise<JsonObject> {
      const post = validate(body);
      const refusal = post.kubernetesNamespace ? scope.refusal(post.kubernetesNamespace) : undefined;
      // 400, the one refusal the contract lists for this POST
      if (refusal) throw new BadRequest(`Environment '${post.name}': ${refusal}`);
      const env = await retryOnRace(async () => {
        const at = now();
        const current = await store.environments.get(post.name);
        if (!current) {
          if (post.kubernetesNamespace === undefined || post.kubernetesNamespace === null) {
            throw new BadRequest('kubernetesNamespace is required when creating an environment');
          }
          return store.environments.create({
            id: randomUUID(),
            name: post.name,
            at,
            kubernetesNamespace: post.kubernetesNamespace,
            flinkApplicationDefaults: post.flinkApplicationDefaults ?? null,
            computePoolDefaults: post.computePoolDefaults ?? null,
            statementDefaults: mergeStatementDefaults(null, post.statementDefaults),
          });
        }
        const fields: EnvironmentFields = {
          kubernetesNamespace: post.kubernetesNamespace ?? current.kubernetesNamespace,
          flinkApplicationDefaults: post.flinkApplicationDefaults ?? current.flinkApplicationDefaults,
          computePoolDefaults: post.computePoolDefaults ?? current.computePoolDefaults,
          statementDefaults: mergeStatementDefaults(current.statementDefaults, post.statementDefaults),
        };
        const stored: EnvironmentFields = {
          kubernetesNamespace: current.kubernetesNamespace,
          flinkApplicationDefaults: current.flinkApplicationDefaults,
          computePoolDefaults: current.computePoolDefaults,
          statementDefaults: current.statementDefaults,
        };
        if (canonicalJson(fields) === canonicalJson(stored)) return current;
        if (fields.kubernetesNamespace !== current.kubernetesNamespace) {
          const held = describeHoldings(await store.environments.holdings(current.id));
          if (held.length > 0) {
            throw new Conflict(
              `Environment '${current.name}' cannot move from namespace '${current.kubernetesNamespace}' ` +
                `to '${fields.kubernetesNamespace}' while it holds ${held.join('; ')}`,
            );
          }
        }
        return store.environments.update(current, fields, at);
      });
      return environmentOut(env, await store.environments.secretNames(env.id));
    },

    async get(name: string): Promise<JsonObject> {
      const env = await requireEnvironment(store, name);
      return environmentOut(env, await store.environments.secretNames(env.id));
    },

    async list(page: PageRequest): Promise<JsonObject> {
      const result = await store.environments.list(page);
      return pageBody(page, { items: result.items.map((e) => environmentOut(e)), total: result.total });
    },

    /** Deletes an empty environment; one that still holds anything is a Conflict naming it. */
    async delete(name: string): Promise<void> {
      const env = await requireEnvironment(store, name);
      const held = describeHoldings(await store.environments.holdings(env.id));
      if (held.length > 0) {
        throw new Conflict(`Environment '${name}' still holds ${held.join('; ')}; delete them first`);
      }
      await store.environments.delete(env);
    },
  };
}
