import type { KafkaCatalog, PrismaClient } from '../generated/prisma/client.js';
import { orderBy, type Page, type PageRequest, NAMED_SORT_FIELDS } from '../domain/paging.js';
import { translate } from './errors.js';
import { json, nullableJson } from './json.js';

export type { KafkaCatalog };

/** A Kafka catalog as the API creates it. */
export interface NewKafkaCatalog {
  id: string;
  name: string;
  apiVersion: string;
  kind: string;
  labels: unknown;
  annotations: unknown;
  spec: unknown;
  at: Date;
}

/** Store operations on Kafka catalogs. */
export function catalogStore(db: PrismaClient) {
  return {
    async get(name: string): Promise<KafkaCatalog | null> {
      return db.kafkaCatalog.findUnique({ where: { name } });
    },

    async list(page: PageRequest): Promise<Page<KafkaCatalog>> {
      const [items, total] = await Promise.all([
        db.kafkaCatalog.findMany({
          orderBy: orderBy(page, NAMED_SORT_FIELDS, [{ createdAt: 'asc' }, { name: 'asc' }]),
          skip: page.page * page.size,
          take: page.size,
        }),
        db.kafkaCatalog.count(),
      ]);
      return { items, total };
    },

    async create(catalog: NewKafkaCatalog): Promise<KafkaCatalog> {
      return translate(`Kafka catalog '${catalog.name}'`, () =>
        db.kafkaCatalog.create({
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
        }),
      );
    },

    async delete(catalog: KafkaCatalog): Promise<void> {
      await translate(`Kafka catalog '${catalog.name}'`, () => db.kafkaCatalog.delete({ where: { id: catalog.id } }));
    },
  };
}
