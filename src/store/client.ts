import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';

export { PrismaClient };
export type { Prisma } from '../generated/prisma/client.js';

/**
 * How long opening a connection may take: a database host that stopped answering fails requests
 * in seconds (503) instead of holding them until TCP gives up.
 */
const CONNECT_TIMEOUT_MS = 5_000;

/** A Prisma client over node-postgres: no native query engine is needed. */
export function createPrismaClient(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS }) });
}
