import {
  Prisma,
  type Environment,
  type Application,
  type ApplicationEvent,
  type ApplicationInstance,
  type PrismaClient,
} from '../generated/prisma/client.js';
import { orderBy, type Page, type PageRequest, NAMED_SORT_FIELDS, SEQUENCE_SORT_FIELDS } from '../domain/paging.js';
import { StaleWrite, translate } from './errors.js';
import { nullableJson } from './json.js';
import { findPage, PageCursors, sortKeys } from './paging.js';

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

type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

/** The Postgres channel that carries `<environment>/<application>` after every API write of an application. */
export const APPLICATION_CHANNEL = 'drey_applications';

/**
 * SQL text of a JSON value for a `json` column, `::json`-cast where used: `json` keeps the text
 * as written, so key order reads back as posted (what Prisma's own writes send too).
 */
function jsonText(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

/** A row of a one-statement write: the application, and the key to notify. */
type Written = Application & { notifyKey: string };

/**
 * The end of a one-statement write of applications: the rows of its `app` CTE, each with the
 * `<environment>/<application>` key that `notifier` sends.
 */
function returningWritten(): Prisma.Sql {
  return Prisma.sql`SELECT app.*, e.name || '/' || app.name AS "notifyKey" FROM app JOIN "Environment" e ON e.id = app."environmentId"`;
}

/**
 * Tells every listening drey (the leader's controller) `<environment>/<application>` once a
 * write has committed; a request's promise settles when its key was sent. Not in the write's own
 * transaction: PostgreSQL serialises committing transactions that NOTIFY (a lock held through the
 * commit's WAL flush), which capped concurrent writes at a third of their rate. Keys that arrive
 * while a send is under way go together in the next statement, so concurrent writes share one.
 */
function notifier(db: PrismaClient): (key: string) => Promise<void> {
  let queued: { key: string; sent: () => void; failed: (err: unknown) => void }[] = [];
  let sending = false;
  async function send(): Promise<void> {
    sending = true;
    while (queued.length) {
      const batch = queued;
      queued = [];
      try {
        const keys = batch.map((b) => b.key);
        await db.$executeRaw`SELECT pg_notify(${APPLICATION_CHANNEL}, key) FROM unnest(${keys}::text[]) AS key`;
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

/** Splits a written row into the application and its notification key. */
function written(row: Written | undefined): { app: Application; key: string } | undefined {
  if (!row) return undefined;
  const { notifyKey, ...app } = row;
  return { app, key: notifyKey };
}

/**
 * A CTE deleting all but the newest KEPT_PER_APPLICATION instances or events of an application,
 * in the statement that inserts one more: the statement sees the rows as they were before it, so
 * the newest KEPT_PER_APPLICATION - 1 of those stay, with the new one.
 */
function pruneBeforeOneMore(table: 'ApplicationInstance' | 'ApplicationEvent', applicationId: string): Prisma.Sql {
  const t = table === 'ApplicationInstance' ? Prisma.sql`"ApplicationInstance"` : Prisma.sql`"ApplicationEvent"`;
  return Prisma.sql`DELETE FROM ${t} WHERE "applicationId" = ${applicationId}::uuid AND EXISTS (SELECT 1 FROM app) AND seq < (
    SELECT seq FROM ${t} WHERE "applicationId" = ${applicationId}::uuid ORDER BY seq DESC OFFSET ${KEPT_PER_APPLICATION - 2} LIMIT 1
  )`;
}

/** An environment's columns as `withEnvironment` selects them: `env.<field>`. */
type EnvironmentColumns = { [K in keyof Environment as `env.${K}`]: Environment[K] };

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

/** What one reconcile observed, written in one transaction. Status writes never touch the spec or `version`. */
export interface Observation {
  status: unknown;
  deployedSpecHash: string | null;
  /** The current instance's job status, when it changed. */
  instanceJobStatus?: { instanceId: string; jobStatus: unknown };
  events: NewEvent[];
}

/** Appends events to an application's history (in their order), keeping the newest KEPT_PER_APPLICATION. */
async function addEvents(tx: Tx, applicationId: string, events: NewEvent[], at: Date): Promise<void> {
  if (!events.length) return;
  await tx.applicationEvent.createMany({
    data: events.map((event) => ({
      id: event.id,
      applicationId,
      instanceName: event.instanceName,
      type: event.type,
      message: event.message,
      data: nullableJson(event.data),
      createdAt: at,
    })),
  });
  await tx.$executeRaw`DELETE FROM "ApplicationEvent" WHERE "applicationId" = ${applicationId}::uuid AND seq < (
    SELECT seq FROM "ApplicationEvent" WHERE "applicationId" = ${applicationId}::uuid ORDER BY seq DESC OFFSET ${KEPT_PER_APPLICATION - 1} LIMIT 1
  )`;
}

/** Store operations on applications, their instances and their events. */
export function applicationStore(db: PrismaClient) {
  /** Where recently served list pages ended, per environment id. */
  const cursors = new PageCursors();
  const notify = notifier(db);

  return {
    async get(environmentId: string, name: string): Promise<Application | null> {
      return db.application.findUnique({ where: { environmentId_name: { environmentId, name } } });
    },

    /** The application named `name` in the environment named `environmentName`, in one query. */
    async getByNames(environmentName: string, name: string): Promise<Application | null> {
      const rows = await db.$queryRaw<Application[]>`SELECT a.* FROM "Application" a JOIN "Environment" e ON e.id = a."environmentId"
        WHERE e.name = ${environmentName} AND a.name = ${name}`;
      return rows[0] ?? null;
    },

    /**
     * The environment named `environmentName` and its application named `name` (null when it has
     * none), in one query; null when there is no such environment.
     */
    async withEnvironment(environmentName: string, name: string): Promise<{ env: Environment; app: Application | null } | null> {
      const rows = await db.$queryRaw<(EnvironmentColumns & ({ [K in keyof Application]: Application[K] | null }))[]>`SELECT
          e.id AS "env.id", e.name AS "env.name", e."kubernetesNamespace" AS "env.kubernetesNamespace",
          e."flinkApplicationDefaults" AS "env.flinkApplicationDefaults", e."computePoolDefaults" AS "env.computePoolDefaults",
          e."statementDefaults" AS "env.statementDefaults", e.version AS "env.version", e."createdAt" AS "env.createdAt",
          e."updatedAt" AS "env.updatedAt", a.*
        FROM "Environment" e LEFT JOIN "Application" a ON a."environmentId" = e.id AND a.name = ${name}
        WHERE e.name = ${environmentName}`;
      const row = rows[0];
      if (!row) return null;
      const env: Environment = {
        id: row['env.id'],
        name: row['env.name'],
        kubernetesNamespace: row['env.kubernetesNamespace'],
        flinkApplicationDefaults: row['env.flinkApplicationDefaults'],
        computePoolDefaults: row['env.computePoolDefaults'],
        statementDefaults: row['env.statementDefaults'],
        version: row['env.version'],
        createdAt: row['env.createdAt'],
        updatedAt: row['env.updatedAt'],
      };
      if (row.id === null) return { env, app: null };
      const app = Object.fromEntries(Object.entries(row).filter(([k]) => !k.startsWith('env.'))) as Application;
      return { env, app };
    },

    /**
     * A page of an environment's applications and how many it holds. A page that follows one this
     * process served is a keyset query; the total is the sum of the environment's ApplicationCount rows.
     */
    async list(environmentId: string, page: PageRequest): Promise<Page<Application>> {
      const keys = sortKeys(page, NAMED_SORT_FIELDS, [{ createdAt: 'asc' }, { name: 'asc' }]);
      const [items, counted] = await Promise.all([
        findPage(cursors, environmentId, page, keys, ({ where, orderBy, skip, take }) =>
          db.application.findMany({
            where: where ? { AND: [{ environmentId }, where as Prisma.ApplicationWhereInput] } : { environmentId },
            orderBy,
            skip,
            take,
          }),
        ),
        db.applicationCount.aggregate({ where: { environmentId }, _sum: { count: true } }),
      ]);
      return { items, total: Number(counted._sum.count ?? 0) };
    },

    /**
     * Creates the application with its first instance and its creation event in one statement
     * (so atomically, in one round trip), then notifies.
     */
    async create(app: { id: string; environmentId: string; name: string; at: Date } & ApplicationFields, instance: NewInstance, event: NewEvent): Promise<Application> {
      const rows = await translate(`Application '${app.name}'`, () =>
        db.$queryRaw<Written[]>`WITH app AS (
          INSERT INTO "Application" (id, "environmentId", name, "apiVersion", kind, labels, annotations, spec, "specHash", "createdAt", "updatedAt")
          VALUES (${app.id}::uuid, ${app.environmentId}::uuid, ${app.name}, ${app.apiVersion}, ${app.kind}, ${jsonText(app.labels)}::json,
                  ${jsonText(app.annotations)}::json, ${jsonText(app.spec)}::json, ${app.specHash}, ${app.at}, ${app.at})
          RETURNING *
        ), instance AS (
          INSERT INTO "ApplicationInstance" (id, "applicationId", spec, "createdAt", "updatedAt")
          SELECT ${instance.id}::uuid, app.id, ${jsonText(instance.spec)}::json, ${app.at}, ${app.at} FROM app
        ), event AS (
          INSERT INTO "ApplicationEvent" (id, "applicationId", "instanceName", type, message, data, "createdAt")
          SELECT ${event.id}::uuid, app.id, ${event.instanceName}, ${event.type}, ${event.message}, ${jsonText(event.data)}::jsonb, ${app.at} FROM app
        ) ${returningWritten()}`,
      );
      cursors.changed(app.environmentId);
      const done = written(rows[0])!;
      await notify(done.key);
      return done.app;
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
      const newInstance = instance
        ? Prisma.sql`, instance AS (
            INSERT INTO "ApplicationInstance" (id, "applicationId", spec, "createdAt", "updatedAt")
            SELECT ${instance.id}::uuid, app.id, ${jsonText(instance.spec)}::json, ${at}, ${at} FROM app
          ), pruned_instances AS (${pruneBeforeOneMore('ApplicationInstance', current.id)})`
        : Prisma.empty;
      const instanceName = instance
        ? Prisma.sql`${instance.id}`
        : Prisma.sql`(SELECT i.id::text FROM "ApplicationInstance" i WHERE i."applicationId" = app.id ORDER BY i.seq DESC LIMIT 1)`;
      const rows = await db.$queryRaw<Written[]>`WITH app AS (
          UPDATE "Application" SET "apiVersion" = ${fields.apiVersion}, kind = ${fields.kind}, labels = ${jsonText(fields.labels)}::json,
            annotations = ${jsonText(fields.annotations)}::json, spec = ${jsonText(fields.spec)}::json, "specHash" = ${fields.specHash},
            "updatedAt" = ${at}, version = version + 1
          WHERE id = ${current.id}::uuid AND version = ${current.version}
          RETURNING *
        )${newInstance}, event AS (
          INSERT INTO "ApplicationEvent" (id, "applicationId", "instanceName", type, message, data, "createdAt")
          SELECT ${event.id}::uuid, app.id, ${instanceName}, ${event.type}, ${event.message}, ${jsonText(event.data)}::jsonb, ${at} FROM app
        ), pruned_events AS (${pruneBeforeOneMore('ApplicationEvent', current.id)})
        ${returningWritten()}`;
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
      const rows = await db.$queryRaw<Written[]>`WITH app AS (
          UPDATE "Application" SET "deletionRequestedAt" = ${at}, version = version + 1
          WHERE id = ${current.id}::uuid AND version = ${current.version}
          RETURNING *
        ) ${returningWritten()}`;
      const done = written(rows[0]);
      if (!done) throw new StaleWrite(`Application '${current.name}'`);
      await notify(done.key);
    },

    /** Removes the application with its instances and events: the controller's last step of a deletion. */
    async remove(applicationId: string): Promise<void> {
      await db.application.deleteMany({ where: { id: applicationId, deletionRequestedAt: { not: null } } });
    },

    /** The application named `name` in the environment named `environmentName`, with that environment and its newest instance. */
    async find(environmentName: string, name: string): Promise<ApplicationToReconcile | null> {
      return db.application.findFirst({
        where: { name, environment: { name: environmentName } },
        include: { environment: true, instances: { orderBy: { seq: 'desc' }, take: 1 } },
      });
    },

    /** Every application's name and versions, and its environment's: what a resync compares to decide what to look at (one query). */
    async versions(): Promise<ApplicationVersion[]> {
      const rows = await db.$queryRaw<{ id: string; name: string; version: number; envId: string; envName: string; envVersion: number; namespace: string }[]>`
        SELECT a.id::text AS id, a.name, a.version, e.id::text AS "envId", e.name AS "envName", e.version AS "envVersion", e."kubernetesNamespace" AS namespace
        FROM "Application" a JOIN "Environment" e ON e.id = a."environmentId"`;
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        version: r.version,
        environment: { id: r.envId, name: r.envName, version: r.envVersion, kubernetesNamespace: r.namespace },
      }));
    },

    /** Writes what the controller observed: status, deployed hash, the current instance's job status and new events. */
    async recordObservation(applicationId: string, observation: Observation, at: Date): Promise<void> {
      await db.$transaction(async (tx) => {
        await tx.application.updateMany({
          where: { id: applicationId },
          data: { status: nullableJson(observation.status), deployedSpecHash: observation.deployedSpecHash },
        });
        if (observation.instanceJobStatus) {
          await tx.applicationInstance.updateMany({
            where: { id: observation.instanceJobStatus.instanceId, applicationId },
            data: { jobStatus: nullableJson(observation.instanceJobStatus.jobStatus), updatedAt: at },
          });
        }
        await addEvents(tx, applicationId, observation.events, at);
      });
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
