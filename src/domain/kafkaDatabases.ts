import { randomUUID } from 'node:crypto';
import { API_VERSION } from '../schemas/common.js';
import {
  kafkaDatabaseSchema,
  kafkaDatabaseUpdateSchema,
  KAFKA_DATABASE_KIND,
  type KafkaDatabaseBody,
  type KafkaDatabaseUpdateBody,
} from '../schemas/kafkaDatabase.js';
import { compileValidator } from '../schemas/validate.js';
import type { EnvironmentSecretIds, KafkaCatalog, KafkaDatabase } from '../store/catalogs.js';
import type { Store } from '../store/index.js';
import { catalogSecretId, databaseSecretId, environmentsWithAccess } from './catalogAccess.js';
import { metadataOut, withEnvelope } from './envelope.js';
import { NotFound, Unprocessable } from './errors.js';
import { canonicalJson, type JsonObject } from './objects.js';
import { pageBody, type PageRequest } from './paging.js';
import { retryOnRace } from './retry.js';
import { now } from './time.js';

const validate = compileValidator<KafkaDatabaseBody>(kafkaDatabaseSchema);
const validateUpdate = compileValidator<KafkaDatabaseUpdateBody>(kafkaDatabaseUpdateSchema);

/** A Kafka cluster's connection as a database stores it. */
export interface KafkaClusterConnection {
  connectionConfig: Record<string, string>;
  connectionSecretId?: string;
}

/** Whether a row already holds these API-owned fields. */
export function sameFields(row: { apiVersion: string; kind: string; labels: unknown; annotations: unknown; spec: unknown }, fields: { apiVersion: string; kind: string; labels: unknown; annotations: unknown; spec: unknown }): boolean {
  const owned = (f: typeof fields) => canonicalJson({ apiVersion: f.apiVersion, kind: f.kind, labels: f.labels ?? null, annotations: f.annotations ?? null, spec: f.spec });
  return owned(row) === owned(fields);
}

/** A database's spec as stored: the contract's fields in the contract's order, nothing else. */
export function databaseSpec(kafkaCluster: KafkaClusterConnection, ddlEnvironments?: readonly string[]): JsonObject {
  return {
    kafkaCluster: {
      connectionConfig: kafkaCluster.connectionConfig,
      ...(kafkaCluster.connectionSecretId !== undefined ? { connectionSecretId: kafkaCluster.connectionSecretId } : {}),
    },
    ...(ddlEnvironments !== undefined ? { ddlEnvironments: [...ddlEnvironments] } : {}),
  };
}

/** The fields of a database made from a 2.0 catalog's `spec.kafkaClusters` entry. */
export function catalogDatabaseFields(spec: JsonObject) {
  return { apiVersion: API_VERSION, kind: KAFKA_DATABASE_KIND, labels: null, annotations: null, spec };
}

/** A Kafka database as the API returns it. */
export function databaseOut(database: KafkaDatabase, catalog: KafkaCatalog, environments: EnvironmentSecretIds[]): JsonObject {
  return {
    apiVersion: database.apiVersion,
    kind: database.kind,
    metadata: metadataOut(database),
    spec: database.spec,
    status: { environmentsWithAccess: environmentsWithAccess(environments, [catalogSecretId(catalog), databaseSecretId(database)]) },
  };
}

/** Use cases of the databases of Kafka catalogs (CMF 2.1); see catalogs.ts for how they meet 2.0's `kafkaClusters`. */
export function kafkaDatabases(store: Store) {
  async function requireCatalog(name: string): Promise<KafkaCatalog> {
    const catalog = await store.catalogs.get(name);
    if (!catalog) throw new NotFound(`Kafka catalog '${name}' not found`);
    return catalog;
  }

  async function requireDatabase(catalog: KafkaCatalog, name: string): Promise<KafkaDatabase> {
    const database = await store.catalogs.databases.get(catalog.id, name);
    if (!database) throw new NotFound(`Kafka database '${name}' not found in catalog '${catalog.name}'`);
    return database;
  }

  function fieldsOf(post: KafkaDatabaseBody | KafkaDatabaseUpdateBody) {
    const seen = new Set<string>();
    for (const env of post.spec.ddlEnvironments ?? []) {
      if (seen.has(env)) throw new Unprocessable(`spec.ddlEnvironments lists environment '${env}' more than once`);
      seen.add(env);
    }
    return {
      apiVersion: post.apiVersion,
      kind: post.kind,
      labels: post.metadata.labels ?? null,
      annotations: post.metadata.annotations ?? null,
      spec: databaseSpec(post.spec.kafkaCluster, post.spec.ddlEnvironments),
    };
  }

  return {
    async create(catName: string, body: JsonObject): Promise<JsonObject> {
      const catalog = await requireCatalog(catName);
      const post = validate(withEnvelope(body, KAFKA_DATABASE_KIND));
      const database = await store.catalogs.databases.create(
        catalog,
        { id: randomUUID(), name: post.metadata.name, origin: 'api', ...fieldsOf(post) },
        now(),
      );
      return databaseOut(database, catalog, await store.catalogs.environmentSecretIds());
    },

    /** Replaces a database's fields; one that came from the catalog's `kafkaClusters` stays the catalog's. */
    async update(catName: string, name: string, body: JsonObject): Promise<void> {
      const post = validateUpdate(withEnvelope(body, KAFKA_DATABASE_KIND));
      if (post.metadata.name !== name) {
        throw new Unprocessable(`metadata.name '${post.metadata.name}' does not match the database '${name}' in the path`);
      }
      const catalog = await requireCatalog(catName);
      const fields = fieldsOf(post);
      await retryOnRace(async () => {
        const current = await requireDatabase(catalog, name);
        // a PUT of what is stored (a GitOps re-apply) writes nothing
        if (sameFields(current, fields)) return undefined;
        return store.catalogs.databases.update(current, fields, now());
      });
    },

    async get(catName: string, name: string): Promise<JsonObject> {
      const catalog = await requireCatalog(catName);
      const database = await requireDatabase(catalog, name);
      return databaseOut(database, catalog, await store.catalogs.environmentSecretIds());
    },

    async list(catName: string, page: PageRequest): Promise<JsonObject> {
      const catalog = await requireCatalog(catName);
      const [result, environments] = await Promise.all([store.catalogs.databases.list(catalog.id, page), store.catalogs.environmentSecretIds()]);
      return pageBody(page, { items: result.items.map((d) => databaseOut(d, catalog, environments)), total: result.total });
    },

    async delete(catName: string, name: string): Promise<void> {
      await store.catalogs.databases.delete(await requireDatabase(await requireCatalog(catName), name));
    },
  };
}
