import { quoted, Unmappable } from './avro.js';
import { ddlTarget } from './guard.js';
import { recordSchema, type DescribedColumn } from './flinkTypes.js';
import { createTopic, deleteTopic, KafkaClusterError, listTopics } from './kafka.js';
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

/** The parts of a dotted name as SHOW CREATE TABLE writes it, back quotes removed. */
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
  const target = ddlTarget(text);
  if (!target || target.kind !== 'TABLE' || target.temporary) return undefined;
  const name = target.name;
  const catalog = name.length === 3 ? name[0]! : (current.catalog ?? home.catalog);
  const inCatalog = databases.filter((d) => d.catalog === catalog);
  if (inCatalog.length === 0) return undefined;
  const database = name.length >= 2 ? name.at(-2)! : (current.database ?? inCatalog[0]!.database);
  const db = inCatalog.find((d) => d.database === database);
  if (!db) return undefined; // Flink says the database does not exist
  const table = name.at(-1)!;
  if (target.verb === 'ALTER') throw new Unmappable(`ALTER TABLE on a Kafka catalog's table is not supported: the table is the topic '${table}' and its subjects`);
  return { action: target.verb === 'CREATE' ? 'create' : 'drop', db, table, lenient: target.lenient };
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

  const configs = topicConfigs(table, layout);
  const registry = new SchemaRegistryClient(registryConnection(db.registry));
  // subjects that exist already (another cluster's topic of that name) are the registry's, not this DDL's
  const existing = new Set(await registry.subjects());
  await createTopic(db.kafka, { name: table, partitions: layout.partitions, configs });
  const registered: string[] = [];
  try {
    for (const [subject, schema] of subjects) {
      await registry.register(subject, schema);
      if (!existing.has(subject)) registered.push(subject);
    }
  } catch (err) {
    await Promise.allSettled([deleteTopic(db.kafka, table), ...registered.map((s) => registry.deleteSubject(s))]);
    throw err;
  }
}

/** A Flink duration (`7 d`, `12 h`, `500 ms`, a bare number of milliseconds) in milliseconds. */
function milliseconds(table: string, key: string, value: string): string {
  const m = /^\s*(\d+)\s*(ms|milli|millis|millisecond|milliseconds|s|sec|secs|second|seconds|min|m|minute|minutes|h|hour|hours|d|day|days)?\s*$/i.exec(value);
  if (!m) throw new Unmappable(`'${key}' of '${table}' must be a duration such as '7 d' or '12 h', not '${value}'`);
  const unit = (m[2] ?? 'ms').toLowerCase();
  const factor = unit.startsWith('d') ? 86_400_000 : unit.startsWith('h') ? 3_600_000 : unit === 'm' || unit.startsWith('min') ? 60_000 : unit.startsWith('s') ? 1_000 : 1;
  return String(Number(m[1]) * factor);
}

/** A Flink memory size (`100 mb`, `1 gb`, a bare number of bytes) in bytes. */
function bytes(table: string, key: string, value: string): string {
  const m = /^\s*(\d+)\s*(b|bytes|k|kb|kibibytes|m|mb|mebibytes|g|gb|gibibytes|t|tb|tebibytes)?\s*$/i.exec(value);
  if (!m) throw new Unmappable(`'${key}' of '${table}' must be a size such as '100 mb', not '${value}'`);
  const unit = (m[2] ?? 'b').toLowerCase()[0]!;
  const factor = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[unit] ?? 1;
  return String(Number(m[1]) * factor);
}

/** The topic settings of a table's `kafka.*` options, in Kafka's names and units. */
export function topicConfigs(table: string, layout: Pick<Layout, 'options' | 'primaryKey'>): Record<string, string> {
  const options = layout.options;
  const policy = (options['kafka.cleanup-policy'] ?? (layout.primaryKey ? 'compact' : 'delete')).toLowerCase();
  const cleanup = { delete: 'delete', compact: 'compact', 'delete-compact': 'compact,delete', 'compact-delete': 'compact,delete' }[policy];
  if (!cleanup) throw new Unmappable(`'kafka.cleanup-policy' of '${table}' must be delete, compact or delete-compact, not '${policy}'`);
  const configs: Record<string, string> = { 'cleanup.policy': cleanup };
  if (options['kafka.retention.time']) configs['retention.ms'] = milliseconds(table, 'kafka.retention.time', options['kafka.retention.time']);
  if (options['kafka.retention.size']) configs['retention.bytes'] = bytes(table, 'kafka.retention.size', options['kafka.retention.size']);
  if (options['kafka.max-message-size']) configs['max.message.bytes'] = bytes(table, 'kafka.max-message-size', options['kafka.max-message-size']);
  return configs;
}

/**
 * Deletes the topic and, unless a topic of that name in another database of the catalog (another
 * cluster behind the same registry) still uses them, its subjects.
 */
export async function dropTopicTable(db: VisibleDatabase, table: string, siblings: VisibleDatabase[]): Promise<void> {
  const registry = new SchemaRegistryClient(registryConnection(db.registry));
  await deleteTopic(db.kafka, table);
  const shared = await Promise.all(siblings.map((other) => listTopics(other.kafka).then((topics) => topics.some((t) => t.name === table), () => true)));
  if (shared.some(Boolean)) return;
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
