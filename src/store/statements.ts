import type { PrismaClient, Statement, StatementException } from '../generated/prisma/client.js';
import { Unprocessable } from '../domain/errors.js';
import { orderBy, type Page, type PageRequest, NAMED_SORT_FIELDS } from '../domain/paging.js';
import { StaleWrite, translate } from './errors.js';
import { json, nullableJson } from './json.js';

export type { Statement, StatementException };

/** Exceptions kept per statement. */
export const KEPT_EXCEPTIONS = 10;

/** A statement as the API creates it. */
export interface NewStatement {
  id: string;
  environmentId: string;
  name: string;
  apiVersion: string;
  kind: string;
  labels: unknown;
  annotations: unknown;
  computePoolName: string;
  spec: unknown;
  status: { phase: string } & Record<string, unknown>;
  at: Date;
}

/** The API-owned fields a statement update writes. */
export interface StatementFields {
  labels: unknown;
  annotations: unknown;
  spec: unknown;
}

/** List filters of statements. */
export interface StatementFilter {
  computePoolName?: string;
  phase?: string;
}

/** Store operations on statements and their exceptions. */
export function statementStore(db: PrismaClient) {
  return {
    async get(environmentId: string, name: string): Promise<Statement | null> {
      return db.statement.findUnique({ where: { environmentId_name: { environmentId, name } } });
    },

    async list(environmentId: string, filter: StatementFilter, page: PageRequest): Promise<Page<Statement>> {
      const where = {
        environmentId,
        ...(filter.computePoolName !== undefined ? { computePoolName: filter.computePoolName } : {}),
        ...(filter.phase !== undefined ? { phase: filter.phase } : {}),
      };
      const [items, total] = await Promise.all([
        db.statement.findMany({
          where,
          orderBy: orderBy(page, NAMED_SORT_FIELDS, [{ createdAt: 'asc' }, { name: 'asc' }]),
          skip: page.page * page.size,
          take: page.size,
        }),
        db.statement.count({ where }),
      ]);
      return { items, total };
    },

    /**
     * Creates the statement while holding its compute pool: the pool row is locked so that a
     * concurrent pool deletion cannot leave the statement without its pool.
     */
    async create(statement: NewStatement): Promise<Statement> {
      return translate(`Statement '${statement.name}'`, () =>
        db.$transaction(async (tx) => {
          const pools = await tx.$queryRaw<{ id: string }[]>`
            SELECT id FROM "ComputePool"
            WHERE "environmentId" = ${statement.environmentId}::uuid AND name = ${statement.computePoolName}
            FOR SHARE`;
          if (pools.length === 0) throw new Unprocessable(`Compute pool '${statement.computePoolName}' does not exist in this environment`);
          return tx.statement.create({
            data: {
              id: statement.id,
              environmentId: statement.environmentId,
              name: statement.name,
              apiVersion: statement.apiVersion,
              kind: statement.kind,
              labels: nullableJson(statement.labels),
              annotations: nullableJson(statement.annotations),
              computePoolName: statement.computePoolName,
              spec: json(statement.spec),
              status: json(statement.status),
              phase: statement.status.phase.toLowerCase(),
              createdAt: statement.at,
              updatedAt: statement.at,
            },
          });
        }),
      );
    },

    async update(current: Statement, fields: StatementFields, at: Date): Promise<Statement> {
      const { count } = await db.statement.updateMany({
        where: { id: current.id, version: current.version },
        data: {
          labels: nullableJson(fields.labels),
          annotations: nullableJson(fields.annotations),
          spec: json(fields.spec),
          updatedAt: at,
          version: { increment: 1 },
        },
      });
      if (count === 0) throw new StaleWrite(`Statement '${current.name}'`);
      return db.statement.findUniqueOrThrow({ where: { id: current.id } });
    },

    async delete(statement: Statement): Promise<void> {
      await translate(`Statement '${statement.name}'`, () => db.statement.delete({ where: { id: statement.id } }));
    },

    /** The newest exceptions, newest first. */
    async exceptions(statementId: string): Promise<StatementException[]> {
      return db.statementException.findMany({
        where: { statementId },
        orderBy: { seq: 'desc' },
        take: KEPT_EXCEPTIONS,
      });
    },
  };
}
