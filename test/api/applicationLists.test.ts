import { application, environment } from '../support/fixtures.js';
import { startApi, type TestApi } from '../support/api.js';
import { query } from '../support/db.js';

const ENVS = '/cmf/api/v1/environments';
const APPS = `${ENVS}/env-l/applications`;
const SORTS = ['', 'sort=name,desc', 'sort=creationTimestamp,desc', 'sort=updateTimestamp', 'sort=name&sort=creationTimestamp,desc'];
let api: TestApi;

beforeAll(async () => {
  api = await startApi();
  await api.post(ENVS, environment('env-l', 'ns-l'));
  await api.post(ENVS, environment('env-other', 'ns-other'));
  // posted at once, so several share a creation millisecond and the name decides their order
  await Promise.all(Array.from({ length: 23 }, (_, i) => api.post(APPS, application(`app-${String(i).padStart(2, '0')}`))));
  await api.post(`${ENVS}/env-other/applications`, application('app-elsewhere'));
});
afterAll(async () => api.close());

const names = (body: any): string[] => body.items.map((a: any) => a.metadata.name);

/** Every page of a list, page=0,1,2… until an empty one, as a client walks it. */
async function walk(client: Pick<TestApi, 'get'>, sort: string, size: number): Promise<any[]> {
  const pages = [];
  for (let page = 0; ; page++) {
    const res = await client.get(`${APPS}?page=${page}&size=${size}${sort ? `&${sort}` : ''}`);
    expect(res.status).toBe(200);
    pages.push(res.body);
    if (res.body.items.length === 0) return pages;
  }
}

describe('application lists', () => {
  it.each(SORTS)('walking the pages in order (%s) gives each page as asking for it alone does', async (sort) => {
    const walked = await walk(api, sort, 4);
    // a second API on the same database has served no pages: each of its answers is an OFFSET query
    const fresh = await startApi({ databaseUrl: api.databaseUrl });
    try {
      for (const [page, body] of walked.entries()) {
        const alone = await fresh.get(`${APPS}?page=${page}&size=4${sort ? `&${sort}` : ''}`);
        expect(alone.body).toEqual(body);
      }
    } finally {
      await fresh.close();
    }
    const all = walked.flatMap(names);
    expect(all).toHaveLength(23);
    expect(new Set(all).size).toBe(23);
    expect(walked[0].metadata.size).toBe(23);
  });

  it('a page after a write reflects the write, as asking for it alone does', async () => {
    const first = await api.get(`${APPS}?page=0&size=5&sort=name`);
    expect(names(first.body)).toEqual(['app-00', 'app-01', 'app-02', 'app-03', 'app-04']);
    await api.post(APPS, application('app-000'));
    const second = await api.get(`${APPS}?page=1&size=5&sort=name`);
    expect(names(second.body)).toEqual(['app-04', 'app-05', 'app-06', 'app-07', 'app-08']);
    expect(second.body.metadata.size).toBe(24);
  });

  it('the total follows applications as they are created and removed', async () => {
    await api.post(ENVS, environment('env-count', 'ns-count'));
    const total = async () => (await api.get(`${ENVS}/env-count/applications?size=1`)).body.metadata.size;
    expect(await total()).toBe(0);
    await Promise.all(['a-one', 'a-two', 'a-three'].map((n) => api.post(`${ENVS}/env-count/applications`, application(n))));
    await api.post(`${ENVS}/env-count/applications`, application('a-two', { flinkConfiguration: { changed: 'yes' } }));
    expect(await total()).toBe(3);
    // the controller's last step of a deletion removes the row
    await query(api.databaseUrl, `DELETE FROM "Application" WHERE name = 'a-one'`);
    expect(await total()).toBe(2);
    const res = await api.get(`${ENVS}/env-count/applications?page=5&size=1`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ items: [], metadata: { size: 2 } });
  });
});
