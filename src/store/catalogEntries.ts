import type { EnvironmentCatalogEntry, PrismaClient } from '../generated/prisma/client.js';

export type { EnvironmentCatalogEntry };

/** A DDL statement to keep in an environment's catalog. */
export interface NewCatalogEntry {
  id: string;
  environmentId: string;
  statementName: string;
  statement: string;
  catalog: string | null;
  database: string | null;
  at: Date;
}

/**
 * Store operations on environment catalogs: the DDL that succeeded in an environment, in the order
 * it ran, so that any new SQL session of that environment can be brought to the same catalog state.
 */
export function catalogEntryStore(db: PrismaClient) {
  return {
    /** Every entry of the environment, oldest first. */
    async list(environmentId: string): Promise<EnvironmentCatalogEntry[]> {
      return db.environmentCatalogEntry.findMany({ where: { environmentId }, orderBy: { seq: 'asc' } });
    },
  };
}
