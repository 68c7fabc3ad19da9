import type { PrismaClient, Secret } from '../generated/prisma/client.js';
import { orderBy, type Page, type PageRequest, NAMED_SORT_FIELDS } from '../domain/paging.js';
import { StaleWrite, translate } from './errors.js';
import { json, nullableJson } from './json.js';

export type { Secret };

/** The API-owned fields of a secret. */
export interface SecretFields {
  labels: unknown;
  annotations: unknown;
  data: Record<string, string>;
}

/** A secret with the names of the environments that map it. */
export type SecretWithEnvironments = Secret & { environments: string[] };

const withEnvironments = {
  mappings: { select: { environment: { select: { name: true } } } },
} as const;

function flatten(row: Secret & { mappings: { environment: { name: string } }[] }): SecretWithEnvironments {
  const { mappings, ...secret } = row;
  return { ...secret, environments: [...new Set(mappings.map((m) => m.environment.name))].sort() };
}

/** Store operations on secrets. */
export function secretStore(db: PrismaClient) {
  return {
    async get(name: string): Promise<SecretWithEnvironments | null> {
      const row = await db.secret.findUnique({ where: { name }, include: withEnvironments });
      return row && flatten(row);
    },

    async list(page: PageRequest): Promise<Page<SecretWithEnvironments>> {
      const [items, total] = await Promise.all([
        db.secret.findMany({
          include: withEnvironments,
          orderBy: orderBy(page, NAMED_SORT_FIELDS, [{ createdAt: 'asc' }, { name: 'asc' }]),
          skip: page.page * page.size,
          take: page.size,
        }),
        db.secret.count(),
      ]);
      return { items: items.map(flatten), total };
    },

    async create(secret: { id: string; name: string; at: Date } & SecretFields): Promise<SecretWithEnvironments> {
      const row = await translate(`Secret '${secret.name}'`, () =>
        db.secret.create({
          data: {
            id: secret.id,
            name: secret.name,
            labels: nullableJson(secret.labels),
            annotations: nullableJson(secret.annotations),
            data: json(secret.data),
            createdAt: secret.at,
            updatedAt: secret.at,
          },
          include: withEnvironments,
        }),
      );
      return flatten(row);
    },

    async update(current: Secret, fields: SecretFields, at: Date): Promise<SecretWithEnvironments> {
      const { count } = await db.secret.updateMany({
        where: { id: current.id, version: current.version },
        data: {
          labels: nullableJson(fields.labels),
          annotations: nullableJson(fields.annotations),
          data: json(fields.data),
          updatedAt: at,
          version: { increment: 1 },
        },
      });
      if (count === 0) throw new StaleWrite(`Secret '${current.name}'`);
      return flatten(await db.secret.findUniqueOrThrow({ where: { id: current.id }, include: withEnvironments }));
    },

    /** Deletes the secret; a mapping made meanwhile makes this a Conflict. */
    async delete(secret: Secret): Promise<void> {
      await translate(`Secret '${secret.name}'`, () => db.secret.delete({ where: { id: secret.id } }));
    },
  };
}
