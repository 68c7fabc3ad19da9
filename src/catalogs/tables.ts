import { quoted, recordColumns, Unmappable, type Column } from './avro.js';
import type { TopicInfo } from './kafka.js';
import type { SubjectSchema } from './registry.js';

/**
 * A topic as a Flink table, the way CMF infers tables from a Kafka catalog: the columns of the key
 * and value subjects (TopicNameStrategy: `<topic>-key`, `<topic>-value`), raw `key` / `val` BYTES
 * columns for a side without a subject, an upsert table for a compacted topic and an append-only one
 * otherwise, and the Kafka record timestamp as `$rowtime` with a watermark. Open-source Flink has no
 * `confluent` connector, so the table is a `kafka` (or `upsert-kafka`) table reading and writing the
 * Confluent wire format with `avro-confluent`, pinned to the subject's own schema.
 */

/** The system column holding the Kafka record timestamp, as in Confluent's inferred tables. */
export const ROWTIME = '$rowtime';

/** The watermark drey declares on `$rowtime`: events may arrive this late and still count. */
export const WATERMARK_DELAY = "INTERVAL '1' SECOND";

/** What a topic's table is made of. */
export interface TopicTable {
  catalog: string;
  database: string;
  topic: TopicInfo;
  /** The latest `<topic>-key` schema, or null without one. */
  key: SubjectSchema | null;
  /** The latest `<topic>-value` schema, or null without one. */
  value: SubjectSchema | null;
  /** The database's Kafka client properties (its connection secret merged in). */
  kafka: Record<string, string>;
  /** The catalog's registry client properties (its connection secret merged in). */
  registry: Record<string, string>;
}

/** Where the Kafka SQL connector relocates the Kafka client's classes. */
const SHADED_KAFKA = 'org.apache.flink.kafka.shaded.org.apache.kafka.';

/**
 * A Kafka client property value as the Kafka SQL connector needs it: the connector shades the Kafka
 * client, so the classes a value names (`sasl.jaas.config`'s login module, callback handlers) are
 * under its relocated package.
 */
export function forConnector(value: string): string {
  return value.replace(/(^|[^.\w])org\.apache\.kafka\./g, `$1${SHADED_KAFKA}`);
}

/** A Flink string literal. */
function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** The `avro-confluent` options of one side (`key` or `value`) for the catalog's registry. */
function registryOptions(prefix: string, registry: Record<string, string>, schema: string | undefined): Record<string, string> {
  const options: Record<string, string> = { [`${prefix}.format`]: 'avro-confluent' };
  const format = `${prefix}.avro-confluent`;
  const named: Record<string, string> = {
    'schema.registry.url': 'url',
    'basic.auth.credentials.source': 'basic-auth.credentials-source',
    'basic.auth.user.info': 'basic-auth.user-info',
    'bearer.auth.credentials.source': 'bearer-auth.credentials-source',
    'bearer.auth.token': 'bearer-auth.token',
  };
  for (const [key, value] of Object.entries(registry)) {
    options[`${format}.${named[key] ?? `properties.${key}`}`] = value;
  }
  if (registry['basic.auth.user.info'] && !registry['basic.auth.credentials.source']) options[`${format}.basic-auth.credentials-source`] = 'USER_INFO';
  if (registry['bearer.auth.token'] && !registry['bearer.auth.credentials.source']) options[`${format}.bearer-auth.credentials-source`] = 'STATIC_TOKEN';
  if (schema !== undefined) options[`${format}.schema`] = schema;
  return options;
}

/** The Avro record columns of a subject, or why there are none. */
function subjectColumns(subject: SubjectSchema): Column[] {
  if (subject.schemaType !== 'AVRO') {
    throw new Unmappable(`the subject '${subject.subject}' holds a ${subject.schemaType} schema, and open-source Flink reads only Avro through a schema registry`);
  }
  if (subject.references.length > 0) throw new Unmappable(`the subject '${subject.subject}' has schema references, which drey does not resolve yet`);
  const columns = recordColumns(subject.schema);
  if (!columns) throw new Unmappable(`the subject '${subject.subject}' holds an Avro schema that is not a record, so it has no columns`);
  return columns;
}

/**
 * The key side: Avro record columns; a raw `key` column without a key subject; none for a key
 * subject that is not an Avro record (its framed bytes would read as garbage, and a raw write would
 * break its consumers), which an upsert table cannot do without.
 */
function keySide(table: TopicTable): { columns: Column[]; options: Record<string, string>; avro: boolean } {
  if (!table.key) return { columns: [{ name: 'key', type: 'BYTES' }], options: { 'key.format': 'raw' }, avro: false };
  if (table.key.schemaType === 'AVRO' && table.key.references.length === 0 && recordColumns(table.key.schema)) {
    return { columns: subjectColumns(table.key), options: registryOptions('key', table.registry, table.key.schema), avro: true };
  }
  if (table.topic.compacted) {
    throw new Unmappable(`the key subject '${table.key.subject}' is not an Avro record, so the compacted topic has no key columns for its upsert table`);
  }
  return { columns: [], options: {}, avro: false };
}

/** A prefix for key columns that clashes with no other column. */
function keyPrefix(keys: Column[], taken: Set<string>): string {
  if (!keys.some((c) => taken.has(c.name))) return '';
  for (let prefix = 'key_'; ; prefix = `${prefix}_`) {
    if (!keys.some((c) => taken.has(`${prefix}${c.name}`))) return prefix;
  }
}

/** The value side: Avro record columns, or a raw `val` column. */
function valueSide(table: TopicTable): { columns: Column[]; options: Record<string, string> } {
  if (table.value) return { columns: subjectColumns(table.value), options: registryOptions('value', table.registry, table.value.schema) };
  return { columns: [{ name: 'val', type: 'BYTES' }], options: { 'value.format': 'raw' } };
}

/** `CREATE TABLE` for a topic in its catalog database. Throws Unmappable for a schema Flink cannot hold. */
export function tableDdl(table: TopicTable): string {
  const value = valueSide(table);
  const key = keySide(table);
  const taken = new Set([...value.columns.map((c) => c.name), ROWTIME]);
  if (value.columns.some((c) => c.name === ROWTIME)) throw new Unmappable(`the value has a field '${ROWTIME}', the name of the Kafka timestamp's column`);
  const prefix = keyPrefix(key.columns, taken);
  const upsert = table.topic.compacted;
  // a primary key's columns are NOT NULL: a key schema with nullable fields then no longer equals the table's key type
  const keyColumns = key.columns.map((c) => ({ name: `${prefix}${c.name}`, type: upsert && !c.type.endsWith('NOT NULL') ? `${c.type} NOT NULL` : c.type }));
  if (upsert && key.avro && key.columns.some((c) => !c.type.endsWith('NOT NULL'))) delete key.options['key.avro-confluent.schema'];

  const options: Record<string, string> = {
    connector: upsert ? 'upsert-kafka' : 'kafka',
    topic: table.topic.name,
    'properties.bootstrap.servers': table.kafka['bootstrap.servers'] ?? '',
  };
  for (const [k, v] of Object.entries(table.kafka)) if (k !== 'bootstrap.servers') options[`properties.${k}`] = forConnector(v);
  if (!upsert) {
    options['scan.startup.mode'] = 'earliest-offset';
    if (keyColumns.length) options['key.fields'] = keyColumns.map((c) => c.name).join(';');
  }
  if (prefix) options['key.fields-prefix'] = prefix;
  Object.assign(options, key.options, value.options);
  if (keyColumns.length) options['value.fields-include'] = 'EXCEPT_KEY';

  const lines = [
    ...keyColumns.map((c) => `${quoted(c.name)} ${c.type}`),
    ...value.columns.map((c) => `${quoted(c.name)} ${c.type}`),
    `${quoted(ROWTIME)} TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL`,
    `WATERMARK FOR ${quoted(ROWTIME)} AS ${quoted(ROWTIME)} - ${WATERMARK_DELAY}`,
    ...(upsert ? [`PRIMARY KEY (${keyColumns.map((c) => quoted(c.name)).join(', ')}) NOT ENFORCED`] : []),
  ];
  const name = [table.catalog, table.database, table.topic.name].map(quoted).join('.');
  const withs = Object.entries(options).map(([k, v]) => `  ${literal(k)} = ${literal(v)}`);
  return `CREATE TABLE ${name} (\n  ${lines.join(',\n  ')}\n) WITH (\n${withs.join(',\n')}\n)`;
}
