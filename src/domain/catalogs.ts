import { randomUUID } from 'node:crypto';
import { kafkaCatalogSchema, KAFKA_CATALOG_KIND, type KafkaCatalogBody } from '../schemas/kafkaCatalog.js';
import { compileValidator } from '../schemas/validate.js';
import type { KafkaCatalog } from '../store/catalogs.js';
import type { Store } from '../store/index.js';
import { metadataOut, withEnvelope } from './envelope.js';
import { NotFound, Unprocessable } from './errors.js';
import type { JsonObject } from './objects.js';
import { pageBody, type PageRequest } from './paging.js';
import { now } from './time.js';

const validate = compileValidator<KafkaCatalogBody>(kafkaCatalogSchema);

/** A Kafka catalog as the API returns it. */
export function catalogOut(catalog: KafkaCatalog): JsonObject {
  return { apiVersion: catalog.apiVersion, kind: catalog.kind, metadata: metadataOut(catalog), spec: catalog.spec };
}

/** Kafka catalog use cases. */
export function catalogs(store: Store) {
  async function requireCatalog(name: string): Promise<KafkaCatalog> {
    const catalog = await store.catalogs.get(name);
    if (!catalog) throw new NotFound(`Kafka catalog '${name}' not found`);
    return catalog;
  }

  return {
    async create(body: JsonObject): Promise<JsonObject> {
      const post = validate(withEnvelope(body, KAFKA_CATALOG_KIND));
      const seen = new Set<string>();
      for (const { databaseName } of post.spec.kafkaClusters) {
        if (seen.has(databaseName)) throw new Unprocessable(`spec.kafkaClusters lists database '${databaseName}' more than once`);
        seen.add(databaseName);
      }
      const catalog = await store.catalogs.create({
        id: randomUUID(),
        name: post.metadata.name,
        apiVersion: post.apiVersion,
        kind: post.kind,
        labels: post.metadata.labels ?? null,
        annotations: post.metadata.annotations ?? null,
        spec: post.spec,
        at: now(),
      });
      return catalogOut(catalog);
    },

    async get(name: string): Promise<JsonObject> {
      return catalogOut(await requireCatalog(name));
    },

    async list(page: PageRequest): Promise<JsonObject> {
      const result = await store.catalogs.list(page);
      return pageBody(page, { items: result.items.map(catalogOut), total: result.total });
    },

    async delete(name: string): Promise<void> {
      await store.catalogs.delete(await requireCatalog(name));
    },
  };
}
