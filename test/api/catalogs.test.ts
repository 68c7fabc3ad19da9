import { kafkaCatalog } from '../support/fixtures.js';
import { startApi, type TestApi } from '../support/api.js';

const CATALOGS = '/cmf/api/v1/catalogs/kafka';
let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => api.close());

describe('kafka catalogs', () => {
  it('creates a catalog with 200 and reads it back', async () => {
    const res = await api.post(CATALOGS, kafkaCatalog('kafka-cat'), { yaml: true });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ kind: 'KafkaCatalog', metadata: { name: 'kafka-cat' }, spec: kafkaCatalog().spec });
    const got = await api.get(`${CATALOGS}/kafka-cat`);
    expect(got.body).toEqual(res.body);
    expect((await api.get(CATALOGS)).body.items).toHaveLength(1);
  });

  it('answers 409 for a duplicate, 404 for a missing catalog', async () => {
    expect((await api.post(CATALOGS, kafkaCatalog('kafka-cat'))).status).toBe(409);
    expect((await api.get(`${CATALOGS}/missing-cat`)).status).toBe(404);
    expect((await api.delete(`${CATALOGS}/missing-cat`)).status).toBe(404);
  });

  it('answers 422 for a database listed twice, storing nothing', async () => {
    const cat = kafkaCatalog('twice-cat');
    cat.spec.kafkaClusters.push({ ...cat.spec.kafkaClusters[0]! });
    const res = await api.post(CATALOGS, cat);
    expect(res.status).toBe(422);
    expect(res.body.errors[0].message).toMatch(/kafka-1/);
    expect((await api.get(`${CATALOGS}/twice-cat`)).status).toBe(404);
  });

  it('answers 400 naming a missing required field', async () => {
    const cat = kafkaCatalog('no-sr-cat') as any;
    delete cat.spec.srInstance;
    const res = await api.post(CATALOGS, cat);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].message).toBe('spec.srInstance is required');
  });

  it('deletes a catalog with 204', async () => {
    expect((await api.delete(`${CATALOGS}/kafka-cat`)).status).toBe(204);
    expect((await api.get(`${CATALOGS}/kafka-cat`)).status).toBe(404);
  });
});
