import { computePool, environment, statement } from '../support/fixtures.js';
import { startApi, type TestApi } from '../support/api.js';

const ENVS = '/cmf/api/v1/environments';
const pools = (env: string) => `${ENVS}/${env}/compute-pools`;
const stmts = (env: string) => `${ENVS}/${env}/statements`;
let api: TestApi;

beforeAll(async () => {
  api = await startApi();
  await api.post(
    ENVS,
    environment('sql-env', 'sql-ns', {
      computePoolDefaults: { flinkConfiguration: { 'execution.checkpointing.interval': '10s' } },
      statementDefaults: {
        detached: { flinkConfiguration: { 'pipeline.operator-chaining': 'false' } },
        interactive: { flinkConfiguration: { 'sql-client.execution.result-mode': 'tableau' } },
      },
    }),
  );
  await api.post(ENVS, environment('other-env', 'other-ns'));
});
afterAll(async () => api.close());

describe('compute pools', () => {
  it('creates a DEDICATED pool with 200 and phase DEDICATED, with the environment defaults merged into its cluster spec', async () => {
    const res = await api.post(pools('sql-env'), computePool('pool-one'));
    expect(res.status).toBe(200);
    expect(res.body.status).toEqual({ phase: 'DEDICATED' });
    expect(res.body.spec.clusterSpec.flinkConfiguration).toEqual({
      'taskmanager.numberOfTaskSlots': '2',
      'execution.checkpointing.interval': '10s',
    });
    expect((await api.get(`${pools('sql-env')}/pool-one`)).body).toEqual(res.body);
    expect((await api.get(pools('sql-env'))).body.items).toHaveLength(1);
  });

  it('answers 409 for a duplicate pool, 404 for a missing one or a missing environment', async () => {
    expect((await api.post(pools('sql-env'), computePool('pool-one'))).status).toBe(409);
    expect((await api.get(`${pools('sql-env')}/pool-none`)).status).toBe(404);
    expect((await api.delete(`${pools('sql-env')}/pool-none`)).status).toBe(404);
    expect((await api.get(pools('env-none'))).status).toBe(404);
    expect((await api.post(pools('env-none'), computePool('pool-x'))).status).toBe(404);
  });

  it('answers 422 for a pool type drey cannot run, and for a state on a DEDICATED pool', async () => {
    const pool = computePool('pool-shared') as any;
    pool.spec.type = 'SERVERLESS';
    expect((await api.post(pools('sql-env'), pool)).status).toBe(422);
    expect((await api.get(`${pools('sql-env')}/pool-shared`)).status).toBe(404);
    const suspended = computePool('pool-suspended') as any;
    suspended.spec.state = 'SUSPENDED';
    expect((await api.post(pools('sql-env'), suspended)).status).toBe(422);
    suspended.spec.state = 'ASLEEP';
    expect((await api.post(pools('sql-env'), suspended)).status).toBe(400);
    expect((await api.get(`${pools('sql-env')}/pool-suspended`)).status).toBe(404);
  });
});

describe('statements', () => {
  it('creates a statement with 200 in phase PENDING, interactive defaults merged for a SELECT', async () => {
    const res = await api.post(stmts('sql-env'), statement('select-one', 'SELECT 1', 'pool-one'));
    expect(res.status).toBe(200);
    // this API runs without a SQL Gateway: the statement waits, and says why
    expect(res.body.status).toEqual({ phase: 'PENDING', detail: 'Waiting for a SQL Gateway: no SQL Gateway is configured.' });
    expect(res.body.spec.flinkConfiguration).toEqual({ 'sql-client.execution.result-mode': 'tableau' });
    expect((await api.get(`${stmts('sql-env')}/select-one`)).body).toEqual(res.body);
  });

  it('merges the detached defaults for an INSERT', async () => {
    const res = await api.post(
      stmts('sql-env'),
      statement('insert-one', 'INSERT INTO sink SELECT * FROM src', 'pool-one', { flinkConfiguration: { 'pipeline.operator-chaining': 'true', a: 'b' } }),
    );
    expect(res.body.spec.flinkConfiguration).toEqual({ 'pipeline.operator-chaining': 'false', a: 'b' });
  });

  it('answers 409 for a duplicate, 404 for a missing environment, 422 for a missing compute pool', async () => {
    expect((await api.post(stmts('sql-env'), statement('select-one', 'SELECT 1', 'pool-one'))).status).toBe(409);
    expect((await api.post(stmts('env-none'), statement('s-none', 'SELECT 1', 'pool-one'))).status).toBe(404);
    const res = await api.post(stmts('other-env'), statement('s-nopool', 'SELECT 1', 'pool-one'));
    expect(res.status).toBe(422);
    expect(res.body.errors[0].message).toMatch(/pool-one/);
    expect((await api.get(`${stmts('other-env')}/s-nopool`)).status).toBe(404);
  });

  it('stops, resumes and rescales through a PUT carrying only metadata.name and spec, as the CLI does', async () => {
    const got = (await api.get(`${stmts('sql-env')}/insert-one`)).body;
    const stop = await api.put(`${stmts('sql-env')}/insert-one`, { metadata: { name: 'insert-one' }, spec: { ...got.spec, stopped: true } });
    expect(stop.status).toBe(200);
    expect(stop.text).toBe('');
    expect((await api.get(`${stmts('sql-env')}/insert-one`)).body.spec.stopped).toBe(true);
    const rescale = await api.put(`${stmts('sql-env')}/insert-one`, {
      apiVersion: got.apiVersion,
      kind: got.kind,
      metadata: { name: 'insert-one' },
      spec: { ...got.spec, stopped: false, parallelism: 4 },
    });
    expect(rescale.status).toBe(200);
    expect((await api.get(`${stmts('sql-env')}/insert-one`)).body.spec).toMatchObject({ stopped: false, parallelism: 4 });
  });

  it('refuses to change the SQL or the pool (422), a name that disagrees with the path (422), a missing statement (404)', async () => {
    const got = (await api.get(`${stmts('sql-env')}/insert-one`)).body;
    const sql = await api.put(`${stmts('sql-env')}/insert-one`, { metadata: { name: 'insert-one' }, spec: { ...got.spec, statement: 'SELECT 2' } });
    expect(sql.status).toBe(422);
    const name = await api.put(`${stmts('sql-env')}/insert-one`, { metadata: { name: 'other-one' }, spec: got.spec });
    expect(name.status).toBe(422);
    const missing = await api.put(`${stmts('sql-env')}/missing-one`, { metadata: { name: 'missing-one' }, spec: got.spec });
    expect(missing.status).toBe(404);
    expect((await api.get(`${stmts('sql-env')}/insert-one`)).body.spec.statement).toBe('INSERT INTO sink SELECT * FROM src');
  });

  it('filters the list by compute pool and by phase in lower case, as the CLI sends them', async () => {
    const byPool = await api.get(`${stmts('sql-env')}?compute-pool=pool-one`);
    expect(byPool.body.items.map((s: any) => s.metadata.name)).toEqual(['select-one', 'insert-one']);
    expect((await api.get(`${stmts('sql-env')}?compute-pool=pool-two`)).body.items).toEqual([]);
    expect((await api.get(`${stmts('sql-env')}?phase=pending`)).body.items).toHaveLength(2);
    expect((await api.get(`${stmts('sql-env')}?phase=running`)).body.items).toEqual([]);
    expect((await api.get(`${stmts('sql-env')}?phase=sleeping`)).status).toBe(400);
    expect((await api.get(stmts('env-none'))).status).toBe(404);
  });

  it('serves results for row-returning statements and 400 for the others', async () => {
    // without a SQL Gateway the query waits: an empty page, and a token to ask again with
    const rows = await api.get(`${stmts('sql-env')}/select-one/results`);
    expect(rows.status).toBe(200);
    expect(rows.body).toMatchObject({ kind: 'StatementResult', results: { data: [] } });
    const token = rows.body.metadata.annotations.nextPageToken;
    expect(token).toEqual(expect.any(String));
    expect((await api.get(`${stmts('sql-env')}/select-one/results?page-token=${encodeURIComponent(token)}`)).status).toBe(200);
    expect((await api.get(`${stmts('sql-env')}/insert-one/results?page-token=${encodeURIComponent(token)}`)).status).toBe(400);
    expect((await api.get(`${stmts('sql-env')}/select-one/results?page-token=forged.token`)).status).toBe(400);
    const none = await api.get(`${stmts('sql-env')}/insert-one/results`);
    expect(none.status).toBe(400);
    expect(none.body.errors[0].message).toMatch(/does not return results/);
    expect((await api.get(`${stmts('sql-env')}/missing-one/results`)).status).toBe(404);
  });

  it('answers exceptions as {apiVersion, kind, data: []}', async () => {
    const res = await api.get(`${stmts('sql-env')}/insert-one/exceptions`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ apiVersion: 'cmf.confluent.io/v1', kind: 'StatementExceptionList', data: [] });
    expect((await api.get(`${stmts('sql-env')}/missing-one/exceptions`)).status).toBe(404);
  });

  it('a pool that a statement uses cannot be deleted (409 naming it); an environment holding them neither', async () => {
    const res = await api.delete(`${pools('sql-env')}/pool-one`);
    expect(res.status).toBe(409);
    expect(res.body.errors[0].message).toMatch(/insert-one/);
    const env = await api.delete(`${ENVS}/sql-env`);
    expect(env.status).toBe(409);
    expect(env.body.errors[0].message).toMatch(/compute pools pool-one; statements insert-one, select-one/);
  });

  it('deletes statements with 204, then the pool with 204, then the environment with 200', async () => {
    expect((await api.delete(`${stmts('sql-env')}/select-one`)).status).toBe(204);
    expect((await api.delete(`${stmts('sql-env')}/select-one`)).status).toBe(404);
    expect((await api.delete(`${stmts('sql-env')}/insert-one`)).status).toBe(204);
    expect((await api.delete(`${pools('sql-env')}/pool-one`)).status).toBe(204);
    expect((await api.delete(`${ENVS}/sql-env`)).status).toBe(200);
  });
});
