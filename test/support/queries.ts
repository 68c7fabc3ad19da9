/**
 * Counting the SQL drey sends, for tests that guard how many statements an operation costs.
 *
 *   const queries = queryCounter();
 *   const prisma = createPrismaClient(url, { onQuery: queries.onQuery });
 *   ...
 *   const { statements, transactions, sql } = await queries.during(() => api.get('/cmf/...'));
 *
 * `statements` counts every statement sent while the block ran, BEGIN and COMMIT included (they
 * are round trips too); `transactions` counts the BEGINs; `sql` lists the texts, to print when a
 * count is off. Statements of anything else using the same client at the same time count too, so
 * measure with nothing else running (e.g. an API without controllers); the store's background
 * ANALYZE of growing tables (`analyzeOnGrowth`) is maintenance, not a request's, and is left out.
 */

/** What a block sent to PostgreSQL. */
export interface QueryCount {
  statements: number;
  transactions: number;
  sql: string[];
}

/** A recorder to hand to `createPrismaClient(url, { onQuery })`. */
export interface QueryCounter {
  onQuery(sql: string): void;
  /** Runs `block` and counts the statements sent until it settles. */
  during(block: () => Promise<unknown>): Promise<QueryCount>;
}

/** A new recorder; it records only inside `during`. */
export function queryCounter(): QueryCounter {
  let recording: string[] | undefined;
  return {
    onQuery(sql) {
      const text = sql.replace(/\s+/g, ' ').trim();
      if (!/^ANALYZE\b/i.test(text)) recording?.push(text);
    },
    async during(block) {
      const sql: string[] = [];
      recording = sql;
      try {
        await block();
      } finally {
        recording = undefined;
      }
      return { statements: sql.length, transactions: sql.filter((s) => /^BEGIN\b/i.test(s)).length, sql };
    },
  };
}
