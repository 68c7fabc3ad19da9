import type pg from 'pg';

/** Counts of rows by phase; one grouped query, cheap enough for every scrape. */
async function countBy(pool: pg.Pool, sql: string): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ phase: string; count: string }>(sql);
  return Object.fromEntries(rows.map((r) => [r.phase, Number(r.count)]));
}

/**
 * Applications' FlinkDeployments by the lifecycle state the controller last recorded (`UNKNOWN`
 * before the operator reported one), and statements by phase: what `/metrics` reports.
 */
export function phaseCounts(pool: pg.Pool) {
  return {
    flinkDeployments: () => countBy(pool, `SELECT coalesce("status"->>'lifecycleState', 'UNKNOWN') AS "phase", count(*) AS "count" FROM "Application" GROUP BY 1`),
    statements: () => countBy(pool, `SELECT coalesce("status"->>'phase', upper("phase")) AS "phase", count(*) AS "count" FROM "Statement" GROUP BY 1`),
  };
}
