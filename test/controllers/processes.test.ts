import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { kubeConfigFromString } from '../../src/kube/connection.js';
import { FlinkDeployments } from '../../src/kube/flinkDeployments.js';
import { createLogger } from '../../src/log.js';
import { SimCluster } from '../../src/sim/cluster.js';
import { sharedCrdFile } from '../support/crd.js';
import { freshDatabase, query } from '../support/db.js';
import { eventually } from '../support/drey.js';
import { application, environment } from '../support/fixtures.js';
import { logEntries } from '../support/logLines.js';
import { startDrey, stopDrey, type Running } from '../support/process.js';

const ENVS = '/cmf/api/v1/environments';

let cluster: SimCluster;
let kube: FlinkDeployments;
let dir: string;
const running: Running[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'drey-procs-'));
  cluster = await SimCluster.start({ dataDir: path.join(dir, 'cluster'), log: createLogger('warn', () => undefined), crdFile: sharedCrdFile(), stepMs: 25 });
  kube = new FlinkDeployments({ kubeConfig: kubeConfigFromString(cluster.kubeconfig()) });
});
afterAll(async () => {
  for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) await stopDrey(r, 'SIGKILL');
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A drey process against the shared simulated cluster (through its kubeconfig) and the given database. */
async function spawnDrey(databaseUrl: string, name: string, env: Record<string, string> = {}): Promise<Running> {
  const r = await startDrey({
    DATABASE_URL: databaseUrl,
    CMF_DATA_DIR: path.join(dir, name),
    CMF_KUBE: 'kubeconfig',
    KUBECONFIG: cluster.kubeconfigPath,
    CMF_LEADER_LEASE_MS: '3000',
    CMF_RESYNC_MS: '2000',
    LOG_LEVEL: 'info',
    ...env,
  });
  running.push(r);
  return r;
}

async function call(url: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${p}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function isLeader(r: Running): Promise<boolean> {
  return (await call(r.url, 'GET', '/healthz')).body.controllers.leader === true;
}

async function stable(url: string, env: string, app: string): Promise<any> {
  return eventually(`${env}/${app} STABLE`, async () => {
    const s = (await call(url, 'GET', `${ENVS}/${env}/applications/${app}`)).body?.status;
    return s?.lifecycleState === 'STABLE' && s.jobStatus?.state === 'RUNNING' ? s : undefined;
  }, 40_000);
}

describe('drey processes sharing one database', () => {
  it('converges after being killed in the middle of applying a FlinkDeployment, with nothing duplicated or lost', async () => {
    const db = await freshDatabase();
    const first = await spawnDrey(db, 'killed');
    await eventually('the first drey to lead', async () => ((await isLeader(first)) ? true : undefined));
    expect((await call(first.url, 'POST', ENVS, environment('crash', 'flink-crash'))).status).toBe(201);
    const hits = cluster.apiServer.faults.hits;
    cluster.apiServer.faults.add({ method: 'PATCH', resource: 'flinkdeployments', name: 'app-crash', delayMs: 4000, times: 1 });
    expect((await call(first.url, 'POST', `${ENVS}/crash/applications`, application('app-crash'))).status).toBe(201);
    // killed while the API server holds its apply
    await eventually('the first drey\'s apply to reach the API server', async () => (cluster.apiServer.faults.hits > hits ? true : undefined));
    expect(await stopDrey(first, 'SIGKILL')).toBeNull();

    const second = await spawnDrey(db, 'restarted');
    const status = await stable(second.url, 'crash', 'app-crash');
    expect(cluster.apiServer.faults.hits - hits).toBe(1);
    expect((await kube.list('drey.dev/application=app-crash')).length).toBe(1);
    const events = (await call(second.url, 'GET', `/cmf/api/v1alpha1/environments/crash/applications/app-crash/events?size=100`)).body.items;
    const keys = events.map((e: any) => `${e.status.type}:${e.status.data?.newStatus ?? ''}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toEqual(expect.arrayContaining(['CMF_STATUS:', 'CLUSTER_STATUS:STABLE', 'JOB_STATUS:RUNNING']));
    const instances = (await call(second.url, 'GET', `${ENVS}/crash/applications/app-crash/instances`)).body.items;
    expect(instances).toHaveLength(1);
    expect(instances[0].status.jobStatus.state).toBe('RUNNING');
    expect(status.currentDeployedInstanceName).toBe(instances[0].metadata.name);
    await stopDrey(second, 'SIGTERM');
  }, 120_000);

  it('a process with CMF_CONTROLLERS=off serves the API and never leads, even alone', async () => {
    const db = await freshDatabase();
    const apiOnly = await spawnDrey(db, 'api-only', { CMF_CONTROLLERS: 'off', CMF_LEADER_LEASE_MS: '1000' });
    expect((await call(apiOnly.url, 'POST', ENVS, environment('api-only-env', 'flink-api-only'))).status).toBe(201);
    expect((await call(apiOnly.url, 'POST', `${ENVS}/api-only-env/applications`, application('app-waiting'))).status).toBe(201);
    // a process that campaigns takes the lease within 1 s here; this one never asks for it
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await call(apiOnly.url, 'GET', '/healthz')).body.controllers).toMatchObject({ enabled: false, leader: false });
    expect(await query(db, 'SELECT holder FROM "ControllerLease"')).toEqual([]);
    expect(await kube.list('drey.dev/environment=api-only-env')).toEqual([]);
    await stopDrey(apiOnly, 'SIGTERM');
  }, 60_000);

  it('runs the controllers on exactly one of two processes, and the other takes over when the leader dies', async () => {
    const db = await freshDatabase();
    const defaultLease = { CMF_LEADER_LEASE_MS: '' };
    const a = await spawnDrey(db, 'a', defaultLease);
    const b = await spawnDrey(db, 'b', defaultLease);
    const leaders = await eventually('a leader', async () => {
      const flags = [await isLeader(a), await isLeader(b)];
      return flags.includes(true) ? flags : undefined;
    });
    expect(leaders.filter(Boolean)).toHaveLength(1);
    const [leader, follower] = leaders[0] ? [a, b] : [b, a];

    expect((await call(follower.url, 'POST', ENVS, environment('ha-env', 'flink-ha'))).status).toBe(201);
    expect((await call(follower.url, 'POST', `${ENVS}/ha-env/applications`, application('app-one'))).status).toBe(201);
    await stable(follower.url, 'ha-env', 'app-one');
    const applied = (drey: Running) => logEntries(drey.output()).flatMap((e) => (e.msg === 'applied FlinkDeployment' ? [e.key] : []));
    expect(applied(leader)).toContain('ha-env/app-one');
    expect(applied(follower)).toEqual([]);
    expect(await isLeader(follower)).toBe(false);

    // how soon the follower takes over is the lease's business (a benchmark's, not a test's): it is
    // reported, and the test proves that the follower takes over and then does the controllers' work
    const killedAt = Date.now();
    await stopDrey(leader, 'SIGKILL');
    await eventually('the follower to take over', async () => ((await isLeader(follower)) ? true : undefined), 20_000);
    console.log(`leader takeover after SIGKILL: ${Date.now() - killedAt} ms (default lease, 10 s)`);

    expect((await call(follower.url, 'POST', `${ENVS}/ha-env/applications`, application('app-two'))).status).toBe(201);
    await stable(follower.url, 'ha-env', 'app-two');
    expect(applied(follower)).toContain('ha-env/app-two');
    expect((await kube.list('drey.dev/environment=ha-env')).map((d) => d.metadata.name).sort()).toEqual(['app-one', 'app-two']);
    await stopDrey(follower, 'SIGTERM');
  }, 120_000);
});
