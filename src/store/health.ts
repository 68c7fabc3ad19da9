import pg from 'pg';
import { isDatabaseUnavailable } from './errors.js';

/** Whether the database answers, and if not, why (never quoting a connection string). */
export type DatabaseHealth = { up: true } | { up: false; error: string };

/** How long a health check waits for `SELECT 1`, connecting included. */
const PROBE_TIMEOUT_MS = 2_000;

/** Options of a database probe. */
export interface DatabaseProbeOptions {
  databaseUrl: string;
  /** How long an answer is reused: a storm of probes costs one query per this long. */
  reuseMs?: number;
  /** Hears the probe's statement as it is sent (as `createPrismaClient`'s `onQuery` does). */
  onQuery?: (sql: string) => void;
}

/**
 * Checks that the database answers a trivial query, on a connection of its own: a busy request
 * pool must not make a database that is up look down. Callers that ask while a check runs share
 * it, and an answer is reused for `reuseMs` (1 s by default), so kubelet, load balancers and
 * `/healthz` callers asking at once become one query, not a query each.
 */
export class DatabaseProbe {
  private readonly pool: pg.Pool;
  private readonly reuseMs: number;
  private readonly onQuery: ((sql: string) => void) | undefined;
  private running: Promise<DatabaseHealth> | undefined;
  private last: { health: DatabaseHealth; at: number } | undefined;

  constructor({ databaseUrl, reuseMs = 1_000, onQuery }: DatabaseProbeOptions) {
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 1, connectionTimeoutMillis: PROBE_TIMEOUT_MS, query_timeout: PROBE_TIMEOUT_MS, idleTimeoutMillis: 30_000 });
    // an idle connection the server dropped: the next check finds out
    this.pool.on('error', () => undefined);
    this.reuseMs = reuseMs;
    this.onQuery = onQuery;
  }

  /** Whether the database answers: the running check's answer, a recent one, or a new `SELECT 1`. */
  check(): Promise<DatabaseHealth> {
    if (this.running) return this.running;
    if (this.last && performance.now() - this.last.at < this.reuseMs) return Promise.resolve(this.last.health);
    this.running = this.ask().then((health) => {
      this.last = { health, at: performance.now() };
      this.running = undefined;
      return health;
    });
    return this.running;
  }

  private async ask(): Promise<DatabaseHealth> {
    try {
      this.onQuery?.('SELECT 1');
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
