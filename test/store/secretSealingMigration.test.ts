/**
 * The migration to sealed secrets: rows an older drey stored in plaintext stay readable through
 * the migration, are sealed by drey's start step (SQL cannot read key files), and keep their values.
 */
import { createLogger } from '../../src/log.js';
import { sealPlaintextRows, verifyKeyring } from '../../src/security/sealing.js';
import { createPrismaClient, poolOf, type PrismaClient } from '../../src/store/client.js';
import { createStore } from '../../src/store/index.js';
import { migrate, MIGRATIONS_DIR } from '../../src/store/migrate.js';
import { databaseBefore, query } from '../support/db.js';
import { ephemeralKeyring } from '../support/keyring.js';
import { logEntries } from '../support/logLines.js';

const MIGRATION = '20261213000000_secret_sealing';
const ENV_ID = '00000000-0000-4000-8000-000000000001';
const SECRETS = 250;

const id = (i: number) => `00000000-0000-4000-8000-${String(1000 + i).padStart(12, '0')}`;
const nameOf = (i: number) => `creds-${String(i).padStart(3, '0')}`;
const valueOf = (i: number) => ({ password: `old-plaintext-${i}`, 'sasl.mechanism': 'PLAIN' });

/** SECRETS secrets as the older drey stored them, each mapped in one environment under `conn-<i>`. */
async function insertPlaintextSecrets(url: string): Promise<void> {
  const at = '2026-11-21T08:00:00Z';
  await query(url, `INSERT INTO "Environment" (id, name, "kubernetesNamespace", "createdAt", "updatedAt") VALUES ($1, 'env-old', 'ns-old', $2, $2)`, [ENV_ID, at]);
  const all = Array.from({ length: SECRETS }, (_, i) => i);
  await query(
    url,
    `INSERT INTO "Secret" (id, name, data, "createdAt", "updatedAt") SELECT u.id, u.name, u.data::jsonb, $4, $4 FROM unnest($1::uuid[], $2::text[], $3::text[]) AS u(id, name, data)`,
    [all.map(id), all.map(nameOf), all.map((i) => JSON.stringify(valueOf(i))), at],
  );
  await query(
    url,
    `INSERT INTO "EnvironmentSecretMapping" (id, "environmentId", name, "secretId", "createdAt", "updatedAt")
     SELECT gen_random_uuid(), $1, 'conn-' || u.n, u.id, $3, $3 FROM unnest($2::uuid[]) WITH ORDINALITY AS u(id, n)`,
    [ENV_ID, all.map(id), at],
  );
}

describe('the secret sealing migration', () => {
  const keyring = ephemeralKeyring(['k1']);
  const logs: string[] = [];
  const log = createLogger('debug', (line) => logs.push(line));
  let url: string;
  let prisma: PrismaClient;

  beforeAll(async () => {
    url = await databaseBefore(MIGRATION);
    await insertPlaintextSecrets(url);
    const report = await migrate(url, MIGRATIONS_DIR);
    expect(report.applied).toContain(MIGRATION);
    prisma = createPrismaClient(url);
  });
  afterAll(async () => prisma.$disconnect());

  it('keeps every row as it was: the SQL alone cannot seal', async () => {
    const rows = await query<{ plain: number; sealed: number }>(
      url,
      'SELECT count(*) FILTER (WHERE data IS NOT NULL)::int AS plain, count(*) FILTER (WHERE "kekId" IS NOT NULL OR "wrappedDek" IS NOT NULL OR ciphertext IS NOT NULL)::int AS sealed FROM "Secret"',
    );
    expect(rows).toEqual([{ plain: SECRETS, sealed: 0 }]);
  });

  it('refuses a row that is both plaintext and sealed, or sealed without its key id', async () => {
    await expect(query(url, `UPDATE "Secret" SET ciphertext = '\\x00' WHERE id = $1`, [id(0)])).rejects.toThrow(/Secret_plain_xor_sealed/);
    await expect(query(url, `UPDATE "Secret" SET data = NULL, ciphertext = '\\x00', "wrappedDek" = '\\x00' WHERE id = $1`, [id(0)])).rejects.toThrow(/Secret_plain_xor_sealed/);
  });

  it('serves the plaintext rows an older drey wrote until they are sealed', async () => {
    const secrets = await createStore(prisma, { keyring }).secretMappings.connectionSecrets(ENV_ID);
    expect(secrets['conn-1']).toEqual(valueOf(0));
  });

  it('the start step seals every row in batches, logging its progress, and replicas share the work', async () => {
    const options = { pool: poolOf(prisma), keyring, log };
    await verifyKeyring(options);
    const [one, two] = await Promise.all([sealPlaintextRows(options), sealPlaintextRows(options)]);
    expect(one + two).toBe(SECRETS);
    // each replica counts what is left when it starts (the other may have sealed some by then) and
    // logs after each batch of at most 100; the first batch of either finds 100 rows to seal
    const progress = logEntries(logs).flatMap((e) => {
      const m = /^secrets sealed (\d+)\/(\d+)$/.exec(e.msg);
      return m ? [[Number(m[1]), Number(m[2])] as const] : [];
    });
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.filter(([n, total]) => !(n <= total && total <= SECRETS))).toEqual([]);
    expect(progress.some(([n]) => n === 100)).toBe(true);
    const rows = await query<{ plain: number; k1: number }>(
      url,
      `SELECT count(*) FILTER (WHERE data IS NOT NULL)::int AS plain, count(*) FILTER (WHERE "kekId" = 'k1' AND "wrappedDek" IS NOT NULL AND ciphertext IS NOT NULL)::int AS k1 FROM "Secret"`,
    );
    expect(rows).toEqual([{ plain: 0, k1: SECRETS }]);
  });

  it('leaves version alone: it counts user updates', async () => {
    expect(await query(url, 'SELECT DISTINCT version FROM "Secret"')).toEqual([{ version: 1 }]);
  });

  it('connectionSecrets returns the values as they were, and a second start seals nothing', async () => {
    const secrets = await createStore(prisma, { keyring }).secretMappings.connectionSecrets(ENV_ID);
    expect(secrets).toEqual(Object.fromEntries(Array.from({ length: SECRETS }, (_, i) => [`conn-${i + 1}`, valueOf(i)])));
    const before = await query(url, 'SELECT row_to_json(s)::text AS row FROM "Secret" s ORDER BY id');
    expect(await sealPlaintextRows({ pool: poolOf(prisma), keyring, log })).toBe(0);
    expect(await query(url, 'SELECT row_to_json(s)::text AS row FROM "Secret" s ORDER BY id')).toEqual(before);
  });
});
