import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Prisma } from '../../src/generated/prisma/client.js';
import { migrate, MIGRATIONS_DIR } from '../../src/store/migrate.js';
import { emptyDatabase, query } from '../support/db.js';

/** The migrations shipped, oldest first, as prisma migrate names them. */
const SHIPPED = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

describe('migrations', () => {
  it('applies every migration once and records it as prisma migrate deploy does', async () => {
    const url = await emptyDatabase();
    const first = await migrate(url, MIGRATIONS_DIR);
    expect(first.applied).toEqual(SHIPPED);
    expect(SHIPPED.length).toBeGreaterThanOrEqual(2);
    const second = await migrate(url, MIGRATIONS_DIR);
    expect(second).toEqual({ applied: [], alreadyApplied: SHIPPED.length });
    const rows = await query<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }>(
      url,
      'SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name',
    );
    expect(rows).toEqual(
      SHIPPED.map((name) => ({
        migration_name: name,
        checksum: createHash('sha256').update(readFileSync(path.join(MIGRATIONS_DIR, name, 'migration.sql'))).digest('hex'),
        finished_at: expect.any(Date),
        applied_steps_count: 1,
      })),
    );
  });

  it('replicas starting together apply each migration exactly once', async () => {
    const url = await emptyDatabase();
    const reports = await Promise.all([1, 2, 3].map(() => migrate(url, MIGRATIONS_DIR)));
    expect(reports.flatMap((r) => r.applied)).toEqual(SHIPPED);
  });

  it('creates a column for every field of every model in schema.prisma', async () => {
    const url = await emptyDatabase();
    await migrate(url, MIGRATIONS_DIR);
    const columns = await query<{ table_name: string; column_name: string }>(
      url,
      "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'",
    );
    const have = new Set(columns.map((c) => `${c.table_name}.${c.column_name}`));
    const namespace = Prisma as unknown as Record<string, Record<string, string>>;
    const expected = Object.values(Prisma.ModelName).flatMap((model) =>
      Object.values(namespace[`${model}ScalarFieldEnum`]!).map((field) => `${model}.${field}`),
    );
    expect(expected.length).toBeGreaterThan(50);
    expect(expected.filter((c) => !have.has(c))).toEqual([]);
    const modelTables = new Set<string>(Object.values(Prisma.ModelName));
    const extra = [...have].filter((c) => modelTables.has(c.split('.')[0]!) && !expected.includes(c));
    expect(extra).toEqual([]);
  });
});
