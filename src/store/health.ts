import type { PrismaClient } from '../generated/prisma/client.js';
import { isDatabaseUnavailable } from './errors.js';

/** Whether the database answers, and if not, why (never quoting a connection string). */
export type DatabaseHealth = { up: true } | { up: false; error: string };

/** How long a health check waits for `SELECT 1`. */
const PROBE_TIMEOUT_MS = 2_000;

/** A check that the database answers a trivial query within a short time. */
export function databaseProbe(db: PrismaClient): () => Promise<DatabaseHealth> {
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<DatabaseHealth>((resolve) => {
      timer = setTimeout(() => resolve({ up: false, error: `no answer within ${PROBE_TIMEOUT_MS} ms` }), PROBE_TIMEOUT_MS);
    });
    const asked = db.$queryRaw`SELECT 1`.then(
      (): DatabaseHealth => ({ up: true }),
      (err: unknown): DatabaseHealth => ({ up: false, error: isDatabaseUnavailable(err) ? 'cannot reach the database' : 'the database refused a trivial query' }),
    );
    try {
      return await Promise.race([asked, late]);
    } finally {
      clearTimeout(timer);
    }
  };
}
