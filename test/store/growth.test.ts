import { randomUUID } from 'node:crypto';
import { createPrismaClient, poolOf, type PrismaClient } from '../../src/store/client.js';
import { createStore, type Store } from '../../src/store/index.js';
import { freshDatabase, storedEnvironment } from '../support/db.js';
import { eventually } from '../support/drey.js';

let prisma: PrismaClient;
let store: Store;
let envId: string;
const at = new Date('2026-03-04T05:06:07.089Z');

/** PostgreSQL's row estimate of the application table: -1 until something analyzed it. */
async function estimatedApplications(): Promise<number> {
  const { rows } = await poolOf(prisma).query<{ n: number }>(`SELECT reltuples::int AS n FROM pg_class WHERE relname = 'Application'`);
  return rows[0]!.n;
}

async function create(count: number, from: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const instanceId = randomUUID();
    await store.applications.create(
      { id: randomUUID(), environmentId: envId, name: `app-${i}`, at, apiVersion: 'cmf.confluent.io/v1', kind: 'FlinkApplication', labels: null, annotations: null, spec: {}, specHash: 'h' },
      { id: instanceId, spec: {} },
      { id: randomUUID(), instanceName: instanceId, type: 'CMF_STATUS', message: 'created', data: null },
    );
  }
}

beforeAll(async () => {
  prisma = createPrismaClient(await freshDatabase());
  store = createStore(prisma);
  // only the store's analyzes, not autovacuum's (after 50 changed rows, on its own schedule)
  await poolOf(prisma).query(`ALTER TABLE "Application" SET (autovacuum_enabled = false)`);
  envId = await storedEnvironment(store, 'env-g');
});
afterAll(async () => {
  await prisma.$disconnect();
});

describe('statistics of a growing application table', () => {
  // autovacuum's first analyze of a table comes only after 50 changed rows and up to a minute
  // later: the store's own come at 32, 64, 128, ... rows this process inserted
  it('are taken when the rows this process inserted double, from 32 on', async () => {
    await create(31, 0);
    expect(await estimatedApplications()).toBe(-1);
    await create(1, 31);
    expect(await eventually('an analyze at 32 applications', async () => ((await estimatedApplications()) === 32 ? 32 : undefined))).toBe(32);
    await create(31, 32);
    expect(await estimatedApplications()).toBe(32);
    await create(1, 63);
    expect(await eventually('an analyze at 64 applications', async () => ((await estimatedApplications()) === 64 ? 64 : undefined))).toBe(64);
  });
});
