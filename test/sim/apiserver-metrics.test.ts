import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '../../src/log.js';
import { SimApiServer } from '../../src/sim/apiserver/index.js';
import { permissiveFlinkDeploymentCrd } from '../../src/sim/crd.js';
import { findCommand } from '../support/process.js';
import { eventually } from '../support/eventually.js';

const G = 'flink.apache.org';
const V = 'v1beta1';
const P = 'flinkdeployments';
const CONTROLLERS = 'drey/0.1.0 controllers';
const OPERATOR = 'drey/0.1.0 sim-operator';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

let server: SimApiServer;
let kc: KubeConfig;

/** One request with the server's CA and token (unless `token: null`), as the given User-Agent. */
function raw(method: string, urlPath: string, options: { agent?: string; body?: string; contentType?: string; token?: string | null; keepOpen?: boolean } = {}): Promise<Raw & { close: () => void }> {
  const url = new URL(urlPath, server.url);
  const token = options.token === undefined ? kc.getCurrentUser()!.token : options.token;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: Buffer.from(kc.getCurrentCluster()!.caData!, 'base64'),
        headers: {
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
          ...(options.agent ? { 'User-Agent': options.agent } : {}),
          ...(options.contentType ? { 'Content-Type': options.contentType } : {}),
        },
      },
      (res) => {
        const close = (): void => {
          res.destroy();
          req.destroy();
        };
        if (options.keepOpen) {
          resolve({ status: res.statusCode!, headers: res.headers, text: '', close });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), close }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const collection = (namespace: string) => `/apis/${G}/${V}/namespaces/${namespace}/${P}`;

function flinkDeployment(name: string): string {
  return JSON.stringify({ apiVersion: `${G}/${V}`, kind: 'FlinkDeployment', metadata: { name, labels: { app: name } }, spec: { image: 'flink:1.19' } });
}

/** The sample lines of one metric family, without HELP and TYPE. */
async function samples(name: string): Promise<string[]> {
  const res = await raw('GET', '/metrics');
  return res.text.split('\n').filter((l) => l.startsWith(`${name}{`));
}


beforeAll(async () => {
  server = await SimApiServer.start({ log: createLogger('error'), crds: [permissiveFlinkDeploymentCrd()] });
  kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig());
});
afterAll(async () => {
  await server?.close();
});

describe('the simulated apiserver: request counters', () => {
  it('counts each request per client with the verbs kube-apiserver reports', async () => {
    server.resetCounts();
    const as = (agent: string) => ({ agent });
    expect((await raw('POST', collection('default'), { ...as(CONTROLLERS), body: flinkDeployment('one'), contentType: 'application/json' })).status).toBe(201);
    expect((await raw('GET', `${collection('default')}/one`, as(OPERATOR))).status).toBe(200);
    expect((await raw('GET', `/apis/${G}/${V}/${P}?labelSelector=app%3Done`, as(OPERATOR))).status).toBe(200);
    expect((await raw('GET', collection('default'), as(CONTROLLERS))).status).toBe(200);
    const status = JSON.stringify({ apiVersion: `${G}/${V}`, kind: 'FlinkDeployment', metadata: { name: 'one' }, status: { lifecycleState: 'STABLE' } });
    expect((await raw('PUT', `${collection('default')}/one/status`, { ...as(OPERATOR), body: status, contentType: 'application/json' })).status).toBe(200);
    expect((await raw('PATCH', `${collection('default')}/one`, { ...as(CONTROLLERS), body: '{"metadata":{"labels":{"x":"y"}}}', contentType: 'application/merge-patch+json' })).status).toBe(200);
    const apply = `apiVersion: ${G}/${V}\nkind: FlinkDeployment\nmetadata: {name: one}\nspec: {image: 'flink:1.20'}\n`;
    expect((await raw('PATCH', `${collection('default')}/one?fieldManager=drey`, { ...as(CONTROLLERS), body: apply, contentType: 'application/apply-patch+yaml' })).status).toBe(200);
    expect((await raw('GET', `${collection('default')}/missing`, as(OPERATOR))).status).toBe(404);
    expect((await raw('DELETE', collection('default'), as(CONTROLLERS))).status).toBe(405);
    expect((await raw('DELETE', `${collection('default')}/one`, as(CONTROLLERS))).status).toBe(200);

    const rows = server.requestCounts().filter((r) => r.resource === P);
    const row = (userAgent: string, verb: string, code: number, subresource = '') => ({ userAgent, verb, group: G, resource: P, subresource, code, count: 1 });
    expect(rows).toEqual(
      expect.arrayContaining([
        row(CONTROLLERS, 'POST', 201),
        row(OPERATOR, 'GET', 200),
        row(OPERATOR, 'LIST', 200),
        row(CONTROLLERS, 'LIST', 200),
        row(OPERATOR, 'PUT', 200, 'status'),
        row(CONTROLLERS, 'PATCH', 200),
        row(CONTROLLERS, 'APPLY', 200),
        row(OPERATOR, 'GET', 404),
        row(CONTROLLERS, 'DELETECOLLECTION', 405),
        row(CONTROLLERS, 'DELETE', 200),
      ]),
    );
    expect(rows).toHaveLength(10);
  });

  it('serves apiserver_request_total at /metrics in Prometheus text format, with scope and dry_run as kube-apiserver labels them', async () => {
    await raw('GET', '/api/v1/namespaces', { agent: CONTROLLERS });
    await raw('POST', `${collection('default')}?dryRun=All`, { agent: CONTROLLERS, body: flinkDeployment('dry'), contentType: 'application/json' });
    await raw('GET', '/api/v1/namespaces/default', { agent: CONTROLLERS });
    const res = await raw('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.text).toContain('# TYPE apiserver_request_total counter\n');
    const lines = res.text.split('\n');
    expect(lines).toContain('apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="namespaces",scope="cluster",subresource="",verb="LIST",version="v1"} 1');
    expect(lines).toContain('apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="namespaces",scope="resource",subresource="",verb="GET",version="v1"} 1');
    expect(lines).toContain(`apiserver_request_total{code="201",component="apiserver",dry_run="All",group="${G}",resource="${P}",scope="resource",subresource="",verb="POST",version="${V}"} 1`);
    expect(lines).toContain(`apiserver_request_total{code="200",component="apiserver",dry_run="",group="${G}",resource="${P}",scope="namespace",subresource="",verb="LIST",version="${V}"} 1`);
    expect(lines).toContain(`drey_sim_apiserver_requests_total{code="200",group="${G}",resource="${P}",subresource="status",user_agent="${OPERATOR}",verb="PUT"} 1`);
  });

  it('asks for the token at /metrics, refuses other methods there, and keeps /metrics out of discovery', async () => {
    expect((await raw('GET', '/metrics', { token: null })).status).toBe(401);
    expect((await raw('POST', '/metrics', { body: '' })).status).toBe(405);
    expect((await raw('GET', '/apis')).text).not.toContain('metrics');
    expect((await raw('GET', '/api/v1')).text).not.toContain('metrics');
    const lines = await samples('apiserver_request_total');
    expect(lines).toContain('apiserver_request_total{code="401",component="apiserver",dry_run="",group="",resource="",scope="",subresource="/metrics",verb="GET",version=""} 1');
    expect(lines).toContain('apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="",scope="",subresource="/apis",verb="GET",version=""} 1');
  });

  it('counts open watches in apiserver_longrunning_requests and the events they were sent in apiserver_watch_events_total', async () => {
    await raw('POST', collection('default'), { body: flinkDeployment('watched'), contentType: 'application/json' });
    const before = (await samples('apiserver_watch_events_total')).find((l) => l.includes('kind="FlinkDeployment"'));
    const watch = await raw('GET', `${collection('default')}?watch=true`, { agent: OPERATOR, keepOpen: true });
    const gauge = `apiserver_longrunning_requests{component="apiserver",group="${G}",resource="${P}",scope="namespace",subresource="",verb="WATCH",version="${V}"} 1`;
    expect(await samples('apiserver_longrunning_requests')).toContain(gauge);
    await raw('PATCH', `${collection('default')}/watched`, { body: '{"metadata":{"labels":{"x":"y"}}}', contentType: 'application/merge-patch+json' });
    const eventsLine = (n: number) => `apiserver_watch_events_total{group="${G}",kind="FlinkDeployment",version="${V}"} ${n}`;
    const previous = before ? Number(before.split(' ')[1]) : 0;
    await eventually('ADDED and MODIFIED to be counted', async () => (await samples('apiserver_watch_events_total')).includes(eventsLine(previous + 2)));
    watch.close();
    await eventually('the watch to close', async () => (await samples('apiserver_longrunning_requests')).length === 0);
    expect(server.requestCounts()).toEqual(expect.arrayContaining([{ userAgent: OPERATOR, verb: 'WATCH', group: G, resource: P, subresource: '', code: 200, count: 1 }]));
  });

  it('starts requestCounts from zero after resetCounts while /metrics keeps counting up', async () => {
    const line = (n: number) => `apiserver_request_total{code="200",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="namespace",subresource="",verb="LIST",version="v1"} ${n}`;
    const leases = '/apis/coordination.k8s.io/v1/namespaces/default/leases';
    await raw('GET', leases, { agent: CONTROLLERS });
    server.resetCounts();
    expect(server.requestCounts()).toEqual([]);
    await raw('GET', leases, { agent: CONTROLLERS });
    expect(server.requestCounts()).toEqual([{ userAgent: CONTROLLERS, verb: 'LIST', group: 'coordination.k8s.io', resource: 'leases', subresource: '', code: 200, count: 1 }]);
    expect(await samples('apiserver_request_total')).toContain(line(2));
  });
});

const kubectlPath = findCommand('kubectl');
if (!kubectlPath) process.stderr.write('\nSKIPPED kubectl /metrics test: kubectl not installed (Debian package kubernetes-client)\n');

(kubectlPath ? describe : describe.skip)('the simulated apiserver: /metrics with kubectl', () => {
  it('kubectl reads /metrics raw and still discovers the resources', async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'drey-metrics-'));
    try {
      const kubeconfig = path.join(tmp, 'kubeconfig');
      writeFileSync(kubeconfig, server.kubeconfig());
      const run = (...args: string[]) =>
        new Promise<{ code: number; stdout: string }>((resolve) => {
          execFile(kubectlPath!, [...args, `--cache-dir=${path.join(tmp, 'cache')}`], { env: { ...process.env, KUBECONFIG: kubeconfig, HOME: tmp }, timeout: 20_000 }, (err, stdout) =>
            resolve({ code: err ? 1 : 0, stdout }),
          );
        });
      const metrics = await run('get', '--raw', '/metrics');
      expect(metrics.code).toBe(0);
      expect(metrics.stdout).toContain('# TYPE apiserver_request_total counter');
      const resources = await run('api-resources', '--api-group', G, '-o', 'name');
      expect(resources.stdout.trim()).toBe(`${P}.${G}`);
      expect(server.requestCounts().some((r) => r.userAgent.startsWith('kubectl/') && r.subresource === '/metrics')).toBe(true);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
