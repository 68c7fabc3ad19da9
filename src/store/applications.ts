import type {
  Environment,
  Application,
  ApplicationEvent,
  ApplicationInstance,
  PrismaClient,
} from '../generated/prisma/client.js';
import { orderBy, type Page, type PageRequest, NAMED_SORT_FIELDS, SEQUENCE_SORT_FIELDS } from '../domain/paging.js';
import { StaleWrite, translate } from './errors.js';
import { json, nullableJson } from './json.js';

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

/** Tells every listening drey (the leader's controller) that an application changed; sent on commit. */
async function notify(tx: Tx, applicationId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_notify(${APPLICATION_CHANNEL}, e.name || '/' || a.name) FROM "Application" a JOIN "Environment" e ON e.id = a."environmentId" WHERE a.id = ${applicationId}::uuid`;
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

/** What one reconcile observed, written in one transaction. Status writes never touch the spec or `version`. */
export interface Observation {
  status: unknown;
  deployedSpecHash: string | null;
  /** The current instance's job status, when it changed. */
  instanceJobStatus?: { instanceId: string; jobStatus: unknown };
  events: NewEvent[];
}

async function record(tx: Tx, applicationId: string, at: Date, instance: NewInstance | undefined, event: NewEvent) {
  if (instance) {
    await tx.applicationInstance.create({
      data: { id: instance.id, applicationId, spec: json(instance.spec), createdAt: at, updatedAt: at },
    });
    await prune(tx, 'applicationInstance', applicationId);
  }
  await addEvents(tx, applicationId, [event], at);
}

/** Appends events to an application's history, keeping the newest KEPT_PER_APPLICATION. */
async function addEvents(tx: Tx, applicationId: string, events: NewEvent[], at: Date): Promise<void> {
  for (const event of events) {
    await tx.applicationEvent.create({
      data: {
        id: event.id,
        applicationId,
        instanceName: event.instanceName,
        type: event.type,
        message: event.message,
        data: nullableJson(event.data),
        createdAt: at,
      },
    });
  }
  if (events.length) await prune(tx, 'applicationEvent', applicationId);
}

/** Deletes all but the newest KEPT_PER_APPLICATION rows of an application's instances or events. */
async function prune(tx: Tx, table: 'applicationInstance' | 'applicationEvent', applicationId: string) {
  const delegate = tx[table] as unknown as {
    findMany(args: object): Promise<{ seq: bigint }[]>;
    deleteMany(args: object): Promise<unknown>;
  };
  const cutoff = await delegate.findMany({
    where: { applicationId },
    orderBy: { seq: 'desc' },
    skip: KEPT_PER_APPLICATION - 1,
    take: 1,
    select: { seq: true },
  });
  if (cutoff[0]) await delegate.deleteMany({ where: { applicationId, seq: { lt: cutoff[0].seq } } });
}

/** Store operations on applications, their instances and their events. */
export function applicationStore(db: PrismaClient) {
  return {
    async get(environmentId: string, name: string): Promise<Application | null> {
      return db.application.findUnique({ where: { environmentId_name: { environmentId, name } } });
    },

    async list(environmentId: string, page: PageRequest): Promise<Page<Application>> {
      const where = { environmentId };
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
    },

    /** Creates the application with its first instance and its creation event, atomically. */
    async create(app: { id: string; environmentId: string; name: string; at: Date } & ApplicationFields, instance: NewInstance, event: NewEvent): Promise<Application> {
      return translate(`Application '${app.name}'`, () =>
        db.$transaction(async (tx) => {
          const row = await tx.application.create({
            data: {
              id: app.id,
              environmentId: app.environmentId,
              name: app.name,
              apiVersion: app.apiVersion,
              kind: app.kind,
              labels: nullableJson(app.labels),
              annotations: nullableJson(app.annotations),
              spec: json(app.spec),
              specHash: app.specHash,
              createdAt: app.at,
              updatedAt: app.at,
            },
          });
          await record(tx, row.id, app.at, instance, event);
          await notify(tx, row.id);
          return row;
        }),
      );
    },

    /**
     * Writes new API fields if the row is still at `current.version` (else StaleWrite), with a
     * new instance when the merged spec changed and the event that says so, atomically.
     */
    async update(current: Application, fields: ApplicationFields, at: Date, instance: NewInstance | undefined, event: NewEvent): Promise<Application> {
      return db.$transaction(async (tx) => {
        const { count } = await tx.application.updateMany({
          where: { id: current.id, version: current.version },
          data: {
            apiVersion: fields.apiVersion,
            kind: fields.kind,
            labels: nullableJson(fields.labels),
            annotations: nullableJson(fields.annotations),
            spec: json(fields.spec),
            specHash: fields.specHash,
            updatedAt: at,
            version: { increment: 1 },
          },
        });
        if (count === 0) throw new StaleWrite(`Application '${current.name}'`);
        await record(tx, current.id, at, instance, event);
        await notify(tx, current.id);
        return tx.application.findUniqueOrThrow({ where: { id: current.id } });
      });
    },

    /** Marks the application for deletion (if still at `current.version`); the controller removes it once its FlinkDeployment is gone. */
    async requestDeletion(current: Application, at: Date): Promise<void> {
      await db.$transaction(async (tx) => {
        const { count } = await tx.application.updateMany({
          where: { id: current.id, version: current.version },
          data: { deletionRequestedAt: at, version: { increment: 1 } },
        });
        if (count === 0) throw new StaleWrite(`Application '${current.name}'`);
        await notify(tx, current.id);
      });
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

    /** Every application's name and versions, and its environment's: what a resync compares to decide what to look at. */
    async versions(): Promise<ApplicationVersion[]> {
      return db.application.findMany({
        select: { id: true, name: true, version: true, environment: { select: { id: true, name: true, version: true, kubernetesNamespace: true } } },
      });
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
