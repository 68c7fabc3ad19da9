import { jest } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WorkQueue } from '../../src/controllers/queue.js';
import { createLogger } from '../../src/log.js';
import { start, type Drey } from '../../src/main.js';
import { METRIC_NAMES, METRICS, Metrics } from '../../src/metrics.js';
import { eventually, FAST, inProcessConfig, startDrey, type TestDrey } from '../support/drey.js';
import { application, environment } from '../support/fixtures.js';
import { parsePrometheus, samplesOf, scrape, valueOf } from './promText.js';

jest.setTimeout(90_000);

const ENVS = '/cmf/api/v1/environments';
const quiet = createLogger('error', () => undefined);

/**
 * Metrics that stay without samples in this drey (their types are checked, their labels cannot be):
 * no Flink answers here, there are no statements, and nothing fails or retries (the work queue test
 * below moves the error and retry counters).
 */
const IDLE_HERE = ['drey_flink_client_requests_total', 'drey_flink_client_request_duration_seconds', 'drey_statements', 'controller_runtime_reconcile_errors_total', 'workqueue_retries_total'];

describe('/metrics of a running drey', () => {
  let t: TestDrey;
  let follower: { drey: Drey; dataDir: string } | undefined;
  beforeAll(async () => {
    t = await startDrey();
    await eventually('the controllers to lead', () => t.drey.leader.isLeader);
  });
  afterAll(async () => {
    await follower?.drey.stop();
    if (follower) await rm(follower.dataDir, { recursive: true, force: true });
    await t?.stop();
  });

  it('moves the reconcile and work queue metrics when an application is created and reconciled', async () => {
    const before = (await scrape(t.drey.opsUrl!)).samples;
    const adds = valueOf(before, 'workqueue_adds_total', { name: 'application' }) ?? 0;
    expect((await t.post(ENVS, environment('m-env', 'flink-m'))).status).toBe(201);
    expect((await t.post(`${ENVS}/m-env/applications`, application('m-app'))).status).toBe(201);
    await eventually('the FlinkDeployment', () => t.kube.get('flink-m', 'm-app'));
    const after = await eventually('a successful application reconcile counted', async () => {
      const { samples } = await scrape(t.drey.opsUrl!);
      return (valueOf(samples, 'controller_runtime_reconcile_total', { controller: 'application', result: 'success' }) ?? 0) > 0 ? samples : undefined;
    });
    expect(valueOf(after, 'workqueue_adds_total', { name: 'application' })).toBeGreaterThan(adds);
    expect(valueOf(after, 'controller_runtime_reconcile_time_seconds_count', { controller: 'application' })).toBeGreaterThan(0);
    expect(valueOf(after, 'workqueue_work_duration_seconds_count', { name: 'application' })).toBeGreaterThan(0);
    expect(valueOf(after, 'workqueue_queue_duration_seconds_count', { name: 'application' })).toBeGreaterThan(0);
    expect(valueOf(after, 'workqueue_depth', { name: 'application' })).toBeGreaterThanOrEqual(0);
    expect(after.filter((s) => s.name === 'drey_flink_deployments').reduce((n, s) => n + s.value, 0)).toBe(1);
  });

  it('labels API requests with the route template, never the names in the path', async () => {
    expect((await t.get(`${ENVS}/m-env/applications/m-app`)).status).toBe(200);
    expect((await t.get('/no/such/path/m-secret-name')).status).toBe(404);
    const { samples, text } = await scrape(t.drey.opsUrl!);
    const count = (labels: Record<string, string>) => valueOf(samples, 'http_request_duration_seconds_count', labels) ?? 0;
    expect(count({ method: 'GET', route: '/cmf/api/v1/environments/:envName/applications/:appName', code: '200' })).toBeGreaterThan(0);
    expect(count({ method: 'POST', route: '/cmf/api/v1/environments', code: '201' })).toBeGreaterThan(0);
    expect(count({ method: 'GET', route: '<unmatched>', code: '404' })).toBeGreaterThan(0);
    expect(text).not.toContain('m-app');
    expect(text).not.toContain('m-secret-name');
  });

  it('has every metric of METRIC_NAMES with its type and labels', async () => {
    const { types, samples } = await scrape(t.drey.opsUrl!);
    const found = METRIC_NAMES.map((name) => ({ name, type: types.get(name), labels: [...new Set(samplesOf(samples, name, METRICS[name].type).flatMap((s) => Object.keys(s.labels)))].sort() }));
    expect(found).toEqual(
      METRIC_NAMES.map((name) => ({
        name,
        type: METRICS[name].type,
        labels: IDLE_HERE.includes(name) ? [] : [...METRICS[name].labels].sort(),
      })),
    );
    expect(valueOf(samples, 'drey_build_info', { version: '0.1.0', revision: process.env.DREY_REVISION || 'unknown', nodejs_version: process.version })).toBe(1);
    expect(samples.filter((s) => s.name === 'rest_client_requests_total').map((s) => s.labels.host)).toContain(new URL(t.drey.sim!.apiServer.url).host);
    expect(['total', 'idle', 'waiting'].map((state) => valueOf(samples, 'drey_db_pool_connections', { state }) !== undefined)).toEqual([true, true, true]);
  });

  it('reports leader_election_master_status 1 on the leader and 0 on a follower on the same database', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'drey-follower-'));
    const config = inProcessConfig({ DATABASE_URL: t.databaseUrl, CMF_DATA_DIR: dataDir, ...FAST, CMF_CONTROLLERS: 'on' });
    follower = { drey: await start(config, quiet), dataDir };
    const status = async (d: Drey) => valueOf((await scrape(d.opsUrl!)).samples, 'leader_election_master_status', { name: 'controllers' });
    // a renewal the follower's start made late may step the leader down a moment: wait for the settled state
    const both = await eventually('the metric to say 1 on the leader and 0 on the follower', async () => {
      const statuses = [await status(t.drey), await status(follower!.drey)];
      return t.drey.leader.isLeader && !follower!.drey.leader.isLeader && statuses[0] === 1 && statuses[1] === 0 ? statuses : undefined;
    });
    expect(both).toEqual([1, 0]);
  });
});

describe('a work queue', () => {
  /** A reconcile that waits until the test lets each key go, failing the keys it is told to fail. */
  function gated() {
    const waiting = new Map<string, (fail: boolean) => void>();
    const started: string[] = [];
    const reconcile = (key: string) =>
      new Promise<void>((resolve, reject) => {
        started.push(key);
        waiting.set(key, (fail) => (fail ? reject(new Error('boom')) : resolve()));
      });
    const release = (key: string, fail = false) => {
      const go = waiting.get(key)!;
      waiting.delete(key);
      go(fail);
    };
    return { reconcile, release, started };
  }

  it('reports its depth, adds, the longest running reconcile, results and retries', async () => {
    const metrics = new Metrics();
    const { reconcile, release, started } = gated();
    const queue = new WorkQueue({ name: 'application', reconcile, log: quiet, concurrency: 1, baseDelayMs: 60_000, metrics });
    const read = async () => parsePrometheus(await metrics.registry.metrics()).samples;
    queue.start();
    queue.add('a');
    queue.add('b');
    queue.add('c');
    queue.add('b'); // already queued: not an add
    let samples = await read();
    expect(valueOf(samples, 'workqueue_depth', { name: 'application' })).toBe(2);
    expect(valueOf(samples, 'workqueue_adds_total', { name: 'application' })).toBe(3);
    expect(valueOf(samples, 'workqueue_longest_running_processor_seconds', { name: 'application' })).toBeGreaterThan(0);
    release('a', true);
    await eventually('b to start', () => started.includes('b'));
    release('b');
    await eventually('c to start', () => started.includes('c'));
    release('c');
    await eventually('the queue to drain', async () => valueOf(await read(), 'controller_runtime_reconcile_total', { controller: 'application', result: 'success' }) === 2);
    samples = await read();
    expect(valueOf(samples, 'workqueue_depth', { name: 'application' })).toBe(0);
    expect(valueOf(samples, 'workqueue_longest_running_processor_seconds', { name: 'application' })).toBe(0);
    expect(valueOf(samples, 'controller_runtime_reconcile_total', { controller: 'application', result: 'error' })).toBe(1);
    expect(valueOf(samples, 'controller_runtime_reconcile_errors_total', { controller: 'application' })).toBe(1);
    expect(valueOf(samples, 'workqueue_retries_total', { name: 'application' })).toBe(1);
    expect(valueOf(samples, 'workqueue_queue_duration_seconds_count', { name: 'application' })).toBe(3);
    await queue.stop();
  });
});
