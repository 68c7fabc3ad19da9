import type { PrismaClient } from '../generated/prisma/client.js';
import type { Keyring } from '../security/keyring.js';
import { apiTokenStore } from './apiTokens.js';
import { applicationStore } from './applications.js';
import { auditEventStore } from './auditEvents.js';
import { poolOf } from './client.js';
import { catalogEntryStore } from './catalogEntries.js';
import { catalogStore } from './catalogs.js';
import { computePoolStore } from './computePools.js';
import { environmentStore } from './environments.js';
import { leaseStore } from './leases.js';
import { roleBindingStore } from './roleBindings.js';
import { secretMappingStore } from './secretMappings.js';
import { secretStore } from './secrets.js';
import { serverKeyStore } from './serverKeys.js';
import { statementStore } from './statements.js';

/**
 * Every store operation, one group per resource; the only code that touches Prisma. `db` is made
 * by `createPrismaClient`: the hot statements share its node-postgres pool. `keyring` seals and
 * opens secret data; without it secret writes throw (stores that never touch secrets need none).
 */
export function createStore(db: PrismaClient, options: { keyring?: Keyring } = {}) {
  return {
    environments: environmentStore(db),
    applications: applicationStore(db, poolOf(db)),
    secrets: secretStore(db, options.keyring),
    secretMappings: secretMappingStore(db, options.keyring),
    computePools: computePoolStore(db),
    statements: statementStore(db),
    catalogs: catalogStore(db),
    leases: leaseStore(db),
    catalogEntries: catalogEntryStore(db),
    serverKeys: serverKeyStore(db),
    apiTokens: apiTokenStore(db, poolOf(db)),
    auditEvents: auditEventStore(poolOf(db)),
    roleBindings: roleBindingStore(db),
  };
}

/** The store the domain works with. */
export type Store = ReturnType<typeof createStore>;
