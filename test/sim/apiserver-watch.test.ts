import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, Watch, makeInformer, setHeaderOptions } from '@kubernetes/client-node';
import { createLogger } from '../../src/log.js';
import { SimApiServer } from '../../src/sim/apiserver/index.js';
import { sharedCrd } from '../support/crd.js';
import { eventually } from '../support/eventually.js';

const crd = sharedCrd();
if (!crd) process.stderr.write('\nSKIPPED simulated apiserver watch tests: reference/flinkdeployments.flink.apache.org-v1.yml is missing (set DREY_SHARED_DIR)\n');
const describeIf = crd ? describe : describe.skip;

const G = 'flink.apache.org';
const V = 'v1beta1';
const P = 'flinkdeployments';
const log = createLogger('error');

function flinkDeployment(name: string, namespace: string, labels: Record<string, string> = {}): any {
  return {
    apiVersion: `${G}/${V}`,
    kind: 'FlinkDeployment',
    metadata: { name, namespace, labels },
    spec: { image: 'flink:1.19', flinkVersion: 'v1_19', serviceAccount: 'flink', job: { jarURI: 'local:///job.jar', parallelism: 1, upgradeMode: 'stateless' } },
  };
}


async function failure(call: Promise<unknown>): Promise<{ code: number; status: any }> {
  try {
    await call;
  } catch (err) {
    const e = err as { code?: number; body?: unknown };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, status: typeof e.body === 'string' ? JSON.parse(e.body) : e.body };
  }
  throw new Error('expected the call to fail');
}

interface Client {
  kc: KubeConfig;
  custom: CustomObjectsApi;
  core: CoreV1Api;
}

function client(s: SimApiServer): Client {
  const kc = new KubeConfig();
  kc.loadFromString(s.kubeconfig());
  return { kc, custom: kc.makeApiClient(CustomObjectsApi), core: kc.makeApiClient(CoreV1Api) };
}

/** Events of one watch, and how it ended. */
class Recorder {
  events: { type: string; object: any }[] = [];
  ended: { err: any } | undefined;
  controller: AbortController | undefined;

  static async start(c: Client, urlPath: string, query: Record<string, string | number | boolean>): Promise<Recorder> {
    const r = new Recorder();
    r.controller = await new Watch(c.kc).watch(
      urlPath,
      query,
      (type, object) => r.events.push({ type, object }),
      (err) => {
        r.ended = { err };
      },
    );
    return r;
  }

  summary(): string[] {
    return this.events.map((e) => `${e.type} ${e.object?.metadata?.name ?? e.object?.reason ?? ''}`);
  }

  stop(): void {
    this.controller?.abort();
  }
}

let server: SimApiServer;
let c: Client;
const collection = (namespace: string) => `/apis/${G}/${V}/namespaces/${namespace}/${P}`;

beforeAll(async () => {
  if (!crd) return;
  server = await SimApiServer.start({ log, crds: [crd], historyLimit: 50 });
  c = client(server);
  for (const name of ['w1', 'w2', 'w3', 'inf', 'faults']) await c.core.createNamespace({ body: { metadata: { name } } });
});
afterAll(async () => {
  await server?.close();
});

describeIf('the simulated apiserver: watch', () => {
  it('replays the changes after a resourceVersion, then streams new ones', async () => {
    const a: any = await c.custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'w1', plural: P, body: flinkDeployment('a', 'w1') });
    await c.custom.patchNamespacedCustomObject(
      { group: G, version: V, namespace: 'w1', plural: P, name: 'a', body: { spec: { image: 'flink:1.20' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await c.custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'w1', plural: P, body: flinkDeployment('b', 'w1') });
    const w = await Recorder.start(c, collection('w1'), { resourceVersion: a.metadata.resourceVersion });
    await eventually('the replay', () => w.events.length >= 2);
    await c.custom.deleteNamespacedCustomObject({ group: G, version: V, namespace: 'w1', plural: P, name: 'b' });
    await eventually('the deletion', () => w.events.length >= 3);
    w.stop();
    expect(w.summary()).toEqual(['MODIFIED a', 'ADDED b', 'DELETED b']);
    expect(w.events[0]!.object.spec.image).toBe('flink:1.20');
    const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
    expect([...rvs].sort((x, y) => x - y)).toEqual(rvs);
  });

  it('starts with ADDED for current objects when no resourceVersion is given, filtered by labels, and turns label changes into ADDED and DELETED', async () => {
    await c.custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'w2', plural: P, body: flinkDeployment('x', 'w2', { app: 'yes' }) });
    await c.custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'w2', plural: P, body: flinkDeployment('y', 'w2', { app: 'no' }) });
    const w = await Recorder.start(c, collection('w2'), { labelSelector: 'app=yes' });
    await eventually('the initial events', () => w.events.length >= 1);
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    await c.custom.patchNamespacedCustomObject({ group: G, version: V, namespace: 'w2', plural: P, name: 'y', body: { metadata: { labels: { app: 'yes' } } } }, merge);
    await c.custom.patchNamespacedCustomObject({ group: G, version: V, namespace: 'w2', plural: P, name: 'x', body: { metadata: { labels: { app: 'no' } } } }, merge);
    await eventually('the label changes', () => w.events.length >= 3);
    w.stop();
    expect(w.summary()).toEqual(['ADDED x', 'ADDED y', 'DELETED x']);
  });

  it('filters watches by field selector, ends them after timeoutSeconds and sends bookmarks', async () => {
    await c.custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'w3', plural: P, body: flinkDeployment('p', 'w3') });
    await c.custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'w3', plural: P, body: flinkDeployment('q', 'w3') });
    const started = Date.now();
    const w = await Recorder.start(c, `/apis/${G}/${V}/${P}`, {
      fieldSelector: 'metadata.name=q',
      timeoutSeconds: 1,
      allowWatchBookmarks: true,
      sendInitialEvents: true,
      resourceVersionMatch: 'NotOlderThan',
    });
    await eventually('the server to end the watch', () => w.ended, 3000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(w.ended!.err).toBeNull();
    expect(w.summary()).toEqual(['ADDED q', 'BOOKMARK ']);
    expect(w.events[1]!.object.metadata.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
  });

  it('answers a watch from a compacted resourceVersion with an ERROR event carrying 410 Expired', async () => {
    const old: any = await c.custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'w1', plural: P, body: flinkDeployment('old', 'w1') });
    await c.core.createNamespacedConfigMap({ namespace: 'w1', body: { metadata: { name: 'bump' } } });
    server.compactHistory();
    const w = await Recorder.start(c, collection('w1'), { resourceVersion: old.metadata.resourceVersion });
    await eventually('the stream to end', () => w.ended);
    expect(w.events).toHaveLength(1);
    expect(w.events[0]!.type).toBe('ERROR');
    expect(w.events[0]!.object).toMatchObject({ kind: 'Status', status: 'Failure', code: 410, reason: 'Expired' });
    expect(w.events[0]!.object.message).toMatch(new RegExp(`^too old resource version: ${old.metadata.resourceVersion} \\(\\d+\\)$`));
  });

  it('makes an informer relist after 410 Gone and reconnect after dropped watches', async () => {
    let lists = 0;
    let connects = 0;
    const listFn = async () => {
      lists += 1;
      return (await c.custom.listNamespacedCustomObject({ group: G, version: V, namespace: 'inf', plural: P })) as any;
    };
    const informer = makeInformer<any>(c.kc, collection('inf'), listFn);
    informer.on('connect', () => (connects += 1));
    let stopping = false;
    // the documented client-node pattern: an informer stops on a watch error until started again
    informer.on('error', () => setTimeout(() => stopping || void informer.start(), 20));
    await c.custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'inf', plural: P, body: flinkDeployment('first', 'inf') });
    await informer.start();
    await eventually('the first object', () => informer.get('first', 'inf'));
    expect(lists).toBe(1);

    server.dropWatches();
    await eventually('a reconnect', () => connects >= 2);
    await c.custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'inf', plural: P, body: flinkDeployment('after-drop', 'inf') });
    await eventually('the object created after the drop', () => informer.get('after-drop', 'inf'));

    await c.core.createNamespacedConfigMap({ namespace: 'inf', body: { metadata: { name: 'bump' } } });
    server.dropWatches();
    server.compactHistory();
    await c.custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'inf', plural: P, body: flinkDeployment('after-compaction', 'inf') });
    await eventually('the object created after the compaction', () => informer.get('after-compaction', 'inf'));
    await eventually('a relist', () => lists >= 2);
    stopping = true;
    await informer.stop();
    expect(informer.list('inf').map((o) => o.metadata.name).sort()).toEqual(['after-compaction', 'after-drop', 'first']);
  });
});

/** A GET with the kubeconfig's CA and token; `giveUp()` ends it from the client's side, as a client timeout would. */
function rawGet(s: SimApiServer, kc: KubeConfig, urlPath: string): { answer: Promise<number | 'given up'>; giveUp: () => void } {
  let giveUp = (): void => undefined;
  const answer = new Promise<number | 'given up'>((resolve, reject) => {
    const req = request(new URL(urlPath, s.url), {
      ca: Buffer.from(kc.getCurrentCluster()!.caData!, 'base64'),
      headers: { Authorization: `Bearer ${kc.getCurrentUser()!.token}` },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', (err) => {
      if (!req.destroyed) reject(err);
    });
    giveUp = () => {
      req.destroy();
      resolve('given up');
    };
    req.end();
  });
  return { answer, giveUp };
}

describeIf('the simulated apiserver: faults', () => {
  beforeAll(async () => {
    await c.custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'faults', plural: P, body: flinkDeployment('f', 'faults') });
  });
  afterEach(() => server.faults.clear());

  const get = () => c.custom.getNamespacedCustomObject({ group: G, version: V, namespace: 'faults', plural: P, name: 'f' });

  it('answers an injected 500 as an InternalError Status, as many times as asked', async () => {
    const hits = server.faults.hits;
    server.faults.add({ method: 'GET', resource: P, name: 'f', status: 500, times: 2 });
    for (let i = 0; i < 2; i++) {
      const failed = await failure(get());
      expect(failed.code).toBe(500);
      expect(failed.status).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 });
    }
    expect(((await get()) as any).metadata.name).toBe('f');
    expect(server.faults.hits - hits).toBe(2);
  });

  it('answers an injected 409 on PATCH with the real Conflict message and leaves other verbs alone', async () => {
    server.faults.add({ method: 'PATCH', resource: P, status: 409 });
    await get();
    const failed = await failure(
      c.custom.patchNamespacedCustomObject(
        { group: G, version: V, namespace: 'faults', plural: P, name: 'f', body: { spec: { image: 'x' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(failed.code).toBe(409);
    expect(failed.status.message).toBe(
      'Operation cannot be fulfilled on flinkdeployments.flink.apache.org "f": the object has been modified; please apply your changes to the latest version and try again',
    );
    expect(((await get()) as any).spec.image).toBe('flink:1.19');
  });

  it('delays requests, and hangs them until the client gives up', async () => {
    server.faults.add({ method: 'GET', resource: P, delayMs: 300 });
    const started = Date.now();
    await get();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);

    // the client gives up once the server holds its request (a client timeout could fire before the
    // request even arrived, and leave the rule for the next one)
    server.faults.add({ method: 'GET', resource: P, name: 'f', hang: true });
    const hits = server.faults.hits;
    const hung = rawGet(server, c.kc, `${collection('faults')}/f`);
    await eventually('the server to hold the request', () => server.faults.hits > hits);
    hung.giveUp();
    expect(await hung.answer).toBe('given up');
    expect(server.faults.hits - hits).toBe(1);
    expect(await rawGet(server, c.kc, `${collection('faults')}/f`).answer).toBe(200);
  });

  it('fails watches with WATCH rules and keeps rules with times: Infinity until cleared', async () => {
    server.faults.add({ method: 'WATCH', resource: P, status: 503, times: Infinity });
    for (let i = 0; i < 3; i++) {
      const w = await Recorder.start(c, collection('faults'), {});
      await eventually('the refused watch', () => w.ended);
      expect(w.ended!.err.statusCode).toBe(503);
    }
    await get();
    server.faults.clear();
    const w = await Recorder.start(c, collection('faults'), {});
    await eventually('the initial event', () => w.events.length >= 1);
    w.stop();
    expect(w.summary()).toEqual(['ADDED f']);
  });
});

describeIf('the simulated apiserver: state file', () => {
  it('keeps objects and the resourceVersion counter across a restart', async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'drey-sim-'));
    const stateFile = path.join(tmp, 'cluster', 'objects.json');
    try {
      const first = await SimApiServer.start({ log, crds: [crd], stateFile });
      const one = client(first);
      await one.core.createNamespace({ body: { metadata: { name: 'kept' } } });
      const created: any = await one.custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'kept', plural: P, body: flinkDeployment('kept', 'kept') });
      await first.close();
      expect(existsSync(stateFile)).toBe(true);

      const second = await SimApiServer.start({ log, crds: [crd], stateFile });
      try {
        const two = client(second);
        const read: any = await two.custom.getNamespacedCustomObject({ group: G, version: V, namespace: 'kept', plural: P, name: 'kept' });
        expect(read.metadata).toMatchObject({ uid: created.metadata.uid, resourceVersion: created.metadata.resourceVersion, generation: 1 });
        expect((await two.core.readNamespace({ name: 'kept' })).status?.phase).toBe('Active');
        const next: any = await two.custom.createNamespacedCustomObject({ group: G, version: V, namespace: 'kept', plural: P, body: flinkDeployment('next', 'kept') });
        expect(Number(next.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
        const w = await Recorder.start(two, collection('kept'), { resourceVersion: String(Number(created.metadata.resourceVersion) - 1) });
        await eventually('the stream to end', () => w.ended);
        expect(w.events[0]!.object.code).toBe(410);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
