import pg from 'pg';
import { isDatabaseUnavailable } from './errors.js';

/** Whether the database answers, and if not, why (never quoting a connection string). */
export type DatabaseHealth = { up: true } | { up: false; error: string };

/** How long a health check waits for `SELECT 1`, connecting included. */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * Checks that the database answers a trivial query, on a connection of its own: a busy request
 * pool must not make a database that is up look down.
 */
export class DatabaseProbe {
  private readonly pool: pg.Pool;

  constructor(databaseUrl: string) {
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 1, connectionTimeoutMillis: PROBE_TIMEOUT_MS, query_timeout: PROBE_TIMEOUT_MS, idleTimeoutMillis: 30_000 });
    // an idle connection the server dropped: the next check finds out
    this.pool.on('error', () => undefined);
  }

  /** Asks the database for `SELECT 1`. */
  async check(): Promise<DatabaseHealth> {
    try {
      await this.pool.query('SELECT 1');
      return { up: true };
    } catch (err) {
      return { up: false, error: isDatabaseUnavailable(err) ? 'cannot reach the database' : `the database did not answer: ${(err as Error).message.slice(0, 200)}` };
    }
  }

  /** Closes its connection. */
  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
