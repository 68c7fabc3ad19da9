import type {
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

async function record(tx: Tx, applicationId: string, at: Date, instance: NewInstance | undefined, event: NewEvent) {
  if (instance) {
    await tx.applicationInstance.create({
      data: { id: instance.id, applicationId, spec: json(instance.spec), createdAt: at, updatedAt: at },
    });
    await prune(tx, 'applicationInstance', applicationId);
  }
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
  await prune(tx, 'applicationEvent', applicationId);
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
        return tx.application.findUniqueOrThrow({ where: { id: current.id } });
      });
    },

    async delete(app: Application): Promise<void> {
      await translate(`Application '${app.name}'`, () => db.application.delete({ where: { id: app.id } }));
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
