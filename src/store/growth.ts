import type pg from 'pg';

/** When a growth analyzer first analyzes, in rows this process inserted; each later time is at twice the last. */
const FIRST_ANALYZE_AT = 32;

/** Past this many inserts by one process, autovacuum's own analyze (at 10% growth) keeps up alone. */
const LAST_ANALYZE_AT = 65_536;

/**
 * Keeps PostgreSQL's statistics of fast-growing tables current while autovacuum has not caught up:
 * `ANALYZE`s them (in the background, one at a time) each time the rows this process inserted
 * double, from FIRST_ANALYZE_AT to LAST_ANALYZE_AT. A prepared statement's generic plan is made
 * once and kept until the table's statistics change: made while a table was nearly empty, it
 * scans every row of that table on each call once it holds thousands (a fresh database given
 * a thousand applications in a minute read each in full per POST, before autovacuum's first
 * analyze, up to a minute later). An analyze invalidates those plans, so the next call plans
 * for the table as it is. Returns the function each insert calls with how many rows it added.
 */
export function analyzeOnGrowth(pool: pg.Pool, tables: readonly string[], onError: (err: unknown) => void = () => undefined): (rows?: number) => void {
  const sql = `ANALYZE ${tables.map((t) => `"${t}"`).join(', ')}`;
  let inserted = 0;
  let nextAt = FIRST_ANALYZE_AT;
  let running = false;
  return (rows = 1) => {
    inserted += rows;
    if (inserted < nextAt || nextAt > LAST_ANALYZE_AT || running) return;
    nextAt *= 2;
    running = true;
    pool
      .query(sql)
      .catch(onError)
      .finally(() => {
        running = false;
      });
  };
}
