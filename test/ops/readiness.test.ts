import { jest } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { start, type Drey } from '../../src/main.js';
import { SimApiServer } from '../../src/sim/apiserver/index.js';
import { permissiveFlinkDeploymentCrd } from '../../src/sim/crd.js';
import { DatabaseProbe } from '../../src/store/health.js';
import { freshDatabase, query } from '../support/db.js';
import { eventually, FAST, startDrey, type TestDrey } from '../support/drey.js';
import { startKubeSwitch, type KubeSwitch } from '../support/kubeSwitch.js';
import { queryCounter } from '../support/queries.js';
import { scrape, valueOf } from './promText.js';

jest.setTimeout(120_000);

async function get(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

/** `SELECT 1`s among the statements counted: the database probe's, nothing else sends it. */
const probes = (sql: string[]) => sql.filter((s) => s === 'SELECT 1').length;

describe('the database probe', () => {
  let url: string;
  beforeAll(async () => {
    url = await freshDatabase();
  });

  it('answers every caller that asks while a check runs with that one check', async () => {
    const queries = queryCounter();
    const probe = new DatabaseProbe({ databaseUrl: url, reuseMs: 0, onQuery: queries.onQuery });
    try {
      const counted = await queries.during(async () => {
        expect(await Promise.all(Array.from({ length: 50 }, () => probe.check()))).toEqual(Array.from({ length: 50 }, () => ({ up: true })));
      });
      expect(probes(counted.sql)).toBe(1);
      // nothing runs and nothing is reused: the next caller gets a check of its own
      expect(probes((await queries.during(() => probe.check())).sql)).toBe(1);
    } finally {
      await probe.close();
    }
  });

  it('reuses an answer for reuseMs, then asks again and sees the database go', async () => {
    const queries = queryCounter();
    const name = new URL(url).pathname.slice(1);
    const admin = url.replace(`/${name}`, '/postgres');
    const probe = new DatabaseProbe({ databaseUrl: url, reuseMs: 60_000, onQuery: queries.onQuery });
    const fresh = new DatabaseProbe({ databaseUrl: url, reuseMs: 0 });
    try {
      expect(await probe.check()).toEqual({ up: true });
      expect(probes((await queries.during(() => Promise.all([probe.check(), probe.check(), probe.check()]))).sql)).toBe(0);
      await query(admin, `ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await query(admin, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      expect(await fresh.check()).toEqual({ up: false, error: expect.any(String) });
      // within reuseMs the answer stands; a probe that reuses nothing sees the outage at once
      expect(await probe.check()).toEqual({ up: true });
    } finally {
      await query(admin, `ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await probe.close();
      await fresh.close();
    }
  });
});

describe('/readyz under a storm of probes', () => {
  const queries = queryCounter();
  let t: TestDrey;
  beforeAll(async () => {
    // no controllers: nothing else of drey's is counted while the probes run
    t = await startDrey({ CMF_SHUTDOWN_DELAY_MS: '5000', CMF_CONTROLLERS: 'off' }, { onQuery: queries.onQuery });
  });
  afterAll(async () => t?.stop());

  it('answers 40 probes arriving at once with a few database checks, not 40', async () => {
    const counted = await queries.during(async () => {
      const answers = await Promise.all(Array.from({ length: 40 }, () => get(`${t.drey.opsUrl}/readyz`)));
      expect(new Set(answers.map((a) => JSON.stringify(a)))).toEqual(new Set([JSON.stringify({ status: 200, body: { status: 'ready', checks: { database: 'ok' } } })]));
    });
    // one check a second at most, however slow the machine: 40 probes in under ten seconds make at most ten
    expect(probes(counted.sql)).toBeLessThanOrEqual(10);
  });

  it('answers 503 at once when shutting down, whatever answer was reused', async () => {
    expect((await get(`${t.drey.opsUrl}/readyz`)).status).toBe(200);
    const stopping = t.drey.shutdown();
    expect(await get(`${t.drey.opsUrl}/readyz`)).toEqual({ status: 503, body: { status: 'not ready', checks: { shutdown: 'drey is shutting down' } } });
    await stopping;
  });
});

describe('the FlinkDeployment CRD check against a real (here: simulated, through a kubeconfig) cluster', () => {
  const quiet = createLogger('error', () => undefined);
  let without: SimApiServer;
  let withCrd: SimApiServer;
  let front: KubeSwitch;
  let dataDir: string;
  let drey: Drey | undefined;
  let logs: string[];
  const kubeconfigBefore = process.env.KUBECONFIG;

  beforeAll(async () => {
    without = await SimApiServer.start({ log: quiet, crds: [] });
    withCrd = await SimApiServer.start({ log: quiet, crds: [permissiveFlinkDeploymentCrd()] });
    front = await startKubeSwitch(without);
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'drey-crd-'));
    await writeFile(path.join(dataDir, 'kubeconfig'), front.kubeconfig(), { mode: 0o600 });
    process.env.KUBECONFIG = path.join(dataDir, 'kubeconfig');
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      CMF_OPS_PORT: '0',
      DATABASE_URL: await freshDatabase(),
      CMF_DATA_DIR: dataDir,
      CMF_KUBE: 'kubeconfig',
      ...FAST,
    });
    logs = [];
    drey = await start(config, createLogger('info', (line) => logs.push(line)));
  });
  afterAll(async () => {
    await drey?.stop();
    if (kubeconfigBefore === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = kubeconfigBefore;
    await front?.close();
    await without?.close();
    await withCrd?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const crdServed = async () => valueOf((await scrape(drey!.opsUrl!)).samples, 'drey_flink_deployment_crd_served', {});

  it('without the Flink operator: says so at start, in /readyz and in a metric, and stays ready: the API answers', async () => {
    expect(logs.find((l) => l.includes('does not serve flinkdeployments.flink.apache.org'))).toContain('install the Apache Flink Kubernetes Operator');
    expect(await get(`${drey!.opsUrl}/readyz`)).toEqual({
      status: 200,
      body: {
        status: 'ready',
        checks: { database: 'ok' },
        warnings: { flinkDeploymentCrd: expect.stringMatching(/^the cluster does not serve flinkdeployments\.flink\.apache\.org at flink\.apache\.org\/v1beta1 .*install the Apache Flink Kubernetes Operator$/) },
      },
    });
    expect(await crdServed()).toBe(0);
    expect((await get(`${drey!.opsUrl}/livez`)).status).toBe(200);
    expect((await fetch(`${drey!.url}/cmf/api/v1/environments`)).status).toBe(200);
  });

  it('drops the warning without a restart once the operator (its CRD) is installed', async () => {
    front.switchTo(withCrd);
    const ready = await eventually('/readyz without the warning', async () => {
      const r = await get(`${drey!.opsUrl}/readyz`);
      return r.status === 200 && !('warnings' in r.body) ? r.body : undefined;
    });
    expect(ready).toEqual({ status: 'ready', checks: { database: 'ok' } });
    expect(await crdServed()).toBe(1);
    expect(logs.some((l) => l.includes('the cluster serves the FlinkDeployment CRD'))).toBe(true);
  });
});
