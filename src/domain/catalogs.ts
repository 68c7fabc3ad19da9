/**
 * Kafka catalogs, as CMF 2.0 and CMF 2.1 write them, side by side.
 *
 * CMF 2.0 lists a catalog's Kafka clusters in its `spec.kafkaClusters` (each entry a database);
 * CMF 2.1 makes databases resources of their own under /catalogs/kafka/{catName}/databases. drey
 * keeps one model for both:
 * - The catalog row stores `spec.srInstance` only. Every database is a KafkaDatabase row, whose
 *   `origin` is `catalog` (it came from an entry of `kafkaClusters`) or `api` (POST .../databases).
 * - A POST or PUT of a catalog with `kafkaClusters` makes those entries its `catalog`-origin
 *   databases: a PUT adds, updates and removes them to match the list given (a database's
 *   ddlEnvironments, labels and annotations, set through /databases, are kept). A PUT without
 *   `kafkaClusters` leaves the databases alone. An entry naming an `api`-origin database is 409:
 *   a 2.0 list never takes over a database made through the 2.1 API.
 * - Every response of a catalog shows `spec.kafkaClusters` derived from all its databases (by
 *   name), so a 2.0 client sees every database; `[]` when it has none, because 2.0's contract
 *   requires the field.
 * - DELETE of a catalog is 409 while it has `api`-origin databases (CMF 2.1 refuses to delete a
 *   catalog with databases); `catalog`-origin ones are deleted with it, so a 2.0 client deletes a
 *   catalog it made with `kafkaClusters` (204), as it always could.
 * - `status.environmentsWithAccess` is computed when served (see catalogAccess.ts). 2.0's
 *   KafkaCatalog schema allows other properties, so catalogs carry it as CMF 2.1 does.
 */
import { randomUUID } from 'node:crypto';
import { kafkaCatalogSchema, KAFKA_CATALOG_KIND, type KafkaCatalogBody, type KafkaClusterEntry } from '../schemas/kafkaCatalog.js';
import { compileValidator } from '../schemas/validate.js';
import type { CatalogWithDatabases, DatabaseChanges, EnvironmentSecretIds, KafkaDatabase, NewKafkaDatabase } from '../store/catalogs.js';
import type { Store } from '../store/index.js';
import { catalogSecretId, environmentsWithAccess } from './catalogAccess.js';
import { metadataOut, withEnvelope } from './envelope.js';
import { Conflict, NotFound, Unprocessable } from './errors.js';
import { catalogDatabaseFields, databaseSpec, kafkaDatabases, sameFields } from './kafkaDatabases.js';
import { isObject, type JsonObject } from './objects.js';
import { pageBody, type PageRequest } from './paging.js';
import { retryOnRace } from './retry.js';
import { now } from './time.js';

const validate = compileValidator<KafkaCatalogBody>(kafkaCatalogSchema);

/** Most names a refused DELETE lists. */
const NAMES_LISTED = 10;

/** A database as a 2.0 `spec.kafkaClusters` entry. */
function kafkaClusterOf(database: KafkaDatabase): JsonObject {
  const cluster = isObject(database.spec) && isObject(database.spec.kafkaCluster) ? database.spec.kafkaCluster : {};
  return {
    databaseName: database.name,
    connectionConfig: cluster.connectionConfig ?? {},
    ...(cluster.connectionSecretId !== undefined ? { connectionSecretId: cluster.connectionSecretId } : {}),
  };
}

/** A Kafka catalog as the API returns it: `kafkaClusters` from all its databases, and who may use it. */
export function catalogOut(catalog: CatalogWithDatabases, environments: EnvironmentSecretIds[]): JsonObject {
  const spec = isObject(catalog.spec) ? catalog.spec : {};
  return {
    apiVersion: catalog.apiVersion,
    kind: catalog.kind,
    metadata: metadataOut(catalog),
    spec: { srInstance: spec.srInstance, kafkaClusters: catalog.databases.map(kafkaClusterOf) },
    status: { environmentsWithAccess: environmentsWithAccess(environments, [catalogSecretId(catalog)]) },
  };
}

/** The entries of `kafkaClusters`, refused (422) when one name is listed twice. */
function uniqueEntries(entries: KafkaClusterEntry[]): KafkaClusterEntry[] {
  const seen = new Set<string>();
  for (const { databaseName } of entries) {
    if (seen.has(databaseName)) throw new Unprocessable(`spec.kafkaClusters lists database '${databaseName}' more than once`);
    seen.add(databaseName);
  }
  return entries;
}

/** A new `catalog`-origin database for an entry of `kafkaClusters`. */
function newCatalogDatabase(entry: KafkaClusterEntry): NewKafkaDatabase {
  return { id: randomUUID(), name: entry.databaseName, origin: 'catalog', ...catalogDatabaseFields(databaseSpec(entry)) };
}

/**
 * What a PUT's `kafkaClusters` does to the catalog's databases: entries become `catalog`-origin
 * databases (new ones created, changed ones updated, unchanged ones left), and `catalog`-origin
 * databases not listed go. An entry naming an `api`-origin database is left alone when it says what
 * that database holds (a GET sent back), and a Conflict when it would change it.
 */
function changesFor(catalog: CatalogWithDatabases, entries: KafkaClusterEntry[] | undefined): DatabaseChanges {
  const changes: DatabaseChanges = { create: [], update: [], remove: [] };
  if (entries === undefined) return changes;
  const stored = new Map(catalog.databases.map((d) => [d.name, d]));
  for (const entry of entries) {
    const current = stored.get(entry.databaseName);
    if (!current) {
      changes.create.push(newCatalogDatabase(entry));
      continue;
    }
    if (current.origin !== 'catalog') {
      // what a GET showed of it, sent back unchanged (a GitOps round trip), leaves it alone
      const spec = { ...(isObject(current.spec) ? current.spec : {}), ...databaseSpec(entry) };
      if (JSON.stringify(spec) === JSON.stringify(current.spec)) continue;
      throw new Conflict(
        `Kafka database '${current.name}' of catalog '${catalog.name}' was created through its databases API; ` +
          `spec.kafkaClusters cannot replace it: leave it out of spec.kafkaClusters, and change it at /cmf/api/v1/catalogs/kafka/${catalog.name}/databases/${current.name}`,
      );
    }
    const spec = { ...(isObject(current.spec) ? current.spec : {}), ...databaseSpec(entry) };
    if (JSON.stringify(spec) !== JSON.stringify(current.spec)) {
      changes.update.push({ current, fields: { apiVersion: current.apiVersion, kind: current.kind, labels: current.labels, annotations: current.annotations, spec } });
    }
  }
  const listed = new Set(entries.map((e) => e.databaseName));
  changes.remove = catalog.databases.filter((d) => d.origin === 'catalog' && !listed.has(d.name));
  return changes;
}

/** Kafka catalog use cases; `databases` holds those of their databases. */
export function catalogs(store: Store) {
  async function requireCatalog(name: string): Promise<CatalogWithDatabases> {
    const catalog = await store.catalogs.getWithDatabases(name);
    if (!catalog) throw new NotFound(`Kafka catalog '${name}' not found`);
    return catalog;
  }

  function fieldsOf(post: KafkaCatalogBody) {
    return {
      apiVersion: post.apiVersion,
      kind: post.kind,
      labels: post.metadata.labels ?? null,
      annotations: post.metadata.annotations ?? null,
      spec: { srInstance: post.spec.srInstance },
    };
  }

  return {
    databases: kafkaDatabases(store),

    async create(body: JsonObject): Promise<JsonObject> {
      const post = validate(withEnvelope(body, KAFKA_CATALOG_KIND));
      const entries = uniqueEntries(post.spec.kafkaClusters ?? []);
      const catalog = await store.catalogs.create(
        { id: randomUUID(), name: post.metadata.name, at: now(), ...fieldsOf(post) },
        entries.map(newCatalogDatabase),
      );
      return catalogOut(catalog, await store.catalogs.environmentSecretIds());
    },

    /** Replaces a catalog's fields and, when the body has `kafkaClusters`, its `catalog`-origin databases. */
    async update(name: string, body: JsonObject): Promise<void> {
      const post = validate(withEnvelope(body, KAFKA_CATALOG_KIND));
      if (post.metadata.name !== name) {
        throw new Unprocessable(`metadata.name '${post.metadata.name}' does not match the catalog '${name}' in the path`);
      }
      const entries = post.spec.kafkaClusters && uniqueEntries(post.spec.kafkaClusters);
      const fields = fieldsOf(post);
      await retryOnRace(async () => {
        const current = await requireCatalog(name);
        const changes = changesFor(current, entries);
        // a PUT of what is stored (a GitOps re-apply) writes nothing
        const same = sameFields(current, fields);
        if (same && changes.create.length + changes.update.length + changes.remove.length === 0) return undefined;
        return store.catalogs.update(current, fields, changes, now());
      });
    },

    async get(name: string): Promise<JsonObject> {
      const [catalog, environments] = await Promise.all([requireCatalog(name), store.catalogs.environmentSecretIds()]);
      return catalogOut(catalog, environments);
    },

    async list(page: PageRequest): Promise<JsonObject> {
      const [result, environments] = await Promise.all([store.catalogs.list(page), store.catalogs.environmentSecretIds()]);
      return pageBody(page, { items: result.items.map((c) => catalogOut(c, environments)), total: result.total });
    },

    /** Deletes a catalog and the databases its `kafkaClusters` made; one with databases made through /databases is a Conflict. */
    async delete(name: string): Promise<void> {
      const catalog = await store.catalogs.get(name);
      if (!catalog) throw new NotFound(`Kafka catalog '${name}' not found`);
      const kept = await store.catalogs.deleteUnlessApiDatabases(catalog);
      if (kept.length > 0) {
        const more = kept.length > NAMES_LISTED ? ` and ${kept.length - NAMES_LISTED} more` : '';
        throw new Conflict(`Kafka catalog '${name}' contains databases and cannot be deleted: ${kept.slice(0, NAMES_LISTED).join(', ')}${more}`);
      }
    },
  };
}
