import type { ComputePool, Environment, PrismaClient } from '../generated/prisma/client.js';
import { onlyWhere, orderBy, type Page, type PageRequest, NAMED_SORT_FIELDS } from '../domain/paging.js';
import { translate } from './errors.js';
import { json, nullableJson } from './json.js';

export type { ComputePool };

/** The Postgres channel that carries `<environment>/<pool>` after every API write of a compute pool. */
export const COMPUTE_POOL_CHANNEL = 'drey_compute_pools';

/** A compute pool with its environment, as the controller reads it. */
export type ComputePoolWithEnvironment = ComputePool & { environment: Environment };

async function notify(db: Pick<PrismaClient, '$executeRaw'>, environmentId: string, name: string): Promise<void> {
  await db.$executeRaw`SELECT pg_notify(${COMPUTE_POOL_CHANNEL}, e.name || '/' || ${name}) FROM "Environment" e WHERE e.id = ${environmentId}::uuid`;
}

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
      const where = { environmentId, ...onlyWhere(page) };
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
      const created = await translate(`Compute pool '${pool.name}'`, () =>
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
      await notify(db, pool.environmentId, pool.name);
      return created;
    },

    /** A pool with its environment, by `<environment>/<pool>`. */
    async find(envName: string, name: string): Promise<ComputePoolWithEnvironment | null> {
      return db.computePool.findFirst({ where: { name, environment: { name: envName } }, include: { environment: true } });
    },

    /** `<environment>/<pool>` of every pool. */
    async keys(): Promise<string[]> {
      const rows = await db.computePool.findMany({ select: { name: true, environment: { select: { name: true } } } });
      return rows.map((r) => `${r.environment.name}/${r.name}`);
    },

    /** Writes a pool's status (never its spec or version). */
    async recordStatus(poolId: string, status: unknown, at: Date): Promise<void> {
      await db.computePool.update({ where: { id: poolId }, data: { status: json(status), updatedAt: at } });
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
        if (users.length === 0) {
          await tx.computePool.delete({ where: { id: pool.id } });
          await notify(tx, pool.environmentId, pool.name);
        }
        return users.map((u) => u.name);
      });
    },
  };
}
