import { randomUUID } from 'node:crypto';
import { computePoolSchema, COMPUTE_POOL_KIND, type ComputePoolBody } from '../schemas/computePool.js';
import { compileValidator } from '../schemas/validate.js';
import type { ComputePool } from '../store/computePools.js';
import type { Environment } from '../store/environments.js';
import type { Store } from '../store/index.js';
import { requireEnvironment } from './environments.js';
import { metadataOut, withEnvelope } from './envelope.js';
import { Conflict, NotFound, Unprocessable } from './errors.js';
import { deepMerge, isObject, type JsonObject } from './objects.js';
import { pageBody, type PageRequest } from './paging.js';
import { now } from './time.js';

const validate = compileValidator<ComputePoolBody>(computePoolSchema);

/** Pool types: a session cluster per statement (DEDICATED), or one per pool shared by its statements (SHARED, CMF 2.3). */
const POOL_TYPES = ['DEDICATED', 'SHARED'];

/** The environment's `computePoolDefaults` deep-merged into a cluster spec, the environment winning. */
function mergedClusterSpec(env: Environment, clusterSpec: unknown): unknown {
  return isObject(env.computePoolDefaults) ? deepMerge(clusterSpec, env.computePoolDefaults) : clusterSpec;
}

/** A compute pool as the API returns it. */
export function computePoolOut(pool: ComputePool): JsonObject {
  return {
    apiVersion: pool.apiVersion,
    kind: pool.kind,
    metadata: metadataOut(pool),
    spec: pool.spec,
    status: pool.status,
  };
}

/** Compute pool use cases. */
export function computePools(store: Store) {
  async function requirePool(envName: string, name: string): Promise<ComputePool> {
    const env = await requireEnvironment(store, envName);
    const pool = await store.computePools.get(env.id, name);
    if (!pool) throw new NotFound(`Compute pool '${name}' not found in environment '${envName}'`);
    return pool;
  }

  return {
    async create(envName: string, body: JsonObject): Promise<JsonObject> {
      const env = await requireEnvironment(store, envName);
      const post = validate(withEnvelope(body, COMPUTE_POOL_KIND));
      if (!POOL_TYPES.includes(post.spec.type)) {
        throw new Unprocessable(`spec.type '${post.spec.type}' is not supported: use ${POOL_TYPES.join(', ')}`);
      }
      if (post.spec.state !== undefined && post.spec.type !== 'SHARED') {
        throw new Unprocessable('spec.state can only be set for SHARED compute pools');
      }
      const pool = await store.computePools.create({
        id: randomUUID(),
        environmentId: env.id,
        name: post.metadata.name,
        apiVersion: post.apiVersion,
        kind: post.kind,
        labels: post.metadata.labels ?? null,
        annotations: post.metadata.annotations ?? null,
        spec: { ...post.spec, clusterSpec: mergedClusterSpec(env, post.spec.clusterSpec) },
        status: { phase: post.spec.type === 'SHARED' ? 'PENDING' : 'DEDICATED' },
        at: now(),
      });
      return computePoolOut(pool);
    },

    async get(envName: string, name: string): Promise<JsonObject> {
      return computePoolOut(await requirePool(envName, name));
    },

    async list(envName: string, page: PageRequest): Promise<JsonObject> {
      const env = await requireEnvironment(store, envName);
      const result = await store.computePools.list(env.id, page);
      return pageBody(page, { items: result.items.map(computePoolOut), total: result.total });
    },

    /** Deletes a pool no statement uses; one in use is a Conflict naming the statements. */
    async delete(envName: string, name: string): Promise<void> {
      const users = await store.computePools.deleteUnlessUsed(await requirePool(envName, name));
      if (users.length > 0) {
        throw new Conflict(`Compute pool '${name}' is used by statements ${users.join(', ')}; delete them first`);
      }
    },
  };
}
