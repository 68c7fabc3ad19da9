import { randomUUID } from 'node:crypto';
import { API_VERSION } from '../schemas/common.js';
import { secretMappingSchema, SECRET_MAPPING_KIND, type SecretMappingBody } from '../schemas/secretMapping.js';
import { compileValidator } from '../schemas/validate.js';
import type { Store } from '../store/index.js';
import type { SecretMapping } from '../store/secretMappings.js';
import { requireEnvironment } from './environments.js';
import { metadataOut, withEnvelope } from './envelope.js';
import { NotFound, Unprocessable } from './errors.js';
import type { JsonObject } from './objects.js';
import { pageBody, type PageRequest } from './paging.js';
import { retryOnRace } from './retry.js';
import { now } from './time.js';

const validate = compileValidator<SecretMappingBody>(secretMappingSchema);

/** A secret mapping as the API returns it. */
export function secretMappingOut(mapping: SecretMapping): JsonObject {
  return {
    apiVersion: API_VERSION,
    kind: SECRET_MAPPING_KIND,
    metadata: metadataOut(mapping),
    spec: { secretName: mapping.secretName },
  };
}

/** Environment secret mapping use cases. */
export function secretMappings(store: Store) {
  async function requireSecretId(name: string): Promise<string> {
    const secret = await store.secrets.get(name);
    if (!secret) throw new NotFound(`Secret '${name}' not found`);
    return secret.id;
  }

  async function requireMapping(envName: string, name: string): Promise<SecretMapping> {
    const env = await requireEnvironment(store, envName);
    const mapping = await store.secretMappings.get(env.id, name);
    if (!mapping) throw new NotFound(`Environment secret mapping '${name}' not found in environment '${envName}'`);
    return mapping;
  }

  return {
    async create(envName: string, body: JsonObject): Promise<JsonObject> {
      const env = await requireEnvironment(store, envName);
      const post = validate(withEnvelope(body, SECRET_MAPPING_KIND));
      const mapping = await store.secretMappings.create({
        id: randomUUID(),
        environmentId: env.id,
        name: post.metadata.name,
        at: now(),
        secretId: await requireSecretId(post.spec.secretName),
        labels: post.metadata.labels ?? null,
        annotations: post.metadata.annotations ?? null,
      });
      return secretMappingOut(mapping);
    },

    async update(envName: string, name: string, body: JsonObject): Promise<JsonObject> {
      const post = validate(withEnvelope(body, SECRET_MAPPING_KIND));
      if (post.metadata.name !== name) {
        throw new Unprocessable(`metadata.name '${post.metadata.name}' does not match the mapping '${name}' in the path`);
      }
      const secretId = await requireSecretId(post.spec.secretName);
      const mapping = await retryOnRace(async () =>
        store.secretMappings.update(await requireMapping(envName, name), {
          secretId,
          labels: post.metadata.labels ?? null,
          annotations: post.metadata.annotations ?? null,
        }, now()),
      );
      return secretMappingOut(mapping);
    },

    async get(envName: string, name: string): Promise<JsonObject> {
      return secretMappingOut(await requireMapping(envName, name));
    },

    async list(envName: string, page: PageRequest): Promise<JsonObject> {
      const env = await requireEnvironment(store, envName);
      const result = await store.secretMappings.list(env.id, page);
      return pageBody(page, { items: result.items.map(secretMappingOut), total: result.total });
    },

    async delete(envName: string, name: string): Promise<void> {
      await store.secretMappings.delete(await requireMapping(envName, name));
    },
  };
}
