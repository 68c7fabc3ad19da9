import { describe, expect, it } from '@jest/globals';
import { Unmappable } from '../../src/catalogs/avro.js';
import type { SubjectSchema } from '../../src/catalogs/registry.js';
import { forConnector, tableDdl, type TopicTable } from '../../src/catalogs/tables.js';

/**
 * A topic and its subjects as the CREATE TABLE a session runs for it: columns from the key and value
 * subjects, raw columns without them, upsert-kafka for a compacted topic, and the registry's and
 * the cluster's client properties as connector options.
 */

function subject(name: string, schema: unknown, schemaType = 'AVRO', references: unknown[] = []): SubjectSchema {
  return { subject: name, id: 7, version: 1, schemaType, schema: typeof schema === 'string' ? schema : JSON.stringify(schema), references };
}

const record = (name: string, fields: unknown[]) => ({ type: 'record', name, namespace: 'dev.drey.test', fields });
const ORDER_KEY = subject('orders-key', record('OrderKey', [{ name: 'id', type: 'long' }]));
const ORDER_VALUE = subject(
  'orders-value',
  record('Order', [
    { name: 'name', type: 'string' },
    { name: 'amount', type: 'double' },
    { name: 'note', type: ['null', 'string'], default: null },
  ]),
);
const REGISTRY = { 'schema.registry.url': 'http://sr:8081' };

function topicTable(overrides: Partial<TopicTable> = {}): TopicTable {
  return {
    catalog: 'kcat',
    database: 'main',
    topic: { name: 'orders', compacted: false },
    key: ORDER_KEY,
    value: ORDER_VALUE,
    kafka: { 'bootstrap.servers': 'kafka:9092' },
    registry: REGISTRY,
    ...overrides,
  };
}

/** The column lines and the options of a CREATE TABLE drey wrote. */
function partsOf(ddl: string): { name: string; lines: string[]; options: Record<string, string> } {
  const m = /^CREATE TABLE (.*) \(\n {2}([\s\S]*)\n\) WITH \(\n([\s\S]*)\n\)$/.exec(ddl);
  if (!m) throw new Error(`not a CREATE TABLE drey writes:\n${ddl}`);
  const options: Record<string, string> = {};
  for (const line of m[3]!.split(',\n')) {
    const o = /^ {2}'((?:[^']|'')*)' = '((?:[^']|'')*)'$/.exec(line);
    if (!o) throw new Error(`not an option: ${line}`);
    options[o[1]!.replace(/''/g, "'")] = o[2]!.replace(/''/g, "'");
  }
  return { name: m[1]!, lines: m[2]!.split(',\n  '), options };
}

const ROWTIME_LINES = ["`$rowtime` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL", "WATERMARK FOR `$rowtime` AS `$rowtime` - INTERVAL '1' SECOND"];

describe('a topic as a table', () => {
  it('is an append-only kafka table of its key and value subjects, pinned to their schemas', () => {
    expect(tableDdl(topicTable())).toBe(
      [
        'CREATE TABLE `kcat`.`main`.`orders` (',
        '  `id` BIGINT NOT NULL,',
        '  `name` STRING NOT NULL,',
        '  `amount` DOUBLE NOT NULL,',
        '  `note` STRING,',
        "  `$rowtime` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,",
        "  WATERMARK FOR `$rowtime` AS `$rowtime` - INTERVAL '1' SECOND",
        ') WITH (',
        "  'connector' = 'kafka',",
        "  'topic' = 'orders',",
        "  'properties.bootstrap.servers' = 'kafka:9092',",
        "  'scan.startup.mode' = 'earliest-offset',",
        "  'key.fields' = 'id',",
        "  'key.format' = 'avro-confluent',",
        "  'key.avro-confluent.url' = 'http://sr:8081',",
        `  'key.avro-confluent.schema' = '${ORDER_KEY.schema}',`,
        "  'value.format' = 'avro-confluent',",
        "  'value.avro-confluent.url' = 'http://sr:8081',",
        `  'value.avro-confluent.schema' = '${ORDER_VALUE.schema}',`,
        "  'value.fields-include' = 'EXCEPT_KEY'",
        ')',
      ].join('\n'),
    );
  });

  it('is an upsert-kafka table with the key as its primary key for a compacted topic', () => {
    const { lines, options } = partsOf(tableDdl(topicTable({ topic: { name: 'orders', compacted: true } })));
    expect(lines).toEqual(['`id` BIGINT NOT NULL', '`name` STRING NOT NULL', '`amount` DOUBLE NOT NULL', '`note` STRING', ...ROWTIME_LINES, 'PRIMARY KEY (`id`) NOT ENFORCED']);
    expect(options).toEqual({
      connector: 'upsert-kafka',
      topic: 'orders',
      'properties.bootstrap.servers': 'kafka:9092',
      'key.format': 'avro-confluent',
      'key.avro-confluent.url': 'http://sr:8081',
      'key.avro-confluent.schema': ORDER_KEY.schema,
      'value.format': 'avro-confluent',
      'value.avro-confluent.url': 'http://sr:8081',
      'value.avro-confluent.schema': ORDER_VALUE.schema,
      'value.fields-include': 'EXCEPT_KEY',
    });
  });

  it('makes nullable key fields of a compacted topic NOT NULL, and then does not pin the key schema', () => {
    const key = subject('orders-key', record('OrderKey', [{ name: 'region', type: ['null', 'string'], default: null }, { name: 'id', type: 'long' }]));
    const { lines, options } = partsOf(tableDdl(topicTable({ topic: { name: 'orders', compacted: true }, key })));
    expect(lines.slice(0, 2)).toEqual(['`region` STRING NOT NULL', '`id` BIGINT NOT NULL']);
    expect(lines.at(-1)).toBe('PRIMARY KEY (`region`, `id`) NOT ENFORCED');
    expect(options['key.format']).toBe('avro-confluent');
    expect(options).not.toHaveProperty('key.avro-confluent.schema');
    expect(options['value.avro-confluent.schema']).toBe(ORDER_VALUE.schema);
  });

  it('has raw key and val BYTES columns for a topic without subjects', () => {
    const { name, lines, options } = partsOf(tableDdl(topicTable({ topic: { name: 'raw-events', compacted: false }, key: null, value: null })));
    expect(name).toBe('`kcat`.`main`.`raw-events`');
    expect(lines).toEqual(['`key` BYTES', '`val` BYTES', ...ROWTIME_LINES]);
    expect(options).toEqual({
      connector: 'kafka',
      topic: 'raw-events',
      'properties.bootstrap.servers': 'kafka:9092',
      'scan.startup.mode': 'earliest-offset',
      'key.fields': 'key',
      'key.format': 'raw',
      'value.format': 'raw',
      'value.fields-include': 'EXCEPT_KEY',
    });
  });

  it('keys a compacted topic without subjects by its raw key', () => {
    const { lines, options } = partsOf(tableDdl(topicTable({ topic: { name: 'raw-state', compacted: true }, key: null, value: null })));
    expect(lines).toEqual(['`key` BYTES NOT NULL', '`val` BYTES', ...ROWTIME_LINES, 'PRIMARY KEY (`key`) NOT ENFORCED']);
    expect(options).toMatchObject({ connector: 'upsert-kafka', 'key.format': 'raw', 'value.format': 'raw' });
  });

  it("prefixes the key's columns with key_ when a key field is also a value field", () => {
    const key = subject('orders-key', record('OrderKey', [{ name: 'name', type: 'string' }, { name: 'id', type: 'long' }]));
    const { lines, options } = partsOf(tableDdl(topicTable({ key })));
    expect(lines.slice(0, 3)).toEqual(['`key_name` STRING NOT NULL', '`key_id` BIGINT NOT NULL', '`name` STRING NOT NULL']);
    expect(options).toMatchObject({ 'key.fields': 'key_name;key_id', 'key.fields-prefix': 'key_', 'value.fields-include': 'EXCEPT_KEY' });
    // the prefix is the table's: the key schema keeps the subject's own field names
    expect(options['key.avro-confluent.schema']).toBe(key.schema);
  });

  it('prefixes a raw key column when the value has a field named key', () => {
    const value = subject('things-value', record('Thing', [{ name: 'key', type: 'string' }]));
    const { lines, options } = partsOf(tableDdl(topicTable({ topic: { name: 'things', compacted: false }, key: null, value })));
    expect(lines.slice(0, 2)).toEqual(['`key_key` BYTES', '`key` STRING NOT NULL']);
    expect(options).toMatchObject({ 'key.fields': 'key_key', 'key.fields-prefix': 'key_', 'key.format': 'raw' });
  });

  it.each([
    ['an Avro string', subject('orders-key', 'string')],
    ['an Avro long', subject('orders-key', { type: 'long' })],
    ['a JSON schema', subject('orders-key', { type: 'object', properties: { id: { type: 'integer' } } }, 'JSON')],
    ['a record with references', subject('orders-key', record('OrderKey', [{ name: 'id', type: 'long' }]), 'AVRO', [{ name: 'x', subject: 'x', version: 1 }])],
  ])('leaves out a key subject holding %s: its framed bytes are no raw key, and a raw write would break its consumers', (_what, key) => {
    const { lines, options } = partsOf(tableDdl(topicTable({ key })));
    expect(lines.some((l) => l.startsWith('`key`'))).toBe(false);
    expect(Object.keys(options).filter((k) => k.startsWith('key.') || k === 'value.fields-include')).toEqual([]);
  });

  it('refuses a compacted topic whose key subject is not an Avro record: its upsert table needs key columns', () => {
    const key = subject('orders-key', { type: 'long' });
    expect(() => tableDdl(topicTable({ key, topic: { name: 'orders', compacted: true } }))).toThrow("the key subject 'orders-key' is not an Avro record");
  });

  it.each([
    ['a JSON schema', subject('orders-value', { type: 'object' }, 'JSON'), "the subject 'orders-value' holds a JSON schema, and open-source Flink reads only Avro through a schema registry"],
    ['a Protobuf schema', subject('orders-value', 'syntax = "proto3"; message Order { string id = 1; }', 'PROTOBUF'), "the subject 'orders-value' holds a PROTOBUF schema"],
    ['schema references', subject('orders-value', record('Order', [{ name: 'a', type: 'int' }]), 'AVRO', [{ name: 'x', subject: 'x', version: 1 }]), "the subject 'orders-value' has schema references, which drey does not resolve yet"],
    ['an Avro schema that is not a record', subject('orders-value', 'string'), "the subject 'orders-value' holds an Avro schema that is not a record, so it has no columns"],
    ['a union Flink cannot hold', subject('orders-value', record('Order', [{ name: 'v', type: ['int', 'string'] }])), 'a union of int, string has no Flink SQL type'],
  ])('refuses a value subject holding %s', (_what, value, why) => {
    expect(() => tableDdl(topicTable({ value }))).toThrow(Unmappable);
    expect(() => tableDdl(topicTable({ value }))).toThrow(why);
  });
});

describe("the registry's client properties as format options", () => {
  it('gives basic auth user info with the USER_INFO credentials source to both sides', () => {
    const { options } = partsOf(tableDdl(topicTable({ registry: { ...REGISTRY, 'basic.auth.user.info': 'srkey:srsecret' } })));
    for (const side of ['key', 'value']) {
      expect(options).toMatchObject({
        [`${side}.avro-confluent.url`]: 'http://sr:8081',
        [`${side}.avro-confluent.basic-auth.user-info`]: 'srkey:srsecret',
        [`${side}.avro-confluent.basic-auth.credentials-source`]: 'USER_INFO',
      });
    }
  });

  it('keeps a credentials source the config names, and passes other properties through', () => {
    const registry = { ...REGISTRY, 'basic.auth.credentials.source': 'URL', 'schema.registry.ssl.truststore.location': '/etc/ssl/sr.jks' };
    const { options } = partsOf(tableDdl(topicTable({ key: null, registry })));
    expect(options).toMatchObject({
      'value.avro-confluent.basic-auth.credentials-source': 'URL',
      'value.avro-confluent.properties.schema.registry.ssl.truststore.location': '/etc/ssl/sr.jks',
    });
    expect(options).not.toHaveProperty('value.avro-confluent.basic-auth.user-info');
  });

  it('gives a bearer token with the STATIC_TOKEN credentials source', () => {
    const { options } = partsOf(tableDdl(topicTable({ key: null, registry: { ...REGISTRY, 'bearer.auth.token': 'tok-123456' } })));
    expect(options).toMatchObject({ 'value.avro-confluent.bearer-auth.token': 'tok-123456', 'value.avro-confluent.bearer-auth.credentials-source': 'STATIC_TOKEN' });
  });
});

describe("the cluster's client properties as connector options", () => {
  const JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="pa\'ss";';
  const SHADED = 'org.apache.flink.kafka.shaded.org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="pa\'ss";';

  it("passes every property as properties.*, naming the connector's shaded Kafka classes", () => {
    const kafka = { 'bootstrap.servers': 'a:9092,b:9092', 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'PLAIN', 'sasl.jaas.config': JAAS };
    const { options } = partsOf(tableDdl(topicTable({ kafka })));
    expect(options).toMatchObject({
      'properties.bootstrap.servers': 'a:9092,b:9092',
      'properties.security.protocol': 'SASL_SSL',
      'properties.sasl.mechanism': 'PLAIN',
      'properties.sasl.jaas.config': SHADED,
    });
  });

  it('quotes single quotes in option values and back quotes in names', () => {
    const ddl = tableDdl(topicTable({ catalog: 'k`cat', database: 'ma`in', topic: { name: "it's`t", compacted: false }, kafka: { 'bootstrap.servers': 'kafka:9092', 'sasl.jaas.config': JAAS } }));
    expect(ddl).toContain('CREATE TABLE `k``cat`.`ma``in`.`it\'s``t` (');
    expect(ddl).toContain("  'topic' = 'it''s`t',");
    expect(ddl).toContain(`  'properties.sasl.jaas.config' = '${SHADED.replace(/'/g, "''")}',`);
    expect(partsOf(ddl).options).toMatchObject({ topic: "it's`t", 'properties.sasl.jaas.config': SHADED });
  });

  it.each([
    [JAAS, SHADED],
    // already shaded: left as it is
    [SHADED, SHADED],
    [
      'org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p";',
      'org.apache.flink.kafka.shaded.org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p";',
    ],
    ['org.apache.kafka.a.One,org.apache.kafka.b.Two', 'org.apache.flink.kafka.shaded.org.apache.kafka.a.One,org.apache.flink.kafka.shaded.org.apache.kafka.b.Two'],
    // another package that merely ends the same way is not Kafka's
    ['com.example.org.apache.kafka.Handler', 'com.example.org.apache.kafka.Handler'],
    ['SASL_SSL', 'SASL_SSL'],
  ])('forConnector(%j) is %j', (value, shaded) => {
    expect(forConnector(value)).toBe(shaded);
  });
});
