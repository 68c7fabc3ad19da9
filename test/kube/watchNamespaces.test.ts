/**
 * CMF_WATCH_NAMESPACES: a drey scoped to some namespaces lists and watches only there, never
 * touches Namespace objects, and refuses environments elsewhere. Its controllers run with the
 * rights the chart's namespaced install gives (a Role per namespace, no ClusterRole), which the
 * simulated API server enforces with kube-apiserver's 403s, so a cluster-wide call fails here as it
 * would in a cluster.
 */
import { ConfigError } from '../../src/config.js';
import { kubeConfigFromString } from '../../src/kube/connection.js';
import { FlinkDeployments } from '../../src/kube/flinkDeployments.js';
import { NAMESPACED_RULES } from '../../src/kube/rbac.js';
import { namespaceScope, NamespaceScope } from '../../src/kube/scope.js';
import { eventually, startDrey, type TestDrey } from '../support/drey.js';
import { application, environment } from '../support/fixtures.js';

const ENVS = '/cmf/api/v1/environments';
const WATCHED = ['flink-a', 'flink-b'];

describe('CMF_WATCH_NAMESPACES', () => {
  it('reads a comma-separated list of namespace names, empty meaning every namespace', () => {
    expect(namespaceScope({}).all).toBe(true);
    expect(namespaceScope({ CMF_WATCH_NAMESPACES: '' }).all).toBe(true);
    expect(namespaceScope({ CMF_WATCH_NAMESPACES: ' flink-a, flink-b ,flink-a,' }).namespaces).toEqual(['flink-a', 'flink-b']);
    for (const bad of ['Flink', 'flink_a', '-a', 'a-', 'x'.repeat(64), 'a b']) {
      expect(() => namespaceScope({ CMF_WATCH_NAMESPACES: bad })).toThrow(ConfigError);
    }
    expect(() => namespaceScope({ CMF_WATCH_NAMESPACES: 'ok,Bad' })).toThrow("CMF_WATCH_NAMESPACES must list namespace names (lower case, digits and '-', at most 63), not 'Bad'");
  });

  it('says which namespaces it manages and why it refuses another', () => {
    const scope = new NamespaceScope(WATCHED);
    expect(scope.includes('flink-b')).toBe(true);
    expect(scope.refusal('flink-a')).toBeUndefined();
    expect(scope.refusal('flink-c')).toBe("namespace 'flink-c' is not one drey manages (CMF_WATCH_NAMESPACES: flink-a, flink-b)");
    expect(NamespaceScope.ALL.refusal('anything')).toBeUndefined();
  });
});

describe('a drey scoped to two namespaces', () => {
  let t: TestDrey;
  /** The cluster administrator: sees every namespace. */
  let admin: FlinkDeployments;
  /** What the chart's Roles give drey's service account. */
  let scoped: FlinkDeployments;

  beforeAll(async () => {
    t = await startDrey({ CMF_WATCH_NAMESPACES: WATCHED.join(',') });
    const server = t.drey.sim!.apiServer;
    admin = new FlinkDeployments({ kubeConfig: kubeConfigFromString(server.kubeconfig(), 'scope-admin') });
    const grant = { user: 'system:serviceaccount:drey:drey', rules: NAMESPACED_RULES, namespaces: WATCHED };
    scoped = new FlinkDeployments({ kubeConfig: kubeConfigFromString(server.kubeconfigFor(grant), 'scope-test'), scope: new NamespaceScope(WATCHED) });
    // the administrator makes the namespaces (the chart puts drey's Roles in them); drey makes none when scoped
    for (const ns of [...WATCHED, 'flink-c']) await admin.ensureNamespace(ns, {});
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('is refused what a Role per namespace does not give, with kube-apiserver’s words', async () => {
    await expect(scoped.listAll('flink-a')).resolves.toMatchObject({ items: [] });
    await expect(scoped.listAll()).rejects.toMatchObject({
      code: 403,
      message: expect.stringContaining(
        'flinkdeployments.flink.apache.org is forbidden: User "system:serviceaccount:drey:drey" cannot list resource "flinkdeployments" in API group "flink.apache.org" at the cluster scope',
      ),
    });
    await expect(scoped.listAll('flink-c')).rejects.toMatchObject({ code: 403, message: expect.stringContaining('in the namespace "flink-c"') });
    // in its namespaces too, only what the rules name: reads come from the cache, so not even get
    await expect(scoped.get('flink-a', 'anything')).rejects.toMatchObject({
      code: 403,
      message: expect.stringContaining('flinkdeployments.flink.apache.org "anything" is forbidden: User "system:serviceaccount:drey:drey" cannot get resource "flinkdeployments" in API group "flink.apache.org" in the namespace "flink-a"'),
    });
  });

  it('refuses an environment in another namespace (400, as the contract lists) and stores nothing', async () => {
    const res = await t.post(ENVS, environment('elsewhere', 'flink-c'));
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ message: "Environment 'elsewhere': namespace 'flink-c' is not one drey manages (CMF_WATCH_NAMESPACES: flink-a, flink-b)" }]);
    expect((await t.get(`${ENVS}/elsewhere`)).status).toBe(404);
  });

  it('refuses to move an environment to another namespace (400) and keeps it as it was', async () => {
    expect((await t.post(ENVS, environment('moving', 'flink-b'))).status).toBe(201);
    expect((await t.post(ENVS, environment('moving', 'flink-c'))).status).toBe(400);
    expect((await t.get(`${ENVS}/moving`)).body.kubernetesNamespace).toBe('flink-b');
  });

  it('runs an application in a watched namespace with no call the Roles refuse', async () => {
    expect((await t.post(ENVS, environment('team-a', 'flink-a'))).status).toBe(201);
    expect((await t.post(`${ENVS}/team-a/applications`, application('orders'))).status).toBe(201);
    await eventually('the application running', async () => {
      const status = (await t.get(`${ENVS}/team-a/applications/orders`)).body?.status;
      return status?.jobStatus?.state === 'RUNNING' ? status : undefined;
    });
    expect(await admin.get('flink-a', 'orders')).toBeDefined();
    // drey's own calls: none refused, none on Namespace objects (it never reads or makes them when scoped)
    const drey = t.drey.sim!.apiServer.requestCounts().filter((r) => r.userAgent.endsWith(' controllers'));
    expect(drey.filter((r) => r.code === 403)).toEqual([]);
    expect(drey.filter((r) => r.resource === 'namespaces')).toEqual([]);
    expect(drey.filter((r) => r.verb === 'WATCH' && r.resource === 'flinkdeployments').length).toBeGreaterThan(0);
  });

  it('records on the application, and writes nothing to the cluster, when its environment names a namespace no longer watched', async () => {
    // an environment made before the scope was narrowed: written as an earlier drey would have
    await t.prisma.$executeRaw`
      INSERT INTO "Environment" (id, name, "kubernetesNamespace", "flinkApplicationDefaults", "computePoolDefaults", "statementDefaults", version, "createdAt", "updatedAt")
      SELECT gen_random_uuid(), 'legacy', 'flink-c', "flinkApplicationDefaults", "computePoolDefaults", "statementDefaults", 1, now(), now()
      FROM "Environment" WHERE name = 'team-a'`;
    expect((await t.post(`${ENVS}/legacy/applications`, application('old-job'))).status).toBe(201);
    const status = await eventually('the refusal recorded', async () => {
      const s = (await t.get(`${ENVS}/legacy/applications/old-job`)).body?.status;
      return typeof s?.error === 'string' ? s : undefined;
    });
    expect(status.error).toContain("namespace 'flink-c' is not one drey manages (CMF_WATCH_NAMESPACES: flink-a, flink-b)");
    expect(await admin.get('flink-c', 'old-job')).toBeUndefined();
  });

  it('deletes an application there that never ran, and keeps one that ran, saying why, rather than orphan its FlinkDeployment', async () => {
    // 'old-job' was refused before anything reached the cluster: nothing to lose sight of
    expect((await t.delete(`${ENVS}/legacy/applications/old-job`)).status).toBe(200);
    await eventually('old-job gone', async () => ((await t.get(`${ENVS}/legacy/applications/old-job`)).status === 404 ? true : undefined));
    // 'ran-here' had a FlinkDeployment applied when drey still watched flink-c
    expect((await t.post(`${ENVS}/legacy/applications`, application('ran-here'))).status).toBe(201);
    // once its reconcile has recorded the refusal it writes nothing more, so the hash set below stays
    await eventually('ran-here reconciled', async () => ((await t.get(`${ENVS}/legacy/applications/ran-here`)).body?.status?.error ? true : undefined));
    await t.prisma.$executeRaw`UPDATE "Application" SET "deployedSpecHash" = 'applied-by-an-earlier-drey' WHERE name = 'ran-here'`;
    expect((await t.delete(`${ENVS}/legacy/applications/ran-here`)).status).toBe(200);
    const status = await eventually('the deletion held up', async () => {
      const s = (await t.get(`${ENVS}/legacy/applications/ran-here`)).body?.status;
      return typeof s?.error === 'string' && s.error.startsWith('cannot delete') ? s : undefined;
    });
    expect(status.error).toBe(
      "cannot delete FlinkDeployment flink-c/ran-here: namespace 'flink-c' is not one drey manages (CMF_WATCH_NAMESPACES: flink-a, flink-b)",
    );
    expect((await t.get(`${ENVS}/legacy/applications/ran-here`)).status).toBe(200);
  });

  it('sees FlinkDeployments in watched namespaces only', async () => {
    // a FlinkDeployment labelled as drey's, in a namespace drey does not watch: not drey's to delete as a stray
    const stray = (ns: string) => ({
      apiVersion: 'flink.apache.org/v1beta1',
      kind: 'FlinkDeployment',
      metadata: {
        name: 'stray',
        namespace: ns,
        labels: { 'app.kubernetes.io/managed-by': 'drey' },
        annotations: { 'drey.dev/environment': 'team-a', 'drey.dev/application': 'gone' },
      },
      spec: application('stray').spec,
    });
    await admin.apply(stray('flink-c') as never, 'scope-test');
    await admin.apply(stray('flink-a') as never, 'scope-test');
    // drey deletes the stray it can see, in flink-a, and never touches the one in flink-c
    await eventually('the watched stray deleted', async () => ((await admin.get('flink-a', 'stray')) ? undefined : true));
    expect(await admin.get('flink-c', 'stray')).toBeDefined();
    // nothing drey sent was refused, so nothing went to flink-c (its grant covers flink-a and flink-b only)
    const refused = t.drey.sim!.apiServer.requestCounts().filter((r) => r.userAgent.endsWith(' controllers') && r.code === 403);
    expect(refused).toEqual([]);
  });
});
