import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { JobManagerClient } from '../../src/flink/jobManager.js';
import { eventually, startDrey, type TestDrey } from '../support/drey.js';
import { computePool, environment, statement } from '../support/fixtures.js';
import { testJavaTools, TEST_FLINK_CACHE } from '../support/flink.js';
import { sharedCrdFile } from '../support/crd.js';

/**
 * Statements end to end on real Flink 2.3: posted to drey's API, run through local Flink's SQL
 * Gateway on session clusters that the simulated operator brings up on local Flink, and read back
 * as the Confluent CLI reads them.
 */

const ENV = 'sql-real';
const NS = 'sql-real-ns';
const STMTS = `/cmf/api/v1/environments/${ENV}/statements`;
const POOLS = `/cmf/api/v1/environments/${ENV}/compute-pools`;

let drey: TestDrey | undefined;
let jm: JobManagerClient;

/** A pool whose clusters the 1.15 CRD and the operator's validator accept. */
function pool(name: string, type: 'DEDICATED' | 'SHARED' = 'DEDICATED') {
  const body = computePool(name, {
    flinkVersion: 'v2_2',
    image: 'flink:2.2',
    flinkConfiguration: { 'taskmanager.numberOfTaskSlots': '4' },
    jobManager: { resource: { cpu: 1, memory: '1024m' } },
    taskManager: { resource: { cpu: 1, memory: '1536m' } },
  }) as { spec: Record<string, unknown> };
  body.spec.type = type;
  return body;
}

beforeAll(async () => {
  if (!testJavaTools()) return;
  drey = await startDrey({ CMF_LOCAL_FLINK: 'on', CMF_FLINK_CACHE: TEST_FLINK_CACHE, CMF_SIM_STEP_MS: '50' });
  jm = new JobManagerClient({ baseUrl: drey.drey.flink!.restUrl });
  expect((await drey.post('/cmf/api/v1/environments', environment(ENV, NS))).status).toBe(201);
  expect((await drey.post(POOLS, pool('dedicated'))).status).toBe(200);
}, 300_000);

afterAll(async () => {
  await drey?.stop();
}, 120_000);

type Body = Record<string, any>;

async function post(name: string, sql: string, spec: Record<string, unknown> = {}, poolName = 'dedicated'): Promise<Body> {
  const res = await drey!.post(STMTS, statement(name, sql, poolName, spec));
  expect(res.status).toBe(200);
  return res.body as Body;
}

async function get(name: string): Promise<Body> {
  const res = await drey!.get(`${STMTS}/${name}`);
  expect(res.status).toBe(200);
  return res.body as Body;
}

/** Waits for a statement's phase. */
async function phase(name: string, wanted: string, timeoutMs = 120_000): Promise<Body> {
  return eventually(
    `statement ${name} to be ${wanted}`,
    async () => {
      const body = await get(name);
      if (body.status.phase === 'FAILED' && wanted !== 'FAILED') throw new Error(`FAILED: ${body.status.detail}`);
      return body.status.phase === wanted ? body : undefined;
    },
    timeoutMs,
  );
}

/** Every results page until the one without a nextPageToken. */
async function allResults(name: string, timeoutMs = 120_000): Promise<{ rows: Body[]; pages: number }> {
  const rows: Body[] = [];
  let token: string | undefined;
  let pages = 0;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await drey!.get(`${STMTS}/${name}/results${token ? `?page-token=${encodeURIComponent(token)}` : ''}`);
    expect(res.status).toBe(200);
    pages++;
    rows.push(...(res.body.results.data as Body[]));
    token = res.body.metadata.annotations?.nextPageToken;
    if (!token) return { rows, pages };
    if (Date.now() > deadline) throw new Error(`results of ${name} did not end within ${timeoutMs} ms (${rows.length} rows)`);
    if (res.body.results.data.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
}

describe('statements on real Flink', () => {
  it('answers metadata statements at once: COMPLETED, rows inline and on /results, the schema in traits', async () => {
    if (!drey) return;
    const body = await post('show-catalogs', 'SHOW CATALOGS');
    expect(body.status).toMatchObject({ phase: 'COMPLETED', traits: { sqlKind: 'SHOW_CATALOGS' } });
    expect(body.status.traits.schema.columns).toEqual([{ name: 'catalog name', type: expect.objectContaining({ type: 'VARCHAR' }) }]);
    expect(body.result.results.data).toContainEqual({ op: 0, row: ['default_catalog'] });
    expect((await get('show-catalogs')).result).toEqual(body.result);
    const page = await drey.get(`${STMTS}/show-catalogs/results`);
    expect(page.body.results.data).toEqual(body.result.results.data);
    expect(page.body.metadata.annotations.nextPageToken).toBeUndefined();
  });

  it('answers SQL that Flink refuses with 200 and phase FAILED carrying Flink\'s message, and refuses scripts', async () => {
    if (!drey) return;
    const missing = await post('select-missing', 'SELECT * FROM no_such_table');
    expect(missing.status.phase).toBe('FAILED');
    expect(missing.status.detail).toMatch(/^SQL validation failed\. From line 1, column \d+ to line 1, column \d+: Object 'no_such_table' not found/);
    const syntax = await post('select-syntax', 'SELEC 1');
    expect(syntax.status.phase).toBe('FAILED');
    expect(syntax.status.detail).toMatch(/^SQL parse failed/);
    const script = await post('two-statements', 'SELECT 1; SELECT 2;');
    expect(script.status.phase).toBe('FAILED');
    expect(script.status.detail).toMatch(/one/i);
    expect((await drey.get(`${STMTS}/select-missing/results`)).status).toBe(410);
  });

  it('keeps tables in the environment catalog: CREATE TABLE, then SHOW TABLES and a bounded SELECT paged to the end', async () => {
    if (!drey) return;
    const ddl = await post(
      'create-orders',
      "CREATE TABLE orders (id BIGINT, amount DECIMAL(10, 2), note STRING) WITH ('connector' = 'datagen', 'number-of-rows' = '50', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '50')",
    );
    expect(ddl.status).toMatchObject({ phase: 'COMPLETED', traits: { sqlKind: 'CREATE_TABLE' } });
    const tables = await post('show-tables', 'SHOW TABLES');
    expect(tables.result.results.data).toContainEqual({ op: 0, row: ['orders'] });

    const created = await post('select-orders', 'SELECT id, amount, note FROM orders');
    expect(created.status).toMatchObject({ phase: 'PENDING', traits: { sqlKind: 'SELECT', isBounded: true, isAppendOnly: true } });
    const running = await eventually('select-orders to start', async () => {
      const body = await get('select-orders');
      return ['RUNNING', 'COMPLETED'].includes(body.status.phase) ? body : undefined;
    }, 120_000);
    expect(running.status.traits.schema.columns.map((c: Body) => c.name)).toEqual(['id', 'amount', 'note']);
    // its own session cluster, valid against the CRD, labelled like an application's
    const cluster = await drey.kube.get(NS, 'select-orders');
    expect(cluster?.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'drey', 'drey.dev/statement': 'select-orders' });
    expect(cluster?.spec.job).toBeUndefined();

    const { rows } = await allResults('select-orders');
    expect(rows).toHaveLength(50);
    expect(rows.map((r) => r.row[0]).sort((a: string, b: string) => Number(a) - Number(b))).toEqual(Array.from({ length: 50 }, (_, i) => String(i + 1)));
    for (const r of rows) {
      expect(r.op).toBe(0);
      expect(r.row).toHaveLength(3);
      expect(r.row[1]).toMatch(/^-?\d+\.\d{2}$/);
    }
    await phase('select-orders', 'COMPLETED');
    // read to the end: its cluster goes
    await eventually('the cluster of select-orders to go', async () => ((await drey!.kube.get(NS, 'select-orders')) ? undefined : true), 60_000);
    expect((await drey.get(`${STMTS}/select-orders/results`)).status).toBe(410);
  });

  it('runs an INSERT detached: RUNNING, stopped with a savepoint, resumed from it, rescaled, deleted with 202', async () => {
    if (!drey) return;
    await post('create-gen', "CREATE TABLE gen (id BIGINT, v STRING) WITH ('connector' = 'datagen', 'rows-per-second' = '20')");
    await post('create-sink', "CREATE TABLE sink (id BIGINT, v STRING) WITH ('connector' = 'blackhole')");
    const created = await post('insert-gen', 'INSERT INTO sink SELECT id, v FROM gen', { flinkConfiguration: { 'execution.checkpointing.interval': '2s' } });
    expect(created.status).toMatchObject({ phase: 'PENDING', traits: { sqlKind: 'INSERT_INTO', isBounded: false } });
    const running = await phase('insert-gen', 'RUNNING');
    expect(running.status.detail).toBe('Statement execution in progress.');
    const firstJob = (await jm.jobsOverview()).jobs.find((j) => j.name === `${ENV}/insert-gen#1`);
    expect(firstJob?.state).toBe('RUNNING');
    expect((await drey.get(`${STMTS}/insert-gen/results`)).status).toBe(400);

    // stop as the CLI does: metadata.name and spec only
    const spec = { ...running.spec, stopped: true };
    expect((await drey.put(`${STMTS}/insert-gen`, { metadata: { name: 'insert-gen' }, spec })).status).toBe(200);
    const stopped = await phase('insert-gen', 'STOPPED');
    expect(stopped.status.detail).toMatch(/savepoint file:/);
    await eventually('the job to stop', async () => ((await jm.jobStatus(firstJob!.jid)) === 'FINISHED' ? true : undefined));
    await eventually('the cluster of insert-gen to go', async () => ((await drey!.kube.get(NS, 'insert-gen')) ? undefined : true), 60_000);

    // resume: restored from the savepoint, seen on the JobManager
    expect((await drey.put(`${STMTS}/insert-gen`, { metadata: { name: 'insert-gen' }, spec: { ...spec, stopped: false } })).status).toBe(200);
    await phase('insert-gen', 'RUNNING');
    const second = await eventually('the resumed job', async () => (await jm.jobsOverview()).jobs.find((j) => j.name === `${ENV}/insert-gen#2` && j.state === 'RUNNING'));
    const restored = await eventually('the restore to show', async () => (await jm.checkpoints(second.jid)).latest.restored ?? undefined);
    expect(restored.is_savepoint).toBe(true);
    expect(`${restored.external_path}`).toBe(stopped.status.detail.match(/savepoint (\S+?)\.?$/)?.[1]);

    // rescale: through a savepoint, to a job of parallelism 2
    expect((await drey.put(`${STMTS}/insert-gen`, { metadata: { name: 'insert-gen' }, spec: { ...spec, stopped: false, parallelism: 2 } })).status).toBe(200);
    const third = await eventually('the rescaled job', async () => (await jm.jobsOverview()).jobs.find((j) => j.name === `${ENV}/insert-gen#3` && j.state === 'RUNNING'), 120_000);
    expect((await jm.job(third.jid)).vertices.map((v) => v.parallelism)).toContain(2);
    await phase('insert-gen', 'RUNNING');

    // delete: 202 while the job goes, then 404
    const deleted = await drey.delete(`${STMTS}/insert-gen`);
    expect(deleted.status).toBe(202);
    expect((await get('insert-gen')).status.phase).toBe('DELETING');
    await eventually('insert-gen to go', async () => ((await drey!.get(`${STMTS}/insert-gen`)).status === 404 ? true : undefined), 60_000);
    expect(['CANCELED', 'CANCELLING']).toContain(await jm.jobStatus(third.jid));
  });

  it('fails a statement whose job fails at run time, with the job\'s exception in /exceptions', async () => {
    if (!drey) return;
    await post('create-words', "CREATE TABLE words (w STRING) WITH ('connector' = 'datagen', 'number-of-rows' = '10', 'fields.w.length' = '3')");
    await post('bad-cast', 'INSERT INTO sink SELECT CAST(w AS BIGINT), w FROM words');
    const failed = await phase('bad-cast', 'FAILED');
    expect(failed.status.detail).toMatch(/NumberFormatException|Cannot|cast/i);
    const exceptions = await drey.get(`${STMTS}/bad-cast/exceptions`);
    expect(exceptions.body.data.length).toBeGreaterThan(0);
    expect(exceptions.body.data[0]).toMatchObject({ name: expect.any(String), message: expect.any(String), timestamp: expect.any(String) });
  });
});

void sharedCrdFile;
