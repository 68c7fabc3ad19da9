import type { Environment, PrismaClient } from '../generated/prisma/client.js';
import { onlyWhere, orderBy, type Page, type PageRequest, NAMED_SORT_FIELDS } from '../domain/paging.js';
import { StaleWrite, translate } from './errors.js';
import { nullableJson } from './json.js';

export type { Environment };

/** The stored fields of an environment that the API writes. */
export interface EnvironmentFields {
  kubernetesNamespace: string;
  flinkApplicationDefaults: unknown;
  computePoolDefaults: unknown;
  statementDefaults: unknown;
}

/** What an environment still holds, by kind, with names. */
export interface Holdings {
  applications: string[];
  computePools: string[];
  statements: string[];
  secretMappings: string[];
}

const HOLDINGS_SHOWN = 10;

/** Store operations on environments. */
export function environmentStore(db: PrismaClient) {
  return {
    async get(name: string): Promise<Environment | null> {
      return db.environment.findUnique({ where: { name } });
    },

    async list(page: PageRequest): Promise<Page<Environment>> {
      const [items, total] = await Promise.all([
        db.environment.findMany({
          where: onlyWhere(page),
          orderBy: orderBy(page, NAMED_SORT_FIELDS, [{ createdAt: 'asc' }, { name: 'asc' }]),
          skip: page.page * page.size,
          take: page.size,
        }),
        db.environment.count({ where: onlyWhere(page) }),
      ]);
      return { items, total };
    },

    async create(env: { id: string; name: string; at: Date } & EnvironmentFields): Promise<Environment> {
      return translate(`Environment '${env.name}'`, () =>
        db.environment.create({
          data: {
            id: env.id,
            name: env.name,
            kubernetesNamespace: env.kubernetesNamespace,
            flinkApplicationDefaults: nullableJson(env.flinkApplicationDefaults),
            computePoolDefaults: nullableJson(env.computePoolDefaults),
            statementDefaults: nullableJson(env.statementDefaults),
            createdAt: env.at,
            updatedAt: env.at,
          },
        }),
      );
    },

    /** Writes new fields if the row is still at `version`; otherwise StaleWrite. */
    async update(current: Environment, fields: EnvironmentFields, at: Date): Promise<Environment> {
      const { count } = await db.environment.updateMany({
        where: { id: current.id, version: current.version },
        data: {
          kubernetesNamespace: fields.kubernetesNamespace,
          flinkApplicationDefaults: nullableJson(fields.flinkApplicationDefaults),
          computePoolDefaults: nullableJson(fields.computePoolDefaults),
          statementDefaults: nullableJson(fields.statementDefaults),
          updatedAt: at,
          version: { increment: 1 },
        },
      });
      if (count === 0) throw new StaleWrite(`Environment '${current.name}'`);
      return (await db.environment.findUniqueOrThrow({ where: { id: current.id } })) as Environment;
    },

    async holdings(id: string): Promise<Holdings> {
      const where = { environmentId: id };
      const select = { name: true } as const;
      const take = HOLDINGS_SHOWN;
      const [applications, computePools, statements, secretMappings] = await Promise.all([
        db.application.findMany({ where, select, take, orderBy: { name: 'asc' } }),
        db.computePool.findMany({ where, select, take, orderBy: { name: 'asc' } }),
        db.statement.findMany({ where, select, take, orderBy: { name: 'asc' } }),
        db.environmentSecretMapping.findMany({ where, select, take, orderBy: { name: 'asc' } }),
      ]);
      const names = (rows: { name: string }[]) => rows.map((r) => r.name);
      return {
        applications: names(applications),
        computePools: names(computePools),
        statements: names(statements),
        secretMappings: names(secretMappings),
      };
    },

    /** Deletes the environment; a row created inside it meanwhile makes this a Conflict. */
    async delete(env: Environment): Promise<void> {
      await translate(`Environment '${env.name}'`, () => db.environment.delete({ where: { id: env.id } }));
    },

    /** connection secret id → secret name, for the environment's `secrets` field. */
    async secretNames(id: string): Promise<Record<string, string>> {
      const rows = await db.environmentSecretMapping.findMany({
        where: { environmentId: id },
        select: { name: true, secret: { select: { name: true } } },
        orderBy: { name: 'asc' },
      });
      return Object.fromEntries(rows.map((r) => [r.name, r.secret.name]));
    },
  };
}
