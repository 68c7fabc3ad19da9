import type { PrismaClient } from '../generated/prisma/client.js';

/** Leases for leader election, timed by the database's clock so the replicas' clocks need not agree. */
export function leaseStore(db: PrismaClient) {
  return {
    /**
     * Takes or renews the lease for `ttlMs` if it is free, expired or already `holder`'s; true when
     * `holder` has it. The database gives up on the query after `timeoutMs` (waiting on a locked
     * row included), so one that cannot answer in time frees its connection rather than hold it.
     */
    async acquire(name: string, holder: string, ttlMs: number, timeoutMs: number): Promise<boolean> {
      const [, rows] = await db.$transaction([
        db.$queryRaw`SELECT set_config('statement_timeout', ${String(Math.max(1, Math.floor(timeoutMs)))}, true)`,
        db.$queryRaw<{ holder: string }[]>`
          INSERT INTO "ControllerLease" ("name", "holder", "renewedAt", "expiresAt")
          VALUES (${name}, ${holder}, now(), now() + make_interval(secs => ${ttlMs / 1000}))
          ON CONFLICT ("name") DO UPDATE SET "holder" = EXCLUDED."holder", "renewedAt" = EXCLUDED."renewedAt", "expiresAt" = EXCLUDED."expiresAt"
          WHERE "ControllerLease"."holder" = EXCLUDED."holder" OR "ControllerLease"."expiresAt" < now()
          RETURNING "holder"`,
      ]);
      return rows.length === 1;
    },

    /** Gives the lease up at once, so another replica need not wait for it to expire. */
    async release(name: string, holder: string): Promise<void> {
      await db.controllerLease.deleteMany({ where: { name, holder } });
    },
  };
}
