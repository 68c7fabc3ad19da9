/**
 * Many clients writing the same object at once: optimistic concurrency must turn the race into
 * a sequence of writes, never a 5xx, a duplicate row, or an instance or event that no stored
 * change accounts for.
 */
import { application, computePool, environment, secret, statement } from '../support/fixtures.js';
import { startApi, type TestApi, type TestResponse } from '../support/api.js';
import { storedSecretData } from '../support/keyring.js';

const ENVS = '/cmf/api/v1/environments';
const ENV = 'env-race';
const APPS = `${ENVS}/${ENV}/applications`;
const PARALLEL = 50;

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => api.close());

/** Sends `count` requests at once and waits for all of them. */
function together(count: number, send: (i: number) => Promise<TestResponse>): Promise<TestResponse[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => send(i)));
}

/** How many responses had each status, e.g. `{ 201: 50 }`. */
function statusCounts(responses: TestResponse[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of responses) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

/** The bodies of the responses that were not the expected status, to show in a failure. */
function unexpected(responses: TestResponse[], status: number): string[] {
  return responses.filter((r) => r.status !== status).map((r) => `${r.status} ${r.text.slice(0, 300)}`);
}

/** An application's instances and events as stored, oldest first. */
async function history(name: string) {
  const app = await api.prisma.application.findFirstOrThrow({ where: { name, environment: { name: ENV } } });
  const instances = await api.prisma.applicationInstance.findMany({ where: { applicationId: app.id }, orderBy: { seq: 'asc' } });
  const events = await api.prisma.applicationEvent.findMany({ where: { applicationId: app.id }, orderBy: { seq: 'asc' } });
  return { app, instances, events };
}

const parallelismOf = (spec: unknown): unknown => (spec as { job?: { parallelism?: unknown } }).job?.parallelism;

describe('concurrent writes', () => {
  it('50 parallel create-or-update POSTs of one environment all answer 201 and store exactly one row', async () => {
    const responses = await together(PARALLEL, () => api.post(ENVS, environment(ENV, 'flink-race')));

    expect(unexpected(responses, 201)).toEqual([]);
    expect(statusCounts(responses)).toEqual({ 201: PARALLEL });
    expect(await api.prisma.environment.count()).toBe(1);
    const row = await api.prisma.environment.findUniqueOrThrow({ where: { name: ENV } });
    expect(row.kubernetesNamespace).toBe('flink-race');
    // Every caller saw the one environment that was created, not one of its own.
    const created = new Set(responses.map((r) => r.body.created_time));
    expect([...created]).toEqual([row.createdAt.toISOString()]);
    const list = await api.get(ENVS);
    expect(list.body.items.map((e: { name: string }) => e.name)).toEqual([ENV]);
  });

  it('50 parallel POSTs of one application with 5 distinct specs store one application and one instance per stored spec change', async () => {
    const K = 5;
    const parallelismFor = (i: number) => (i % K) + 1;
    const responses = await together(PARALLEL, (i) =>
      api.post(APPS, application('app-race', { job: { ...application().spec.job, parallelism: parallelismFor(i) } })),
    );

    expect(unexpected(responses, 201)).toEqual([]);
    expect(statusCounts(responses)).toEqual({ 201: PARALLEL });
    // Each caller is answered with the spec it sent: its own write, or an identical stored spec.
    responses.forEach((r, i) => expect({ i, parallelism: parallelismOf(r.body.spec) }).toEqual({ i, parallelism: parallelismFor(i) }));
    expect(new Set(responses.map((r) => r.body.metadata.uid)).size).toBe(1);

    expect(await api.prisma.application.count({ where: { name: 'app-race' } })).toBe(1);
    const { app, instances, events } = await history('app-race');

    // One creation, then one update per write that changed the stored spec; as only the spec
    // varies, every update brought a new instance, and each event names the instance it made.
    expect(events.map((e) => [e.type, e.message])).toEqual([
      ['CMF_STATUS', 'FlinkApplication created'],
      ...Array.from({ length: events.length - 1 }, () => ['CMF_STATUS', 'FlinkApplication updated']),
    ]);
    expect(instances).toHaveLength(events.length);
    expect(events.map((e) => e.instanceName)).toEqual(instances.map((inst) => inst.id));

    // No instance repeats the spec of the one before it: an instance means a real change.
    const sequence = instances.map((inst) => parallelismOf(inst.spec));
    sequence.slice(1).forEach((p, i) => expect({ at: i + 1, changedFrom: sequence[i], to: p }).not.toEqual({ at: i + 1, changedFrom: p, to: p }));
    // Every posted spec was stored at some point: a caller either wrote it or found it stored.
    expect(new Set(sequence)).toEqual(new Set(Array.from({ length: K }, (_, i) => i + 1)));
    expect(instances.length).toBeGreaterThanOrEqual(K);
    expect(instances.length).toBeLessThanOrEqual(PARALLEL);
    // The newest instance is what the application now holds.
    expect(instances[instances.length - 1]!.spec).toEqual(app.spec);

    // The API tells the same story.
    const listed = await api.get(`${APPS}/app-race/instances?size=100`);
    expect(listed.body.metadata.size).toBe(instances.length);
    expect(listed.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(instances.map((inst) => inst.id));
    const got = await api.get(`${APPS}/app-race`);
    expect(got.body.spec).toEqual(app.spec);
    const eventsListed = await api.get(`/cmf/api/v1alpha1/environments/${ENV}/applications/app-race/events?size=100`);
    expect(eventsListed.body.metadata.size).toBe(events.length);
  });

  it('50 parallel identical POSTs of one application store exactly one instance and one event', async () => {
    const responses = await together(PARALLEL, () => api.post(APPS, application('app-same')));

    expect(unexpected(responses, 201)).toEqual([]);
    expect(statusCounts(responses)).toEqual({ 201: PARALLEL });
    expect(new Set(responses.map((r) => r.body.metadata.uid)).size).toBe(1);
    expect(await api.prisma.application.count({ where: { name: 'app-same' } })).toBe(1);

    const { app, instances, events } = await history('app-same');
    expect(instances).toHaveLength(1);
    expect(instances[0]!.spec).toEqual(app.spec);
    expect(events.map((e) => [e.type, e.message, e.instanceName])).toEqual([['CMF_STATUS', 'FlinkApplication created', instances[0]!.id]]);
    expect(app.version).toBe(1);
  });

  it('50 parallel POSTs creating one secret store it once: one 200, the rest 409, no 5xx', async () => {
    const responses = await together(PARALLEL, (i) => api.post('/cmf/api/v1/secrets', secret('race-creds', { password: `value-${i}` })));

    expect(responses.filter((r) => r.status >= 500).map((r) => r.text)).toEqual([]);
    expect(statusCounts(responses)).toEqual({ 200: 1, 409: PARALLEL - 1 });
    const stored = await api.prisma.secret.findMany({ where: { name: 'race-creds' } });
    expect(stored).toHaveLength(1);
    // The stored data is the winner's.
    const winner = responses.findIndex((r) => r.status === 200);
    expect(await storedSecretData(api.prisma, api.keyring, 'race-creds')).toEqual({ password: `value-${winner}` });
    for (const r of responses.filter((x) => x.status === 409)) {
      expect(r.body).toEqual({ errors: [{ message: expect.stringMatching(/race-creds.*already exists/) }] });
    }
  });

  it('50 parallel POSTs creating one statement store it once: one 200, the rest 409, no 5xx', async () => {
    expect((await api.post(`${ENVS}/${ENV}/compute-pools`, computePool('pool-one'))).status).toBe(200);
    const responses = await together(PARALLEL, (i) => api.post(`${ENVS}/${ENV}/statements`, statement('race-stmt', `SELECT ${i}`)));

    expect(responses.filter((r) => r.status >= 500).map((r) => r.text)).toEqual([]);
    expect(statusCounts(responses)).toEqual({ 200: 1, 409: PARALLEL - 1 });
    const stored = await api.prisma.statement.findMany({ where: { name: 'race-stmt' } });
    expect(stored).toHaveLength(1);
    const winner = responses.findIndex((r) => r.status === 200);
    expect((stored[0]!.spec as { statement: string }).statement).toBe(`SELECT ${winner}`);
  });
});
