import { createHash } from 'node:crypto';
import pg from 'pg';
import {
  type Environment,
  type Application,
  type ApplicationEvent,
  type ApplicationInstance,
  type PrismaClient,
} from '../generated/prisma/client.js';
import { onlyWhere, orderBy, type Page, type PageRequest, NAMED_SORT_FIELDS, SEQUENCE_SORT_FIELDS } from '../domain/paging.js';
import { StaleWrite, translate } from './errors.js';
import { analyzeOnGrowth } from './growth.js';
import { findPage, keysSql, LANDMARK_EVERY, Landmarks, orderSql, PageCursors, rowsAfterSql, sortKeys, type LandmarksRead, type PageQuery, type SortKey } from './paging.js';

export type { Application, ApplicationEvent, ApplicationInstance };

/** Instances and events kept per application; older ones are pruned on write. */
export const KEPT_PER_APPLICATION = 100;

/** An event to record with a write. */
export interface NewEvent {
  id: string;
  instanceName: string | null;
  type: string;
  message: string;
  data: unknown;
}

/** An instance to record with a spec change. */
export interface NewInstance {
  id: string;
  spec: unknown;
}

/** The API-owned fields of an application. */
export interface ApplicationFields {
  apiVersion: string;
  kind: string;
  labels: unknown;
  annotations: unknown;
  spec: unknown;
  specHash: string;
}

/** The Postgres channel that carries `<environment>/<application>` after every API write of an application. */
export const APPLICATION_CHANNEL = 'drey_applications';

/**
 * SQL text of a JSON value for a `json` or `jsonb` column, cast where used: `json` keeps the text
 * as written, so key order reads back as posted (what Prisma's own writes send too).
 */
function jsonText(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

/*
 * The hot statements (the API's writes and reads of one application, the controller's find,
 * record and resync) go to node-postgres directly, as named prepared statements: Prisma costs
 * several hundred µs of CPU per call, and PostgreSQL plans a prepared statement once per
 * connection instead of per call. The names are fixed, so each connection caches a handful of
 * them; every column is listed, so a migration that adds one cannot change a cached plan's result.
 */

/** Each model's columns in schema order (the order Prisma returns them); a missing or extra one fails to compile. */
const APPLICATION_FIELDS: { [K in keyof Application]: null } = {
  id: null,
  environmentId: null,
  name: null,
  apiVersion: null,
  kind: null,
  labels: null,
  annotations: null,
  spec: null,
  specHash: null,
  status: null,
  deployedSpecHash: null,
  deletionRequestedAt: null,
  version: null,
  createdAt: null,
  updatedAt: null,
};
const ENVIRONMENT_FIELDS: { [K in keyof Environment]: null } = {
  id: null,
  name: null,
  kubernetesNamespace: null,
  flinkApplicationDefaults: null,
  computePoolDefaults: null,
  statementDefaults: null,
  version: null,
  createdAt: null,
  updatedAt: null,
};
const INSTANCE_FIELDS: { [K in keyof ApplicationInstance]: null } = {
  id: null,
  seq: null,
  applicationId: null,
  spec: null,
  jobStatus: null,
  createdAt: null,
  updatedAt: null,
};
const APPLICATION = Object.keys(APPLICATION_FIELDS);
const ENVIRONMENT = Object.keys(ENVIRONMENT_FIELDS);
const INSTANCE = Object.keys(INSTANCE_FIELDS);

/** A select list of `columns`, qualified by `alias` (none: bare, as RETURNING takes them). */
function columns(names: string[], alias?: string): string {
  return names.map((c) => (alias ? `${alias}."${c}"` : `"${c}"`)).join(', ');
}

/** The object of `names` read from an array-mode row, starting at column `from`. */
function fromRow<T>(names: string[], row: unknown[], from = 0): T {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < names.length; i++) out[names[i]!] = row[from + i];
  return out as T;
}

/**
 * How node-postgres parses the columns of these statements: as Prisma returns them, so bigint
 * (`seq`) as a BigInt; timestamps become Dates and json/jsonb parsed values, node-postgres's defaults.
 */
const TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? BigInt : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** A named prepared statement. */
interface Statement {
  name: string;
  text: string;
}

/** The end of a one-statement write of applications: the rows of its `app` CTE, each with the key `notifier` sends. */
const RETURNING_WRITTEN = `SELECT ${columns(APPLICATION, 'app')}, e.name || '/' || app.name FROM app JOIN "Environment" e ON e.id = app."environmentId"`;

/**
 * A CTE deleting all but the newest KEPT_PER_APPLICATION instances or events of the application
 * `of` selects (none, or one id), in the statement that inserts one more: the statement sees the
 * rows as they were before it, so the newest KEPT_PER_APPLICATION - 1 of those stay, with the new one.
 */
function pruneBeforeOneMore(table: 'ApplicationInstance' | 'ApplicationEvent', of: string): string {
  return `DELETE FROM "${table}" p USING (
      SELECT o.id, (SELECT seq FROM "${table}" WHERE "applicationId" = o.id ORDER BY seq DESC OFFSET ${KEPT_PER_APPLICATION - 2} LIMIT 1) AS seq
      FROM (${of}) o
    ) cut
    WHERE p."applicationId" = cut.id AND p.seq < cut.seq`;
}

/** The statements, one text per name. */
const SQL = {
  /** $1 application id, $2 environment id, $3 name, $4-$9 fields, $10 at, $11-$12 instance, $13-$17 event. */
  create: {
    name: 'drey_application_create',
    text: `WITH app AS (
      INSERT INTO "Application" (id, "environmentId", name, "apiVersion", kind, labels, annotations, spec, "specHash", "createdAt", "updatedAt")
      VALUES ($1::uuid, $2::uuid, $3::text, $4::text, $5::text, $6::json, $7::json, $8::json, $9::text, $10::timestamptz, $10::timestamptz)
      RETURNING ${columns(APPLICATION)}
    ), instance AS (
      INSERT INTO "ApplicationInstance" (id, "applicationId", spec, "createdAt", "updatedAt")
      SELECT $11::uuid, app.id, $12::json, $10::timestamptz, $10::timestamptz FROM app
    ), event AS (
      INSERT INTO "ApplicationEvent" (id, "applicationId", "instanceName", type, message, data, "createdAt")
      SELECT $13::uuid, app.id, $14::text, $15::text, $16::text, $17::jsonb, $10::timestamptz FROM app
    ) ${RETURNING_WRITTEN}`,
  },
  /**
   * $1 environment name, $2-$3 the id and version of the environment the fields were made with,
   * $4 application id, $5 name, $6-$11 fields, $12 at, $13-$14 instance, $15-$19 the event's id,
   * type, message on a create, message on an update, data. When the environment is still at that
   * version: creates the application as `create` does if it has none of that name; else, unless
   * it is being deleted or its fields equal these (json compared as jsonb: by value, keys in any
   * order), updates it as `update` does, with a new instance when the hash changed. The columns:
   * whether it created, the environment as it is, its application of that name as it was (null
   * when none), and as updated (null when not; no columns in `createIfAbsent`). No row: no such environment.
   */
  upsert: {
    name: 'drey_application_upsert',
    text: upsertText(true),
  },
  /** As `upsert`, but never updates: a statement with less to set up, for a name that is likely new. */
  createIfAbsent: {
    name: 'drey_application_create_if_absent',
    text: upsertText(false),
  },
  /** $1 application id, $2 version, $3-$8 fields, $9 at, $10-$13 event; the event names the newest instance. */
  update: {
    name: 'drey_application_update',
    text: updateText(false),
  },
  /** As `update`, with $14-$15 a new instance that the event names. */
  updateWithInstance: {
    name: 'drey_application_update_instance',
    text: updateText(true),
  },
  /** $1 application id, $2 version, $3 at. */
  requestDeletion: {
    name: 'drey_application_request_deletion',
    text: `WITH app AS (
      UPDATE "Application" SET "deletionRequestedAt" = $3::timestamptz, version = version + 1
      WHERE id = $1::uuid AND version = $2::int
      RETURNING ${columns(APPLICATION)}
    ) ${RETURNING_WRITTEN}`,
  },
  /** $1 channel, $2 keys. */
  notify: {
    name: 'drey_application_notify',
    text: 'SELECT pg_notify($1::text, key) FROM unnest($2::text[]) AS key',
  },
  /** $1 environment id, $2 name. */
  get: {
    name: 'drey_application_get',
    text: `SELECT ${columns(APPLICATION, 'a')} FROM "Application" a WHERE a."environmentId" = $1::uuid AND a.name = $2::text`,
  },
  /** $1 environment name, $2 name. */
  getByNames: {
    name: 'drey_application_by_names',
    text: `SELECT ${columns(APPLICATION, 'a')} FROM "Application" a JOIN "Environment" e ON e.id = a."environmentId"
      WHERE e.name = $1::text AND a.name = $2::text`,
  },
  /** $1 environment name, $2 name: the environment's columns, then the application's (null when it has none). */
  withEnvironment: {
    name: 'drey_application_with_environment',
    text: `SELECT ${columns(ENVIRONMENT, 'e')}, ${columns(APPLICATION, 'a')}
      FROM "Environment" e LEFT JOIN "Application" a ON a."environmentId" = e.id AND a.name = $2::text
      WHERE e.name = $1::text`,
  },
  /** $1 environment name, $2 name: the application's columns, its environment's, then its newest instance's (null when none). */
  find: {
    name: 'drey_application_find',
    text: `SELECT ${columns(APPLICATION, 'a')}, ${columns(ENVIRONMENT, 'e')}, ${columns(INSTANCE, 'i')}
      FROM "Application" a JOIN "Environment" e ON e.id = a."environmentId"
      LEFT JOIN LATERAL (
        SELECT ${columns(INSTANCE)} FROM "ApplicationInstance" WHERE "applicationId" = a.id ORDER BY seq DESC LIMIT 1
      ) i ON true
      WHERE e.name = $1::text AND a.name = $2::text`,
  },
  /** $1 environment id: how many applications it holds, and its change stamp (see ApplicationCount), as text. */
  counts: {
    name: 'drey_application_counts',
    text: `SELECT COALESCE(sum(count), 0)::text, COALESCE(sum(changes), 0)::text FROM "ApplicationCount" WHERE "environmentId" = $1::uuid`,
  },
  versions: {
    name: 'drey_application_versions',
    text: `SELECT a.id::text, a.name, a.version, e.id::text, e.name, e.version, e."kubernetesNamespace"
      FROM "Application" a JOIN "Environment" e ON e.id = a."environmentId"`,
  },
  /**
   * $1 application id, $2 status, $3 deployed hash, $4-$5 the instance whose job status is set
   * (null: none), $6 at, $7-$11 the events' columns, in order, $12 how many of the application's
   * older events stay (KEPT_PER_APPLICATION less the new ones; no prune without new events).
   * The events get their seq in the order they are given.
   */
  recordObservation: {
    name: 'drey_application_record_observation',
    text: `WITH app AS (
      UPDATE "Application" SET status = $2::jsonb, "deployedSpecHash" = $3::text WHERE id = $1::uuid
    ), instance AS (
      UPDATE "ApplicationInstance" SET "jobStatus" = $5::jsonb, "updatedAt" = $6::timestamptz
      WHERE $4::uuid IS NOT NULL AND id = $4::uuid AND "applicationId" = $1::uuid
    ), event AS (
      INSERT INTO "ApplicationEvent" (id, "applicationId", "instanceName", type, message, data, "createdAt")
      SELECT e.id, $1::uuid, e."instanceName", e.type, e.message, e.data::jsonb, $6::timestamptz
      FROM unnest($7::uuid[], $8::text[], $9::text[], $10::text[], $11::text[]) WITH ORDINALITY AS e(id, "instanceName", type, message, data, n)
      ORDER BY e.n
    )
    DELETE FROM "ApplicationEvent" WHERE cardinality($7::uuid[]) > 0 AND "applicationId" = $1::uuid AND seq <= (
      SELECT seq FROM "ApplicationEvent" WHERE "applicationId" = $1::uuid ORDER BY seq DESC OFFSET $12::int LIMIT 1
    )`,
  },
} satisfies Record<string, Statement>;

/** The text of `upsert`, or (`update` false) of `createIfAbsent`. */
function upsertText(update: boolean): string {
  const updated = update
    ? `, updated AS (
      UPDATE "Application" a SET "apiVersion" = $6::text, kind = $7::text, labels = $8::json, annotations = $9::json, spec = $10::json,
        "specHash" = $11::text, "updatedAt" = $12::timestamptz, version = a.version + 1
      FROM existing x
      WHERE a.id = x.id AND a.version = x.version AND x."deletionRequestedAt" IS NULL AND EXISTS (SELECT 1 FROM made_in)
        AND NOT (x."specHash" = $11::text AND x."apiVersion" = $6::text AND x.kind = $7::text AND x.spec::jsonb = $10::json::jsonb
          AND COALESCE(x.labels::jsonb, 'null') = COALESCE($8::json::jsonb, 'null')
          AND COALESCE(x.annotations::jsonb, 'null') = COALESCE($9::json::jsonb, 'null'))
      RETURNING ${columns(APPLICATION, 'a')}, x."specHash" <> $11::text AS respecified
    ), pruned_instances AS (${pruneBeforeOneMore('ApplicationInstance', 'SELECT id FROM updated WHERE respecified')}
    ), pruned_events AS (${pruneBeforeOneMore('ApplicationEvent', 'SELECT id FROM updated')})`
    : '';
  return `WITH env AS (
      SELECT ${columns(ENVIRONMENT)} FROM "Environment" WHERE name = $1::text
    ), made_in AS (
      SELECT id FROM env WHERE id = $2::uuid AND version = $3::int
    ), existing AS (
      SELECT ${columns(APPLICATION, 'a')} FROM "Application" a JOIN env ON a."environmentId" = env.id WHERE a.name = $5::text
    ), created AS (
      INSERT INTO "Application" (id, "environmentId", name, "apiVersion", kind, labels, annotations, spec, "specHash", "createdAt", "updatedAt")
      SELECT $4::uuid, made_in.id, $5::text, $6::text, $7::text, $8::json, $9::json, $10::json, $11::text, $12::timestamptz, $12::timestamptz
      FROM made_in WHERE NOT EXISTS (SELECT 1 FROM existing)
      ON CONFLICT ("environmentId", name) DO NOTHING
      RETURNING id, true AS respecified
    )${updated}, written AS (
      SELECT id, respecified FROM created${update ? ' UNION ALL SELECT id, respecified FROM updated' : ''}
    ), instance AS (
      INSERT INTO "ApplicationInstance" (id, "applicationId", spec, "createdAt", "updatedAt")
      SELECT $13::uuid, w.id, $14::json, $12::timestamptz, $12::timestamptz FROM written w WHERE w.respecified
    ), event AS (
      INSERT INTO "ApplicationEvent" (id, "applicationId", "instanceName", type, message, data, "createdAt")
      SELECT $15::uuid, w.id,
        CASE WHEN w.respecified THEN $13::uuid::text
          ELSE (SELECT i.id::text FROM "ApplicationInstance" i WHERE i."applicationId" = w.id ORDER BY i.seq DESC LIMIT 1) END,
        $16::text, CASE WHEN EXISTS (SELECT 1 FROM created) THEN $17::text ELSE $18::text END, $19::jsonb, $12::timestamptz
      FROM written w
    )
    SELECT EXISTS (SELECT 1 FROM created), ${columns(ENVIRONMENT, 'env')}, ${columns(APPLICATION, 'existing')}${update ? `, ${columns(APPLICATION, 'updated')}` : ''}
    FROM env LEFT JOIN existing ON true${update ? ' LEFT JOIN updated ON true' : ''}`;
}

/** The text of an update, with or without a new instance. */
function updateText(withInstance: boolean): string {
  const instance = withInstance
    ? `, instance AS (
        INSERT INTO "ApplicationInstance" (id, "applicationId", spec, "createdAt", "updatedAt")
        SELECT $14::uuid, app.id, $15::json, $9::timestamptz, $9::timestamptz FROM app
      ), pruned_instances AS (${pruneBeforeOneMore('ApplicationInstance', 'SELECT id FROM app')})`
    : '';
  const instanceName = withInstance
    ? '$14::uuid::text'
    : '(SELECT i.id::text FROM "ApplicationInstance" i WHERE i."applicationId" = app.id ORDER BY i.seq DESC LIMIT 1)';
  return `WITH app AS (
      UPDATE "Application" SET "apiVersion" = $3::text, kind = $4::text, labels = $5::json, annotations = $6::json, spec = $7::json,
        "specHash" = $8::text, "updatedAt" = $9::timestamptz, version = version + 1
      WHERE id = $1::uuid AND version = $2::int
      RETURNING ${columns(APPLICATION)}
    )${instance}, event AS (
      INSERT INTO "ApplicationEvent" (id, "applicationId", "instanceName", type, message, data, "createdAt")
      SELECT $10::uuid, app.id, ${instanceName}, $11::text, $12::text, $13::jsonb, $9::timestamptz FROM app
    ), pruned_events AS (${pruneBeforeOneMore('ApplicationEvent', 'SELECT id FROM app')})
    ${RETURNING_WRITTEN}`;
}

/**
 * The values of a new application's API fields, its time and its first instance, in the order
 * `create` and `upsert` take them: apiVersion, kind, labels, annotations, spec, specHash,
 * at, the instance's id and spec.
 */
function newApplicationValues(app: { at: Date } & ApplicationFields, instance: NewInstance): unknown[] {
  return [app.apiVersion, app.kind, jsonText(app.labels), jsonText(app.annotations), jsonText(app.spec), app.specHash, app.at, instance.id, jsonText(instance.spec)];
}

/** Runs a named statement; its rows as arrays of column values. */
async function run(pool: pg.Pool, statement: Statement, values: unknown[]): Promise<unknown[][]> {
  const result = await pool.query<unknown[]>({ ...statement, values, rowMode: 'array', types: TYPES });
  return result.rows;
}

/**
 * Tells every listening drey (the leader's controller) `<environment>/<application>` once a
 * write has committed; a request's promise settles when its key was sent. Not in the write's own
 * transaction: PostgreSQL serialises committing transactions that NOTIFY (a lock held through the
 * commit's WAL flush), which capped concurrent writes at a third of their rate. Keys that arrive
 * while a send is under way go together in the next statement, so concurrent writes share one.
 */
function notifier(pool: pg.Pool): (key: string) => Promise<void> {
  let queued: { key: string; sent: () => void; failed: (err: unknown) => void }[] = [];
  let sending = false;
  async function send(): Promise<void> {
    sending = true;
    while (queued.length) {
      const batch = queued;
      queued = [];
      try {
        await run(pool, SQL.notify, [APPLICATION_CHANNEL, batch.map((b) => b.key)]);
        for (const b of batch) b.sent();
      } catch (err) {
        for (const b of batch) b.failed(err);
      }
    }
    sending = false;
  }
  return (key) =>
    new Promise<void>((sent, failed) => {
      queued.push({ key, sent, failed });
      if (!sending) void send();
    });
}

/** Splits a written row (the application's columns, then the key to notify) into the application and the key. */
function written(row: unknown[] | undefined): { app: Application; key: string } | undefined {
  if (!row) return undefined;
  return { app: fromRow<Application>(APPLICATION, row), key: row[APPLICATION.length] as string };
}

/** An application with its environment, as the controller reads it. */
export type ApplicationWithEnvironment = Application & { environment: Environment };

/** An application with its environment and its newest instance (none or one), as the controller reconciles it. */
export type ApplicationToReconcile = ApplicationWithEnvironment & { instances: ApplicationInstance[] };

/** The versions a resync compares: the application's and its environment's move with every API write. */
export interface ApplicationVersion {
  id: string;
  name: string;
  version: number;
  environment: { id: string; name: string; version: number; kubernetesNamespace: string };
}

/** What one reconcile observed, written in one statement. Status writes never touch the spec or `version`. */
export interface Observation {
  status: unknown;
  deployedSpecHash: string | null;
  /** The current instance's job status, when it changed. */
  instanceJobStatus?: { instanceId: string; jobStatus: unknown };
  events: NewEvent[];
}

/** Store operations on applications, their instances and their events. */
export function applicationStore(db: PrismaClient, pool: pg.Pool) {
  /** Where recently served list pages ended, per environment id. */
  const cursors = new PageCursors();
  const notify = notifier(pool);
  const grew = analyzeOnGrowth(pool, ['Application', 'ApplicationInstance', 'ApplicationEvent']);

  /** Where long lists' rows lie, per environment id and order. */
  const landmarks = new Landmarks();

  /**
   * A page of the environment's applications in the order of `keys`, as `findPage` asks: a
   * prepared statement per order and shape. With `keysOnly`, only the sort columns, which an
   * index of the environment and the sort columns answers from the index alone, without visiting
   * a row per row skipped.
   */
  async function pageOf(environmentId: string, keys: SortKey[], query: PageQuery): Promise<Application[]> {
    const after = query.after ? ` AND ${rowsAfterSql(keys, 4)}` : '';
    const text = `SELECT ${query.keysOnly ? keysSql(keys) : columns(APPLICATION)} FROM "Application"
      WHERE "environmentId" = $1::uuid${after} ORDER BY ${orderSql(keys)} OFFSET $2::int LIMIT $3::int`;
    const name = `drey_application_page_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    const rows = await run(pool, { name, text }, [environmentId, query.skip, query.take, ...(query.after ?? [])]);
    return query.keysOnly ? rows.map((r) => Object.fromEntries(keys.map((k, i) => [k.field, r[i]])) as Application) : rows.map((r) => fromRow<Application>(APPLICATION, r));
  }

  /** The environment's landmarks in the order of `keys`, with its change stamp, in one snapshot (one statement, from the index alone). */
  async function readLandmarks(environmentId: string, keys: SortKey[]): Promise<LandmarksRead> {
    const fields = keysSql(keys);
    const { rows } = await pool.query<unknown[]>({
      text: `WITH stamp AS (SELECT COALESCE(sum(changes), 0)::text AS s FROM "ApplicationCount" WHERE "environmentId" = $1::uuid)
        SELECT stamp.s, r.* FROM stamp LEFT JOIN (
          SELECT * FROM (SELECT ${fields}, row_number() OVER (ORDER BY ${orderSql(keys)}) AS n FROM "Application" WHERE "environmentId" = $1::uuid) numbered
          WHERE n % $2::int = 0
        ) r ON true ORDER BY r.n`,
      values: [environmentId, LANDMARK_EVERY],
      rowMode: 'array',
    });
    const marked = rows.filter((r) => r[r.length - 1] !== null);
    return { stamp: rows[0]![0] as string, values: marked.map((r) => r.slice(1, -1)) };
  }

  return {
    async get(environmentId: string, name: string): Promise<Application | null> {
      const [row] = await run(pool, SQL.get, [environmentId, name]);
      return row ? fromRow<Application>(APPLICATION, row) : null;
    },

    /** The application named `name` in the environment named `environmentName`, in one query. */
    async getByNames(environmentName: string, name: string): Promise<Application | null> {
      const [row] = await run(pool, SQL.getByNames, [environmentName, name]);
      return row ? fromRow<Application>(APPLICATION, row) : null;
    },

    /**
     * The environment named `environmentName` and its application named `name` (null when it has
     * none), in one query; null when there is no such environment.
     */
    async withEnvironment(environmentName: string, name: string): Promise<{ env: Environment; app: Application | null } | null> {
      const [row] = await run(pool, SQL.withEnvironment, [environmentName, name]);
      if (!row) return null;
      const env = fromRow<Environment>(ENVIRONMENT, row);
      const app = row[ENVIRONMENT.length] === null ? null : fromRow<Application>(APPLICATION, row, ENVIRONMENT.length);
      return { env, app };
    },

    /**
     * A page of an environment's applications and how many it holds. A page that follows one this
     * process served is a keyset query; the total is the sum of the environment's ApplicationCount rows.
     */
    async list(environmentId: string, page: PageRequest): Promise<Page<Application>> {
      if (page.only) {
        // a caller who may see only some applications gets pages by offset: the keysets and landmarks serve whole lists
        const where = { environmentId, ...onlyWhere(page) };
        const [items, total] = await Promise.all([
          db.application.findMany({
            where,
            orderBy: orderBy(page, NAMED_SORT_FIELDS, [{ createdAt: 'asc' }, { name: 'asc' }]),
            skip: page.page * page.size,
            take: page.size,
          }),
          db.application.count({ where }),
        ]);
        return { items, total };
      }
      const keys = sortKeys(page, NAMED_SORT_FIELDS, [{ createdAt: 'asc' }, { name: 'asc' }]);
      const counted = run(pool, SQL.counts, [environmentId]).then(([row]) => ({ total: Number(row![0]), stamp: row![1] as string }));
      // an update moves updatedAt without moving the stamp: no landmarks in that order
      const stable = !keys.some((k) => k.field === 'updatedAt');
      const list = JSON.stringify([environmentId, keys]);
      const [items, { total }] = await Promise.all([
        findPage(
          cursors,
          environmentId,
          page,
          keys,
          (query) => pageOf(environmentId, keys, query),
          async (skip) => (stable ? landmarks.at(list, (await counted).stamp, skip, () => readLandmarks(environmentId, keys)) : undefined),
        ),
        counted,
      ]);
      return { items, total };
    },

    /**
     * Creates the application with its first instance and its creation event in one statement
     * (so atomically, in one round trip), then notifies.
     */
    async create(app: { id: string; environmentId: string; name: string; at: Date } & ApplicationFields, instance: NewInstance, event: NewEvent): Promise<Application> {
      const rows = await translate(`Application '${app.name}'`, () =>
        run(pool, SQL.create, [
          app.id,
          app.environmentId,
          app.name,
          ...newApplicationValues(app, instance),
          event.id,
          event.instanceName,
          event.type,
          event.message,
          jsonText(event.data),
        ]),
      );
      cursors.changed(app.environmentId);
      grew();
      const done = written(rows[0])!;
      await notify(done.key);
      return done.app;
    },

    /**
     * Writes a posted application in one round trip with no read before it, when `env` (as the
     * caller last read it) is unchanged: creates it as `create` does when the environment holds
     * none of that name, else updates it as `update` does unless it is being deleted or already
     * holds these fields, or `mayUpdate` is false (a statement that costs PostgreSQL less, for a
     * name that is likely new). `written` is the application as stored then. Else nothing is
     * written, and the answer is the environment as it is now with its application of that name
     * (`existing`, null when none: a create that raced this one), or null when there is no such
     * environment.
     */
    async upsert(
      env: Environment,
      app: { id: string; name: string; at: Date } & ApplicationFields,
      instance: NewInstance,
      event: Omit<NewEvent, 'instanceName' | 'message'> & { messages: { created: string; updated: string } },
      mayUpdate = true,
    ): Promise<{ written: Application } | { env: Environment; existing: Application | null } | null> {
      const [row] = await translate(`Application '${app.name}'`, () => run(pool, mayUpdate ? SQL.upsert : SQL.createIfAbsent, [
        env.name,
        env.id,
        env.version,
        app.id,
        app.name,
        ...newApplicationValues(app, instance),
        event.id,
        event.type,
        event.messages.created,
        event.messages.updated,
        jsonText(event.data),
      ]));
      if (!row) return null;
      const existingAt = 1 + ENVIRONMENT.length;
      const updatedAt = existingAt + APPLICATION.length;
      const existing = row[existingAt] === null ? null : fromRow<Application>(APPLICATION, row, existingAt);
      const updated = row[updatedAt] == null ? null : fromRow<Application>(APPLICATION, row, updatedAt); // no column: createIfAbsent
      if (!row[0] && !updated) return { env: fromRow<Environment>(ENVIRONMENT, row, 1), existing };
      cursors.changed(env.id);
      if (row[0]) grew();
      await notify(`${env.name}/${app.name}`);
      if (updated) return { written: updated };
      // the row as stored: what was sent, and the columns' defaults
      const created: Application = {
        id: app.id,
        environmentId: env.id,
        name: app.name,
        apiVersion: app.apiVersion,
        kind: app.kind,
        labels: (app.labels ?? null) as Application['labels'],
        annotations: (app.annotations ?? null) as Application['annotations'],
        spec: app.spec as Application['spec'],
        specHash: app.specHash,
        status: null,
        deployedSpecHash: null,
        deletionRequestedAt: null,
        version: 1,
        createdAt: app.at,
        updatedAt: app.at,
      };
      return { written: created };
    },

    /**
     * Writes new API fields if the row is still at `current.version` (else StaleWrite), with a
     * new instance when the merged spec changed, and the event that says so (naming the new
     * instance, else the current one), in one statement; then notifies.
     */
    async update(
      current: Application,
      fields: ApplicationFields,
      at: Date,
      instance: NewInstance | undefined,
      event: Omit<NewEvent, 'instanceName'>,
    ): Promise<Application> {
      const values: unknown[] = [
        current.id,
        current.version,
        fields.apiVersion,
        fields.kind,
        jsonText(fields.labels),
        jsonText(fields.annotations),
        jsonText(fields.spec),
        fields.specHash,
        at,
        event.id,
        event.type,
        event.message,
        jsonText(event.data),
      ];
      const rows = instance
        ? await run(pool, SQL.updateWithInstance, [...values, instance.id, jsonText(instance.spec)])
        : await run(pool, SQL.update, values);
      const done = written(rows[0]);
      if (!done) throw new StaleWrite(`Application '${current.name}'`);
      cursors.changed(current.environmentId);
      await notify(done.key);
      return done.app;
    },

    /**
     * Marks the application for deletion (if still at `current.version`, else StaleWrite), then
     * notifies; the controller removes it once its FlinkDeployment is gone.
     */
    async requestDeletion(current: Application, at: Date): Promise<void> {
      const rows = await run(pool, SQL.requestDeletion, [current.id, current.version, at]);
      const done = written(rows[0]);
      if (!done) throw new StaleWrite(`Application '${current.name}'`);
      await notify(done.key);
    },

    /** Removes the application with its instances and events: the controller's last step of a deletion. */
    async remove(applicationId: string): Promise<void> {
      await db.application.deleteMany({ where: { id: applicationId, deletionRequestedAt: { not: null } } });
    },

    /** The application named `name` in the environment named `environmentName`, with that environment and its newest instance, in one query. */
    async find(environmentName: string, name: string): Promise<ApplicationToReconcile | null> {
      const [row] = await run(pool, SQL.find, [environmentName, name]);
      if (!row) return null;
      const instanceAt = APPLICATION.length + ENVIRONMENT.length;
      return {
        ...fromRow<Application>(APPLICATION, row),
        environment: fromRow<Environment>(ENVIRONMENT, row, APPLICATION.length),
        instances: row[instanceAt] === null ? [] : [fromRow<ApplicationInstance>(INSTANCE, row, instanceAt)],
      };
    },

    /** Every application's name and versions, and its environment's: what a resync compares to decide what to look at (one query). */
    async versions(): Promise<ApplicationVersion[]> {
      const rows = await run(pool, SQL.versions, []);
      return rows.map((r) => ({
        id: r[0] as string,
        name: r[1] as string,
        version: r[2] as number,
        environment: { id: r[3] as string, name: r[4] as string, version: r[5] as number, kubernetesNamespace: r[6] as string },
      }));
    },

    /**
     * Writes what the controller observed: status, deployed hash, the current instance's job
     * status and new events (keeping the newest KEPT_PER_APPLICATION), in one statement.
     */
    async recordObservation(applicationId: string, observation: Observation, at: Date): Promise<void> {
      // more new events than are kept: only the newest would survive the prune
      const events = observation.events.slice(-KEPT_PER_APPLICATION);
      const job = observation.instanceJobStatus;
      await run(pool, SQL.recordObservation, [
        applicationId,
        jsonText(observation.status),
        observation.deployedSpecHash,
        job?.instanceId ?? null,
        job ? jsonText(job.jobStatus) : null,
        at,
        events.map((e) => e.id),
        events.map((e) => e.instanceName),
        events.map((e) => e.type),
        events.map((e) => e.message),
        events.map((e) => jsonText(e.data)),
        KEPT_PER_APPLICATION - events.length,
      ]);
    },

    /** The newest instance of an application, if any. */
    async currentInstance(applicationId: string): Promise<ApplicationInstance | null> {
      return db.applicationInstance.findFirst({ where: { applicationId }, orderBy: { seq: 'desc' } });
    },

    async getInstance(applicationId: string, name: string): Promise<ApplicationInstance | null> {
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(name)) return null;
      return db.applicationInstance.findFirst({ where: { id: name, applicationId } });
    },

    async listInstances(applicationId: string, page: PageRequest): Promise<Page<ApplicationInstance>> {
      const where = { applicationId };
      const [items, total] = await Promise.all([
        db.applicationInstance.findMany({
          where,
          orderBy: orderBy(page, SEQUENCE_SORT_FIELDS, [{ seq: 'asc' }]),
          skip: page.page * page.size,
          take: page.size,
        }),
        db.applicationInstance.count({ where }),
      ]);
      return { items, total };
    },

    async listEvents(applicationId: string, page: PageRequest): Promise<Page<ApplicationEvent>> {
      const where = { applicationId };
      const [items, total] = await Promise.all([
        db.applicationEvent.findMany({
          where,
          orderBy: orderBy(page, SEQUENCE_SORT_FIELDS, [{ seq: 'asc' }]),
          skip: page.page * page.size,
          take: page.size,
        }),
        db.applicationEvent.count({ where }),
      ]);
      return { items, total };
    },
  };
}
