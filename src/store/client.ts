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
   * queries, raw SQL, the store's own node-postgres statements, and the BEGIN / COMMIT / ROLLBACK
   * of transactions (for tests that count round trips).
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

/**
 * The node-postgres pool under each Prisma client made here. A WeakMap rather than a field:
 * Prisma's client is a proxy of its own, and everything that holds a client can find its pool.
 */
const pools = new WeakMap<PrismaClient, pg.Pool>();

/**
 * A Prisma client over node-postgres (no native query engine is needed), on a pool the store
 * shares for its hot statements (`poolOf`): Prisma costs several hundred µs of CPU per call,
 * a plain node-postgres query a fraction of that. `$disconnect()` ends the pool.
 */
export function createPrismaClient(databaseUrl: string, options: PrismaClientOptions = {}): PrismaClient {
  const config: pg.PoolConfig = { connectionString: databaseUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS };
  if (options.onQuery) config.Client = observedClient(options.onQuery);
  const pool = new pg.Pool(config);
  // an idle connection that breaks leaves the pool; the next statement reports the outage
  pool.on('error', () => undefined);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  // Prisma ends the pool only when it connected: a client whose every statement went through the
  // pool would otherwise leave its connections open after `$disconnect()`. Connecting opens no
  // database connection (the pool connects lazily), and an error here recurs on the first query.
  prisma.$connect().catch(() => undefined);
  pools.set(prisma, pool);
  return prisma;
}

/** The node-postgres pool under a client made by `createPrismaClient`, shared with Prisma. */
export function poolOf(prisma: PrismaClient): pg.Pool {
  const pool = pools.get(prisma);
  if (!pool) throw new Error('this Prisma client was not made by createPrismaClient: it has no pool to share');
  return pool;
}
