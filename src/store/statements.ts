import type { Environment, PrismaClient, Statement, StatementException } from '../generated/prisma/client.js';
import { Unprocessable } from '../domain/errors.js';
import { onlyWhere, orderBy, type Page, type PageRequest, NAMED_SORT_FIELDS } from '../domain/paging.js';
import { StaleWrite, translate } from './errors.js';
import type { NewCatalogEntry } from './catalogEntries.js';
import { json, nullableJson } from './json.js';

export type { Statement, StatementException };

/** Exceptions kept per statement. */
export const KEPT_EXCEPTIONS = 10;

/** The Postgres channel that carries `<environment>/<statement>` after every API write of a statement. */
export const STATEMENT_CHANNEL = 'drey_statements';

type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

/** Tells the leader's statement controller that a statement changed; sent on commit. */
async function notify(tx: Tx | PrismaClient, statementId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_notify(${STATEMENT_CHANNEL}, e.name || '/' || s.name) FROM "Statement" s JOIN "Environment" e ON e.id = s."environmentId" WHERE s.id = ${statementId}::uuid`;
}

/** A statement with its environment, as the controller reads it. */
export type StatementWithEnvironment = Statement & { environment: Environment };

/** An exception of a statement's job, as the controller records it. */
export interface NewStatementException {
  id: string;
  name: string;
  message: string;
  at: Date;
}

/** What one reconcile of a statement observed, written at once. Never touches the spec or `version`. */
export interface StatementObservation {
  status: { phase: string } & Record<string, unknown>;
  execution: unknown;
  /** Exceptions newer than any recorded, oldest first. */
  exceptions?: NewStatementException[];
  /** A new run starts: the pages served of the last one no longer count. */
  newRun?: boolean;
}

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
  /** Rows of a statement answered at creation (metadata and DDL). */
  result?: unknown;
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
        ...onlyWhere(page),
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
          const created = await tx.statement.create({
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
              result: nullableJson(statement.result),
              createdAt: statement.at,
              updatedAt: statement.at,
            },
          });
          await notify(tx, statement.id);
          return created;
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
      await notify(db, current.id);
      return db.statement.findUniqueOrThrow({ where: { id: current.id } });
    },

    /**
     * Marks a statement that still runs for deletion (phase DELETING): the controller removes the
     * row once its job, cluster and session are gone. Returns false if it was already marked.
     */
    async requestDeletion(statement: Statement, at: Date): Promise<boolean> {
      const status = { ...(statement.status as Record<string, unknown>), phase: 'DELETING', detail: 'Statement is being deleted.' };
      const { count } = await db.statement.updateMany({
        where: { id: statement.id, deletionRequestedAt: null },
        data: { deletionRequestedAt: at, status: json(status), phase: 'deleting', updatedAt: at },
      });
      if (count > 0) await notify(db, statement.id);
      return count > 0;
    },

    /**
     * Records what preparing a statement decided (status, inline result, and DDL for the
     * environment's catalog), unless it was prepared meanwhile. Returns the row as it now is.
     */
    async recordPrepared(
      statementId: string,
      prepared: { status: { phase: string } & Record<string, unknown>; result?: unknown },
      entry: NewCatalogEntry | undefined,
      at: Date,
    ): Promise<Statement> {
      return translate('Statement', () => db.$transaction(async (tx) => {
        const count = await tx.$executeRaw`
          UPDATE "Statement" SET status = ${JSON.stringify(prepared.status)}::json, phase = ${prepared.status.phase.toLowerCase()},
            result = ${prepared.result === undefined ? null : JSON.stringify(prepared.result)}::json, "updatedAt" = ${at}
          WHERE id = ${statementId}::uuid AND NOT (status::jsonb ? 'traits')`;
        if (count > 0) {
          if (entry) {
            await tx.environmentCatalogEntry.create({
              data: {
                id: entry.id,
                environmentId: entry.environmentId,
                statementName: entry.statementName,
                statement: entry.statement,
                catalog: entry.catalog,
                database: entry.database,
                createdAt: entry.at,
              },
            });
          }
          await notify(tx, statementId);
        }
        return tx.statement.findUniqueOrThrow({ where: { id: statementId } });
      }));
    },

    /** Says why an unprepared statement waits, in its status detail. */
    async recordWaiting(statementId: string, detail: string, at: Date): Promise<Statement> {
      await db.$executeRaw`
        UPDATE "Statement" SET status = jsonb_set(status::jsonb, '{detail}', to_jsonb(${detail}::text))::json, "updatedAt" = ${at}
        WHERE id = ${statementId}::uuid AND NOT (status::jsonb ? 'traits') AND status->>'detail' IS DISTINCT FROM ${detail}`;
      return translate('Statement', () => db.statement.findUniqueOrThrow({ where: { id: statementId } }));
    },

    /**
     * Deletes a statement at once if its execution is still the one the caller saw (it holds
     * nothing on Flink); false when the controller changed it meanwhile.
     */
    async deleteIfUnchanged(statement: Statement): Promise<boolean> {
      const execution = statement.execution === null ? null : JSON.stringify(statement.execution);
      const count = await db.$executeRaw`
        DELETE FROM "Statement" WHERE id = ${statement.id}::uuid AND "deletionRequestedAt" IS NULL
          AND execution IS NOT DISTINCT FROM ${execution}::jsonb`;
      return count > 0;
    },

    /** A statement with its environment, by `<environment>/<statement>`. */
    async find(envName: string, name: string): Promise<StatementWithEnvironment | null> {
      return db.statement.findFirst({ where: { name, environment: { name: envName } }, include: { environment: true } });
    },

    /**
     * Keys of the statements a resync must look at: those that may still move (not finished, or
     * being deleted) and those that still hold a cluster or a gateway session.
     */
    async keys(): Promise<string[]> {
      const rows = await db.$queryRaw<{ key: string }[]>`
        SELECT e.name || '/' || s.name AS key FROM "Statement" s JOIN "Environment" e ON e.id = s."environmentId"
        WHERE s.phase NOT IN ('completed', 'failed', 'stopped') OR s."deletionRequestedAt" IS NOT NULL
           OR s.execution ?| array['cluster', 'session', 'stopping']`;
      return rows.map((r) => r.key);
    },

    /**
     * Writes what a reconcile observed: status, execution and new exceptions (the newest kept).
     * Nothing is written over a DELETE that came meanwhile: the next reconcile tears it down.
     */
    async recordObservation(statementId: string, observation: StatementObservation, at: Date): Promise<void> {
      await db.$transaction(async (tx) => {
        const { count } = await tx.statement.updateMany({
          where: { id: statementId, deletionRequestedAt: null },
          data: {
            status: json(observation.status),
            phase: observation.status.phase.toLowerCase(),
            execution: nullableJson(observation.execution),
            ...(observation.newRun ? { resultsOffset: null } : {}),
            updatedAt: at,
          },
        });
        const exceptions = observation.exceptions ?? [];
        if (count === 0 || exceptions.length === 0) return;
        await tx.statementException.createMany({
          data: exceptions.map((e) => ({ id: e.id, statementId, name: e.name, message: e.message, createdAt: e.at })),
        });
        await tx.$executeRaw`
          DELETE FROM "StatementException" WHERE "statementId" = ${statementId}::uuid AND seq NOT IN (
            SELECT seq FROM "StatementException" WHERE "statementId" = ${statementId}::uuid ORDER BY seq DESC LIMIT ${KEPT_EXCEPTIONS})`;
      });
    },

    /**
     * Records the newest page of a query's results served (its gateway token): tokens of pages
     * before the one before it are used up. A new run starts over.
     */
    async markResultsServed(statementId: string, offset: number): Promise<void> {
      await db.$executeRaw`
        UPDATE "Statement" SET "resultsOffset" = ${offset} WHERE id = ${statementId}::uuid AND ("resultsOffset" IS NULL OR "resultsOffset" < ${offset})`;
    },

    /** Records that the last page of a query's results was served, once per run (a run started at `since`). */
    async markResultsDrained(statementId: string, since: Date, at: Date): Promise<void> {
      const { count } = await db.statement.updateMany({
        where: { id: statementId, OR: [{ resultsDrainedAt: null }, { resultsDrainedAt: { lt: since } }] },
        data: { resultsDrainedAt: at },
      });
      if (count > 0) await notify(db, statementId);
    },

    /** Removes a statement whose deletion finished. */
    async remove(statementId: string): Promise<void> {
      await db.statement.deleteMany({ where: { id: statementId } });
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
