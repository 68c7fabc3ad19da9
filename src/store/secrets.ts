import { Prisma, type PrismaClient, type Secret } from '../generated/prisma/client.js';
import { onlyWhere, orderBy, type Page, type PageRequest, NAMED_SORT_FIELDS } from '../domain/paging.js';
import { seal, type Sealed } from '../security/envelope.js';
import type { Keyring } from '../security/keyring.js';
import { StaleWrite, translate } from './errors.js';
import { nullableJson } from './json.js';

/** A secret as the API sees it: its data, plain or sealed, is never read here. */
export type SecretRow = Omit<Secret, 'data' | keyof Sealed>;

/** The API-owned fields of a secret. */
export interface SecretFields {
  labels: unknown;
  annotations: unknown;
  data: Record<string, string>;
}

/** A secret with the names of the environments that map it. */
export type SecretWithEnvironments = SecretRow & { environments: string[] };

const withEnvironments = {
  mappings: { select: { environment: { select: { name: true } } } },
} as const;

/** The columns no API read selects. */
const omit = { data: true, kekId: true, wrappedDek: true, ciphertext: true } as const;

function flatten(row: SecretRow & { mappings: { environment: { name: string } }[] }): SecretWithEnvironments {
  const { mappings, ...secret } = row;
  return { ...secret, environments: [...new Set(mappings.map((m) => m.environment.name))].sort() };
}

/**
 * Store operations on secrets. Writes seal the data under `keyring`'s primary key; without a
 * keyring they throw rather than store plaintext.
 */
export function secretStore(db: PrismaClient, keyring: Keyring | undefined) {
  function sealed(secret: { id: string; name: string }, data: Record<string, string>) {
    if (!keyring) throw new Error(`Secret '${secret.name}' cannot be stored: this store was made without an encryption keyring`);
    return { data: Prisma.DbNull, ...seal(keyring, secret, data) };
  }

  return {
    async get(name: string): Promise<SecretWithEnvironments | null> {
      const row = await db.secret.findUnique({ where: { name }, omit, include: withEnvironments });
      return row && flatten(row);
    },

    async list(page: PageRequest): Promise<Page<SecretWithEnvironments>> {
      const [items, total] = await Promise.all([
        db.secret.findMany({
          where: onlyWhere(page),
          omit,
          include: withEnvironments,
          orderBy: orderBy(page, NAMED_SORT_FIELDS, [{ createdAt: 'asc' }, { name: 'asc' }]),
          skip: page.page * page.size,
          take: page.size,
        }),
        db.secret.count({ where: onlyWhere(page) }),
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
            ...sealed(secret, secret.data),
            createdAt: secret.at,
            updatedAt: secret.at,
          },
          omit,
          include: withEnvironments,
        }),
      );
      return flatten(row);
    },

    async update(current: SecretRow, fields: SecretFields, at: Date): Promise<SecretWithEnvironments> {
      const { count } = await db.secret.updateMany({
        where: { id: current.id, version: current.version },
        data: {
          labels: nullableJson(fields.labels),
          annotations: nullableJson(fields.annotations),
          ...sealed(current, fields.data),
          updatedAt: at,
          version: { increment: 1 },
        },
      });
      if (count === 0) throw new StaleWrite(`Secret '${current.name}'`);
      return flatten(await db.secret.findUniqueOrThrow({ where: { id: current.id }, omit, include: withEnvironments }));
    },

    /** Deletes the secret; a mapping made meanwhile makes this a Conflict. */
    async delete(secret: SecretRow): Promise<void> {
      await translate(`Secret '${secret.name}'`, () => db.secret.delete({ where: { id: secret.id } }));
    },
  };
}
