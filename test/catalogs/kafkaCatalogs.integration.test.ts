import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import registryPkg from '@kafkajs/confluent-schema-registry';
import kafkajs, { type Admin, type Producer } from 'kafkajs';
import { eventually, startDrey, type TestDrey } from '../support/drey.js';
import { environment, secret, secretMapping, sqlComputePool, statement } from '../support/fixtures.js';
import { testJavaTools, TEST_FLINK_CACHE } from '../support/flink.js';
import { startTestKafka, type TestKafka } from '../support/kafka.js';
import { cliRender } from '../support/cliDecoder.js';

/**
 * Kafka catalogs end to end: a real Kafka broker (one listener plain, one with SASL PLAIN users), a
 * real Schema Registry (Apicurio's Confluent-compatible API) and real Flink 2.3, driven through
 * drey's API as CMF users do. Topics are tables whose schemas come from the registry; a plain
 * Kafka producer and consumer with the registry's wire format sit on the other side.
 */

const { Kafka, logLevel } = kafkajs;
const { SchemaRegistry, SchemaType } = registryPkg;

jest.setTimeout(240_000);

const ENV = 'kc-env';
const OTHER = 'kc-other';
const CATALOG = 'kcat';
const PASSWORD = 'Sup3r-Secret-Passw0rd-4-alice';
const JAAS = `org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="${PASSWORD}";`;
const stmts = (env: string) => `/cmf/api/v1/environments/${env}/statements`;

let kafka: TestKafka | undefined;
let drey: TestDrey | undefined;
let admin: Admin;
let producer: Producer;
let registry: InstanceType<typeof SchemaRegistry>;

type Body = Record<string, any>;

/** Every Avro type the mapping supports, in one record. */
const EVERYTHING = {
  type: 'record',
  name: 'Everything',
  namespace: 'dev.drey.test',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'active', type: 'boolean' },
    { name: 'small', type: 'int' },
    { name: 'score', type: 'float' },
    { name: 'ratio', type: 'double' },
    { name: 'blob', type: 'bytes' },
    { name: 'uid', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'clock', type: { type: 'int', logicalType: 'time-millis' } },
    { name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } },
    { name: 'hash', type: { type: 'fixed', name: 'Hash', size: 4 } },
    { name: 'suit', type: { type: 'enum', name: 'Suit', symbols: ['HEARTS', 'SPADES'] } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'attrs', type: { type: 'map', values: 'long' } },
    { name: 'address', type: { type: 'record', name: 'Address', fields: [{ name: 'street', type: 'string' }, { name: 'zip', type: ['null', 'int'] }] } },
    { name: 'previous', type: ['null', 'Address'], default: null },
    { name: 'nickname', type: ['null', 'string'], default: null },
  ],
};

/** How Flink's DESCRIBE shows each column of EVERYTHING (name, type, null). */
const EVERYTHING_COLUMNS = [
  ['key', 'BYTES', 'TRUE'],
  ['id', 'BIGINT', 'FALSE'],
  ['name', 'STRING', 'FALSE'],
  ['active', 'BOOLEAN', 'FALSE'],
  ['small', 'INT', 'FALSE'],
  ['score', 'FLOAT', 'FALSE'],
  ['ratio', 'DOUBLE', 'FALSE'],
  ['blob', 'BYTES', 'FALSE'],
  ['uid', 'STRING', 'FALSE'],
  ['day', 'DATE', 'FALSE'],
  ['at', 'TIMESTAMP(3)', 'FALSE'],
  ['clock', 'TIME(3)', 'FALSE'],
  ['price', 'DECIMAL(10, 2)', 'FALSE'],
  ['hash', 'VARBINARY(4)', 'FALSE'],
  ['suit', 'STRING', 'FALSE'],
  ['tags', 'ARRAY<STRING NOT NULL>', 'FALSE'],
  ['attrs', 'MAP<STRING NOT NULL, BIGINT NOT NULL>', 'FALSE'],
  ['address', 'ROW<`street` STRING NOT NULL, `zip` INT>', 'FALSE'],
  ['previous', 'ROW<`street` STRING NOT NULL, `zip` INT>', 'TRUE'],
  ['nickname', 'STRING', 'TRUE'],
  ['$rowtime', 'TIMESTAMP_LTZ(3) *ROWTIME*', 'TRUE'],
];

const ORDER = {
  type: 'record',
  name: 'Order',
  namespace: 'dev.drey.test',
  fields: [
    { name: 'order_id', type: 'string' },
    { name: 'amount', type: 'double' },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
};

const SKU = { type: 'record', name: 'Sku', namespace: 'dev.drey.test', fields: [{ name: 'sku', type: 'string' }] };
const PRICE = { type: 'record', name: 'Price', namespace: 'dev.drey.test', fields: [{ name: 'price', type: 'double' }] };

async function topic(name: string, compacted = false): Promise<void> {
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: name, numPartitions: 1, configEntries: compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [] }] });
}

async function register(subject: string, schema: object): Promise<number> {
  const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject });
  return id;
}

/** Every response body drey gave in this file, for the secret search. */
const responses: string[] = [];

/** A request whose answer is kept for the secret search. */
async function call(method: 'get' | 'post' | 'put' | 'delete', path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = method === 'get' || method === 'delete' ? await drey![method](path) : await drey![method](path, body);
  responses.push(`${method.toUpperCase()} ${path} ${res.status} ${JSON.stringify(res.body)}`);
  return res;
}

async function post(env: string, name: string, sql: string, spec: Record<string, unknown> = {}): Promise<Body> {
  const res = await call('post', stmts(env), statement(name, sql, 'pool', spec));
  expect(res.status).toBe(200);
  return res.body as Body;
}

async function get(env: string, name: string): Promise<Body> {
  const res = await call('get', `${stmts(env)}/${name}`);
  expect(res.status).toBe(200);
  return res.body as Body;
}

/** In the secure database, where the tables are named without their catalog and database. */
const SECURE = { properties: { 'sql.current-catalog': CATALOG, 'sql.current-database': 'secure' } };

/** A bounded read of a topic: up to the offsets it has when the statement starts. */
const BOUNDED = "/*+ OPTIONS('scan.bounded.mode'='latest-offset') */";

/** Waits for a statement's phase (failing at once on an unexpected FAILED). */
async function phase(env: string, name: string, wanted: string): Promise<Body> {
  const body = await eventually(
    `statement ${name} to be ${wanted}`,
    async () => {
      const b = await get(env, name);
      return b.status.phase === wanted || b.status.phase === 'FAILED' ? b : undefined;
    },
    180_000,
  );
  if (body.status.phase !== wanted) throw new Error(`statement ${name} is ${body.status.phase}, not ${wanted}: ${body.status.detail}`);
  return body;
}

/** Result pages until `enough` says so (or the last page). */
async function results(env: string, name: string, enough: (rows: Body[]) => boolean = () => false): Promise<Body[]> {
  const schema = await eventually(
    `the schema of ${name}`,
    async () => {
      const status = (await get(env, name)).status;
      if (status.phase === 'FAILED') throw new Error(`statement ${name} FAILED: ${status.detail}`);
      return status.traits?.schema;
    },
    180_000,
  );
  const rows: Body[] = [];
  let token: string | undefined;
  const deadline = Date.now() + 180_000;
  for (;;) {
    const res = await call('get', `${stmts(env)}/${name}/results${token ? `?page-token=${encodeURIComponent(token)}` : ''}`);
    if (res.status !== 200) throw new Error(`results of ${name}: ${res.status} ${JSON.stringify(res.body)}`);
    cliRender(res.body, schema);
    rows.push(...(res.body.results.data as Body[]));
    token = res.body.metadata.annotations?.nextPageToken;
    if (!token || enough(rows)) return rows;
    if (Date.now() > deadline) throw new Error(`results of ${name} did not come within 180 s (${rows.length} rows)`);
    if (res.body.results.data.length === 0) await new Promise((r) => setTimeout(r, 200));
  }
}

/** A metadata statement's rows (answered at the POST). */
async function answer(env: string, name: string, sql: string): Promise<unknown[][]> {
  const body = await post(env, name, sql, SECURE);
  if (body.status.phase !== 'COMPLETED') throw new Error(`${sql}: ${body.status.phase} ${body.status.detail}`);
  return (body.result.results.data as Body[]).map((r) => r.row as unknown[]);
}

beforeAll(async () => {
  if (!testJavaTools()) return;
  kafka = await startTestKafka({ sasl: { users: { alice: PASSWORD } } });
  if (!kafka) return;
  const client = new Kafka({ clientId: 'test', brokers: [kafka.bootstrapServers], logLevel: logLevel.NOTHING });
  admin = client.admin();
  await admin.connect();
  producer = client.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  registry = new SchemaRegistry({ host: kafka.registryUrl });

  drey = await startDrey({ CMF_LOCAL_FLINK: 'on', CMF_FLINK_CACHE: TEST_FLINK_CACHE, CMF_SIM_STEP_MS: '50', CMF_CATALOG_CACHE_MS: '0' });

  for (const env of [ENV, OTHER]) {
    expect((await drey.post('/cmf/api/v1/environments', environment(env, `${env}-ns`))).status).toBe(201);
    expect((await drey.post(`/cmf/api/v1/environments/${env}/compute-pools`, sqlComputePool('pool'))).status).toBe(200);
  }
  // the secret completes the `secure` database's connection, and only ENV maps it
  expect((await call('post', '/cmf/api/v1/secrets', secret('alice-creds', { 'sasl.jaas.config': JAAS, 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'PLAIN' }))).status).toBe(200);
  expect((await call('post', `/cmf/api/v1/environments/${ENV}/secret-mappings`, secretMapping('secure-kafka', 'alice-creds'))).status).toBe(200);
  const created = await call('post', '/cmf/api/v1/catalogs/kafka', {
    apiVersion: 'cmf.confluent.io/v1',
    kind: 'KafkaCatalog',
    metadata: { name: CATALOG },
    spec: {
      srInstance: { connectionConfig: { 'schema.registry.url': kafka.registryUrl } },
      kafkaClusters: [
        { databaseName: 'open', connectionConfig: { 'bootstrap.servers': kafka.bootstrapServers } },
        { databaseName: 'secure', connectionConfig: { 'bootstrap.servers': kafka.saslBootstrapServers! }, connectionSecretId: 'secure-kafka' },
      ],
    },
  });
  expect(created.status).toBe(200);

  // one cluster behind both listeners: every topic is in both databases
  await topic('everything');
  await register('everything-value', EVERYTHING);
  await topic('orders');
  await register('orders-value', ORDER);
  await topic('raw-events');
  await topic('prices', true);
  await register('prices-key', SKU);
  await register('prices-value', PRICE);
}, 600_000);

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await drey?.stop();
  await kafka?.stop();
}, 120_000);

describe('Kafka catalogs on a real broker and registry', () => {
  it('shows the catalog, its databases and its topics as tables where the environment maps the secret', async () => {
    if (!drey) return;
    expect(await answer(ENV, 'show-catalogs', 'SHOW CATALOGS')).toContainEqual([CATALOG]);
    expect((await answer(ENV, 'show-databases', 'SHOW DATABASES')).sort()).toEqual([['open'], ['secure']]);
    expect(await answer(ENV, 'show-tables', 'SHOW TABLES')).toEqual([['everything'], ['orders'], ['prices'], ['raw-events']]);
    // the other environment does not map `secure-kafka`: it sees the catalog and the open database only
    const other = await post(OTHER, 'show-databases', `SHOW DATABASES IN ${CATALOG}`);
    expect(other.status.phase).toBe('COMPLETED');
    expect(other.result.results.data.map((r: Body) => r.row)).toEqual([['open']]);
    const hidden = await post(OTHER, 'select-secure', `SELECT * FROM ${CATALOG}.secure.orders`);
    expect(hidden.status.phase).toBe('FAILED');
    expect(hidden.status.detail).toMatch(/Object 'kcat.secure.orders' not found|Object 'secure' not found/);
  });

  it('describes every Avro type as Flink reads it from the registry', async () => {
    if (!drey) return;
    const rows = await answer(ENV, 'describe-everything', 'DESCRIBE everything');
    expect(rows.map((r) => [r[0], r[1], r[2]])).toEqual(EVERYTHING_COLUMNS);
    const raw = await answer(ENV, 'describe-raw', 'DESCRIBE `raw-events`');
    expect(raw.map((r) => [r[0], r[1]])).toEqual([
      ['key', 'BYTES'],
      ['val', 'BYTES'],
      ['$rowtime', 'TIMESTAMP_LTZ(3) *ROWTIME*'],
    ]);
    const prices = await answer(ENV, 'describe-prices', 'DESCRIBE prices');
    expect(prices.map((r) => [r[0], r[1], r[2], r[3]])).toEqual([
      ['sku', 'STRING', 'FALSE', 'PRI(sku)'],
      ['price', 'DOUBLE', 'FALSE', null],
      ['$rowtime', 'TIMESTAMP_LTZ(3) *ROWTIME*', 'TRUE', null],
    ]);
  });

  it('reads records a plain producer wrote in the registry wire format, every type decoded', async () => {
    if (!drey) return;
    const id = await registry.getLatestSchemaId('everything-value');
    const value = await registry.encode(id, {
      id: 7,
      name: 'seven',
      active: true,
      small: 3,
      score: 1.5,
      ratio: 0.25,
      blob: Buffer.from([1, 2, 3]),
      uid: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
      day: 19000,
      at: 1700000000123,
      clock: 45296789,
      price: Buffer.from([0x30, 0x39]),
      hash: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
      suit: 'SPADES',
      tags: ['a', 'b'],
      attrs: { x: 1 },
      address: { street: 'Main', zip: 12345 },
      previous: null,
      nickname: 'Sev',
    });
    // a recent timestamp: the broker deletes records older than its retention (7 days)
    const timestamp = Math.floor(Date.now() / 1000) * 1000;
    await producer.send({ topic: 'everything', messages: [{ value, timestamp: String(timestamp) }] });
    await post(ENV, 'select-everything', `SELECT * FROM everything ${BOUNDED}`, { properties: { ...SECURE.properties, 'sql.local-time-zone': 'UTC' } });
    const rows = await results(ENV, 'select-everything');
    expect(rows).toEqual([
      {
        op: 0,
        row: [
          null,
          '7',
          'seven',
          'TRUE',
          '3',
          '1.5',
          '0.25',
          "x'010203'",
          '7c9e6679-7425-40de-944b-e07fc1f90ae7',
          '2022-01-08',
          '2023-11-14 22:13:20.123',
          '12:34:56.789',
          '123.45',
          "x'deadbeef'",
          'SPADES',
          ['a', 'b'],
          [['x', '1']],
          ['Main', '12345'],
          null,
          'Sev',
          // $rowtime: the record's Kafka timestamp
          new Date(timestamp).toISOString().replace('T', ' ').replace('Z', ''),
        ],
      },
    ]);
  });

  it('runs an INSERT into a topic that a bounded SELECT reads back and a plain consumer decodes with the subject\'s schema', async () => {
    if (!drey) return;
    const subjectId = await registry.getLatestSchemaId('orders-value');
    await post(ENV, 'insert-orders', "INSERT INTO orders (order_id, amount, note) VALUES ('o-1', 12.5, 'first'), ('o-2', 7.25, CAST(NULL AS STRING))", SECURE);
    await phase(ENV, 'insert-orders', 'COMPLETED');
    await post(ENV, 'select-orders', `SELECT order_id, amount, note FROM orders ${BOUNDED}`, SECURE);
    const rows = await results(ENV, 'select-orders');
    // the INSERT's sink subtasks write in no particular order
    const byId = (a: any, b: any) => String(a[0] ?? a.order_id).localeCompare(String(b[0] ?? b.order_id));
    expect(rows.map((r) => r.row).sort(byId)).toEqual([
      ['o-1', '12.5', 'first'],
      ['o-2', '7.25', null],
    ]);
    // a consumer with the registry's deserializer reads what Flink wrote, framed with the subject's own schema id
    const consumer = new Kafka({ clientId: 'reader', brokers: [kafka!.bootstrapServers], logLevel: logLevel.NOTHING }).consumer({ groupId: 'reader-orders' });
    await consumer.connect();
    const seen: { id: number; value: unknown }[] = [];
    try {
      await consumer.subscribe({ topic: 'orders', fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push({ id: message.value!.readUInt32BE(1), value: await registry.decode(message.value!) }) });
      await eventually('the consumer to read both orders', async () => (seen.length >= 2 ? true : undefined), 60_000);
    } finally {
      await consumer.disconnect();
    }
    expect(seen.map((m) => m.id)).toEqual([subjectId, subjectId]);
    expect(seen.map((m) => m.value).sort(byId)).toEqual([
      { order_id: 'o-1', amount: 12.5, note: 'first' },
      { order_id: 'o-2', amount: 7.25, note: null },
    ]);
  });

  it('reads a compacted topic as an upsert table, with update operations in the results', async () => {
    if (!drey) return;
    const keyId = await registry.getLatestSchemaId('prices-key');
    const valueId = await registry.getLatestSchemaId('prices-value');
    const message = async (sku: string, price: number) => ({ key: await registry.encode(keyId, { sku }), value: await registry.encode(valueId, { price }) });
    await producer.send({ topic: 'prices', messages: [await message('apple', 1), await message('apple', 2), await message('pear', 3)] });
    const body = await post(ENV, 'select-prices', 'SELECT sku, price FROM prices', SECURE);
    expect(body.status.traits).toMatchObject({ isAppendOnly: false });
    const rows = await results(ENV, 'select-prices', (r) => r.length >= 4);
    expect(rows).toHaveLength(4);
    // each key's changes in order (keys are normalized in parallel, so they may interleave)
    const of = (sku: string) => rows.filter((r) => r.row[0] === sku);
    expect(of('apple')).toEqual([
      { op: 0, row: ['apple', '1.0'] },
      { op: 1, row: ['apple', '1.0'] },
      { op: 2, row: ['apple', '2.0'] },
    ]);
    expect(of('pear')).toEqual([{ op: 0, row: ['pear', '3.0'] }]);
    expect((await call('delete', `${stmts(ENV)}/select-prices`)).status).toBeLessThan(300);
  });

  it('fails statements on a part of a catalog that cannot be shown, naming it', async () => {
    if (!drey) return;
    // a topic and subject made after the catalogs were first listed: seen by the next statement
    await topic('tangled');
    await register('tangled-value', { type: 'record', name: 'Tangled', fields: [{ name: 'either', type: ['int', 'string'] }] });
    const tangled = await post(ENV, 'select-tangled', 'SELECT * FROM tangled', SECURE);
    expect(tangled.status.phase).toBe('FAILED');
    expect(tangled.status.detail).toBe("Kafka catalog 'kcat' table 'secure.tangled': a union of int, string has no Flink SQL type (only a type or null maps)");

    // an unreachable broker, and an unreachable registry: ports nothing listens on
    const [closedBroker, closedRegistry] = [await closedPort(), await closedPort()];
    expect((await call('post', '/cmf/api/v1/catalogs/kafka', {
      apiVersion: 'cmf.confluent.io/v1',
      kind: 'KafkaCatalog',
      metadata: { name: 'kc-down' },
      spec: {
        srInstance: { connectionConfig: { 'schema.registry.url': `http://127.0.0.1:${closedRegistry}` } },
        kafkaClusters: [
          { databaseName: 'gone', connectionConfig: { 'bootstrap.servers': `127.0.0.1:${closedBroker}` } },
          { databaseName: 'here', connectionConfig: { 'bootstrap.servers': kafka!.bootstrapServers } },
        ],
      },
    })).status).toBe(200);
    const gone = await post(ENV, 'select-gone', 'SELECT * FROM `kc-down`.gone.orders');
    expect(gone.status.phase).toBe('FAILED');
    expect(gone.status.detail).toContain(`Kafka catalog 'kc-down' database 'gone': the Kafka cluster at 127.0.0.1:${closedBroker}: it cannot be reached (`);
    const noRegistry = await post(ENV, 'select-no-registry', 'SELECT * FROM `kc-down`.here.orders');
    expect(noRegistry.status.phase).toBe('FAILED');
    expect(noRegistry.status.detail).toBe(`Kafka catalog 'kc-down': the schema registry at http://127.0.0.1:${closedRegistry} cannot be reached (ECONNREFUSED)`);
    // statements that do not touch the broken catalog are not held up by it
    expect((await post(ENV, 'show-catalogs-2', 'SHOW CATALOGS')).status.phase).toBe('COMPLETED');

    // credentials the broker refuses
    const WRONG = 'Wr0ng-Passw0rd-for-alice';
    expect((await call('post', '/cmf/api/v1/environments', environment('kc-wrong', 'kc-wrong-ns'))).status).toBe(201);
    expect((await call('post', '/cmf/api/v1/environments/kc-wrong/compute-pools', sqlComputePool('pool'))).status).toBe(200);
    expect((await call('post', '/cmf/api/v1/secrets', secret('wrong-creds', { 'sasl.jaas.config': JAAS.replace(PASSWORD, WRONG), 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'PLAIN' }))).status).toBe(200);
    expect((await call('post', '/cmf/api/v1/environments/kc-wrong/secret-mappings', secretMapping('secure-kafka', 'wrong-creds'))).status).toBe(200);
    const refused = await post('kc-wrong', 'select-refused', `SELECT * FROM ${CATALOG}.secure.orders`);
    expect(refused.status.phase).toBe('FAILED');
    expect(refused.status.detail).toMatch(/^Kafka catalog 'kcat' database 'secure': the Kafka cluster at 127\.0\.0\.1:\d+: it refused the credentials \(.*SASL.*\)$/);
    expect(refused.status.detail).not.toContain(WRONG);
  });

  it('creates and drops a table as a topic with its subjects, where the environment may run DDL on the database', async () => {
    if (!drey) return;
    const database = (ddlEnvironments: string[], bootstrap = kafka!.bootstrapServers) => ({
      apiVersion: 'cmf.confluent.io/v1',
      kind: 'KafkaDatabase',
      metadata: { name: 'writable' },
      spec: { kafkaCluster: { connectionConfig: { 'bootstrap.servers': bootstrap } }, ddlEnvironments },
    });
    expect((await call('post', `/cmf/api/v1/catalogs/kafka/${CATALOG}/databases`, database([ENV]))).status).toBe(200);
    const WRITABLE = { properties: { 'sql.current-catalog': CATALOG, 'sql.current-database': 'writable' } };

    const create = 'CREATE TABLE page_views (user_id STRING NOT NULL, url STRING, seen_at TIMESTAMP_LTZ(3)) DISTRIBUTED BY HASH(user_id) INTO 3 BUCKETS';
    const refused = await post(OTHER, 'create-elsewhere', create, WRITABLE);
    expect(refused.status.phase).toBe('FAILED');
    expect(refused.status.detail).toBe(`Environment '${OTHER}' may not create or drop tables in Kafka catalog '${CATALOG}' database 'writable': it is not in the database's ddlEnvironments.`);
    expect(await admin.listTopics()).not.toContain('page_views');

    const created = await post(ENV, 'create-page-views', create, WRITABLE);
    expect([created.status.phase, created.status.detail]).toEqual(['COMPLETED', 'Statement execution completed.']);
    const [described] = (await admin.fetchTopicMetadata({ topics: ['page_views'] })).topics;
    expect(described!.partitions).toHaveLength(3);
    expect(JSON.parse(await registryText('page_views-key'))).toEqual({
      type: 'record',
      name: 'page_views_key',
      namespace: 'dev.drey.catalog',
      fields: [{ name: 'user_id', type: 'string' }],
    });
    expect(JSON.parse(await registryText('page_views-value'))).toEqual({
      type: 'record',
      name: 'page_views_value',
      namespace: 'dev.drey.catalog',
      fields: [
        { name: 'url', type: ['null', 'string'], default: null },
        { name: 'seen_at', type: ['null', { type: 'long', logicalType: 'timestamp-millis' }], default: null },
      ],
    });
    // the next statement sees the topic as a table, read from its subjects
    const rows = (await post(ENV, 'describe-page-views', 'DESCRIBE page_views', WRITABLE)).result.results.data.map((r: Body) => r.row.slice(0, 3));
    expect(rows).toEqual([
      ['user_id', 'STRING', 'FALSE'],
      ['url', 'STRING', 'TRUE'],
      ['seen_at', 'TIMESTAMP(3)', 'TRUE'],
      ['$rowtime', 'TIMESTAMP_LTZ(3) *ROWTIME*', 'TRUE'],
    ]);
    const again = await post(ENV, 'create-page-views-again', create, WRITABLE);
    expect(again.status.phase).toBe('FAILED');
    expect(again.status.detail).toMatch(/page_views.*already exists/);
    const foreign = await post(ENV, 'create-foreign', "CREATE TABLE gen (n INT) WITH ('connector' = 'datagen')", WRITABLE);
    expect(foreign.status.detail).toBe(
      `Kafka catalog '${CATALOG}' table 'writable.gen': a table in a Kafka catalog is its topic, so it takes only 'kafka.*' options, not 'connector'; create tables with other connectors in the default catalog`,
    );
    expect(await admin.listTopics()).not.toContain('gen');

    expect((await post(ENV, 'drop-page-views', 'DROP TABLE page_views', WRITABLE)).status.phase).toBe('COMPLETED');
    expect(await admin.listTopics()).not.toContain('page_views');
    expect(await registrySubjects()).not.toContain('page_views-value');
    expect((await post(ENV, 'drop-page-views-again', 'DROP TABLE IF EXISTS page_views', WRITABLE)).status.phase).toBe('COMPLETED');

    // a database's new connection takes effect for the next statement
    const closed = await closedPort();
    expect((await call('put', `/cmf/api/v1/catalogs/kafka/${CATALOG}/databases/writable`, database([ENV], `127.0.0.1:${closed}`))).status).toBe(200);
    const moved = await post(ENV, 'show-moved', 'SHOW TABLES', WRITABLE);
    expect(moved.status.detail).toContain(`Kafka catalog '${CATALOG}' database 'writable': the Kafka cluster at 127.0.0.1:${closed}: it cannot be reached`);
  });

  it('refuses what would send a catalog\'s credentials elsewhere or change the catalog for one environment only', async () => {
    if (!drey) return;
    const hint = await post(ENV, 'select-elsewhere', "SELECT * FROM orders /*+ OPTIONS('properties.bootstrap.servers'='127.0.0.1:1') */", SECURE);
    expect([hint.status.phase, hint.status.detail]).toEqual([
      'FAILED',
      "Where Kafka catalogs are visible, OPTIONS hints may set only scan.* and sink.* options, not 'properties.bootstrap.servers': a table's connection options carry the catalog's credentials.",
    ]);
    const alter = await post(ENV, 'alter-hidden', "-- looks harmless\nALTER TABLE orders SET ('properties.bootstrap.servers' = '127.0.0.1:1')", SECURE);
    expect(alter.status.phase).toBe('FAILED');
    expect(alter.status.detail).toContain('ALTER TABLE');
    const dropDb = await post(ENV, 'drop-database', `DROP DATABASE ${CATALOG}.secure CASCADE`);
    expect(dropDb.status.detail).toBe(`In Kafka catalog '${CATALOG}' drey runs only CREATE TABLE and DROP TABLE (a table is a topic with its subjects), not DROP DATABASE; create other objects in the default catalog.`);
    const like = await post(ENV, 'copy-orders', `CREATE TABLE copied LIKE ${CATALOG}.secure.orders`);
    expect(like.status.detail).toContain('would copy the Kafka catalog table');
    // nothing of it stayed: the orders table is still there, in every new session
    expect((await answer(ENV, 'show-tables-after', 'SHOW TABLES')).flat()).toContain('orders');
  });

  it('never shows a secret value: not in SHOW CREATE TABLE, responses, exceptions, drey\'s log or Flink\'s logs', async () => {
    if (!drey) return;
    const shown = await answer(ENV, 'show-create-orders', 'SHOW CREATE TABLE orders');
    const ddl = String(shown[0]![0]);
    expect(ddl).toContain("'properties.sasl.jaas.config' = '****'");
    expect(ddl).toContain(`'properties.bootstrap.servers' = '${kafka!.saslBootstrapServers}'`);
    for (const env of [ENV, OTHER, 'kc-wrong']) {
      const list = await call('get', `${stmts(env)}?size=100`);
      for (const s of list.body.items as Body[]) await call('get', `${stmts(env)}/${s.metadata.name}/exceptions`);
    }
    // what Flink's web UI shows of the jobs that read and wrote the secure database
    const rest = drey.drey.flink!.restUrl;
    const ui: [string, string][] = [];
    const jobs = ((await (await fetch(`${rest}/jobs/overview`)).json()) as { jobs: { jid: string }[] }).jobs;
    expect(jobs.length).toBeGreaterThan(2);
    for (const page of ['/jobmanager/config', ...jobs.flatMap((j) => [`/jobs/${j.jid}`, `/jobs/${j.jid}/config`, `/jobs/${j.jid}/exceptions`])]) {
      ui.push([page, await (await fetch(`${rest}${page}`)).text()]);
    }
    const leaks = (where: string, text: string) => (text.includes(PASSWORD) || text.includes(JAAS) ? [where] : []);
    const found = [
      ...ui.flatMap(([page, text]) => leaks(`Flink web UI ${page}`, text)),
      ...responses.flatMap((r, i) => leaks(`response ${i}: ${r.slice(0, 80)}`, r)),
      ...drey.logs.flatMap((l, i) => leaks(`drey log line ${i}`, l)),
      ...flinkLogs().flatMap(([file, text]) => leaks(file, text)),
    ];
    expect(found).toEqual([]);
    expect(responses.length).toBeGreaterThan(30);
  });
});

/** The latest schema text of a subject, straight from the registry. */
async function registryText(subject: string): Promise<string> {
  const res = await fetch(`${kafka!.registryUrl}/subjects/${subject}/versions/latest`);
  return ((await res.json()) as { schema: string }).schema;
}

async function registrySubjects(): Promise<string[]> {
  return (await (await fetch(`${kafka!.registryUrl}/subjects`)).json()) as string[];
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Every file local Flink wrote its logs to, with its text. */
function flinkLogs(): [string, string][] {
  const dir = drey!.drey.flink!.logDir;
  return readdirSync(dir)
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).isFile())
    .map((f) => [f, readFileSync(f, 'utf8')]);
}
