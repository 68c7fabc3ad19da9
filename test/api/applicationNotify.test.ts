import pg from 'pg';
import { APPLICATION_CHANNEL } from '../../src/store/applications.js';
import { application, environment } from '../support/fixtures.js';
import { startApi, type TestApi } from '../support/api.js';

const ENVS = '/cmf/api/v1/environments';
const APPS = `${ENVS}/env-n/applications`;
let api: TestApi;
let listener: pg.Client;
const heard: string[] = [];

beforeAll(async () => {
  api = await startApi();
  await api.post(ENVS, environment('env-n', 'ns-n'));
  listener = new pg.Client({ connectionString: api.databaseUrl });
  await listener.connect();
  listener.on('notification', (n) => heard.push(n.payload ?? ''));
  await listener.query(`LISTEN ${APPLICATION_CHANNEL}`);
});
afterAll(async () => {
  await listener.end();
  await api.close();
});

/** What was heard on the channel by the time a request was answered (and a round trip later). */
async function heardDuring(request: () => Promise<unknown>): Promise<string[]> {
  heard.length = 0;
  await request();
  await listener.query('SELECT 1');
  return [...heard];
}

describe('application notifications', () => {
  it('every create, update, start, suspend and delete request tells listeners <environment>/<application>; an unchanged repost does not', async () => {
    expect(await heardDuring(() => api.post(APPS, application('app-n')))).toEqual(['env-n/app-n']);
    expect(await heardDuring(() => api.post(APPS, application('app-n')))).toEqual([]);
    expect(await heardDuring(() => api.post(APPS, application('app-n', { flinkConfiguration: { x: 'y' } })))).toEqual(['env-n/app-n']);
    expect(await heardDuring(() => api.post(`${APPS}/app-n/suspend`))).toEqual(['env-n/app-n']);
    expect(await heardDuring(() => api.post(`${APPS}/app-n/start`))).toEqual(['env-n/app-n']);
    expect(await heardDuring(() => api.delete(`${APPS}/app-n`))).toEqual(['env-n/app-n']);
  });

  it('concurrent writes are each heard', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `app-c${i}`);
    const got = await heardDuring(() => Promise.all(names.map((n) => api.post(APPS, application(n)))));
    expect([...got].sort()).toEqual(names.map((n) => `env-n/${n}`).sort());
  });
});
