import type { ComputePool, PrismaClient } from '../generated/prisma/client.js';
import { orderBy, type Page, type PageRequest, NAMED_SORT_FIELDS } from '../domain/paging.js';
import { translate } from './errors.js';
import { json, nullableJson } from './json.js';

export type { ComputePool };

/** A compute pool as the API creates it. */
export interface NewComputePool {
  id: string;
  environmentId: string;
  name: string;
  apiVersion: string;
  kind: string;
  labels: unknown;
  annotations: unknown;
  spec: unknown;
  status: unknown;
  at: Date;
}

/** Store operations on compute pools. */
export function computePoolStore(db: PrismaClient) {
  return {
    async get(environmentId: string, name: string): Promise<ComputePool | null> {
      return db.computePool.findUnique({ where: { environmentId_name: { environmentId, name } } });
    },

    async list(environmentId: string, page: PageRequest): Promise<Page<ComputePool>> {
      const where = { environmentId };
      const [items, total] = await Promise.all([
        db.computePool.findMany({
          where,
          orderBy: orderBy(page, NAMED_SORT_FIELDS, [{ createdAt: 'asc' }, { name: 'asc' }]),
          skip: page.page * page.size,
          take: page.size,
        }),
        db.computePool.count({ where }),
      ]);
      return { items, total };
    },

    async create(pool: NewComputePool): Promise<ComputePool> {
      return translate(`Compute pool '${pool.name}'`, () =>
        db.computePool.create({
          data: {
            id: pool.id,
            environmentId: pool.environmentId,
            name: pool.name,
            apiVersion: pool.apiVersion,
            kind: pool.kind,
            labels: nullableJson(pool.labels),
            annotations: nullableJson(pool.annotations),
            spec: json(pool.spec),
            status: json(pool.status),
            createdAt: pool.at,
            updatedAt: pool.at,
          },
        }),
      );
    },

    /**
     * Deletes the pool unless a statement uses it: the check and the delete share a transaction
     * that locks the pool row, and statement creation locks it too (see statements.create).
     */
    async deleteUnlessUsed(pool: ComputePool): Promise<string[]> {
      return db.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT id FROM "ComputePool" WHERE id = ${pool.id}::uuid FOR UPDATE`;
        const users = await tx.statement.findMany({
          where: { environmentId: pool.environmentId, computePoolName: pool.name },
          select: { name: true },
          orderBy: { name: 'asc' },
          take: 10,
        });
        if (users.length === 0) await tx.computePool.delete({ where: { id: pool.id } });
        return users.map((u) => u.name);
      });
    },
  };
}
