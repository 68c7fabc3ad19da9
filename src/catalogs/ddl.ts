import { quoted, Unmappable } from './avro.js';
import { recordSchema, type DescribedColumn } from './flinkTypes.js';
import { createTopic, deleteTopic, KafkaClusterError } from './kafka.js';
import { RegistryError, registryConnection, SchemaRegistryClient } from './registry.js';
import type { VisibleDatabase } from './view.js';

/**
 * DDL on a Kafka catalog's tables, as CMF does it: a table is a topic with its subjects, so
 * `CREATE TABLE` in a catalog database creates the topic (partitions from `DISTRIBUTED INTO n
 * BUCKETS` or `'kafka.partitions'`, compacted for a table with a primary key) and registers the
 * `<topic>-key` and `<topic>-value` subjects from the table's columns; `DROP TABLE` deletes them.
 * Only environments the database lists in `ddlEnvironments` may do either.
 */

/** A CREATE or DROP of a table in a Kafka catalog database. */
export interface TableChange {
  action: 'create' | 'drop';
  db: VisibleDatabase;
  table: string;
  /** `IF NOT EXISTS` / `IF EXISTS`. */
  lenient: boolean;
}

const IDENT = '(?:`(?:[^`]|``)+`|[A-Za-z_$][\\w$]*)';
const NAME = `${IDENT}(?:\\s*\\.\\s*${IDENT}){0,2}`;
const CREATE = new RegExp(`^\\s*CREATE\\s+(?!TEMPORARY\\b)TABLE\\s+(IF\\s+NOT\\s+EXISTS\\s+)?(${NAME})`, 'i');
const DROP = new RegExp(`^\\s*DROP\\s+(?!TEMPORARY\\b)TABLE\\s+(IF\\s+EXISTS\\s+)?(${NAME})`, 'i');
const ALTER = new RegExp(`^\\s*ALTER\\s+TABLE\\s+(?:IF\\s+EXISTS\\s+)?(${NAME})`, 'i');

function parts(name: string): string[] {
  return [...name.matchAll(new RegExp(IDENT, 'g'))].map((m) => (m[0].startsWith('`') ? m[0].slice(1, -1).replace(/``/g, '`') : m[0]));
}

/**
 * The Kafka catalog table a DDL statement changes, resolved against the statement's current catalog
 * and database (a Kafka catalog's default database is its first); undefined when it changes none.
 * Throws Unmappable for DDL drey does not do on a catalog's tables.
 */
export function tableChange(
  text: string,
  current: { catalog?: string; database?: string },
  databases: VisibleDatabase[],
  home: { catalog: string; database: string },
): TableChange | undefined {
  const create = CREATE.exec(text);
  const drop = create ? undefined : DROP.exec(text);
  const alter = create || drop ? undefined : ALTER.exec(text);
  const found = create ?? drop ?? alter;
  if (!found) return undefined;
  const name = parts(found[alter ? 1 : 2]!);
  const catalog = name.length === 3 ? name[0]! : (current.catalog ?? home.catalog);
  const inCatalog = databases.filter((d) => d.catalog === catalog);
  if (inCatalog.length === 0) return undefined;
  const database = name.length >= 2 ? name.at(-2)! : (current.database ?? inCatalog[0]!.database);
  const db = inCatalog.find((d) => d.database === database);
  if (!db) return undefined; // Flink says the database does not exist
  const table = name.at(-1)!;
  if (alter) throw new Unmappable(`ALTER TABLE on a Kafka catalog's table is not supported: the table is the topic '${table}' and its subjects`);
  return { action: create ? 'create' : 'drop', db, table, lenient: Boolean(found[1]) };
}

/** Whether the environment may change the database's tables. */
export function mayChange(environment: string, db: VisibleDatabase): boolean {
  return db.ddlEnvironments.includes(environment);
}

/** What Flink's `SHOW CREATE TABLE` says of the topic's layout. */
export interface Layout {
  /** Columns of the physical row, in order (computed and metadata columns left out). */
  columns: DescribedColumn[];
  /** The primary key's columns, or DISTRIBUTED BY's. */
  keys: string[];
  primaryKey: boolean;
  partitions: number;
  /** `'kafka.*'` options: topic settings. */
  options: Record<string, string>;
}

/** Reads a table's DESCRIBE rows (name, type, null, key, extras, watermark) and SHOW CREATE TABLE text. */
export function layoutOf(described: unknown[][], created: string): Layout {
  const columns = described
    .filter((r) => r[4] === null || r[4] === undefined || r[4] === '')
    .map((r) => ({ name: String(r[0]), type: String(r[1]).replace(/\s*\*ROWTIME\*$/, ''), nullable: r[2] === true || r[2] === 'TRUE' || r[2] === 'true' }));
  const pri = described.map((r) => r[3]).find((k) => typeof k === 'string' && k.startsWith('PRI(')) as string | undefined;
  const pk = pri ? pri.slice(4, -1).split(',').map((k) => k.trim()) : [];
  const distribution = /DISTRIBUTED\s+BY\s+(?:HASH|RANGE)?\s*\(((?:`(?:[^`]|``)*`|[^)`])*)\)(?:\s+INTO\s+(\d+)\s+BUCKETS)?|DISTRIBUTED\s+INTO\s+(\d+)\s+BUCKETS/i.exec(created);
  const distributedBy = distribution?.[1] ? parts(distribution[1]) : [];
  const buckets = Number(distribution?.[2] ?? distribution?.[3] ?? 0);
  const options: Record<string, string> = {};
  // the options come last, after COMMENT, DISTRIBUTED and PARTITIONED BY, each on lines of their own
  const withClause = /\n\s*WITH\s*\(([\s\S]*)\)\s*$/i.exec(created)?.[1] ?? '';
  for (const m of withClause.matchAll(/'((?:[^']|'')*)'\s*=\s*'((?:[^']|'')*)'/g)) options[m[1]!.replace(/''/g, "'")] = m[2]!.replace(/''/g, "'");
  return {
    columns,
    keys: pk.length ? pk : distributedBy,
    primaryKey: pk.length > 0,
    partitions: Number(options['kafka.partitions'] ?? (buckets || 1)),
    options,
  };
}

/** Options a catalog table may carry: topic settings. Anything else belongs to tables outside the catalog. */
function checkOptions(table: string, options: Record<string, string>): void {
  const foreign = Object.keys(options).filter((k) => !k.startsWith('kafka.'));
  if (foreign.length) {
    throw new Unmappable(`a table in a Kafka catalog is its topic, so it takes only 'kafka.*' options, not ${foreign.map((k) => `'${k}'`).join(', ')}; create tables with other connectors in the default catalog`);
  }
  const partitions = Number(options['kafka.partitions'] ?? 1);
  if (!Number.isInteger(partitions) || partitions < 1) throw new Unmappable(`'kafka.partitions' of '${table}' must be a positive integer`);
}

/** Creates the topic and registers its subjects; on a failure, what was created goes again. */
export async function createTopicTable(db: VisibleDatabase, table: string, layout: Layout): Promise<void> {
  checkOptions(table, layout.options);
  const unknownKey = layout.keys.find((k) => !layout.columns.some((c) => c.name === k));
  if (unknownKey) throw new Unmappable(`the key column '${unknownKey}' is not a physical column of '${table}'`);
  const keyColumns = layout.keys.map((k) => layout.columns.find((c) => c.name === k)!);
  const valueColumns = layout.columns.filter((c) => !layout.keys.includes(c.name));
  if (valueColumns.length === 0) throw new Unmappable(`'${table}' has only key columns; a topic's value needs at least one`);
  const namespace = 'dev.drey.catalog';
  const subjects: [string, string][] = [[`${table}-value`, recordSchema(`${table}_value`, namespace, valueColumns)]];
  if (keyColumns.length) subjects.unshift([`${table}-key`, recordSchema(`${table}_key`, namespace, keyColumns)]);

  const cleanup = layout.options['kafka.cleanup-policy'] ?? (layout.primaryKey ? 'compact' : 'delete');
  const configs: Record<string, string> = { 'cleanup.policy': cleanup };
  if (layout.options['kafka.retention.time']) configs['retention.ms'] = layout.options['kafka.retention.time'];
  if (layout.options['kafka.retention.size']) configs['retention.bytes'] = layout.options['kafka.retention.size'];
  if (layout.options['kafka.max-message-size']) configs['max.message.bytes'] = layout.options['kafka.max-message-size'];

  const registry = new SchemaRegistryClient(registryConnection(db.registry));
  await createTopic(db.kafka, { name: table, partitions: layout.partitions, configs });
  const registered: string[] = [];
  try {
    for (const [subject, schema] of subjects) {
      await registry.register(subject, schema);
      registered.push(subject);
    }
  } catch (err) {
    await Promise.allSettled([deleteTopic(db.kafka, table), ...registered.map((s) => registry.deleteSubject(s))]);
    throw err;
  }
}

/** Deletes the topic and its subjects. */
export async function dropTopicTable(db: VisibleDatabase, table: string): Promise<void> {
  const registry = new SchemaRegistryClient(registryConnection(db.registry));
  await deleteTopic(db.kafka, table);
  for (const subject of [`${table}-key`, `${table}-value`]) await registry.deleteSubject(subject);
}

/** Whether an error is the outside world's answer to DDL (said in the statement), not drey's. */
export function isDdlFailure(err: unknown): err is Error {
  return err instanceof KafkaClusterError || err instanceof RegistryError || err instanceof Unmappable;
}

/** The statements that read a table's layout in a session. */
export function layoutQueries(db: VisibleDatabase, table: string): { describe: string; showCreate: string } {
  const name = [db.catalog, db.database, table].map(quoted).join('.');
  return { describe: `DESCRIBE ${name}`, showCreate: `SHOW CREATE TABLE ${name}` };
}
