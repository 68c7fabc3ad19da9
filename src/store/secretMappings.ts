import type { EnvironmentSecretMapping, PrismaClient } from '../generated/prisma/client.js';
import { onlyWhere, orderBy, type Page, type PageRequest, NAMED_SORT_FIELDS } from '../domain/paging.js';
import { open } from '../security/envelope.js';
import type { Keyring } from '../security/keyring.js';
import { StaleWrite, translate } from './errors.js';
import { nullableJson } from './json.js';

/** A mapping with the name of the secret it resolves to. */
export type SecretMapping = EnvironmentSecretMapping & { secretName: string };

/** The API-owned fields of a mapping. */
export interface SecretMappingFields {
  secretId: string;
  labels: unknown;
  annotations: unknown;
}

const include = { secret: { select: { name: true } } } as const;

function flatten(row: EnvironmentSecretMapping & { secret: { name: string } }): SecretMapping {
  const { secret, ...mapping } = row;
  return { ...mapping, secretName: secret.name };
}

const sealedColumns = { id: true, name: true, data: true, kekId: true, wrappedDek: true, ciphertext: true } as const;

/** Store operations on environment secret mappings; `keyring` opens the secrets they map. */
export function secretMappingStore(db: PrismaClient, keyring: Keyring | undefined) {
  return {
    /**
     * The data of every secret the environment maps, by connection secret id (the mapping's name):
     * what catalogs merge into their connection configs in that environment. Never for the API, and
     * the only place secrets are decrypted. A row an older drey wrote in plaintext (during a rolling
     * upgrade, until it is sealed) is returned as it is.
     */
    async connectionSecrets(environmentId: string): Promise<Record<string, Record<string, string>>> {
      const rows = await db.environmentSecretMapping.findMany({ where: { environmentId }, select: { name: true, secret: { select: sealedColumns } } });
      return Object.fromEntries(
        rows.map(({ name, secret: { data, kekId, wrappedDek, ciphertext, ...ref } }) => {
          if (kekId === null || wrappedDek === null || ciphertext === null) return [name, data as Record<string, string>];
          if (!keyring) throw new Error(`Secret '${ref.name}' cannot be decrypted: this store was made without an encryption keyring`);
          return [name, open(keyring, { ...ref, kekId, wrappedDek, ciphertext })];
        }),
      );
    },

    async get(environmentId: string, name: string): Promise<SecretMapping | null> {
      const row = await db.environmentSecretMapping.findUnique({
        where: { environmentId_name: { environmentId, name } },
        include,
      });
      return row && flatten(row);
    },

    async list(environmentId: string, page: PageRequest): Promise<Page<SecretMapping>> {
      const where = { environmentId, ...onlyWhere(page) };
      const [items, total] = await Promise.all([
        db.environmentSecretMapping.findMany({
          where,
          include,
          orderBy: orderBy(page, NAMED_SORT_FIELDS, [{ createdAt: 'asc' }, { name: 'asc' }]),
          skip: page.page * page.size,
          take: page.size,
        }),
        db.environmentSecretMapping.count({ where }),
      ]);
      return { items: items.map(flatten), total };
    },

    async create(mapping: { id: string; environmentId: string; name: string; at: Date } & SecretMappingFields): Promise<SecretMapping> {
      const row = await translate(`Environment secret mapping '${mapping.name}'`, () =>
        db.environmentSecretMapping.create({
          data: {
            id: mapping.id,
            environmentId: mapping.environmentId,
            name: mapping.name,
            secretId: mapping.secretId,
            labels: nullableJson(mapping.labels),
            annotations: nullableJson(mapping.annotations),
            createdAt: mapping.at,
            updatedAt: mapping.at,
          },
          include,
        }),
      );
      return flatten(row);
    },

    async update(current: SecretMapping, fields: SecretMappingFields, at: Date): Promise<SecretMapping> {
      const { count } = await translate(`Environment secret mapping '${current.name}'`, () =>
        db.environmentSecretMapping.updateMany({
          where: { id: current.id, version: current.version },
          data: {
            secretId: fields.secretId,
            labels: nullableJson(fields.labels),
            annotations: nullableJson(fields.annotations),
            updatedAt: at,
            version: { increment: 1 },
          },
        }),
      );
      if (count === 0) throw new StaleWrite(`Environment secret mapping '${current.name}'`);
      return flatten(await db.environmentSecretMapping.findUniqueOrThrow({ where: { id: current.id }, include }));
    },

    async delete(mapping: SecretMapping): Promise<void> {
      await translate(`Environment secret mapping '${mapping.name}'`, () =>
        db.environmentSecretMapping.delete({ where: { id: mapping.id } }),
      );
    },
  };
}
