import { environment } from '../support/fixtures.js';
import { startApi, type TestApi } from '../support/api.js';

const BASE = '/cmf/api/v1/environments';
let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => api.close());

describe('environments', () => {
  it('creates an environment with 201 and returns it with timestamps', async () => {
    const res = await api.post(BASE, environment('env-create'));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'env-create', kubernetesNamespace: 'flink-one' });
    expect(res.body.created_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(res.body.updated_time).toBe(res.body.created_time);
  });

  it('updates with 201 and keeps the namespace when the update omits it, as the CLI sends it', async () => {
    await api.post(BASE, environment('env-cli'));
    const res = await api.post(BASE, {
      name: 'env-cli',
      flinkApplicationDefaults: { spec: { flinkConfiguration: { 'state.backend.type': 'rocksdb' } } },
      computePoolDefaults: null,
      statementDefaults: {},
    });
    expect(res.status).toBe(201);
    expect(res.body.kubernetesNamespace).toBe('flink-one');
    expect(res.body.flinkApplicationDefaults).toEqual({ spec: { flinkConfiguration: { 'state.backend.type': 'rocksdb' } } });
    const again = await api.post(BASE, { name: 'env-cli', flinkApplicationDefaults: null, computePoolDefaults: null, statementDefaults: {} });
    expect(again.body.flinkApplicationDefaults).toEqual({ spec: { flinkConfiguration: { 'state.backend.type': 'rocksdb' } } });
  });

  it('reads an environment back in YAML when asked', async () => {
    await api.post(BASE, environment('env-yaml'), { yaml: true });
    const res = await api.get(`${BASE}/env-yaml`, { acceptYaml: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(res.body).toMatchObject({ name: 'env-yaml', kubernetesNamespace: 'flink-one', secrets: {} });
  });

  it('answers 404 with a RestError for a missing environment', async () => {
    const res = await api.get(`${BASE}/env-missing`);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ errors: [{ message: "Environment 'env-missing' not found" }] });
    expect((await api.delete(`${BASE}/env-missing`)).status).toBe(404);
  });

  it('deletes an empty environment with 200', async () => {
    await api.post(BASE, environment('env-delete'));
    expect((await api.delete(`${BASE}/env-delete`)).status).toBe(200);
    expect((await api.get(`${BASE}/env-delete`)).status).toBe(404);
  });

  it('requires a namespace when creating', async () => {
    const res = await api.post(BASE, { name: 'env-no-ns' });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].message).toMatch(/kubernetesNamespace is required/);
    expect((await api.get(`${BASE}/env-no-ns`)).status).toBe(404);
  });
});
