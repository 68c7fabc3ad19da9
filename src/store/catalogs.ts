import type { KafkaCatalog, KafkaDatabase, PrismaClient } from '../generated/prisma/client.js';
import { onlyWhere, orderBy, type Page, type PageRequest, NAMED_SORT_FIELDS } from '../domain/paging.js';
import { StaleWrite, translate } from './errors.js';
import { json, nullableJson } from './json.js';
import { insertDatabases, kafkaDatabaseStore, updateDatabase, type KafkaDatabaseFields, type NewKafkaDatabase } from './kafkaDatabases.js';

export type { KafkaCatalog, KafkaDatabase };
export type { DatabaseOrigin, KafkaDatabaseFields, NewKafkaDatabase } from './kafkaDatabases.js';

/** A catalog with all its databases, by name. */
export type CatalogWithDatabases = KafkaCatalog & { databases: KafkaDatabase[] };

/** The API-owned fields of a Kafka catalog. */
export interface KafkaCatalogFields {
  apiVersion: string;
  kind: string;
  labels: unknown;
  annotations: unknown;
  spec: unknown;
}

/** A Kafka catalog as the API creates it. */
export interface NewKafkaCatalog extends KafkaCatalogFields {
  id: string;
  name: string;
  at: Date;
}

/** What a catalog PUT does to the catalog's databases, decided by the domain from what it read. */
export interface DatabaseChanges {
  create: NewKafkaDatabase[];
  update: { current: KafkaDatabase; fields: KafkaDatabaseFields }[];
  remove: KafkaDatabase[];
}

/** An environment and the connection secret ids it maps (the names of its secret mappings). */
export interface EnvironmentSecretIds {
  environment: string;
  secretIds: ReadonlySet<string>;
}

const withDatabases = { databases: { orderBy: { name: 'asc' } } } as const;

/** Store operations on Kafka catalogs; `databases` holds those on their databases. */
export function catalogStore(db: PrismaClient) {
  return {
    databases: kafkaDatabaseStore(db),

    async get(name: string): Promise<KafkaCatalog | null> {
      return db.kafkaCatalog.findUnique({ where: { name } });
    },

    async getWithDatabases(name: string): Promise<CatalogWithDatabases | null> {
      return db.kafkaCatalog.findUnique({ where: { name }, include: withDatabases });
    },

    async list(page: PageRequest): Promise<Page<CatalogWithDatabases>> {
      const [items, total] = await Promise.all([
        db.kafkaCatalog.findMany({
          where: onlyWhere(page),
          include: withDatabases,
          orderBy: orderBy(page, NAMED_SORT_FIELDS, [{ createdAt: 'asc' }, { name: 'asc' }]),
          skip: page.page * page.size,
          take: page.size,
        }),
        db.kafkaCatalog.count({ where: onlyWhere(page) }),
      ]);
      return { items, total };
    },

    /** Creates a catalog with its first databases, atomically. */
    async create(catalog: NewKafkaCatalog, databases: NewKafkaDatabase[]): Promise<CatalogWithDatabases> {
      return translate(`Kafka catalog '${catalog.name}'`, () =>
        db.$transaction(async (tx) => {
          await tx.kafkaCatalog.create({
            data: {
              id: catalog.id,
              name: catalog.name,
              apiVersion: catalog.apiVersion,
              kind: catalog.kind,
              labels: nullableJson(catalog.labels),
              annotations: nullableJson(catalog.annotations),
              spec: json(catalog.spec),
              createdAt: catalog.at,
              updatedAt: catalog.at,
            },
          });
          await insertDatabases(tx, catalog.id, databases, catalog.at);
          return tx.kafkaCatalog.findUniqueOrThrow({ where: { id: catalog.id }, include: withDatabases });
        }),
      );
    },

    /**
     * Writes the catalog's fields if it is still at `current.version` and applies `changes` to its
     * databases, atomically. The catalog is written first, so its row lock orders concurrent PUTs;
     * a database changed or a name taken meanwhile is StaleWrite or AlreadyExists (read again and retry).
     */
    async update(current: KafkaCatalog, fields: KafkaCatalogFields, changes: DatabaseChanges, at: Date): Promise<CatalogWithDatabases> {
      return translate(`Kafka catalog '${current.name}'`, () =>
        db.$transaction(async (tx) => {
          const { count } = await tx.kafkaCatalog.updateMany({
            where: { id: current.id, version: current.version },
            data: {
              apiVersion: fields.apiVersion,
              kind: fields.kind,
              labels: nullableJson(fields.labels),
              annotations: nullableJson(fields.annotations),
              spec: json(fields.spec),
              updatedAt: at,
              version: { increment: 1 },
            },
          });
          if (count === 0) throw new StaleWrite(`Kafka catalog '${current.name}'`);
          for (const gone of changes.remove) {
            const removed = await tx.kafkaDatabase.deleteMany({ where: { id: gone.id, version: gone.version } });
            if (removed.count === 0) throw new StaleWrite(`Kafka database '${gone.name}'`);
          }
          for (const { current: database, fields: databaseFields } of changes.update) await updateDatabase(tx, database, databaseFields, at);
          await insertDatabases(tx, current.id, changes.create, at);
          return tx.kafkaCatalog.findUniqueOrThrow({ where: { id: current.id }, include: withDatabases });
        }),
      );
    },

    /**
     * Deletes the catalog with its databases of origin `catalog`, unless it has databases of origin
     * `api`: then nothing is deleted and their names are returned. The check and the delete share a
     * transaction that locks the catalog row, which creating a database waits for.
     */
    async deleteUnlessApiDatabases(catalog: KafkaCatalog): Promise<string[]> {
      return translate(`Kafka catalog '${catalog.name}'`, () =>
        db.$transaction(async (tx) => {
          await tx.$queryRaw`SELECT id FROM "KafkaCatalog" WHERE id = ${catalog.id}::uuid FOR UPDATE`;
          const kept = await tx.kafkaDatabase.findMany({
            where: { catalogId: catalog.id, origin: 'api' },
            select: { name: true },
            orderBy: { name: 'asc' },
          });
          if (kept.length === 0) {
            await tx.kafkaDatabase.deleteMany({ where: { catalogId: catalog.id } });
            await tx.kafkaCatalog.delete({ where: { id: catalog.id } });
          }
          return kept.map((d) => d.name);
        }),
      );
    },

    /**
     * Every catalog with all its databases, ordered by catalog name then database name, in one
     * round of queries: what the statement engine shows as catalogs.
     */
    async withDatabases(): Promise<Array<{ catalog: KafkaCatalog; databases: KafkaDatabase[] }>> {
      const rows = await db.kafkaCatalog.findMany({ include: withDatabases, orderBy: { name: 'asc' } });
      return rows.map(({ databases, ...catalog }) => ({ catalog, databases }));
    },

    /** Every environment, by name, with the connection secret ids it maps: who may use which catalog. */
    async environmentSecretIds(): Promise<EnvironmentSecretIds[]> {
      const rows = await db.environment.findMany({ select: { name: true, secretMappings: { select: { name: true } } } });
      return rows
        .map((r) => ({ environment: r.name, secretIds: new Set(r.secretMappings.map((m) => m.name)) }))
        .sort((a, b) => (a.environment < b.environment ? -1 : a.environment > b.environment ? 1 : 0));
    },
  };
}
