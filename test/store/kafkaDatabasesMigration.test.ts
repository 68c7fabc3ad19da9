/**
 * The migration to CMF 2.1's catalog model: catalogs stored by an older drey (2.0 shape, Kafka
 * clusters in `spec.kafkaClusters`) come out with one database of origin `catalog` per entry, and
 * the API shows them as before.
 */
import { migrate, MIGRATIONS_DIR } from '../../src/store/migrate.js';
import { startApi } from '../support/api.js';
import { databaseBefore, query } from '../support/db.js';

const MIGRATION = '20261202000000_kafka_databases';

/** A catalog row as drey stored it before the migration; `spec` is JSON text, kept verbatim. */
async function insertCatalog(url: string, id: string, name: string, spec: string): Promise<void> {
  await query(
    url,
    `INSERT INTO "KafkaCatalog" (id, name, "apiVersion", kind, spec, "createdAt", "updatedAt")
     VALUES ($1, $2, 'cmf.confluent.io/v1', 'KafkaCatalog', $3::json, '2026-11-21T08:00:00Z', '2026-11-21T09:00:00Z')`,
    [id, name, spec],
  );
}

const SR = '{"connectionConfig":{"schema.registry.url":"http://sr:8081"},"connectionSecretId":"sr-conn"}';
const ONE = '11111111-1111-4111-8111-111111111111';
const TWO = '22222222-2222-4222-8222-222222222222';

describe('the kafka databases migration', () => {
  let url: string;
  beforeAll(async () => {
    url = await databaseBefore(MIGRATION);
    await insertCatalog(
      url,
      ONE,
      'cat-old',
      `{"srInstance":${SR},"kafkaClusters":[` +
        '{"databaseName":"main-kafka","connectionConfig":{"security.protocol":"SSL","bootstrap.servers":"main:9093"},"connectionSecretId":"kafka-conn"},' +
        '{"databaseName":"aux-kafka","connectionConfig":{"bootstrap.servers":"aux:9092"}}]}',
    );
    await insertCatalog(url, TWO, 'cat-empty', `{"srInstance":${SR},"kafkaClusters":[]}`);
    const report = await migrate(url, MIGRATIONS_DIR);
    expect(report.applied).toContain(MIGRATION);
  });

  it('makes one catalog-origin database per kafkaClusters entry, connectionConfig as written', async () => {
    const rows = await query<{ catalogId: string; name: string; kind: string; apiVersion: string; spec: string; origin: string; createdAt: Date }>(
      url,
      'SELECT "catalogId", name, kind, "apiVersion", spec::text AS spec, origin, "createdAt" FROM "KafkaDatabase" ORDER BY name',
    );
    expect(rows).toEqual([
      {
        catalogId: ONE,
        name: 'aux-kafka',
        kind: 'KafkaDatabase',
        apiVersion: 'cmf.confluent.io/v1',
        spec: expect.any(String),
        origin: 'catalog',
        createdAt: new Date('2026-11-21T08:00:00Z'),
      },
      expect.objectContaining({ catalogId: ONE, name: 'main-kafka', origin: 'catalog' }),
    ]);
    expect(JSON.parse(rows[0]!.spec)).toEqual({ kafkaCluster: { connectionConfig: { 'bootstrap.servers': 'aux:9092' } } });
    expect(JSON.stringify(JSON.parse(rows[1]!.spec))).toBe(
      '{"kafkaCluster":{"connectionConfig":{"security.protocol":"SSL","bootstrap.servers":"main:9093"},"connectionSecretId":"kafka-conn"}}',
    );
  });

  it('leaves the catalog rows with srInstance only', async () => {
    const rows = await query<{ name: string; spec: string }>(url, 'SELECT name, spec::text AS spec FROM "KafkaCatalog" ORDER BY name');
    expect(rows.map((r) => [r.name, JSON.stringify(JSON.parse(r.spec))])).toEqual([
      ['cat-empty', `{"srInstance":${SR}}`],
      ['cat-old', `{"srInstance":${SR}}`],
    ]);
  });

  it('the API shows the migrated catalogs as a 2.0 client stored them, and deletes them with 204', async () => {
    const api = await startApi({ databaseUrl: url });
    try {
      const got = await api.get('/cmf/api/v1/catalogs/kafka/cat-old');
      expect(got.status).toBe(200);
      expect(got.body.spec).toEqual({
        srInstance: JSON.parse(SR),
        kafkaClusters: [
          { databaseName: 'aux-kafka', connectionConfig: { 'bootstrap.servers': 'aux:9092' } },
          { databaseName: 'main-kafka', connectionConfig: { 'security.protocol': 'SSL', 'bootstrap.servers': 'main:9093' }, connectionSecretId: 'kafka-conn' },
        ],
      });
      expect((await api.get('/cmf/api/v1/catalogs/kafka/cat-old/databases/main-kafka')).status).toBe(200);
      expect((await api.delete('/cmf/api/v1/catalogs/kafka/cat-old')).status).toBe(204);
      expect((await api.get('/cmf/api/v1/catalogs/kafka/cat-empty')).body.spec.kafkaClusters).toEqual([]);
    } finally {
      await api.close();
    }
  });
});
