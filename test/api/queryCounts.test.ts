import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/api/app.js';
import { serve } from '../../src/api/server.js';
import { createDomain } from '../../src/domain/index.js';
import { createLogger } from '../../src/log.js';
import { createPrismaClient, type PrismaClient } from '../../src/store/client.js';
import { createStore } from '../../src/store/index.js';
import { apiClient } from '../support/api.js';
import { freshDatabase } from '../support/db.js';
import { application, environment } from '../support/fixtures.js';
import { queryCounter, type QueryCount } from '../support/queries.js';

const ENVS = '/cmf/api/v1/environments';
const APPS = `${ENVS}/env-q/applications`;
const queries = queryCounter();
let prisma: PrismaClient;
let server: Server;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  prisma = createPrismaClient(await freshDatabase(), { onQuery: queries.onQuery });
  const log = createLogger('warn');
  server = await serve(createApp({ domain: createDomain(createStore(prisma)), log }), { port: 0, host: '127.0.0.1', log });
  api = apiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  await api.post(ENVS, environment('env-q', 'ns-q'));
  for (let i = 0; i < 30; i++) expect((await api.post(APPS, application(`app-${i}`))).status).toBe(201);
});
afterAll(async () => {
  await new Promise((resolve) => {
    server.close(resolve);
    server.closeAllConnections();
  });
  await prisma.$disconnect();
});

/** The statements a request sent, and its status. */
async function count(request: () => Promise<{ status: number }>): Promise<QueryCount & { status: number }> {
  let status = 0;
  const counted = await queries.during(async () => {
    status = (await request()).status;
  });
  return { ...counted, status };
}

/** Fails with the statements sent when their number is not `expected`. */
function expectStatements(counted: QueryCount & { status: number }, status: number, expected: number, transactions = 0): void {
  expect({ status: counted.status, statements: counted.statements, transactions: counted.transactions, sql: counted.sql }).toEqual({
    status,
    statements: expected,
    transactions,
    sql: expect.any(Array),
  });
}

describe('SQL statements per request (a guard: a change that adds round trips fails here)', () => {
  it('GET one application: one statement', async () => {
    expectStatements(await count(() => api.get(`${APPS}/app-3`)), 200, 1);
  });

  it('GET a missing application: one more to say whether the environment is missing', async () => {
    expectStatements(await count(() => api.get(`${APPS}/nope`)), 404, 2);
    expectStatements(await count(() => api.get(`${ENVS}/nowhere/applications/nope`)), 404, 2);
  });

  it('a list page: the environment, the page and the total', async () => {
    expectStatements(await count(() => api.get(`${APPS}?page=1&size=10`)), 200, 3);
    expectStatements(await count(() => api.get(`${APPS}?page=2&size=10`)), 200, 3);
  });

  it('a create in an environment this process has read: one statement that checks and writes, one that notifies', async () => {
    expectStatements(await count(() => api.post(APPS, application('app-new'))), 201, 2);
  });

  it('a create in an environment this process has not read: the read, the write and the notification', async () => {
    await api.post(ENVS, environment('env-q2', 'ns-q2'));
    expectStatements(await count(() => api.post(`${ENVS}/env-q2/applications`, application('app-first'))), 201, 3);
  });

  it('a create in an environment changed since this process read it: that statement writes nothing and reads it, then again, and the notification', async () => {
    const apps = `${ENVS}/env-q2/applications`;
    const changed = { ...environment('env-q2', 'ns-q2'), flinkApplicationDefaults: { spec: { flinkConfiguration: { 'taskmanager.numberOfTaskSlots': '2' } } } };
    expect((await api.post(ENVS, changed)).status).toBe(201);
    expectStatements(await count(() => api.post(apps, application('app-after-env-change'))), 201, 3);
    expect((await api.get(`${apps}/app-after-env-change/instances`)).body.items[0].status.spec.flinkConfiguration).toMatchObject({ 'taskmanager.numberOfTaskSlots': '2' });
    expectStatements(await count(() => api.post(apps, application('app-after-that'))), 201, 2);
  });

  it('an unchanged repost: the read, no write', async () => {
    expectStatements(await count(() => api.post(APPS, application('app-3'))), 201, 1);
  });

  it('an update in an environment this process has read: one statement that checks and writes, one that notifies', async () => {
    expectStatements(await count(() => api.post(APPS, application('app-4', { flinkConfiguration: { a: 'b' } }))), 201, 2);
    const labelled = application('app-5') as { metadata: Record<string, unknown> };
    labelled.metadata.labels = { team: 'q' };
    expectStatements(await count(() => api.post(APPS, labelled)), 201, 2);
  });

  it('an update right after a create: first tried as a create (the statement that only creates costs less), then the update and the notification', async () => {
    expect((await api.post(APPS, application('app-new-2'))).status).toBe(201);
    expectStatements(await count(() => api.post(APPS, application('app-8', { flinkConfiguration: { a: 'b' } }))), 201, 3);
    expectStatements(await count(() => api.post(APPS, application('app-9', { flinkConfiguration: { a: 'b' } }))), 201, 2);
  });

  it('an update in an environment this process has not read: the read, the write and the notification', async () => {
    const apps = `${ENVS}/env-q3/applications`;
    await api.post(ENVS, environment('env-q3', 'ns-q3'));
    expect((await api.post(apps, application('app-one'))).status).toBe(201);
    const other = createDomain(createStore(prisma));
    const changed = application('app-one', { flinkConfiguration: { a: 'c' } });
    const counted = await queries.during(async () => {
      await other.applications.createOrUpdate('env-q3', changed);
    });
    expect(counted.statements).toBe(3);
  });

  it('suspend, and a delete request: the read, the write and the notification', async () => {
    expectStatements(await count(() => api.post(`${APPS}/app-6/suspend`)), 200, 3);
    expectStatements(await count(() => api.delete(`${APPS}/app-7`)), 200, 3);
  });
});
