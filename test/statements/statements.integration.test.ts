import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { JobManagerClient } from '../../src/flink/jobManager.js';
import { SqlGatewayClient } from '../../src/flink/sqlGateway.js';
import { eventually, startDrey, type TestDrey } from '../support/drey.js';
import { environment, sqlComputePool, statement } from '../support/fixtures.js';
import { testJavaTools, TEST_FLINK_CACHE } from '../support/flink.js';
import { cliRender } from '../support/cliDecoder.js';
import { flinkDeploymentValidator } from '../support/crd.js';
import { ALL_TYPES, BATCH, CHANGELOG } from '../support/sqlTypes.js';

/**
 * Statements end to end on real Flink 2.3: posted to drey's API, run through local Flink's SQL
 * Gateway on session clusters that the simulated operator brings up on local Flink, and read back
 * as the Confluent CLI reads them.
 */

const ENV = 'sql-real';
const NS = 'sql-real-ns';
const STMTS = `/cmf/api/v1/environments/${ENV}/statements`;
const POOLS = `/cmf/api/v1/environments/${ENV}/compute-pools`;

jest.setTimeout(180_000);

let drey: TestDrey | undefined;
let jm: JobManagerClient;

const pool = sqlComputePool;

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
      return body.status.phase === wanted || (body.status.phase === 'FAILED' && wanted !== 'FAILED') ? body : undefined;
    },
    timeoutMs,
  ).then((body) => {
    if (body.status.phase !== wanted) throw new Error(`statement ${name} is ${body.status.phase}, not ${wanted}: ${body.status.detail}`);
    return body;
  });
}

/** Every results page until the one without a nextPageToken. */
async function allResults(name: string, timeoutMs = 120_000): Promise<{ rows: Body[]; pages: number; tokens: string[] }> {
  const rows: Body[] = [];
  const tokens: string[] = [];
  let token: string | undefined;
  let pages = 0;
  const deadline = Date.now() + timeoutMs;
  const schema = await eventually(`the schema of ${name}`, async () => (await get(name)).status.traits?.schema, timeoutMs);
  for (;;) {
    const res = await drey!.get(`${STMTS}/${name}/results${token ? `?page-token=${encodeURIComponent(token)}` : ''}`);
    if (res.status !== 200) throw new Error(`results of ${name}: ${res.status} ${JSON.stringify(res.body)}`);
    pages++;
    // every page as the Confluent CLI decodes it: it throws on anything the CLI could not show
    cliRender(res.body, schema);
    rows.push(...(res.body.results.data as Body[]));
    if (token) tokens.push(token);
    token = res.body.metadata.annotations?.nextPageToken;
    if (!token) return { rows, pages, tokens };
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
    const validate = flinkDeploymentValidator();
    if (validate) expect(validate({ apiVersion: cluster!.apiVersion, kind: cluster!.kind, metadata: cluster!.metadata, spec: cluster!.spec }) ? [] : validate.errors).toEqual([]);

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
    // ... and the controller to record that it went (it does so on the pass after the FlinkDeployment is gone)
    await eventually(
      'select-orders to hold no cluster',
      async () => {
        const row = await drey!.prisma.statement.findFirst({ where: { name: 'select-orders' } });
        return (row?.execution as { cluster?: unknown } | null)?.cluster === undefined ? true : undefined;
      },
      60_000,
    );
    expect((await drey.get(`${STMTS}/select-orders/results`)).status).toBe(410);
    // finished and holding nothing: deleted at once
    expect((await drey.delete(`${STMTS}/select-orders`)).status).toBe(204);
    expect((await drey.get(`${STMTS}/select-orders`)).status).toBe(404);
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

    // rescaled while stopped: nothing runs, the new parallelism waits for the resume
    expect((await drey.put(`${STMTS}/insert-gen`, { metadata: { name: 'insert-gen' }, spec: { ...spec, parallelism: 2 } })).status).toBe(200);
    expect((await get('insert-gen')).status.phase).toBe('STOPPED');

    // resume: restored from the savepoint (seen on the JobManager), at the new parallelism
    expect((await drey.put(`${STMTS}/insert-gen`, { metadata: { name: 'insert-gen' }, spec: { ...spec, parallelism: 2, stopped: false } })).status).toBe(200);
    await phase('insert-gen', 'RUNNING');
    const second = await eventually('the resumed job', async () => (await jm.jobsOverview()).jobs.find((j) => j.name === `${ENV}/insert-gen#2` && j.state === 'RUNNING'));
    const restored = await eventually('the restore to show', async () => (await jm.checkpoints(second.jid)).latest.restored ?? undefined);
    expect(restored.is_savepoint).toBe(true);
    expect(`${restored.external_path}`).toBe(stopped.status.detail.match(/savepoint (\S+?)\.?$/)?.[1]);
    expect((await jm.job(second.jid)).vertices.map((v) => v.parallelism)).toContain(2);

    // rescaled while running: through a savepoint, to a job of parallelism 1
    expect((await drey.put(`${STMTS}/insert-gen`, { metadata: { name: 'insert-gen' }, spec: { ...spec, stopped: false, parallelism: 1 } })).status).toBe(200);
    const third = await eventually('the rescaled job', async () => (await jm.jobsOverview()).jobs.find((j) => j.name === `${ENV}/insert-gen#3` && j.state === 'RUNNING'), 120_000);
    expect((await jm.job(third.jid)).vertices.every((v) => v.parallelism === 1)).toBe(true);
    expect((await jm.checkpoints(third.jid)).latest.restored).toBeTruthy();
    await phase('insert-gen', 'RUNNING');

    // a new leader re-attaches to the running job by its id: no new run
    const before = await drey.prisma.statement.findFirst({ where: { name: 'insert-gen' } });
    await drey.drey.controllers.stop();
    await drey.drey.controllers.start();
    await drey.drey.controllers.statements.reconcile(`${ENV}/insert-gen`);
    const after = await drey.prisma.statement.findFirst({ where: { name: 'insert-gen' } });
    expect(after!.execution).toEqual(before!.execution);
    expect(await jm.jobStatus(third.jid)).toBe('RUNNING');

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

  it('shows a job that keeps failing as FAILING with its newest exception, and stops it with a cancel', async () => {
    if (!drey) return;
    const restarts = { 'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': '1000', 'restart-strategy.fixed-delay.delay': '2 s' };
    const created = await post('keeps-failing', 'INSERT INTO sink SELECT CAST(v AS BIGINT), v FROM gen', { flinkConfiguration: restarts });
    // FAILING while Flink restarts it; the detail is the newest exception once Flink lists it
    const failing = await eventually('keeps-failing to be FAILING with its exception', async () => {
      const body = await get('keeps-failing');
      return body.status.phase === 'FAILING' && /NumberFormatException/.test(body.status.detail) ? body : undefined;
    }, 120_000);
    expect(failing.status.traits.sqlKind).toBe('INSERT_INTO');
    expect((await drey.get(`${STMTS}/keeps-failing/exceptions`)).body.data[0].name).toBe('java.lang.NumberFormatException');
    // a failing job takes no savepoint: stopping it cancels it
    expect((await drey.put(`${STMTS}/keeps-failing`, { metadata: { name: 'keeps-failing' }, spec: { ...created.spec, stopped: true } })).status).toBe(200);
    const stopped = await phase('keeps-failing', 'STOPPED');
    expect(stopped.status.detail).toBe('Statement stopped.');
    const job = (await jm.jobsOverview()).jobs.find((j) => j.name === `${ENV}/keeps-failing#1`)!;
    expect(await jm.jobStatus(job.jid)).toBe('CANCELED');
  });

  it('serves a SELECT over every type the CLI decodes, and a changelog with its ops, each page decoded as the CLI does', async () => {
    if (!drey) return;
    await post('all-types', ALL_TYPES, { flinkConfiguration: BATCH });
    await phase('all-types', 'COMPLETED');
    const types = await allResults('all-types');
    expect(types.rows).toHaveLength(1);
    const schema = (await get('all-types')).status.traits.schema;
    expect(types.rows[0]!.row).toHaveLength(schema.columns.length);
    expect(new Set(schema.columns.map((c: Body) => c.type.type))).toEqual(
      new Set(['CHAR', 'VARCHAR', 'BOOLEAN', 'BINARY', 'VARBINARY', 'DECIMAL', 'TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'FLOAT', 'DOUBLE', 'DATE',
        'TIME_WITHOUT_TIME_ZONE', 'TIMESTAMP_WITHOUT_TIME_ZONE', 'TIMESTAMP_WITH_LOCAL_TIME_ZONE', 'INTERVAL_YEAR_MONTH', 'INTERVAL_DAY_TIME', 'ARRAY', 'MULTISET', 'MAP', 'ROW']),
    );

    const created = await post('changelog', CHANGELOG);
    expect(created.status.traits.isAppendOnly).toBe(false);
    const changes = await allResults('changelog');
    expect(new Set(changes.rows.map((r) => r.op))).toEqual(new Set([0, 1, 2, 3]));
  });

  it('pages results with signed tokens: a used-up token is gone (410), one of another statement or forged is refused (400)', async () => {
    if (!drey) return;
    await post('create-ticks', "CREATE TABLE ticks (n BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '50', 'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = '1000000')");
    await post('select-ticks', 'SELECT n FROM ticks');
    const schema = await eventually('the schema', async () => (await get('select-ticks')).status.traits?.schema, 120_000);
    // (the test reads the page number inside a token; clients cannot rely on it)
    const offsetOf = (token: string) => Number(Buffer.from(token.split('.')[0]!, 'base64url').toString().split('|')[2]);
    const tokens: string[] = [];
    const rows: string[] = [];
    await eventually('four pages of rows', async () => {
      const token = tokens.at(-1);
      const page = await drey!.get(`${STMTS}/select-ticks/results${token ? `?page-token=${encodeURIComponent(token)}` : ''}`);
      expect(page.status).toBe(200);
      cliRender(page.body, schema);
      rows.push(...page.body.results.data.map((r: Body) => r.row[0]));
      tokens.push(page.body.metadata.annotations.nextPageToken);
      return offsetOf(tokens.at(-1)!) - offsetOf(tokens[0]!) >= 3 && rows.length >= 5 ? true : undefined;
    }, 120_000);
    expect(rows.slice(0, 5)).toEqual(['1', '2', '3', '4', '5']);
    const last = tokens.at(-1)!;
    const old = tokens.find((t) => offsetOf(t) < offsetOf(last) - 2)!;
    expect((await drey.get(`${STMTS}/select-ticks/results?page-token=${encodeURIComponent(old)}`)).status).toBe(410);
    await post('select-other', 'SELECT n FROM ticks');
    expect((await drey.get(`${STMTS}/select-other/results?page-token=${encodeURIComponent(last)}`)).status).toBe(400);
    const forged = Buffer.from('r1|1|0|9999999999').toString('base64url') + '.' + Buffer.alloc(32).toString('base64url');
    expect((await drey.get(`${STMTS}/select-ticks/results?page-token=${forged}`)).status).toBe(400);
    // the current token still reads on
    expect((await drey.get(`${STMTS}/select-ticks/results?page-token=${encodeURIComponent(last)}`)).status).toBe(200);
    expect((await drey.delete(`${STMTS}/select-ticks`)).status).toBe(202);
    expect((await drey.delete(`${STMTS}/select-other`)).status).toBe(202);
  });

  it('takes the session settings from the statement, its SET properties, then the environment, then spec.parallelism', async () => {
    if (!drey) return;
    const env = 'sql-precedence';
    expect(
      (await drey.post('/cmf/api/v1/environments', environment(env, 'precedence-ns', {
        statementDefaults: { detached: { flinkConfiguration: { 'table.exec.mini-batch.size': '9' } } },
      }))).status,
    ).toBe(201);
    expect((await drey.post(`/cmf/api/v1/environments/${env}/compute-pools`, pool('pool'))).status).toBe(200);
    const res = await drey.post(`/cmf/api/v1/environments/${env}/statements`, statement('show-settings', 'SET', 'pool', {
      flinkConfiguration: { 'table.exec.mini-batch.size': '5', 'pipeline.name': 'mine', 'table.exec.state.ttl': '1 h' },
      properties: { 'sql.local-time-zone': 'Europe/Paris', 'table.exec.state.ttl': '2 h', 'sql.current-catalog': 'default_catalog' },
      parallelism: 3,
    }));
    expect(res.body.status.phase).toBe('COMPLETED');
    const settings = Object.fromEntries((res.body.result.results.data as Body[]).map((r) => r.row as [string, string]));
    expect(settings['table.exec.mini-batch.size']).toBe('9'); // the environment wins over the statement
    expect(settings['table.exec.state.ttl']).toBe('2 h'); // what the user SET wins over the statement's configuration
    expect(settings['table.local-time-zone']).toBe('Europe/Paris'); // Confluent's name translated
    expect(settings['pipeline.name']).toBe('mine');
    expect(settings['parallelism.default']).toBe('3');
    expect(settings['sql.current-catalog']).toBeUndefined();
  });

  it('runs the Confluent CLI shell flow on a SHARED pool: create, poll while PENDING, page by token, leave with stopped=true', async () => {
    if (!drey) return;
    const created = await drey.post(POOLS, pool('shared', 'SHARED'));
    expect(created.body.status.phase).toBe('PENDING');
    await eventually('the shared pool to run', async () => ((await drey!.get(`${POOLS}/shared`)).body.status.phase === 'RUNNING' ? true : undefined), 60_000);
    expect((await drey.kube.get(NS, 'shared'))?.metadata.labels).toMatchObject({ 'drey.dev/compute-pool': 'shared' });

    await post('create-clicks', "CREATE TABLE clicks (user_id INT, url STRING) WITH ('connector' = 'datagen', 'fields.user_id.min' = '1', 'fields.user_id.max' = '9')");
    const name = `cli-20261201-120000-${'0123456789abcdef01234567'}`;
    const body = {
      apiVersion: 'cmf.confluent.io/v1',
      kind: 'Statement',
      metadata: { name },
      spec: {
        statement: 'SELECT user_id, url FROM clicks',
        properties: { 'sql.current-catalog': 'default_catalog', 'sql.current-database': 'default_database' },
        computePoolName: 'shared',
        parallelism: 1,
        stopped: false,
      },
    };
    const res = await drey.post(STMTS, body);
    expect(res.status).toBe(200);
    expect(res.body.status.phase).toBe('PENDING');
    const running = await phase(name, 'RUNNING');
    expect(running.status.traits).toMatchObject({ sqlKind: 'SELECT', isBounded: false, isAppendOnly: true });
    expect(await drey.kube.get(NS, name)).toBeUndefined(); // no cluster of its own on a SHARED pool

    // a few pages, as the shell's auto-refresh fetches them
    let token: string | undefined;
    let seen = 0;
    await eventually('rows to arrive', async () => {
      const page = await drey!.get(`${STMTS}/${name}/results${token ? `?page-token=${encodeURIComponent(token)}` : ''}`);
      expect(page.status).toBe(200);
      cliRender(page.body, running.status.traits.schema);
      token = page.body.metadata.annotations.nextPageToken;
      expect(token).toEqual(expect.any(String)); // an unbounded query always has a next page
      seen += page.body.results.data.length;
      return seen > 0 ? true : undefined;
    }, 60_000);

    const job = (await jm.jobsOverview()).jobs.find((j) => j.name === `${ENV}/${name}#1`)!;
    // leaving the result view: PUT with metadata.name and spec only, stopped=true
    expect((await drey.put(`${STMTS}/${name}`, { metadata: { name }, spec: { ...running.spec, stopped: true } })).status).toBe(200);
    await phase(name, 'STOPPED');
    expect(['CANCELED', 'CANCELLING']).toContain(await jm.jobStatus(job.jid));
    expect((await drey.get(`${STMTS}/${name}/results?page-token=${encodeURIComponent(token!)}`)).status).toBe(410);
    // the pool's cluster stays for its other statements
    expect(await drey.kube.get(NS, 'shared')).toBeDefined();
    expect((await drey.delete(`${POOLS}/shared`)).status).toBe(409);
  });

  it('holds an unbounded SELECT that nobody reads: the job is held back, nothing piles up', async () => {
    if (!drey) return;
    await post('create-views', "CREATE TABLE pageviews (user_id INT, url STRING) WITH ('connector' = 'datagen')");
    // source and sink apart, so that the source's output is counted
    await post('unread', 'SELECT user_id, url FROM pageviews', { flinkConfiguration: { 'pipeline.operator-chaining.enabled': 'false' } });
    await phase('unread', 'RUNNING');
    const job = await eventually('the job', async () => (await jm.jobsOverview()).jobs.find((j) => j.name === `${ENV}/unread#1`));
    const written = async () => Number((await jm.job(job.jid)).vertices[0]!.metrics['write-records'] ?? 0);
    // the source writes until the gateway's bounded buffer and the network buffers are full, then stops
    const stalled = await eventually('the source to be held back', async () => {
      const before = await written();
      await new Promise((r) => setTimeout(r, 3_000));
      const after = await written();
      return before > 0 && after === before ? after : undefined;
    }, 120_000);
    expect(stalled).toBeGreaterThan(0);
    expect(await jm.jobStatus(job.jid)).toBe('RUNNING');
    // the rows are all still there to read, from the first
    let token: string | undefined;
    const first = await eventually('the first rows', async () => {
      const page = await drey!.get(`${STMTS}/unread/results${token ? `?page-token=${encodeURIComponent(token)}` : ''}`);
      token = page.body.metadata.annotations.nextPageToken;
      return page.body.results.data.length > 0 ? page.body.results.data : undefined;
    });
    expect(first.length).toBeGreaterThan(0);
    expect((await drey.delete(`${STMTS}/unread`)).status).toBe(202);
  });

  it('checks a statement without running or keeping anything when sql.dry-run is true', async () => {
    if (!drey) return;
    const dry = { properties: { 'sql.dry-run': 'true' } };
    const insert = await post('dry-insert', 'INSERT INTO sink SELECT id, v FROM gen', dry);
    expect(insert.status).toMatchObject({ phase: 'COMPLETED', detail: expect.stringMatching(/^Dry run/), traits: { sqlKind: 'INSERT_INTO' } });
    const ddl = await post('dry-create', "CREATE TABLE dry_only (id INT) WITH ('connector' = 'datagen')", dry);
    expect(ddl.status).toMatchObject({ phase: 'COMPLETED', detail: expect.stringMatching(/^Dry run/) });
    expect((await post('show-after-dry', 'SHOW TABLES')).result.results.data).not.toContainEqual({ op: 0, row: ['dry_only'] });
    const bad = await post('dry-bad', 'INSERT INTO sink SELECT nope FROM gen', dry);
    expect(bad.status.phase).toBe('FAILED');
    // the controller leaves it be: no cluster, no job, nothing written
    await drey.drey.controllers.statements.reconcile(`${ENV}/dry-insert`);
    const before = await drey.prisma.statement.findFirst({ where: { name: 'dry-insert' } });
    await drey.drey.controllers.statements.reconcile(`${ENV}/dry-insert`);
    expect(await drey.prisma.statement.findFirst({ where: { name: 'dry-insert' } })).toEqual(before);
    expect(await drey.kube.get(NS, 'dry-insert')).toBeUndefined();
    expect((await jm.jobsOverview()).jobs.find((j) => j.name.startsWith(`${ENV}/dry-insert#`))).toBeUndefined();
  });

  it('keeps a SUSPENDED shared pool without a cluster', async () => {
    if (!drey) return;
    const suspended = pool('sleeping', 'SHARED') as { spec: Record<string, unknown> };
    suspended.spec.state = 'SUSPENDED';
    expect((await drey.post(POOLS, suspended)).status).toBe(200);
    await eventually('the pool to be SUSPENDED', async () => ((await drey!.get(`${POOLS}/sleeping`)).body.status.phase === 'SUSPENDED' ? true : undefined));
    expect(await drey.kube.get(NS, 'sleeping')).toBeUndefined();
    const waiting = await post('on-sleeping', 'SELECT 1', {}, 'sleeping');
    expect(waiting.status.phase).toBe('PENDING');
    const detail = await eventually('the statement to say why it waits', async () => {
      const d = (await get('on-sleeping')).status.detail as string;
      return /no running Flink cluster/.test(d) ? d : undefined;
    });
    expect(detail).toMatch(/SUSPENDED/);
    expect((await drey.delete(`${STMTS}/on-sleeping`)).status).toBe(204);
    expect((await drey.delete(`${POOLS}/sleeping`)).status).toBe(204);
  });

  it('finds a submission a dead controller did not record: the job is adopted by its run\'s name, not run twice', async () => {
    if (!drey) return;
    const key = `${ENV}/crash-submit`;
    await drey.drey.controllers.stop();
    try {
      // (with checkpointing, as INSERTs run: Flink keeps statistics of a job's savepoints only then)
      await post('crash-submit', 'INSERT INTO sink SELECT id, v FROM gen', { flinkConfiguration: { 'execution.checkpointing.interval': '2s' } }, 'shared');
      // what a controller leaves when it dies after asking the gateway and before recording the answer
      await drey.prisma.statement.updateMany({
        where: { name: 'crash-submit' },
        data: { execution: { attempt: 1, submitting: true, submittedAt: new Date().toISOString(), parallelism: 1 } },
      });
      const gateway = new SqlGatewayClient({ baseUrl: drey.drey.flink!.gatewayUrl });
      const session = await gateway.openSession({ properties: { 'pipeline.name': `${key}#1`, 'execution.checkpointing.interval': '2s' } });
      for (const ddl of [
        "CREATE TABLE gen (id BIGINT, v STRING) WITH ('connector' = 'datagen', 'rows-per-second' = '20')",
        "CREATE TABLE sink (id BIGINT, v STRING) WITH ('connector' = 'blackhole')",
        'INSERT INTO sink SELECT id, v FROM gen',
      ]) await gateway.fetchAllResults(session, await gateway.executeStatement(session, ddl), { deadlineMs: 60_000 });
      await gateway.closeSession(session);
    } finally {
      await drey.drey.controllers.start();
    }
    const running = await phase('crash-submit', 'RUNNING');
    const jobs = (await jm.jobsOverview()).jobs.filter((j) => j.name.startsWith(`${key}#`));
    expect(jobs.map((j) => [j.name, j.state])).toEqual([[`${key}#1`, 'RUNNING']]);
    expect((await drey.prisma.statement.findFirst({ where: { name: 'crash-submit' } }))!.execution).toMatchObject({ attempt: 1, jobId: jobs[0]!.jid });

    // a stop whose savepoint a dead controller asked for but did not record: found on the JobManager
    await drey.drey.controllers.stop();
    let savepoint: string;
    try {
      expect((await drey.put(`${STMTS}/crash-submit`, { metadata: { name: 'crash-submit' }, spec: { ...running.spec, stopped: true } })).status).toBe(200);
      const row = (await drey.prisma.statement.findFirst({ where: { name: 'crash-submit' } }))!;
      await drey.prisma.statement.updateMany({
        where: { name: 'crash-submit' },
        data: { execution: { ...(row.execution as object), stopping: { reason: 'stop', jobId: jobs[0]!.jid, since: new Date().toISOString() } } },
      });
      const trigger = await jm.stopWithSavepoint(jobs[0]!.jid, { formatType: 'CANONICAL' });
      savepoint = await jm.awaitSavepoint(jobs[0]!.jid, trigger, { timeoutMs: 60_000 });
      await eventually('the job to finish', async () => ((await jm.jobStatus(jobs[0]!.jid)) === 'FINISHED' ? true : undefined));
    } finally {
      await drey.drey.controllers.start();
    }
    const stopped = await phase('crash-submit', 'STOPPED');
    expect(stopped.status.detail).toBe(`Statement stopped with savepoint ${savepoint}.`);
    expect((await drey.delete(`${STMTS}/crash-submit`)).status).toBe(204);
  });

  it('writes nothing on a second pass over a settled statement', async () => {
    if (!drey) return;
    for (const name of ['show-catalogs', 'all-types', 'bad-cast', 'create-orders']) {
      const key = `${ENV}/${name}`;
      await drey.drey.controllers.statements.reconcile(key);
      const before = await drey.prisma.statement.findFirst({ where: { name } });
      await drey.drey.controllers.statements.reconcile(key);
      expect(await drey.prisma.statement.findFirst({ where: { name } })).toEqual(before);
    }
    for (const name of ['dedicated', 'shared']) {
      await drey.drey.controllers.computePools.reconcile(`${ENV}/${name}`);
      const before = { row: await drey.prisma.computePool.findFirst({ where: { name } }), cluster: (await drey.kube.get(NS, name))?.metadata.resourceVersion };
      await drey.drey.controllers.computePools.reconcile(`${ENV}/${name}`);
      expect({ row: await drey.prisma.computePool.findFirst({ where: { name } }), cluster: (await drey.kube.get(NS, name))?.metadata.resourceVersion }).toEqual(before);
    }
  });
});
