import { createHash } from 'node:crypto';
import { isObject } from '../domain/objects.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import { quoted, Unmappable } from './avro.js';
import { KafkaClusterError, listTopics, type TopicInfo } from './kafka.js';
import { RegistryError, registryConnection, SchemaRegistryClient, type SubjectSchema } from './registry.js';
import { mentionedNames } from './guard.js';
import { forConnector, tableDdl } from './tables.js';

/**
 * What an environment sees of the Kafka catalogs, as SQL a session runs: each catalog visible there
 * is an in-memory Flink catalog of its name, each of its databases visible there a database, each
 * topic a table (tables.ts). A catalog or database whose `connectionSecretId` the environment does
 * not map is invisible there, as in CMF; one that is mapped gets the secret's data merged into its
 * connection config for that environment only. What cannot be shown (a cluster or registry that does
 * not answer, a schema Flink cannot hold) is a problem that fails the statements that name it, with
 * a message naming the catalog, database or table. Listings are cached for `ttlMs`.
 */

/** How long a listing of topics or subjects is reused (documented in the README). */
export const CATALOG_CACHE_MS = 5_000;

/** Values shorter than this are not redacted: they cannot be credentials, and masking them garbles text. */
const SHORTEST_SECRET = 4;

/** What the API stores for a catalog and its databases, as the view reads it. */
export interface CatalogSource {
  name: string;
  registry: Connection;
  databases: { name: string; kafka: Connection; ddlEnvironments: string[] }[];
}

/** A public connection config and the id of the secret that completes it. */
export interface Connection {
  connectionConfig: Record<string, string>;
  connectionSecretId?: string;
}

/** A SQL statement that builds part of the catalogs in a session. */
export interface CatalogStatement {
  sql: string;
  catalog: string;
  database?: string;
  table?: string;
}

/** Something an environment's catalogs could not show, and where. */
export interface CatalogProblem {
  catalog: string;
  database?: string;
  table?: string;
  message: string;
}

/** A database an environment sees, with its merged connection config. */
export interface VisibleDatabase {
  catalog: string;
  database: string;
  kafka: Record<string, string>;
  registry: Record<string, string>;
  ddlEnvironments: string[];
}

function stringMap(value: unknown): Record<string, string> {
  if (!isObject(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function connection(value: unknown): Connection {
  const v = isObject(value) ? value : {};
  return { connectionConfig: stringMap(v.connectionConfig), ...(typeof v.connectionSecretId === 'string' ? { connectionSecretId: v.connectionSecretId } : {}) };
}

/** Reads the store's catalogs and databases into the view's shape. */
export async function catalogSources(store: Store): Promise<CatalogSource[]> {
  const rows = await store.catalogs.withDatabases();
  return rows.map(({ catalog, databases }) => ({
    name: catalog.name,
    registry: connection(isObject(catalog.spec) ? catalog.spec.srInstance : undefined),
    databases: databases.map((d) => {
      const spec = isObject(d.spec) ? d.spec : {};
      return { name: d.name, kafka: connection(spec.kafkaCluster), ddlEnvironments: Array.isArray(spec.ddlEnvironments) ? spec.ddlEnvironments.filter((e): e is string => typeof e === 'string') : [] };
    }),
  }));
}

/** A config with the secret it names merged in, or undefined when the environment does not map that secret. */
function resolve(conn: Connection, secrets: Record<string, Record<string, string>>): Record<string, string> | undefined {
  if (conn.connectionSecretId === undefined) return { ...conn.connectionConfig };
  const data = secrets[conn.connectionSecretId];
  return data ? { ...conn.connectionConfig, ...stringMap(data) } : undefined;
}

/** Masks secret values in text. */
export class Redactor {
  private readonly values: string[];

  constructor(values: Iterable<string>) {
    this.values = [...new Set(values)].filter((v) => v.length >= SHORTEST_SECRET).sort((a, b) => b.length - a.length);
  }

  /** The secret values an environment's mapped secrets hold, and the credentials inside them. */
  static of(secrets: Record<string, Record<string, string>>): Redactor {
    const values: string[] = [];
    for (const data of Object.values(secrets)) {
      for (const [key, value] of Object.entries(stringMap(data))) {
        const pieces = [value, forConnector(value)];
        // the parts a client may print on its own: a JAAS password, basic auth's password
        for (const m of value.matchAll(/(?:password|username)\s*=\s*"([^"]*)"/g)) pieces.push(m[1]!);
        // basic auth's `user:password`: the password alone, and the header a client sends
        const colon = value.indexOf(':');
        if (/user\.?info/i.test(key) && colon > 0) pieces.push(value.slice(colon + 1), Buffer.from(value).toString('base64'));
        // a URL's user info, and the URL as clients print it (without a trailing slash)
        for (const m of value.matchAll(/\/\/([^/@\s]+)@/g)) pieces.push(m[1]!, ...m[1]!.split(':').slice(1));
        if (/^https?:\/\//.test(value)) pieces.push(value.replace(/\/+$/, ''));
        // each as it is, and as Flink writes it inside a quoted option value (quotes doubled)
        for (const piece of pieces) values.push(piece, piece.replace(/'/g, "''"));
      }
    }
    return new Redactor(values);
  }

  /**
   * Masks every value. A value that is one of Kafka's and the registry's setting words (PLAIN,
   * SASL_SSL, ...) is masked where it stands as a word of its own, so that `EXPLAIN` or
   * `SASL_PLAINTEXT` in a message stay readable.
   */
  redact(text: string): string {
    let out = text;
    for (const value of this.values) {
      if (!out.includes(value)) continue;
      out = SETTING_WORDS.has(value.toUpperCase())
        ? out.replace(new RegExp(`(?<![\\w-])${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`, 'g'), '****')
        : out.split(value).join('****');
    }
    return out;
  }

  /** Whether there is anything to mask. */
  get empty(): boolean {
    return this.values.length === 0;
  }
}

/** Values of Kafka and registry client settings that are words of the protocol, not credentials. */
const SETTING_WORDS = new Set(['PLAIN', 'PLAINTEXT', 'SSL', 'SASL_SSL', 'SASL_PLAINTEXT', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'GSSAPI', 'OAUTHBEARER', 'USER_INFO', 'SASL_INHERIT', 'STATIC_TOKEN', 'HTTPS', 'HTTP', 'TRUE', 'FALSE', 'NONE', 'REQUIRED']);

/** Identifiers a SQL text names: words and back-quoted names (not literals or comments), lower-cased. */
export function namesIn(texts: string[]): Set<string> {
  return mentionedNames(texts);
}

/** The catalogs of one session. */
export class SessionCatalogs {
  constructor(
    readonly statements: CatalogStatement[],
    readonly problems: CatalogProblem[],
    readonly redactor: Redactor,
    /** The databases the environment sees, with their connection configs. */
    readonly databases: VisibleDatabase[] = [],
    /** Forgets what was listed of a database that DDL changed. */
    readonly forget: (db: VisibleDatabase) => void = () => undefined,
  ) {}

  static readonly none = new SessionCatalogs([], [], new Redactor([]));

  /** The Kafka catalogs the session has. */
  get catalogNames(): string[] {
    return this.statements.filter((s) => s.database === undefined).map((s) => s.catalog);
  }

  /** Whether the session has a table for the topic. */
  has(db: VisibleDatabase, table: string): boolean {
    return this.statements.some((s) => s.catalog === db.catalog && s.database === db.database && s.table === table);
  }

  /**
   * The problem a statement runs into: one in a catalog, database or table the statement names
   * (or that is current for it), as a message naming where it is.
   */
  problemFor(texts: string[], current: { catalog?: string; database?: string }): string | undefined {
    if (this.problems.length === 0) return undefined;
    const names = namesIn(texts);
    const named = (name: string) => names.has(name.toLowerCase());
    // a Kafka catalog made current without a database is in its default (first) database
    const database = current.database ?? this.databases.find((d) => d.catalog === current.catalog)?.database;
    current = { ...current, ...(database !== undefined ? { database } : {}) };
    const found = this.problems.filter(
      (p) =>
        (named(p.catalog) || current.catalog === p.catalog) &&
        (p.database === undefined || named(p.database) || current.database === p.database) &&
        (p.table === undefined || named(p.table)),
    );
    return found.length ? this.redactor.redact(found.map((p) => p.message).join('; ')) : undefined;
  }
}

/** A cache of loads by key, each reused (result or failure) for `ttlMs`. */
class TtlCache<V> {
  private readonly entries = new Map<string, { at: number; value: Promise<V> }>();

  constructor(private readonly ttlMs: number) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    const at = Date.now();
    if (hit && at - hit.at < this.ttlMs) return hit.value;
    const value = load();
    value.catch(() => undefined);
    this.entries.set(key, { at, value });
    if (this.entries.size > 10_000) this.sweep(at);
    return value;
  }

  /** Forgets every entry whose key starts with `prefix`. */
  forget(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  private sweep(at: number): void {
    for (const [key, entry] of this.entries) if (at - entry.at >= this.ttlMs) this.entries.delete(key);
  }
}

function fingerprint(config: Record<string, string>): string {
  return createHash('sha256')
    .update(JSON.stringify(Object.entries(config).sort(([a], [b]) => a.localeCompare(b))))
    .digest('hex')
    .slice(0, 16);
}

/** A message naming a part of a catalog. */
export function catalogPlace(catalog: string, database?: string, table?: string): string {
  if (table !== undefined) return `Kafka catalog '${catalog}' table '${database}.${table}'`;
  if (database !== undefined) return `Kafka catalog '${catalog}' database '${database}'`;
  return `Kafka catalog '${catalog}'`;
}

/** What a listing's failure says; an unexpected one is said too, so that it fails only what needs the listing. */
function failure(err: unknown): string {
  if (err instanceof KafkaClusterError || err instanceof RegistryError || err instanceof Unmappable) return err.message;
  return `it could not be listed (${(err as Error).name}: ${(err as Error).message})`;
}

/** A database's tables, or why there are none: its Kafka cluster's failure or its registry's. */
interface Listing {
  kafka?: string;
  registry?: string;
  tables: ({ table: string; sql: string } | { table: string; problem: string })[];
}

/** The Kafka catalogs environments see. */
export class KafkaCatalogs {
  private readonly topics: TtlCache<TopicInfo[]>;
  private readonly subjects: TtlCache<Set<string>>;
  private readonly schemas: TtlCache<SubjectSchema | null>;

  constructor(private readonly options: { store: Store; log: Logger; ttlMs?: number }) {
    const ttl = options.ttlMs ?? CATALOG_CACHE_MS;
    this.topics = new TtlCache(ttl);
    this.subjects = new TtlCache(ttl);
    this.schemas = new TtlCache(ttl);
  }

  /** The databases an environment sees, with their connection configs merged. */
  async visible(environmentId: string): Promise<{ databases: VisibleDatabase[]; catalogs: string[]; secrets: Record<string, Record<string, string>> }> {
    const { store } = this.options;
    const [sources, secrets] = await Promise.all([catalogSources(store), store.secretMappings.connectionSecrets(environmentId)]);
    const databases: VisibleDatabase[] = [];
    const catalogs: string[] = [];
    for (const source of sources) {
      const registry = resolve(source.registry, secrets);
      if (!registry) continue;
      catalogs.push(source.name);
      for (const db of source.databases) {
        const kafka = resolve(db.kafka, secrets);
        if (kafka) databases.push({ catalog: source.name, database: db.name, kafka, registry, ddlEnvironments: db.ddlEnvironments });
      }
    }
    return { databases, catalogs, secrets };
  }

  /** Masks the secret values an environment's mappings hold. */
  async redactor(environmentId: string): Promise<Redactor> {
    return Redactor.of(await this.options.store.secretMappings.connectionSecrets(environmentId));
  }

  /**
   * The catalogs of a session for statements `texts`: every visible catalog and database, and the
   * tables the texts name (every table when `allTables`, for SHOW) in the catalogs they name or
   * that is `current`.
   */
  async forSession(environmentId: string, texts: string[], allTables: boolean, current: { catalog?: string } = {}): Promise<SessionCatalogs> {
    const { databases, catalogs, secrets } = await this.visible(environmentId);
    const redactor = Redactor.of(secrets);
    if (catalogs.length === 0) return new SessionCatalogs([], [], redactor);
    const forget = (db: VisibleDatabase) => this.forget(db);
    const names = namesIn(texts);
    const statements: CatalogStatement[] = [];
    const problems: CatalogProblem[] = [];
    for (const catalog of catalogs) {
      const first = databases.find((d) => d.catalog === catalog)?.database;
      statements.push({
        catalog,
        sql: `CREATE CATALOG ${quoted(catalog)} WITH ('type' = 'generic_in_memory'${first ? `, 'default-database' = '${first.replace(/'/g, "''")}'` : ''})`,
      });
    }
    // only the catalogs the statement names or is in are listed: a slow cluster elsewhere does not hold it up
    const listed = (db: VisibleDatabase) => names.has(db.catalog.toLowerCase()) || current.catalog === db.catalog;
    const tables = await Promise.all(databases.map((db) => (listed(db) ? this.tablesOf(db, allTables ? undefined : names) : Promise.resolve<Listing>({ tables: [] }))));
    const unlisted = new Set<string>();
    databases.forEach((db, i) => {
      statements.push({ catalog: db.catalog, database: db.database, sql: `CREATE DATABASE IF NOT EXISTS ${quoted(db.catalog)}.${quoted(db.database)}` });
      const found = tables[i]!;
      if (found.registry && !unlisted.has(db.catalog)) {
        unlisted.add(db.catalog);
        problems.push({ catalog: db.catalog, message: `${catalogPlace(db.catalog)}: ${found.registry}` });
      }
      if (found.kafka) problems.push({ catalog: db.catalog, database: db.database, message: `${catalogPlace(db.catalog, db.database)}: ${found.kafka}` });
      for (const t of found.tables) {
        if ('problem' in t) problems.push({ catalog: db.catalog, database: db.database, table: t.table, message: `${catalogPlace(db.catalog, db.database, t.table)}: ${t.problem}` });
        else statements.push({ catalog: db.catalog, database: db.database, table: t.table, sql: t.sql });
      }
    });
    return new SessionCatalogs(statements, problems, redactor, databases, forget);
  }

  /** Forgets what was listed of a database, so that the next session sees a change drey made. */
  forget(db: Pick<VisibleDatabase, 'kafka' | 'registry'>): void {
    this.topics.forget(`${fingerprint(db.kafka)}`);
    this.subjects.forget(`${fingerprint(db.registry)}`);
    this.schemas.forget(`${fingerprint(db.registry)}`);
  }

  /**
   * A database's tables, or why there are none: its Kafka cluster's failure (`kafka`) or its
   * catalog's registry's (`registry`), each said once.
   */
  private async tablesOf(db: VisibleDatabase, names: Set<string> | undefined): Promise<Listing> {
    const [topics, subjects] = await Promise.allSettled([
      this.topics.get(fingerprint(db.kafka), () => listTopics(db.kafka)),
      this.subjects.get(fingerprint(db.registry), async () => new Set(await this.registry(db).subjects())),
    ]);
    if (topics.status === 'rejected' || subjects.status === 'rejected') {
      return {
        ...(topics.status === 'rejected' ? { kafka: failure(topics.reason) } : {}),
        ...(subjects.status === 'rejected' ? { registry: failure(subjects.reason) } : {}),
        tables: [],
      };
    }
    const wanted = names ? topics.value.filter((t) => names.has(t.name.toLowerCase())) : topics.value;
    const tables = await Promise.all(
      wanted.map(async (topic) => {
        try {
          const [key, value] = await Promise.all([this.latest(db, subjects.value, `${topic.name}-key`), this.latest(db, subjects.value, `${topic.name}-value`)]);
          return { table: topic.name, sql: tableDdl({ catalog: db.catalog, database: db.database, topic, key, value, kafka: db.kafka, registry: db.registry }) };
        } catch (err) {
          return { table: topic.name, problem: failure(err) };
        }
      }),
    );
    return { tables };
  }

  private registry(db: VisibleDatabase): SchemaRegistryClient {
    return new SchemaRegistryClient(registryConnection(db.registry));
  }

  private latest(db: VisibleDatabase, subjects: Set<string>, subject: string): Promise<SubjectSchema | null> {
    if (!subjects.has(subject)) return Promise.resolve(null);
    return this.schemas.get(`${fingerprint(db.registry)}|${subject}`, () => this.registry(db).latest(subject));
  }
}
