import type pg from 'pg';
import type { ApiToken, PrismaClient } from '../generated/prisma/client.js';
import { orderBy, type Page, type PageRequest } from '../domain/paging.js';
import { translate } from './errors.js';

/** A stored token as the API may see it: everything but its hash. */
export type ApiTokenRecord = Omit<ApiToken, 'secretHash'>;

/** What verifying a token needs from its row. */
export interface ApiTokenCredential {
  name: string;
  principal: string;
  secretHash: Buffer;
  expiresAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** The properties a token list can be sorted by, mapped to stored fields. */
export const API_TOKEN_SORT_FIELDS: Record<string, string> = {
  name: 'name',
  'metadata.name': 'name',
  creationTimestamp: 'createdAt',
  'metadata.creationTimestamp': 'createdAt',
  expiresAt: 'expiresAt',
  'spec.expiresAt': 'expiresAt',
  principal: 'principal',
  'spec.principal': 'principal',
};

const omitHash = { secretHash: true } as const;

/**
 * The statements of every verification, through node-postgres: they run on every request that
 * presents a token, where Prisma's per-call CPU would show.
 */
const SQL = {
  credential: {
    name: 'api-token-credential',
    text: `SELECT "name", "principal", "secretHash", "expiresAt", "lastUsedAt", "revokedAt" FROM "ApiToken" WHERE "id" = $1`,
  },
  touch: {
    name: 'api-token-touch',
    text: `UPDATE "ApiToken" SET "lastUsedAt" = $2 WHERE "id" = $1 AND ("lastUsedAt" IS NULL OR "lastUsedAt" <= $3)`,
  },
} as const;

/** Store operations on API tokens. */
export function apiTokenStore(db: PrismaClient, pool: pg.Pool) {
  return {
    async create(token: ApiTokenRecord & { secretHash: Buffer }): Promise<ApiTokenRecord> {
      const data = { ...token, secretHash: new Uint8Array(token.secretHash) };
      return translate(`ApiToken '${token.name}'`, () => db.apiToken.create({ data, omit: omitHash }));
    },

    async get(name: string): Promise<ApiTokenRecord | null> {
      return db.apiToken.findUnique({ where: { name }, omit: omitHash });
    },

    /** Whether any token, revoked ones included, acts as `principal`. */
    async principalInUse(principal: string): Promise<boolean> {
      return (await db.apiToken.count({ where: { principal }, take: 1 })) > 0;
    },

    async list(page: PageRequest): Promise<Page<ApiTokenRecord>> {
      const [items, total] = await Promise.all([
        db.apiToken.findMany({
          omit: omitHash,
          orderBy: orderBy(page, API_TOKEN_SORT_FIELDS, [{ createdAt: 'asc' }, { name: 'asc' }]),
          skip: page.page * page.size,
          take: page.size,
        }),
        db.apiToken.count(),
      ]);
      return { items, total };
    },

    /**
     * Marks the token revoked unless it already is (the first revocation's time and author stay);
     * `null` when no token has that name.
     */
    async revoke(name: string, by: string, at: Date): Promise<ApiTokenRecord | null> {
      await db.apiToken.updateMany({ where: { name, revokedAt: null }, data: { revokedAt: at, revokedBy: by } });
      return db.apiToken.findUnique({ where: { name }, omit: omitHash });
    },

    /** The row a presented token names, by primary key: one indexed statement, never cached. */
    async credential(id: string): Promise<ApiTokenCredential | null> {
      const { rows } = await pool.query<ApiTokenCredential>({ ...SQL.credential, values: [id] });
      return rows[0] ?? null;
    },

    /** Sets `lastUsedAt` to `at` if it is unset or no later than `staleAt`: of replicas racing, one writes. */
    async touch(id: string, at: Date, staleAt: Date): Promise<void> {
      await pool.query({ ...SQL.touch, values: [id, at, staleAt] });
    },
  };
}
