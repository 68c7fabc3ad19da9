import { randomUUID } from 'node:crypto';
import { secretSchema, SECRET_KIND, type SecretBody } from '../schemas/secret.js';
import { API_VERSION } from '../schemas/common.js';
import { compileValidator } from '../schemas/validate.js';
import type { Store } from '../store/index.js';
import type { SecretWithEnvironments } from '../store/secrets.js';
import { metadataOut, withEnvelope } from './envelope.js';
import { Conflict, NotFound, Unprocessable } from './errors.js';
import type { JsonObject } from './objects.js';
import { pageBody, type PageRequest } from './paging.js';
import { retryOnRace } from './retry.js';
import { now } from './time.js';

const validate = compileValidator<SecretBody>(secretSchema);

/**
 * A secret as the API returns it: `spec` is write-only, so its data never leaves drey;
 * `status.environments` names the environments that map it.
 */
export function secretOut(secret: SecretWithEnvironments): JsonObject {
  return {
    apiVersion: API_VERSION,
    kind: SECRET_KIND,
    metadata: metadataOut(secret),
    spec: {},
    status: { version: String(secret.version), environments: secret.environments },
  };
}

/** Secret use cases. */
export function secrets(store: Store) {
  async function requireSecret(name: string): Promise<SecretWithEnvironments> {
    const secret = await store.secrets.get(name);
    if (!secret) throw new NotFound(`Secret '${name}' not found`);
    return secret;
  }

  return {
    async create(body: JsonObject): Promise<JsonObject> {
      const post = validate(withEnvelope(body, SECRET_KIND));
      const secret = await store.secrets.create({
        id: randomUUID(),
        name: post.metadata.name,
        at: now(),
        labels: post.metadata.labels ?? null,
        annotations: post.metadata.annotations ?? null,
        data: post.spec.data ?? {},
      });
      return secretOut(secret);
    },

    async update(name: string, body: JsonObject): Promise<JsonObject> {
      const post = validate(withEnvelope(body, SECRET_KIND));
      if (post.metadata.name !== name) {
        throw new Unprocessable(`metadata.name '${post.metadata.name}' does not match the secret '${name}' in the path`);
      }
      const secret = await retryOnRace(async () =>
        store.secrets.update(await requireSecret(name), {
          labels: post.metadata.labels ?? null,
          annotations: post.metadata.annotations ?? null,
          data: post.spec.data ?? {},
        }, now()),
      );
      return secretOut(secret);
    },

    async get(name: string): Promise<JsonObject> {
      return secretOut(await requireSecret(name));
    },

    async list(page: PageRequest): Promise<JsonObject> {
      const result = await store.secrets.list(page);
      return pageBody(page, { items: result.items.map(secretOut), total: result.total });
    },

    /** Deletes a secret no environment maps; a mapped one is a Conflict naming the environments. */
    async delete(name: string): Promise<void> {
      const secret = await requireSecret(name);
      if (secret.environments.length > 0) {
        throw new Conflict(
          `Secret '${name}' is mapped in environments ${secret.environments.join(', ')}; delete those mappings first`,
        );
      }
      await store.secrets.delete(secret);
    },
  };
}
