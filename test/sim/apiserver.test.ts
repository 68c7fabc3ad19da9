import { request } from 'node:https';
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { createLogger } from '../../src/log.js';
import { SimApiServer } from '../../src/sim/apiserver/index.js';
import { sharedCrd } from '../support/crd.js';

const crd = sharedCrd();
if (!crd) process.stderr.write('\nSKIPPED simulated apiserver tests: reference/flinkdeployments.flink.apache.org-v1.yml is missing (set DREY_SHARED_DIR)\n');
const describeIf = crd ? describe : describe.skip;

const G = 'flink.apache.org';
const V = 'v1beta1';
const P = 'flinkdeployments';

/** A FlinkDeployment that fits the CRD. */
function flinkDeployment(name: string, namespace = 'default', extra: Record<string, unknown> = {}): any {
  return {
    apiVersion: `${G}/${V}`,
    kind: 'FlinkDeployment',
    metadata: { name, namespace, ...extra },
    spec: {
      image: 'flink:1.19',
      flinkVersion: 'v1_19',
      flinkConfiguration: { 'taskmanager.numberOfTaskSlots': '2' },
      serviceAccount: 'flink',
      jobManager: { resource: { memory: '2048m', cpu: 1 } },
      taskManager: { resource: { memory: '2048m', cpu: 1 } },
      job: { jarURI: 'local:///opt/flink/examples/streaming/StateMachineExample.jar', parallelism: 2, upgradeMode: 'stateless' },
    },
  };
}

/** What a refused client-node call answered: its status code and the Status body. */
async function failure(call: Promise<unknown>): Promise<{ code: number; status: any }> {
  try {
    await call;
  } catch (err) {
    const e = err as { code?: number; body?: unknown };
    if (typeof e.code !== 'number') throw err;
    const status = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
    return { code: e.code, status };
  }
  throw new Error('expected the call to fail');
}

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

let server: SimApiServer;
let kc: KubeConfig;
let custom: CustomObjectsApi;
let core: CoreV1Api;

/** A request with the kubeconfig's CA and (unless `token: null`) its bearer token. */
function raw(method: string, urlPath: string, options: { body?: string | Buffer; headers?: Record<string, string>; token?: string | null } = {}): Promise<Raw> {
  const url = new URL(urlPath, server.url);
  const token = options.token === undefined ? kc.getCurrentUser()!.token : options.token;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: Buffer.from(kc.getCurrentCluster()!.caData!, 'base64'),
        headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(options.headers ?? {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode!, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const ns = (namespace: string) => `/apis/${G}/${V}/namespaces/${namespace}/${P}`;

const patchAs = (type: string) => setHeaderOptions('Content-Type', type);

beforeAll(async () => {
  if (!crd) return;
  server = await SimApiServer.start({ log: createLogger('error'), crds: [crd] });
  kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig());
  custom = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
});
afterAll(async () => {
  await server?.close();
});

describeIf('the simulated apiserver: access and discovery', () => {
  it('refuses requests without the bearer token with 401 Unauthorized, but answers health and version', async () => {
    const denied = await raw('GET', '/api/v1/namespaces', { token: null });
    expect(denied.status).toBe(401);
    expect(denied.json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
    expect((await raw('GET', '/api/v1/namespaces', { token: 'wrong' })).status).toBe(401);
    expect((await raw('GET', '/healthz', { token: null })).text).toBe('ok');
    expect((await raw('GET', '/version', { token: null })).json).toMatchObject({ major: '1', minor: '32' });
  });

  it('lists the FlinkDeployment CRD and the built-in kinds in discovery', async () => {
    const groups = (await raw('GET', '/apis')).json;
    expect(groups.kind).toBe('APIGroupList');
    expect(groups.groups.map((g: any) => g.name)).toEqual(expect.arrayContaining(['flink.apache.org', 'coordination.k8s.io']));
    const flink = (await raw('GET', `/apis/${G}/${V}`)).json;
    expect(flink.resources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: P, singularName: 'flinkdeployment', kind: 'FlinkDeployment', namespaced: true, shortNames: ['flinkdep'] }),
        expect.objectContaining({ name: `${P}/status`, verbs: ['get', 'patch', 'update'] }),
      ]),
    );
    const v1 = (await raw('GET', '/api/v1')).json;
    expect(v1.resources.map((r: any) => r.name)).toEqual(expect.arrayContaining(['namespaces', 'secrets', 'configmaps', 'events']));
  });

  it('answers unknown paths 404, wrong methods 405, malformed bodies 400 and huge bodies 413, always as a Status', async () => {
    const unknown = await raw('GET', '/apis/nope.example.com/v1/things');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
    const wrongMethod = await raw('POST', `${ns('default')}/x`, { body: '{}', headers: { 'Content-Type': 'application/json' } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.json).toMatchObject({ reason: 'MethodNotAllowed', code: 405 });
    const malformed = await raw('POST', ns('default'), { body: '{"apiVersion":', headers: { 'Content-Type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.json).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    const huge = await raw('POST', ns('default'), { body: Buffer.alloc(3 * 1024 * 1024 + 10, 'a'), headers: { 'Content-Type': 'application/json' } });
    expect(huge.status).toBe(413);
    expect(huge.json).toMatchObject({ kind: 'Status', code: 413 });
  });
});

describeIf('the simulated apiserver: objects', () => {
  it('creates, reads, lists, replaces and deletes a FlinkDeployment', async () => {
    const created: any = await custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, body: flinkDeployment('crud') });
    expect(created.metadata).toMatchObject({ name: 'crud', namespace: 'default', generation: 1 });
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Number(created.metadata.resourceVersion)).toBeGreaterThan(0);

    const got: any = await custom.getNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'crud' });
    expect(got.spec).toEqual(created.spec);

    const listed: any = await custom.listClusterCustomObject({ group: G, version: V, plural: P });
    expect(listed.kind).toBe('FlinkDeploymentList');
    expect(listed.items.map((i: any) => i.metadata.name)).toContain('crud');
    expect(Number(listed.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(created.metadata.resourceVersion));

    got.spec.job.parallelism = 4;
    const replaced: any = await custom.replaceNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'crud', body: got });
    expect(replaced.spec.job.parallelism).toBe(4);
    expect(Number(replaced.metadata.resourceVersion)).toBeGreaterThan(Number(got.metadata.resourceVersion));

    const duplicate = await failure(custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, body: flinkDeployment('crud') }));
    expect(duplicate.code).toBe(409);
    expect(duplicate.status).toMatchObject({ reason: 'AlreadyExists', message: 'flinkdeployments.flink.apache.org "crud" already exists' });

    const deleted: any = await custom.deleteNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'crud' });
    expect(deleted).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'crud', group: G, kind: P } });
    const gone = await failure(custom.getNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'crud' }));
    expect(gone.code).toBe(404);
    expect(gone.status).toMatchObject({ reason: 'NotFound', message: 'flinkdeployments.flink.apache.org "crud" not found', details: { name: 'crud', group: G, kind: P } });
  });

  it('refuses an update carrying a stale resourceVersion with the real Conflict message', async () => {
    const created: any = await custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, body: flinkDeployment('stale') });
    const first = structuredClone(created);
    first.spec.image = 'flink:1.20';
    await custom.replaceNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'stale', body: first });
    created.spec.image = 'flink:1.18';
    const refused = await failure(custom.replaceNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'stale', body: created }));
    expect(refused.code).toBe(409);
    expect(refused.status.reason).toBe('Conflict');
    expect(refused.status.message).toBe(
      'Operation cannot be fulfilled on flinkdeployments.flink.apache.org "stale": the object has been modified; please apply your changes to the latest version and try again',
    );
    const now: any = await custom.getNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'stale' });
    expect(now.spec.image).toBe('flink:1.20');
  });

  it('bumps generation on spec changes only, and keeps status and spec writes apart', async () => {
    const created: any = await custom.createNamespacedCustomObject({
      group: G,
      version: V,
      namespace: 'default',
      plural: P,
      body: { ...flinkDeployment('gen'), status: { lifecycleState: 'STABLE' } },
    });
    expect(created.status).toBeUndefined();
    expect(created.metadata.generation).toBe(1);

    const labelled: any = await custom.patchNamespacedCustomObject(
      { group: G, version: V, namespace: 'default', plural: P, name: 'gen', body: { metadata: { labels: { team: 'a' } } } },
      patchAs(PatchStrategy.MergePatch),
    );
    expect(labelled.metadata.generation).toBe(1);
    expect(Number(labelled.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));

    const status: any = await custom.patchNamespacedCustomObjectStatus(
      { group: G, version: V, namespace: 'default', plural: P, name: 'gen', body: { spec: { image: 'ignored' }, status: { lifecycleState: 'DEPLOYED', jobStatus: { state: 'RUNNING' } } } },
      patchAs(PatchStrategy.MergePatch),
    );
    expect(status.status).toEqual({ lifecycleState: 'DEPLOYED', jobStatus: { state: 'RUNNING' } });
    expect(status.spec.image).toBe('flink:1.19');
    expect(status.metadata.generation).toBe(1);
    expect(Number(status.metadata.resourceVersion)).toBeGreaterThan(Number(labelled.metadata.resourceVersion));

    const spec: any = await custom.patchNamespacedCustomObject(
      { group: G, version: V, namespace: 'default', plural: P, name: 'gen', body: { spec: { image: 'flink:1.20' }, status: { lifecycleState: 'FAILED' } } },
      patchAs(PatchStrategy.MergePatch),
    );
    expect(spec.metadata.generation).toBe(2);
    expect(spec.spec.image).toBe('flink:1.20');
    expect(spec.status.lifecycleState).toBe('DEPLOYED');

    const same: any = await custom.patchNamespacedCustomObject(
      { group: G, version: V, namespace: 'default', plural: P, name: 'gen', body: { spec: { image: 'flink:1.20' } } },
      patchAs(PatchStrategy.MergePatch),
    );
    expect(same.metadata.resourceVersion).toBe(spec.metadata.resourceVersion);

    const badStatus = await failure(
      custom.patchNamespacedCustomObjectStatus(
        { group: G, version: V, namespace: 'default', plural: P, name: 'gen', body: { status: { lifecycleState: 'SLEEPING' } } },
        patchAs(PatchStrategy.MergePatch),
      ),
    );
    expect(badStatus.code).toBe(422);
    expect(badStatus.status.details.causes).toEqual([expect.objectContaining({ reason: 'FieldValueNotSupported', field: 'status.lifecycleState' })]);
  });

  it('applies JSON patches (and answers 422 when a test operation fails) and refuses strategic merge patches on custom resources', async () => {
    await custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, body: flinkDeployment('jsonpatch') });
    const patched: any = await custom.patchNamespacedCustomObject(
      {
        group: G,
        version: V,
        namespace: 'default',
        plural: P,
        name: 'jsonpatch',
        body: [
          { op: 'test', path: '/spec/job/parallelism', value: 2 },
          { op: 'replace', path: '/spec/job/parallelism', value: 3 },
          { op: 'add', path: '/spec/job/args', value: ['--a'] },
          { op: 'add', path: '/spec/job/args/-', value: '--b' },
          { op: 'remove', path: '/spec/serviceAccount' },
          { op: 'add', path: '/metadata/labels', value: { 'app.kubernetes.io/name': 'x' } },
        ],
      },
      patchAs(PatchStrategy.JsonPatch),
    );
    expect(patched.spec.job).toMatchObject({ parallelism: 3, args: ['--a', '--b'] });
    expect(patched.spec.serviceAccount).toBeUndefined();
    expect(patched.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'x' });

    const failedTest = await failure(
      custom.patchNamespacedCustomObject(
        { group: G, version: V, namespace: 'default', plural: P, name: 'jsonpatch', body: [{ op: 'test', path: '/spec/job/parallelism', value: 99 }] },
        patchAs(PatchStrategy.JsonPatch),
      ),
    );
    expect(failedTest.code).toBe(422);

    const strategic = await failure(
      custom.patchNamespacedCustomObject(
        { group: G, version: V, namespace: 'default', plural: P, name: 'jsonpatch', body: { spec: { image: 'x' } } },
        patchAs(PatchStrategy.StrategicMergePatch),
      ),
    );
    expect(strategic.code).toBe(415);
    expect(strategic.status.reason).toBe('UnsupportedMediaType');
  });

  it('server-side apply removes fields the manager stopped applying and keeps fields another manager owns', async () => {
    const apply = (body: unknown, fieldManager: string) =>
      custom.patchNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'ssa', body, fieldManager, force: true }, patchAs(PatchStrategy.ServerSideApply));
    const first = flinkDeployment('ssa', 'default', { labels: { owner: 'drey', tier: 'gold' } });
    first.spec.job.args = ['--x'];
    const created: any = await apply(first, 'drey');
    expect(created.metadata.generation).toBe(1);
    expect(created.metadata.labels).toEqual({ owner: 'drey', tier: 'gold' });

    await apply({ apiVersion: `${G}/${V}`, kind: 'FlinkDeployment', metadata: { name: 'ssa', annotations: { note: 'ops' } }, spec: { restartNonce: 7 } }, 'ops');

    const second = flinkDeployment('ssa', 'default', { labels: { owner: 'drey' } });
    delete second.spec.job.args;
    const applied: any = await apply(second, 'drey');
    expect(applied.metadata.labels).toEqual({ owner: 'drey' });
    expect(applied.spec.job.args).toBeUndefined();
    expect(applied.spec.restartNonce).toBe(7);
    expect(applied.metadata.annotations).toEqual({ note: 'ops' });
    expect(applied.metadata.generation).toBe(3);

    const managers = applied.metadata.managedFields.map((m: any) => `${m.manager}/${m.operation}`);
    expect(managers.sort()).toEqual(['drey/Apply', 'ops/Apply']);
    const drey = applied.metadata.managedFields.find((m: any) => m.manager === 'drey');
    expect(drey).toMatchObject({ apiVersion: `${G}/${V}`, fieldsType: 'FieldsV1' });
    expect(drey.fieldsV1['f:spec']['f:job']['f:parallelism']).toEqual({});
    expect(drey.fieldsV1['f:spec']['f:job']['f:args']).toBeUndefined();
    expect(drey.fieldsV1['f:metadata']['f:labels']).toEqual({ 'f:owner': {} });

    const again: any = await apply(second, 'drey');
    expect(again.metadata.resourceVersion).toBe(applied.metadata.resourceVersion);

    const noManager = await failure(
      custom.patchNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'ssa', body: second }, patchAs(PatchStrategy.ServerSideApply)),
    );
    expect(noManager.code).toBe(422);
    expect(noManager.status.message).toContain('fieldManager: Required value');
  });

  it('accepts a YAML apply body', async () => {
    const text = yaml.dump(flinkDeployment('ssa-yaml'));
    const res = await raw('PATCH', `${ns('default')}/ssa-yaml?fieldManager=yaml-test`, { body: text, headers: { 'Content-Type': 'application/apply-patch+yaml' } });
    expect(res.status).toBe(201);
    expect(res.json.spec.flinkVersion).toBe('v1_19');
  });

  it('keeps an object with finalizers until the last one is removed, and refuses new finalizers while deleting', async () => {
    await custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, body: flinkDeployment('fin', 'default', { finalizers: ['drey.io/cleanup'] }) });
    const deleting: any = await custom.deleteNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'fin' });
    expect(deleting.kind).toBe('FlinkDeployment');
    expect(deleting.metadata.deletionTimestamp).toMatch(/Z$/);
    expect(deleting.metadata.deletionGracePeriodSeconds).toBe(0);
    const still: any = await custom.getNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'fin' });
    expect(still.metadata.deletionTimestamp).toBe(deleting.metadata.deletionTimestamp);

    const more = await failure(
      custom.patchNamespacedCustomObject(
        { group: G, version: V, namespace: 'default', plural: P, name: 'fin', body: { metadata: { finalizers: ['drey.io/cleanup', 'other.io/x'] } } },
        patchAs(PatchStrategy.MergePatch),
      ),
    );
    expect(more.code).toBe(422);
    expect(more.status.message).toContain('no new finalizers can be added if the object is being deleted');

    await custom.patchNamespacedCustomObject(
      { group: G, version: V, namespace: 'default', plural: P, name: 'fin', body: { metadata: { finalizers: null } } },
      patchAs(PatchStrategy.MergePatch),
    );
    expect((await failure(custom.getNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'fin' }))).code).toBe(404);
  });

  it('honours delete preconditions and dryRun', async () => {
    const created: any = await custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, body: flinkDeployment('pre') });
    const refused = await failure(
      custom.deleteNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'pre', body: { preconditions: { resourceVersion: '1' } } }),
    );
    expect(refused.code).toBe(409);
    await custom.deleteNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'pre', dryRun: 'All' });
    await custom.getNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'pre' });
    await custom.deleteNamespacedCustomObject({
      group: G,
      version: V,
      namespace: 'default',
      plural: P,
      name: 'pre',
      body: { preconditions: { resourceVersion: created.metadata.resourceVersion }, propagationPolicy: 'Foreground' },
    });
    expect((await failure(custom.getNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'pre' }))).code).toBe(404);

    const dry: any = await custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, body: flinkDeployment('dry'), dryRun: 'All' });
    expect(dry.metadata.uid).toBeDefined();
    expect((await failure(custom.getNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'dry' }))).code).toBe(404);
  });

  it('names objects from generateName and refuses a name that is not a DNS subdomain, or a mismatched name', async () => {
    const body = flinkDeployment('x');
    delete body.metadata.name;
    body.metadata.generateName = 'gen-';
    const created: any = await custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, body });
    expect(created.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);

    const bad = await failure(custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, body: flinkDeployment('Bad_Name') }));
    expect(bad.code).toBe(422);
    expect(bad.status.details.causes[0]).toMatchObject({ reason: 'FieldValueInvalid', field: 'metadata.name' });

    const mismatch = await raw('PUT', `${ns('default')}/one`, { body: JSON.stringify(flinkDeployment('two')), headers: { 'Content-Type': 'application/json' } });
    expect(mismatch.status).toBe(400);
  });

  it('answers 404 namespaces "x" not found when creating in a missing namespace, and deleting a namespace deletes what is in it', async () => {
    const missing = await failure(custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'nowhere', plural: P, body: flinkDeployment('a', 'nowhere') }));
    expect(missing.code).toBe(404);
    expect(missing.status).toMatchObject({ reason: 'NotFound', message: 'namespaces "nowhere" not found', details: { name: 'nowhere', kind: 'namespaces' } });

    const created = await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    expect(created.status?.phase).toBe('Active');
    await custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'doomed', plural: P, body: flinkDeployment('inside', 'doomed') });
    await core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'cm' }, data: { a: 'b' } } });
    await core.deleteNamespace({ name: 'doomed' });
    expect((await failure(core.readNamespace({ name: 'doomed' }))).code).toBe(404);
    const left: any = await custom.listClusterCustomObject({ group: G, version: V, plural: P });
    expect(left.items.filter((i: any) => i.metadata.namespace === 'doomed')).toEqual([]);

    const forbidden = await failure(core.deleteNamespace({ name: 'default' }));
    expect(forbidden.code).toBe(403);
  });

  it('serves secrets, configmaps, events and leases', async () => {
    const secret = await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 's' }, stringData: { password: 'hunter2' } } });
    expect(secret.data).toEqual({ password: Buffer.from('hunter2').toString('base64') });
    expect(secret.type).toBe('Opaque');
    const cm = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cm' }, data: { k: 'v' } } });
    expect(cm.data).toEqual({ k: 'v' });
    const event = await core.createNamespacedEvent({
      namespace: 'default',
      body: { metadata: { generateName: 'fd.' }, involvedObject: { kind: 'FlinkDeployment', name: 'x', namespace: 'default' }, reason: 'Deployed', message: 'ok', type: 'Normal' },
    });
    expect(event.metadata?.name).toMatch(/^fd\./);
    const events = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=x,reason=Deployed' });
    expect(events.items).toHaveLength(1);

    const leases = kc.makeApiClient(CoordinationV1Api);
    const lease = await leases.createNamespacedLease({
      namespace: 'default',
      body: { metadata: { name: 'drey-leader' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: new Date() as any } },
    });
    lease.spec!.holderIdentity = 'b';
    const renewed = await leases.replaceNamespacedLease({ namespace: 'default', name: 'drey-leader', body: lease });
    expect(renewed.spec?.holderIdentity).toBe('b');
    const stale = await failure(leases.replaceNamespacedLease({ namespace: 'default', name: 'drey-leader', body: lease }));
    expect(stale.code).toBe(409);
  });
});

describeIf('the simulated apiserver: selectors', () => {
  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: 'sel' } } });
    const labels = [{ app: 'a', tier: 'web' }, { app: 'b', tier: 'db' }, { app: 'c' }];
    for (const [i, l] of labels.entries()) {
      await custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'sel', plural: P, body: flinkDeployment(`sel-${i}`, 'sel', { labels: l }) });
    }
  });

  it.each([
    ['app=a', ['sel-0']],
    ['app==b', ['sel-1']],
    ['app!=a', ['sel-1', 'sel-2']],
    ['app in (a,c)', ['sel-0', 'sel-2']],
    ['app notin (a)', ['sel-1', 'sel-2']],
    ['tier', ['sel-0', 'sel-1']],
    ['!tier', ['sel-2']],
    ['app in (a,b),tier=db', ['sel-1']],
  ])('labelSelector %s', async (labelSelector, expected) => {
    const list: any = await custom.listNamespacedCustomObject({ group: G, version: V, namespace: 'sel', plural: P, labelSelector });
    expect(list.items.map((i: any) => i.metadata.name)).toEqual(expected);
  });

  it('filters by metadata.name and metadata.namespace, and refuses bad selectors with 400', async () => {
    const byName: any = await custom.listClusterCustomObject({ group: G, version: V, plural: P, fieldSelector: 'metadata.name=sel-1' });
    expect(byName.items.map((i: any) => i.metadata.name)).toEqual(['sel-1']);
    const byNs: any = await custom.listClusterCustomObject({ group: G, version: V, plural: P, fieldSelector: 'metadata.namespace==sel,metadata.name!=sel-0' });
    expect(byNs.items.map((i: any) => i.metadata.name)).toEqual(['sel-1', 'sel-2']);
    expect((await failure(custom.listClusterCustomObject({ group: G, version: V, plural: P, labelSelector: 'app in (a' }))).code).toBe(400);
    expect((await failure(custom.listClusterCustomObject({ group: G, version: V, plural: P, fieldSelector: 'spec.image=x' }))).code).toBe(400);
  });
});

describeIf('the simulated apiserver: CRD schema validation', () => {
  it('accepts a valid FlinkDeployment', async () => {
    const created: any = await custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, body: flinkDeployment('valid') });
    expect(created.spec.jobManager.resource).toEqual({ memory: '2048m', cpu: 1 });
  });

  it('refuses a wrong enum value and a wrong type with 422 Invalid and one cause each', async () => {
    const body = flinkDeployment('invalid');
    body.spec.flinkVersion = 'v9';
    body.spec.job.parallelism = 'two';
    const refused = await failure(custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, body }));
    expect(refused.code).toBe(422);
    expect(refused.status.reason).toBe('Invalid');
    expect(refused.status.details).toMatchObject({ name: 'invalid', group: G, kind: 'FlinkDeployment' });
    expect(refused.status.details.causes).toEqual([
      {
        reason: 'FieldValueNotSupported',
        field: 'spec.flinkVersion',
        message: 'Unsupported value: "v9": supported values: "v1_13", "v1_14", "v1_15", "v1_16", "v1_17", "v1_18", "v1_19", "v1_20", "v2_0", "v2_1", "v2_2"',
      },
      {
        reason: 'FieldValueTypeInvalid',
        field: 'spec.job.parallelism',
        message: 'Invalid value: "string": spec.job.parallelism in body must be of type integer: "string"',
      },
    ]);
    expect(refused.status.message).toMatch(/^FlinkDeployment\.flink\.apache\.org "invalid" is invalid: \[spec\.flinkVersion: Unsupported value: "v9": supported values: /);
    expect((await failure(custom.getNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'invalid' }))).code).toBe(404);
  });

  it('accepts int-or-string fields either way and keeps unknown keys under preserve-unknown-fields', async () => {
    const body = flinkDeployment('intorstring');
    body.spec.flinkConfiguration = { anything: 'goes', nested: { deep: true } };
    const created: any = await custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, body });
    expect(created.spec.flinkConfiguration).toEqual({ anything: 'goes', nested: { deep: true } });
  });

  it('prunes unknown fields with a Warning header by default, and refuses them with fieldValidation=Strict', async () => {
    const body = flinkDeployment('pruned');
    body.spec.foo = 'bar';
    body.spec.job.bogus = 1;
    const res = await raw('POST', ns('default'), { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(201);
    expect(res.json.spec.foo).toBeUndefined();
    expect(res.json.spec.job.bogus).toBeUndefined();
    expect(res.headers.warning).toContain('299 - "unknown field \\"spec.foo\\""');

    body.metadata.name = 'strict';
    const strict = await raw('POST', `${ns('default')}?fieldValidation=Strict`, { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    expect(strict.status).toBe(400);
    expect(strict.json.message).toBe(
      'FlinkDeployment in version "v1beta1" cannot be handled as a FlinkDeployment: strict decoding error: unknown field "spec.foo", unknown field "spec.job.bogus"',
    );
  });
});

describeIf('the simulated apiserver: Table output', () => {
  it('answers a Table with the CRD printer columns when asked', async () => {
    await custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, body: flinkDeployment('table') });
    await custom.patchNamespacedCustomObjectStatus(
      { group: G, version: V, namespace: 'default', plural: P, name: 'table', body: { status: { lifecycleState: 'STABLE', jobStatus: { state: 'RUNNING' } } } },
      patchAs(PatchStrategy.MergePatch),
    );
    const accept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
    const list = (await raw('GET', `/apis/${G}/${V}/${P}?fieldSelector=metadata.name%3Dtable`, { headers: { Accept: accept } })).json;
    expect(list.kind).toBe('Table');
    expect(list.columnDefinitions.map((c: any) => c.name)).toEqual(['Name', 'Job Status', 'Lifecycle State']);
    expect(list.rows).toHaveLength(1);
    expect(list.rows[0].cells).toEqual(['table', 'RUNNING', 'STABLE']);
    expect(list.rows[0].object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: 'table', namespace: 'default' } });
    const one = (await raw('GET', `${ns('default')}/table?includeObject=Object`, { headers: { Accept: accept } })).json;
    expect(one.rows[0].object.spec.image).toBe('flink:1.19');
    const namespaces = (await raw('GET', '/api/v1/namespaces/default', { headers: { Accept: accept } })).json;
    expect(namespaces.columnDefinitions.map((c: any) => c.name)).toEqual(['Name', 'Status', 'Age']);
    expect(namespaces.rows[0].cells.slice(0, 2)).toEqual(['default', 'Active']);
  });
});
