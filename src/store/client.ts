import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';

export { PrismaClient };
export type { Prisma } from '../generated/prisma/client.js';

/**
 * How long opening a connection may take: a database host that stopped answering fails requests
 * in seconds (503) instead of holding them until TCP gives up.
 */
const CONNECT_TIMEOUT_MS = 5_000;

/** Options of a Prisma client. */
export interface PrismaClientOptions {
  /**
   * Called with the text of every SQL statement sent to PostgreSQL, as it is sent: Prisma's
   * queries, raw SQL, and the BEGIN / COMMIT / ROLLBACK of transactions (for tests that count
   * round trips).
   */
  onQuery?: (sql: string) => void;
}

/** A node-postgres connection class that reports each statement's text before sending it. */
function observedClient(onQuery: (sql: string) => void): typeof pg.Client {
  return class ObservedClient extends pg.Client {
    override query(...args: unknown[]): never {
      const first = args[0];
      onQuery(typeof first === 'string' ? first : String((first as { text?: unknown } | undefined)?.text));
      return (super.query as (...a: unknown[]) => never)(...args);
    }
  };
}

/** A Prisma client over node-postgres: no native query engine is needed. */
export function createPrismaClient(databaseUrl: string, options: PrismaClientOptions = {}): PrismaClient {
  const config: pg.PoolConfig = { connectionString: databaseUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS };
  if (options.onQuery) config.Client = observedClient(options.onQuery);
  return new PrismaClient({ adapter: new PrismaPg(config) });
}
