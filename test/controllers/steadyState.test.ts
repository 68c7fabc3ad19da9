/**
 * Regression guards for the cost of applications at rest: what one reconcile of a settled
 * application asks of Postgres and of the Kubernetes API, what a resync asks, and that an idle
 * resync period writes nothing anywhere. Counts, not timings: they fail when the work grows.
 */
import { ApplicationController } from '../../src/controllers/applications.js';
import { createDeploymentCache } from '../../src/controllers/deploymentCache.js';
import type { DeploymentCache } from '../../src/kube/cache.js';
import { kubeConfigFromString } from '../../src/kube/connection.js';
import { FlinkDeployments } from '../../src/kube/flinkDeployments.js';
import { createLogger } from '../../src/log.js';
import { createPrismaClient, type PrismaClient } from '../../src/store/client.js';
import { createStore } from '../../src/store/index.js';
import { settled, startDrey, type TestDrey } from '../support/drey.js';
import { application, environment } from '../support/fixtures.js';

const ENV = 'steady';
const NAMESPACE = 'flink-steady';
const APPS = ['steady-a', 'steady-b', 'steady-c'];
/** The SQL statements one reconcile of a settled application sends: the application with its environment and its newest instance, in one. */
const QUERIES_PER_SETTLED_RECONCILE = 1;
/** The SQL statements one resync of settled applications sends: every application's and environment's versions. */
const QUERIES_PER_IDLE_RESYNC = 1;
/** The resync period of the drey under test: short, so an idle test window spans several. */
const RESYNC_MS = 300;

const WRITE = /^\s*(INSERT|UPDATE|DELETE|MERGE)\b/i;

let t: TestDrey;
/** Every SQL statement drey itself sent. */
const dreySql: string[] = [];

beforeAll(async () => {
  t = await startDrey({ CMF_RESYNC_MS: String(RESYNC_MS) }, { onQuery: (sql) => dreySql.push(sql) });
  await t.post('/cmf/api/v1/environments', environment(ENV, NAMESPACE));
  for (const name of APPS) await t.post(`/cmf/api/v1/environments/${ENV}/applications`, application(name));
  for (const name of APPS) await settled(t, `${ENV}/${name}`);
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

/** The simulated API server's count of requests from clients whose User-Agent names `component`. */
function kubeRequests(component: string): { verb: string; resource: string; count: number }[] {
  return t.drey.sim!.apiServer.requestCounts().filter((c) => c.userAgent.endsWith(` ${component}`));
}

describe('an application at rest', () => {
  let prisma: PrismaClient;
  let cache: DeploymentCache;
  let controller: ApplicationController;
  /** The SQL statements this test's own controller sent. */
  const sql: string[] = [];

  beforeAll(async () => {
    // a controller of the test's own, on drey's database and cluster, so its queries and calls are told apart
    prisma = createPrismaClient(t.databaseUrl, { onQuery: (text) => sql.push(text) });
    const deployments = new FlinkDeployments({ kubeConfig: kubeConfigFromString(t.drey.sim!.kubeconfig(), 'steady-test') });
    const log = createLogger('warn', () => undefined);
    cache = createDeploymentCache({ deployments, log });
    cache.start();
    await cache.synced();
    controller = new ApplicationController({ store: createStore(prisma), deployments, cache, log });
    for (const name of APPS) await controller.reconcile(`${ENV}/${name}`);
  });
  afterAll(async () => {
    await cache?.stop();
    await prisma?.$disconnect();
  });

  it('is reconciled in one read and no Kubernetes call', async () => {
    sql.length = 0;
    t.drey.sim!.apiServer.resetCounts();
    await controller.reconcile(`${ENV}/${APPS[0]}`);
    expect(sql.filter((s) => WRITE.test(s))).toEqual([]);
    expect(sql).toHaveLength(QUERIES_PER_SETTLED_RECONCILE);
    expect(kubeRequests('steady-test')).toEqual([]);
  });

  it('is kept in the cache without its managed fields or the operator\'s copies of past specs', async () => {
    const cached = cache.get(NAMESPACE, APPS[0]!)!;
    const stored = (await t.kube.get(NAMESPACE, APPS[0]!))!;
    expect((stored.metadata as { managedFields?: unknown }).managedFields).toBeDefined();
    expect(stored.status?.reconciliationStatus?.lastReconciledSpec).toBeDefined();
    expect((cached.metadata as { managedFields?: unknown }).managedFields).toBeUndefined();
    expect(cached.status?.reconciliationStatus).toEqual({ ...stored.status!.reconciliationStatus, lastReconciledSpec: undefined, lastStableSpec: undefined });
    expect({ ...cached, metadata: undefined, status: undefined }).toEqual({ ...stored, metadata: undefined, status: undefined });
  });

  it('is passed over by a resync, which reads versions in one query and asks the cluster nothing', async () => {
    sql.length = 0;
    t.drey.sim!.apiServer.resetCounts();
    expect(await controller.keys()).toEqual([]);
    expect(sql).toHaveLength(QUERIES_PER_IDLE_RESYNC);
    expect(kubeRequests('steady-test')).toEqual([]);
  });

  it('is looked at again by a resync once its application changes', async () => {
    await t.post(`/cmf/api/v1/environments/${ENV}/applications/${APPS[1]}/suspend`);
    expect(await controller.keys()).toEqual([`${ENV}/${APPS[1]}`]);
    await t.post(`/cmf/api/v1/environments/${ENV}/applications/${APPS[1]}/start`);
    await settled(t, `${ENV}/${APPS[1]}`);
  });
});

describe('an idle resync period of drey', () => {
  it('writes nothing to Postgres (lease renewals aside) and asks nothing of the Kubernetes API', async () => {
    // two periods for every application to be reconciled once at rest; then watch three more
    await new Promise((r) => setTimeout(r, 2 * RESYNC_MS + 200));
    for (const name of APPS) await settled(t, `${ENV}/${name}`);
    await new Promise((r) => setTimeout(r, 2 * RESYNC_MS + 200));
    dreySql.length = 0;
    t.drey.sim!.apiServer.resetCounts();
    await new Promise((r) => setTimeout(r, 3 * RESYNC_MS + 100));
    const writes = dreySql.filter((s) => WRITE.test(s) && !s.includes('"ControllerLease"'));
    expect(writes).toEqual([]);
    // the resyncs did run: each read the applications' versions
    expect(dreySql.filter((s) => /FROM "Application" a JOIN "Environment" e/.test(s)).length).toBeGreaterThanOrEqual(2);
    expect(kubeRequests('controllers').filter((c) => c.verb !== 'WATCH')).toEqual([]);
  });
});
