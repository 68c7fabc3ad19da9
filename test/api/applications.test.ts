import { application, environment } from '../support/fixtures.js';
import { startApi, type TestApi } from '../support/api.js';
import yaml from 'js-yaml';

const ENVS = '/cmf/api/v1/environments';
const apps = (env: string) => `${ENVS}/${env}/applications`;
const events = (env: string, app: string) => `/cmf/api/v1alpha1/environments/${env}/applications/${app}/events`;
let api: TestApi;

beforeAll(async () => {
  api = await startApi();
  await api.post(ENVS, environment('test', 'flink-test'));
  await api.post(
    ENVS,
    environment('with-defaults', 'flink-defaults', {
      flinkApplicationDefaults: {
        metadata: { labels: { team: 'data' } },
        spec: { flinkConfiguration: { 'taskmanager.numberOfTaskSlots': '4', 'state.backend.type': 'rocksdb' } },
      },
    }),
  );
});
afterAll(async () => api.close());

describe('applications', () => {
  it("accepts the contract's curl example verbatim (YAML body) with 201", async () => {
    const body = yaml.dump(application('curl-example'));
    const res = await api.request('POST', apps('test'), body, { headers: { 'Content-type': 'application/yaml' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ apiVersion: 'cmf.confluent.io/v1', kind: 'FlinkApplication', metadata: { name: 'curl-example' } });
    expect(res.body.spec.job.jarURI).toBe('local:///opt/flink/examples/streaming/StateMachineExample.jar');
    expect(res.body.metadata.creationTimestamp).toMatch(/Z$/);
  });

  it('create-or-update answers 201 both times and records an instance per spec change only', async () => {
    expect((await api.post(apps('test'), application('app-cou'))).status).toBe(201);
    expect((await api.post(apps('test'), application('app-cou'))).status).toBe(201);
    let instances = await api.get(`${apps('test')}/app-cou/instances`);
    expect(instances.body.items).toHaveLength(1);
    const changed = application('app-cou');
    changed.spec.job.parallelism = 5;
    expect((await api.post(apps('test'), changed)).status).toBe(201);
    instances = await api.get(`${apps('test')}/app-cou/instances`);
    expect(instances.body.items).toHaveLength(2);
    expect(instances.body.items[1].status.spec.job.parallelism).toBe(5);
    const ev = await api.get(events('test', 'app-cou'));
    expect(ev.body.items.map((e: any) => [e.status.type, e.status.message])).toEqual([
      ['CMF_STATUS', 'FlinkApplication created'],
      ['CMF_STATUS', 'FlinkApplication updated'],
    ]);
    expect(ev.body.items[1].metadata.flinkApplicationInstance).toBe(instances.body.items[1].metadata.name);
    expect(ev.body.items[0].apiVersion).toBe('cmf.confluent.io/v1alpha1');
  });

  it('merges environment defaults into the instance spec, the environment winning', async () => {
    const app = application('app-defaults');
    (app.spec as Record<string, unknown>).flinkConfiguration = { 'taskmanager.numberOfTaskSlots': '1', 'pipeline.name': 'mine' };
    await api.post(apps('with-defaults'), app);
    const instances = await api.get(`${apps('with-defaults')}/app-defaults/instances`);
    const spec = instances.body.items[0].status.spec;
    expect(spec.flinkConfiguration).toEqual({
      'taskmanager.numberOfTaskSlots': '4',
      'state.backend.type': 'rocksdb',
      'pipeline.name': 'mine',
    });
    const got = await api.get(`${apps('with-defaults')}/app-defaults`);
    expect(got.body.spec.flinkConfiguration).toEqual({ 'taskmanager.numberOfTaskSlots': '1', 'pipeline.name': 'mine' });
    const one = await api.get(`${apps('with-defaults')}/app-defaults/instances/${instances.body.items[0].metadata.name}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(instances.body.items[0]);
  });

  it('suspend and start set spec.job.state, each a new instance; repeating one changes nothing', async () => {
    await api.post(apps('test'), application('app-lifecycle'));
    const suspended = await api.post(`${apps('test')}/app-lifecycle/suspend`);
    expect(suspended.status).toBe(200);
    expect(suspended.body.spec.job.state).toBe('suspended');
    expect((await api.post(`${apps('test')}/app-lifecycle/suspend`)).status).toBe(200);
    const started = await api.post(`${apps('test')}/app-lifecycle/start`);
    expect(started.status).toBe(200);
    expect(started.body.spec.job.state).toBe('running');
    const instances = await api.get(`${apps('test')}/app-lifecycle/instances`);
    expect(instances.body.items.map((i: any) => i.status.spec.job.state)).toEqual(['running', 'suspended', 'running']);
  });

  it('returns the spec in the key order it was posted, so a YAML GET reads like the manifest', async () => {
    const app = application('app-order');
    const posted = Object.keys(app.spec);
    await api.post(apps('test'), app, { yaml: true });
    const got = await api.get(`${apps('test')}/app-order`, { acceptYaml: true });
    expect(Object.keys(got.body.spec)).toEqual(posted);
    expect(Object.keys(got.body.spec.job)).toEqual(Object.keys(app.spec.job));
  });

  it('start and suspend answer 404 for a missing application or environment', async () => {
    expect((await api.post(`${apps('test')}/app-missing/start`)).status).toBe(404);
    expect((await api.post(`${apps('nope-env')}/app-missing/suspend`)).status).toBe(404);
  });

  it('lists applications with paging', async () => {
    const res = await api.get(`${apps('test')}?page=0&size=2`);
    expect(res.status).toBe(200);
    expect(res.body.pageable).toMatchObject({ page: 0, size: 2 });
    expect(res.body.items).toHaveLength(2);
    expect(res.body.metadata.size).toBeGreaterThanOrEqual(3);
  });

  it('answers 404 for a missing application, instance, or environment', async () => {
    expect((await api.get(`${apps('test')}/app-missing`)).status).toBe(404);
    expect((await api.get(`${apps('nope-env')}`)).status).toBe(404);
    expect((await api.post(apps('nope-env'), application('app-x'))).status).toBe(404);
    await api.post(apps('test'), application('app-inst'));
    expect((await api.get(`${apps('test')}/app-inst/instances/00000000-0000-0000-0000-000000000000`)).status).toBe(404);
    expect((await api.get(`${apps('test')}/app-inst/instances/not-a-uuid`)).status).toBe(404);
    expect((await api.get(`${apps('test')}/app-missing/instances`)).status).toBe(404);
    expect((await api.get(events('test', 'app-missing'))).status).toBe(404);
  });

  it('answers 200 to a delete and marks the application; while its FlinkDeployment goes, changes are refused with 409', async () => {
    await api.post(apps('test'), application('app-delete'));
    expect((await api.delete(`${apps('test')}/app-delete`)).status).toBe(200);
    expect((await api.delete(`${apps('test')}/app-delete`)).status).toBe(200);
    expect((await api.get(`${apps('test')}/app-delete`)).status).toBe(200);
    const post = await api.post(apps('test'), application('app-delete'));
    expect(post.status).toBe(409);
    expect(post.body.errors[0].message).toBe("Application 'app-delete' is being deleted");
    expect((await api.post(`${apps('test')}/app-delete/suspend`)).status).toBe(409);
    const row = await api.prisma.application.findFirstOrThrow({ where: { name: 'app-delete' } });
    expect(row.deletionRequestedAt).toBeInstanceOf(Date);
    expect(await api.prisma.applicationInstance.count({ where: { applicationId: row.id } })).toBe(1);
    expect((await api.delete(`${apps('test')}/app-missing`)).status).toBe(404);
  });

  it('answers 422 for a metadata.namespace other than the environment namespace, storing nothing', async () => {
    const app = application('app-ns') as any;
    app.metadata.namespace = 'elsewhere';
    const res = await api.post(apps('test'), app);
    expect(res.status).toBe(422);
    expect((await api.get(`${apps('test')}/app-ns`)).status).toBe(404);
  });

  it('answers 422 to start an application without spec.job', async () => {
    const app = application('app-session') as any;
    delete app.spec.job;
    await api.post(apps('test'), app);
    expect((await api.post(`${apps('test')}/app-session/start`)).status).toBe(422);
  });

  it('keeps only the newest 100 instances and events', async () => {
    for (let p = 1; p <= 103; p++) {
      const app = application('app-many');
      app.spec.job.parallelism = p;
      await api.post(apps('test'), app);
    }
    const instances = await api.get(`${apps('test')}/app-many/instances?size=1000`);
    expect(instances.body.items).toHaveLength(100);
    expect(instances.body.items[0].status.spec.job.parallelism).toBe(4);
    expect(instances.body.items[99].status.spec.job.parallelism).toBe(103);
    const ev = await api.get(`${events('test', 'app-many')}?size=1000`);
    expect(ev.body.items).toHaveLength(100);
  });

  it('answers YAML when asked, for a list too', async () => {
    const res = await api.get(apps('test'), { acceptYaml: true });
    expect(res.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(Array.isArray(res.body.items)).toBe(true);
  });

  it('an environment holding an application cannot be deleted or moved to another namespace (409)', async () => {
    const del = await api.delete(`${ENVS}/test`);
    expect(del.status).toBe(409);
    expect(del.body.errors[0].message).toMatch(/applications .*curl-example/);
    const move = await api.post(ENVS, environment('test', 'another-ns'));
    expect(move.status).toBe(409);
    expect((await api.get(`${ENVS}/test`)).body.kubernetesNamespace).toBe('flink-test');
  });
});

