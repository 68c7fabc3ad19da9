import { application, environment, secret } from '../support/fixtures.js';
import { startApi, type TestApi } from '../support/api.js';

const ENVS = '/cmf/api/v1/environments';
const NAMES = ['env-c', 'env-a', 'env-e', 'env-b', 'env-d'];
let api: TestApi;

beforeAll(async () => {
  api = await startApi();
  for (const name of NAMES) await api.post(ENVS, environment(name, `ns-${name}`));
});
afterAll(async () => api.close());

const names = (body: any): string[] => body.items.map((e: any) => e.name);

describe('lists', () => {
  it('pages 0-based in a stable order (creation) and answers 200 with no items past the end', async () => {
    const first = await api.get(`${ENVS}?page=0&size=2`);
    const second = await api.get(`${ENVS}?page=1&size=2`);
    const third = await api.get(`${ENVS}?page=2&size=2`);
    const past = await api.get(`${ENVS}?page=3&size=2`);
    expect([...names(first.body), ...names(second.body), ...names(third.body)]).toEqual(NAMES);
    expect(past.status).toBe(200);
    expect(past.body.items).toEqual([]);
    expect(first.body).toMatchObject({
      pageable: { page: 0, size: 2, sort: { sorted: false, unsorted: true, empty: true } },
      metadata: { size: 5 },
    });
  });

  it('sorts by name, both directions, with sort=name,asc|desc', async () => {
    const asc = await api.get(`${ENVS}?sort=name,asc`);
    expect(names(asc.body)).toEqual([...NAMES].sort());
    expect(asc.body.pageable.sort).toEqual({ sorted: true, unsorted: false, empty: false });
    const desc = await api.get(`${ENVS}?sort=name,desc`);
    expect(names(desc.body)).toEqual([...NAMES].sort().reverse());
    const multi = await api.get(`${ENVS}?sort=creationTimestamp,desc&sort=name`);
    expect(names(multi.body)).toEqual([...NAMES].reverse());
  });

  it('answers 400 for a bad page, size or sort property', async () => {
    for (const query of ['page=-1', 'page=x', 'size=0', 'size=abc', 'size=1000000', 'sort=password,asc', 'page=1&page=2']) {
      const res = await api.get(`${ENVS}?${query}`);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(res.body.errors[0].message).toMatch(/page|size|sort/);
    }
  });

  it('carries an ETag and answers 304 to If-None-Match until the list changes', async () => {
    const res = await api.get(ENVS);
    const etag = res.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await api.get(ENVS, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    await api.post(ENVS, environment('env-f', 'ns-f'));
    const changed = await api.get(ENVS, { headers: { 'if-none-match': etag! } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    const one = await api.get(`${ENVS}/env-a`);
    expect((await api.get(`${ENVS}/env-a`, { headers: { 'if-none-match': one.headers.get('etag')! } })).status).toBe(304);
  });

  it.each([
    `${ENVS}/env-a/applications`,
    `${ENVS}/env-a/applications/app-etag`,
    '/cmf/api/v1/secrets',
    '/cmf/api/v1/secrets/etag-secret',
  ])('answers 304 to If-None-Match on GET %s', async (path) => {
    await api.post(`${ENVS}/env-a/applications`, application('app-etag'));
    await api.post('/cmf/api/v1/secrets', secret('etag-secret'));
    const res = await api.get(path);
    expect(res.status).toBe(200);
    const again = await api.get(path, { headers: { 'if-none-match': res.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('answers unknown paths with 404 Resource not found: [<path>], in YAML when asked', async () => {
    const res = await api.get('/cmf/api/v1/nothing/here');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ errors: [{ message: 'Resource not found: [cmf/api/v1/nothing/here]' }] });
    const yaml = await api.get('/cmf/api/v2/environments', { acceptYaml: true });
    expect(yaml.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(yaml.body).toEqual({ errors: [{ message: 'Resource not found: [cmf/api/v2/environments]' }] });
  });

  it.each([
    ['/hello', 'Resource not found: [hello]'],
    ['/', 'Resource not found: []'],
  ])('answers GET %s exactly as the contract’s Troubleshooting section shows: %s', async (path, message) => {
    const res = await api.get(path);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ errors: [{ message }] });
  });

  it('answers a method a path does not serve with 405 and Allow', async () => {
    const res = await api.put(`${ENVS}`, environment('env-put'));
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST');
    expect(res.body.errors[0].message).toMatch(/PUT/);
  });

  it('serves timestamps as RFC 3339 UTC with milliseconds', async () => {
    const res = await api.get(`${ENVS}/env-a`);
    expect(res.body.created_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});
