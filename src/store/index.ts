import type { PrismaClient } from '../generated/prisma/client.js';
import { applicationStore } from './applications.js';
import { poolOf } from './client.js';
import { catalogEntryStore } from './catalogEntries.js';
import { catalogStore } from './catalogs.js';
import { computePoolStore } from './computePools.js';
import { environmentStore } from './environments.js';
import { leaseStore } from './leases.js';
import { secretMappingStore } from './secretMappings.js';
import { secretStore } from './secrets.js';
import { serverKeyStore } from './serverKeys.js';
import { statementStore } from './statements.js';

/**
 * Every store operation, one group per resource; the only code that touches Prisma. `db` is made
 * by `createPrismaClient`: the hot statements share its node-postgres pool.
 */
export function createStore(db: PrismaClient) {
  return {
    environments: environmentStore(db),
    applications: applicationStore(db, poolOf(db)),
    secrets: secretStore(db),
    secretMappings: secretMappingStore(db),
    computePools: computePoolStore(db),
    statements: statementStore(db),
    catalogs: catalogStore(db),
    leases: leaseStore(db),
    catalogEntries: catalogEntryStore(db),
    serverKeys: serverKeyStore(db),
  };
}

/** The store the domain works with. */
export type Store = ReturnType<typeof createStore>;
