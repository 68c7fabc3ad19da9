import { randomUUID } from 'node:crypto';
import { Conflict } from '../../src/domain/errors.js';
import { createPrismaClient, poolOf, type PrismaClient } from '../../src/store/client.js';
import type { PageRequest } from '../../src/domain/paging.js';
import { SEEK_FROM } from '../../src/store/paging.js';
import { eventually } from '../support/eventually.js';
import { queryCounter } from '../support/queries.js';
import { KEPT_PER_APPLICATION, type Application, type ApplicationFields, type NewEvent } from '../../src/store/applications.js';
import { createStore, type Store } from '../../src/store/index.js';
import { freshDatabase, storedEnvironment } from '../support/db.js';

let url: string;
let prisma: PrismaClient;
let store: Store;
let envId: string;
const at = new Date('2026-03-04T05:06:07.089Z');

/** JSON text of a value with bigints spelled out: equal texts mean equal values with keys in the same order. */
function ordered(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

function event(message: string, data: unknown = null): NewEvent {
  return { id: randomUUID(), instanceName: null, type: 'CMF_STATUS', message, data };
}

/** Creates an application with a spec whose keys are not in sorted order. */
async function created(name: string): Promise<Application> {
  const instanceId = randomUUID();
  return store.applications.create(
    {
      id: randomUUID(),
      environmentId: envId,
      name,
      at,
      apiVersion: 'cmf.confluent.io/v1',
      kind: 'FlinkApplication',
      labels: { zeta: '1', alpha: '2' },
      annotations: null,
      spec: { z: 1, a: { y: [1, { q: true, b: null }], b: 'x' } },
      specHash: `hash-${name}`,
    },
    { id: instanceId, spec: { z: 1, a: { y: [], b: 'x' } } },
    { ...event('created', { k: 1 }), instanceName: instanceId },
  );
}

beforeAll(async () => {
  url = await freshDatabase();
  prisma = createPrismaClient(url);
  store = createStore(prisma);
  envId = await storedEnvironment(store, 'env-s', { spec: { zz: 1, aa: 2 } });
});
afterAll(async () => {
  await prisma.$disconnect();
});

describe('application store statements on node-postgres', () => {
  it('reads an application, its environment and its newest instance as Prisma does, keys in the order written', async () => {
    const app = await created('same-as-prisma');
    const instanceId = randomUUID();
    await store.applications.update(
      app,
      { apiVersion: app.apiVersion, kind: app.kind, labels: null, annotations: { n: 'v' }, spec: { b: 2, a: 1 }, specHash: 'changed' },
      new Date(at.getTime() + 1000),
      { id: instanceId, spec: { b: 2, a: 1 } },
      { id: randomUUID(), type: 'CMF_STATUS', message: 'updated', data: null },
    );
    await store.applications.recordObservation(
      app.id,
      { status: { phase: 'RUNNING', z: [1], a: {} }, deployedSpecHash: 'deployed', instanceJobStatus: { instanceId, jobStatus: { state: 'RUNNING' } }, events: [] },
      new Date(at.getTime() + 2000),
    );

    const byPrisma = await prisma.application.findFirst({
      where: { name: 'same-as-prisma', environment: { name: 'env-s' } },
      include: { environment: true, instances: { orderBy: { seq: 'desc' }, take: 1 } },
    });
    const found = await store.applications.find('env-s', 'same-as-prisma');
    expect(found).toStrictEqual(byPrisma);
    expect(ordered(found)).toBe(ordered(byPrisma));
    expect(ordered(found!.spec)).toBe('{"b":2,"a":1}');
    expect(typeof found!.instances[0]!.seq).toBe('bigint');

    const { environment, instances, ...row } = byPrisma!;
    for (const read of [
      await store.applications.get(envId, 'same-as-prisma'),
      await store.applications.getByNames('env-s', 'same-as-prisma'),
      (await store.applications.withEnvironment('env-s', 'same-as-prisma'))!.app,
      (await store.applications.list(envId, { page: 0, size: 100, sort: [] })).items.find((a) => a.name === 'same-as-prisma'),
    ]) {
      expect(read).toStrictEqual(row);
      expect(ordered(read)).toBe(ordered(row));
    }
    const withEnv = await store.applications.withEnvironment('env-s', 'same-as-prisma');
    expect(withEnv!.env).toStrictEqual(environment);
    expect(ordered(withEnv!.env)).toBe(ordered(environment));
    expect(instances).toHaveLength(1);
  });

  it('a create returns the row as stored, and the rows it wrote read back in the order written', async () => {
    const app = await created('written');
    const stored = await prisma.application.findUniqueOrThrow({ where: { id: app.id } });
    expect(app).toStrictEqual(stored);
    expect(ordered(app)).toBe(ordered(stored));
    expect(ordered(stored.labels)).toBe('{"zeta":"1","alpha":"2"}');
    const [instance] = await prisma.applicationInstance.findMany({ where: { applicationId: app.id } });
    expect(ordered(instance!.spec)).toBe('{"z":1,"a":{"y":[],"b":"x"}}');
    const events = await prisma.applicationEvent.findMany({ where: { applicationId: app.id } });
    expect(events.map((e) => [e.instanceName, e.message, e.data, e.createdAt])).toEqual([[instance!.id, 'created', { k: 1 }, at]]);
  });

  it('a second create of a name is a Conflict and writes nothing', async () => {
    await created('twice');
    await expect(created('twice')).rejects.toBeInstanceOf(Conflict);
    expect(await prisma.application.count({ where: { name: 'twice' } })).toBe(1);
    expect(await prisma.applicationEvent.count({ where: { application: { name: 'twice' } } })).toBe(1);
  });

  it('an update of a version that moved on is a StaleWrite and writes nothing', async () => {
    const app = await created('stale');
    const fields = { apiVersion: app.apiVersion, kind: app.kind, labels: null, annotations: null, spec: {}, specHash: 'h2' };
    const next = { id: randomUUID(), type: 'CMF_STATUS', message: 'updated', data: null };
    await store.applications.update(app, fields, at, undefined, next);
    await expect(store.applications.update(app, fields, at, undefined, { ...next, id: randomUUID() })).rejects.toBeInstanceOf(Conflict);
    expect((await prisma.application.findUniqueOrThrow({ where: { id: app.id } })).version).toBe(2);
    expect(await prisma.applicationEvent.count({ where: { applicationId: app.id } })).toBe(2);
  });

  it('finds nothing for a missing application, and no instance for one without', async () => {
    expect(await store.applications.find('env-s', 'nope')).toBeNull();
    expect(await store.applications.find('no-env', 'written')).toBeNull();
    const app = await created('bare');
    await prisma.applicationInstance.deleteMany({ where: { applicationId: app.id } });
    expect((await store.applications.find('env-s', 'bare'))!.instances).toEqual([]);
  });

  it('recording an observation writes status, hash, the instance job status and the events in order, in one statement', async () => {
    const app = await created('observed');
    const other = await created('observed-other');
    const [instance] = await prisma.applicationInstance.findMany({ where: { applicationId: app.id } });
    const [otherInstance] = await prisma.applicationInstance.findMany({ where: { applicationId: other.id } });
    const later = new Date(at.getTime() + 5000);
    const events = [event('first', { b: 1, a: 2 }), { ...event('second'), instanceName: instance!.id, type: 'JOB_STATUS' }];
    await store.applications.recordObservation(
      app.id,
      { status: { s: 1 }, deployedSpecHash: 'd1', instanceJobStatus: { instanceId: instance!.id, jobStatus: { state: 'RUNNING' } }, events },
      later,
    );
    // an instance of another application is not this one's to update
    await store.applications.recordObservation(
      app.id,
      { status: null, deployedSpecHash: null, instanceJobStatus: { instanceId: otherInstance!.id, jobStatus: { state: 'X' } }, events: [] },
      later,
    );
    const row = await prisma.application.findUniqueOrThrow({ where: { id: app.id }, include: { instances: true, events: { orderBy: { seq: 'asc' } } } });
    expect(row.status).toBeNull();
    expect(row.deployedSpecHash).toBeNull();
    expect(row.version).toBe(1);
    expect(row.instances.map((i) => [i.jobStatus, i.updatedAt])).toEqual([[{ state: 'RUNNING' }, later]]);
    expect(row.events.map((e) => [e.message, e.type, e.instanceName, e.data, e.createdAt])).toEqual([
      ['created', 'CMF_STATUS', instance!.id, { k: 1 }, at],
      ['first', 'CMF_STATUS', null, { a: 2, b: 1 }, later],
      ['second', 'JOB_STATUS', instance!.id, null, later],
    ]);
    expect((await prisma.applicationInstance.findUniqueOrThrow({ where: { id: otherInstance!.id } })).jobStatus).toBeNull();
  });

  it('recording events keeps the newest KEPT_PER_APPLICATION, however many come at once', async () => {
    const app = await created('pruned');
    const observe = (events: NewEvent[]) => store.applications.recordObservation(app.id, { status: null, deployedSpecHash: null, events }, at);
    const messages = async () => (await prisma.applicationEvent.findMany({ where: { applicationId: app.id }, orderBy: { seq: 'asc' } })).map((e) => e.message);
    const batch = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => event(`${prefix}${i}`));

    await observe(batch('a', KEPT_PER_APPLICATION - 3));
    expect(await messages()).toEqual(['created', ...batch('a', KEPT_PER_APPLICATION - 3).map((e) => e.message)]);
    await observe(batch('b', 5));
    const kept = await messages();
    expect(kept).toHaveLength(KEPT_PER_APPLICATION);
    expect(kept.slice(0, 2)).toEqual(['a2', 'a3']);
    expect(kept.slice(-5)).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
    await observe([]);
    expect(await messages()).toEqual(kept);
    await observe(batch('c', KEPT_PER_APPLICATION + 7));
    expect(await messages()).toEqual(batch('c', KEPT_PER_APPLICATION + 7).slice(7).map((e) => e.message));
  });

  describe('upsert: a posted application in one statement', () => {
    const fields: ApplicationFields = {
      apiVersion: 'cmf.confluent.io/v1',
      kind: 'FlinkApplication',
      labels: { zeta: '1', alpha: '2' },
      annotations: null,
      spec: { z: 1, a: { y: [1, { q: true, b: null }], b: 'x' } },
      specHash: 'h1',
    };
    const environment = async () => (await store.environments.get('env-s'))!;
    const upsert = async (name: string, change: Partial<ApplicationFields> = {}, env?: Awaited<ReturnType<typeof environment>>, mayUpdate = true) =>
      store.applications.upsert(
        env ?? (await environment()),
        { id: randomUUID(), name, at, ...fields, ...change },
        { id: randomUUID(), spec: change.spec ?? fields.spec },
        { id: randomUUID(), type: 'CMF_STATUS', messages: { created: 'created', updated: 'updated' }, data: null },
        mayUpdate,
      );
    const rows = async (name: string) => {
      const app = await prisma.application.findFirstOrThrow({ where: { name }, include: { instances: { orderBy: { seq: 'asc' } }, events: { orderBy: { seq: 'asc' } } } });
      return { app, instances: app.instances, events: app.events.map((e) => [e.message, e.instanceName]) };
    };

    it('creates an absent application, returning the row as stored', async () => {
      const result = await upsert('upserted');
      const { app, instances, events } = await rows('upserted');
      const { instances: _i, events: _e, ...stored } = app;
      expect(result).toStrictEqual({ written: stored });
      expect(ordered((result as { written: Application }).written)).toBe(ordered(stored));
      expect(events).toEqual([['created', instances[0]!.id]]);
    });

    it('updates a changed one, with a new instance when the hash changed, returning the row as stored', async () => {
      await upsert('upsert-changed');
      const relabelled = await upsert('upsert-changed', { labels: { team: 'a' } });
      const respecified = await upsert('upsert-changed', { spec: { b: 2 }, specHash: 'h2' });
      const { app, instances, events } = await rows('upsert-changed');
      const { instances: _i, events: _e, ...stored } = app;
      expect(respecified).toStrictEqual({ written: stored });
      expect((relabelled as { written: Application }).written.version).toBe(2);
      expect(stored.version).toBe(3);
      expect(instances.map((i) => i.spec)).toEqual([fields.spec, { b: 2 }]);
      expect(events).toEqual([
        ['created', instances[0]!.id],
        ['updated', instances[0]!.id],
        ['updated', instances[1]!.id],
      ]);
    });

    it('writes nothing for equal fields (keys in another order), a changed environment, or an application being deleted', async () => {
      const env = await environment();
      await upsert('upsert-same');
      const reordered = { labels: { alpha: '2', zeta: '1' }, spec: { a: { b: 'x', y: [1, { b: null, q: true }] }, z: 1 } };
      const same = await upsert('upsert-same', reordered);
      expect(same).toMatchObject({ env: { id: envId }, existing: { name: 'upsert-same', version: 1 } });

      const stale = await upsert('upsert-same', { labels: { team: 'b' } }, { ...env, version: env.version - 1 });
      expect(stale).toMatchObject({ env: { version: env.version }, existing: { version: 1 } });
      expect(await upsert('upsert-absent', {}, { ...env, version: env.version - 1 })).toMatchObject({ existing: null });

      const { app } = await rows('upsert-same');
      await store.applications.requestDeletion(app, at);
      expect(await upsert('upsert-same', { labels: { team: 'c' } })).toMatchObject({ existing: { version: 2 } });
      expect((await rows('upsert-same')).events).toHaveLength(1);
      expect(await prisma.application.count({ where: { name: 'upsert-absent' } })).toBe(0);
      expect(await store.applications.upsert({ ...env, name: 'no-such-env' }, { id: randomUUID(), name: 'x', at, ...fields }, { id: randomUUID(), spec: {} }, {
        id: randomUUID(), type: 'CMF_STATUS', messages: { created: 'c', updated: 'u' }, data: null,
      })).toBeNull();
    });

    it('the statement that only creates creates as upsert does, and updates nothing', async () => {
      const first = await upsert('create-only', {}, undefined, false);
      const { app, events } = await rows('create-only');
      const { instances: _i, events: _e, ...stored } = app;
      expect(first).toStrictEqual({ written: stored });
      expect(await upsert('create-only', { labels: { team: 'd' } }, undefined, false)).toStrictEqual({ env: await environment(), existing: stored });
      expect(await rows('create-only')).toMatchObject({ app: { version: 1 }, events });
    });

    it('keeps the newest KEPT_PER_APPLICATION instances and events over many updates', async () => {
      await upsert('upsert-pruned');
      for (let i = 0; i < KEPT_PER_APPLICATION + 5; i++) await upsert('upsert-pruned', { spec: { n: i }, specHash: `n${i}` });
      await upsert('upsert-pruned', { spec: { n: KEPT_PER_APPLICATION + 4 }, specHash: `n${KEPT_PER_APPLICATION + 4}`, labels: { last: 'label' } });
      const { instances, events } = await rows('upsert-pruned');
      expect(instances).toHaveLength(KEPT_PER_APPLICATION);
      expect(instances.map((i) => i.spec)).toEqual(Array.from({ length: KEPT_PER_APPLICATION }, (_, i) => ({ n: i + 5 })));
      expect(events).toHaveLength(KEPT_PER_APPLICATION);
      expect(events.at(-1)).toEqual(['updated', instances.at(-1)!.id]);
      expect(events.at(-2)).toEqual(['updated', instances.at(-1)!.id]);
    });
  });

  it('versions lists every application with its environment', async () => {
    const app = await created('versioned');
    const versions = await store.applications.versions();
    expect(versions.find((v) => v.id === app.id)).toEqual({
      id: app.id,
      name: 'versioned',
      version: 1,
      environment: { id: envId, name: 'env-s', version: 1, kubernetesNamespace: 'ns-env-s' },
    });
  });
});

describe('application list pages', () => {
  // each sort, and the same order in SQL
  const sorts: [PageRequest['sort'], string][] = [
    [[], '"createdAt", name'],
    [[{ property: 'name', direction: 'desc' }], 'name DESC'],
    [[{ property: 'updateTimestamp', direction: 'asc' }], '"updatedAt", "createdAt", name'],
  ];
  let deepEnv: string;

  beforeAll(async () => {
    deepEnv = await storedEnvironment(store, 'env-deep');
    // past SEEK_FROM rows, with creation times shared by ten rows each so that names break the ties
    await poolOf(prisma).query(
      `INSERT INTO "Application" (id, "environmentId", name, "apiVersion", kind, spec, "specHash", "createdAt", "updatedAt")
       SELECT gen_random_uuid(), $1::uuid, 'app-' || lpad(((g * 7919) % $2)::text, 5, '0'), 'cmf.confluent.io/v1', 'FlinkApplication', '{}', 'h',
              $3::timestamptz + (g / 10) * interval '1 second', $3::timestamptz - g * interval '1 millisecond'
       FROM generate_series(0, $2 - 1) g`,
      [deepEnv, SEEK_FROM + 137, at],
    );
  });

  it.each(sorts)('a page past SEEK_FROM rows, asked for alone, is the page an OFFSET query gives (sort %j)', async (sort, sql) => {
    const total = SEEK_FROM + 137;
    const { rows } = await poolOf(prisma).query<{ name: string }>(`SELECT name FROM "Application" WHERE "environmentId" = $1 ORDER BY ${sql}`, [deepEnv]);
    const all = rows.map((r) => r.name);
    expect(all).toHaveLength(total);
    for (const page of [SEEK_FROM / 50 - 1, SEEK_FROM / 50, SEEK_FROM / 50 + 1, Math.floor(total / 50), Math.floor(total / 50) + 1]) {
      // a store that served no page before: no cursor continues this one
      const alone = await createStore(prisma).applications.list(deepEnv, { page, size: 50, sort });
      expect(alone.items.map((a) => a.name)).toEqual(all.slice(page * 50, page * 50 + 50));
      expect(alone.total).toBe(total);
    }
  });

  it.each(sorts)('deep pages from landmarks are the OFFSET pages, and stay so after another process inserts and deletes (sort %j)', async (sort, sql) => {
    const queries = queryCounter();
    const counted = createPrismaClient(url, { onQuery: queries.onQuery });
    try {
      const lister = createStore(counted);
      const offsetPage = async (page: number) => {
        const { rows } = await poolOf(prisma).query<{ name: string }>(
          `SELECT name FROM "Application" WHERE "environmentId" = $1 ORDER BY ${sql} OFFSET $2 LIMIT 50`,
          [deepEnv, page * 50],
        );
        return rows.map((r) => r.name);
      };
      /** Lists a page with `lister`, checks it against OFFSET, and says whether the two-step seek served it. */
      const seeked = async (page: number) => {
        let names: string[] = [];
        const { sql: sent } = await queries.during(async () => {
          names = (await lister.applications.list(deepEnv, { page, size: 50, sort })).items.map((a) => a.name);
        });
        expect(names).toEqual(await offsetPage(page));
        // the seek's first step reads only the sort columns, from the list's start
        return sent.some((t) => t.includes('FROM "Application" WHERE "environmentId" = $1::uuid ORDER BY') && !t.includes('"spec"'));
      };
      const deep = [SEEK_FROM / 50, SEEK_FROM / 50 + 3, Math.floor((SEEK_FROM + 137) / 50), Math.floor((SEEK_FROM + 137) / 50) + 1];
      const byLandmarks = async () => {
        for (const page of deep) if (await seeked(page)) return false;
        return true;
      };
      if (sql.includes('updatedAt')) {
        // an update moves updatedAt but not the stamp: this order never has landmarks
        for (const page of [SEEK_FROM / 50, SEEK_FROM / 50 + 2, SEEK_FROM / 50, SEEK_FROM / 50 + 2]) expect(await seeked(page)).toBe(true); // no page follows another: no cursor continues one
        return;
      }
      await eventually('deep pages served from landmarks', byLandmarks);

      // another process (a store of its own) inserts a row near the start of either order and deletes one
      const other = createStore(prisma);
      const early = new Date(at.getTime() - 60_000);
      const instanceId = randomUUID();
      await other.applications.create(
        { id: randomUUID(), environmentId: deepEnv, name: `app-00000-${sql.length}`, at: early, apiVersion: 'cmf.confluent.io/v1', kind: 'FlinkApplication', labels: null, annotations: null, spec: {}, specHash: 'h' },
        { id: instanceId, spec: {} },
        { ...event('created'), instanceName: instanceId },
      );
      await poolOf(prisma).query(`DELETE FROM "Application" WHERE id = (SELECT id FROM "Application" WHERE "environmentId" = $1 ORDER BY name DESC LIMIT 1)`, [deepEnv]);
      for (const page of deep) await seeked(page);
      await eventually('deep pages served from landmarks read again', byLandmarks);
    } finally {
      await counted.$disconnect();
    }
  });
});
