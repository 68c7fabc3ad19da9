import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { eventually, startDrey, type TestDrey } from '../support/drey.js';
import { isAlive } from '../../src/local/processes.js';
import { environment, sqlComputePool } from '../support/fixtures.js';
import { testJavaTools, TEST_FLINK_CACHE } from '../support/flink.js';
import { TEST_KAFKA_CACHE } from '../support/kafka.js';

/**
 * Local mode as the README walks through it: drey started with local Flink and local Kafka (as
 * `npm start` with Java), the README's catalog and database examples pointed at the broker and
 * registry drey started, and the README's Kafka SQL examples run as they are.
 */

jest.setTimeout(240_000);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const STMTS = '/cmf/api/v1/environments/test/statements';

let drey: TestDrey | undefined;

type Body = Record<string, any>;

/** An example manifest, as its curl line sends it. */
function example(file: string): Body {
  return yaml.load(readFileSync(path.join(ROOT, 'examples', file), 'utf8')) as Body;
}

beforeAll(async () => {
  if (!testJavaTools()) return;
  drey = await startDrey({ CMF_LOCAL_FLINK: 'on', CMF_FLINK_CACHE: TEST_FLINK_CACHE, CMF_LOCAL_KAFKA: 'on', CMF_KAFKA_CACHE: TEST_KAFKA_CACHE, CMF_SIM_STEP_MS: '50' });
  expect((await drey.post('/cmf/api/v1/environments', environment('test', 'flink-test'))).status).toBe(201);
  expect((await drey.post('/cmf/api/v1/environments/test/compute-pools', sqlComputePool('test-pool'))).status).toBe(200);
}, 300_000);

afterAll(async () => {
  await drey?.stop();
}, 120_000);

describe('local mode with Kafka', () => {
  it('runs the README walkthrough on the broker and registry drey started', async () => {
    if (!drey) return;
    const kafka = drey.drey.kafka!;
    // /healthz is drey's own (not in the contract the test client checks)
    const health = (await (await fetch(`${drey.url}/healthz`)).json()) as Body;
    expect(health.kafka).toMatchObject({ local: 'running', bootstrapServers: kafka.bootstrapServers, schemaRegistry: kafka.registryUrl });

    // the examples name the well-known ports; this drey may have had to take others
    const catalog = example('kafka-catalog.yaml');
    expect(catalog.spec.srInstance.connectionConfig['schema.registry.url']).toBe('http://localhost:8085/apis/ccompat/v7');
    catalog.spec.srInstance.connectionConfig['schema.registry.url'] = kafka.registryUrl;
    catalog.spec.kafkaClusters[0].connectionConfig['bootstrap.servers'] = kafka.bootstrapServers;
    expect((await drey.post('/cmf/api/v1/catalogs/kafka', catalog)).status).toBe(200);
    const database = example('kafka-database.yaml');
    database.spec.kafkaCluster.connectionConfig['bootstrap.servers'] = kafka.bootstrapServers;
    expect((await drey.post('/cmf/api/v1/catalogs/kafka/kafka-cat/databases', database)).status).toBe(200);

    const created = await drey.post(STMTS, example('sql/kafka-page-views-table.yaml'));
    expect([created.body.status.phase, created.body.result?.results.data]).toEqual(['COMPLETED', [{ op: 0, row: ['OK'] }]]);
    const shown = await drey.post(STMTS, {
      metadata: { name: 'show-kafka-tables' },
      spec: { statement: 'SHOW TABLES', properties: { 'sql.current-catalog': 'kafka-cat', 'sql.current-database': 'main-kafka' }, computePoolName: 'test-pool' },
    });
    expect(shown.body.result.results.data).toEqual([{ op: 0, row: ['page_views'] }]);

    expect((await drey.post(STMTS, example('sql/kafka-insert-page-views.yaml'))).status).toBe(200);
    const inserted = await eventually(
      'the INSERT to end',
      async () => {
        const status = (await drey!.get(`${STMTS}/insert-page-views`)).body.status;
        return ['COMPLETED', 'FAILED'].includes(status.phase) ? status : undefined;
      },
      180_000,
    );
    expect([inserted.phase, inserted.detail]).toEqual(['COMPLETED', 'Statement execution completed.']);

    expect((await drey.post(STMTS, example('sql/kafka-select-page-views.yaml'))).status).toBe(200);
    await eventually(
      'the SELECT to run',
      async () => {
        const status = (await drey!.get(`${STMTS}/select-page-views`)).body.status;
        if (status.phase === 'FAILED') throw new Error(`select-page-views FAILED: ${status.detail}`);
        return status.traits?.schema ? true : undefined;
      },
      180_000,
    );
    const rows: unknown[] = [];
    let token: string | undefined;
    await eventually(
      'every page of the SELECT',
      async () => {
        const res = await drey!.get(`${STMTS}/select-page-views/results${token ? `?page-token=${encodeURIComponent(token)}` : ''}`);
        if (res.status !== 200) throw new Error(`results: ${res.status} ${JSON.stringify(res.body)}`);
        rows.push(...res.body.results.data.map((r: Body) => r.row));
        token = res.body.metadata.annotations?.nextPageToken;
        return token ? undefined : true;
      },
      180_000,
    );
    expect(rows.sort()).toEqual([
      ['ada', '/docs', '2026-12-01 09:01:00.000'],
      ['ada', '/home', '2026-12-01 09:00:00.000'],
      ['bob', '/pricing', '2026-12-01 09:00:05.000'],
    ]);
  });

  it('stops the broker and the registry with drey', async () => {
    if (!drey) return;
    const pids = drey.drey.kafka!.pids;
    expect(pids.length).toBeGreaterThanOrEqual(2);
    await drey.stop();
    drey = undefined;
    expect(pids.filter(isAlive)).toEqual([]);
  });
});
