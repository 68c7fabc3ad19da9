import type { KafkaDatabase, PrismaClient } from '../generated/prisma/client.js';
import { NotFound } from '../domain/errors.js';
import { orderBy, type Page, type PageRequest, NAMED_SORT_FIELDS } from '../domain/paging.js';
import { StaleWrite, translate } from './errors.js';
import { json, nullableJson } from './json.js';

export type { KafkaDatabase };

/** How a database came to be: an entry of its catalog's 2.0 `spec.kafkaClusters`, or POST .../databases. */
export type DatabaseOrigin = 'catalog' | 'api';

/** The API-owned fields of a Kafka database. */
export interface KafkaDatabaseFields {
  apiVersion: string;
  kind: string;
  labels: unknown;
  annotations: unknown;
  spec: unknown;
}

/** A Kafka database as the API creates it. */
export interface NewKafkaDatabase extends KafkaDatabaseFields {
  id: string;
  name: string;
  origin: DatabaseOrigin;
}

type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

/** What a uniqueness or missing-row error says about a database. */
export const databaseWhat = (catalogName: string, name: string): string => `Kafka database '${name}' in catalog '${catalogName}'`;

/** Inserts databases of a catalog (inside the caller's transaction). */
export async function insertDatabases(tx: Tx, catalogId: string, databases: NewKafkaDatabase[], at: Date): Promise<void> {
  if (databases.length === 0) return;
  await tx.kafkaDatabase.createMany({
    data: databases.map((d) => ({
      id: d.id,
      catalogId,
      name: d.name,
      apiVersion: d.apiVersion,
      kind: d.kind,
      labels: nullableJson(d.labels),
      annotations: nullableJson(d.annotations),
      spec: json(d.spec),
      origin: d.origin,
      createdAt: at,
      updatedAt: at,
    })),
  });
}

/** Writes a database's API fields if it is still at `current.version`, else StaleWrite. */
export async function updateDatabase(tx: Tx | PrismaClient, current: KafkaDatabase, fields: KafkaDatabaseFields, at: Date): Promise<void> {
  const { count } = await tx.kafkaDatabase.updateMany({
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
  if (count === 0) throw new StaleWrite(`Kafka database '${current.name}'`);
}

/** Store operations on the databases of Kafka catalogs (a catalog is named by its id). */
export function kafkaDatabaseStore(db: PrismaClient) {
  return {
    async get(catalogId: string, name: string): Promise<KafkaDatabase | null> {
      return db.kafkaDatabase.findUnique({ where: { catalogId_name: { catalogId, name } } });
    },

    async list(catalogId: string, page: PageRequest): Promise<Page<KafkaDatabase>> {
      const where = { catalogId };
      const [items, total] = await Promise.all([
        db.kafkaDatabase.findMany({
          where,
          orderBy: orderBy(page, NAMED_SORT_FIELDS, [{ createdAt: 'asc' }, { name: 'asc' }]),
          skip: page.page * page.size,
          take: page.size,
        }),
        db.kafkaDatabase.count({ where }),
      ]);
      return { items, total };
    },

    /** Creates a database; a taken name is AlreadyExists, a catalog deleted meanwhile NotFound. */
    async create(catalog: { id: string; name: string }, database: NewKafkaDatabase, at: Date): Promise<KafkaDatabase> {
      return translate(databaseWhat(catalog.name, database.name), () =>
        db.$transaction(async (tx) => {
          // the catalog's DELETE locks its row and checks for databases: creating one waits for it
          const [locked] = await tx.$queryRaw<unknown[]>`SELECT id FROM "KafkaCatalog" WHERE id = ${catalog.id}::uuid FOR SHARE`;
          if (!locked) throw new NotFound(`Kafka catalog '${catalog.name}' not found`);
          await insertDatabases(tx, catalog.id, [database], at);
          return tx.kafkaDatabase.findUniqueOrThrow({ where: { id: database.id } });
        }),
      );
    },

    async update(current: KafkaDatabase, fields: KafkaDatabaseFields, at: Date): Promise<KafkaDatabase> {
      await translate(`Kafka database '${current.name}'`, () => updateDatabase(db, current, fields, at));
      return db.kafkaDatabase.findUniqueOrThrow({ where: { id: current.id } });
    },

    async delete(database: KafkaDatabase): Promise<void> {
      await translate(`Kafka database '${database.name}'`, () => db.kafkaDatabase.delete({ where: { id: database.id } }));
    },
  };
}
