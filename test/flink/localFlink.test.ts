import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ensureDistribution, FLINK_VERSION } from '../../src/flink/local/distribution.js';
import { findJavaTools } from '../../src/flink/local/jvm.js';
import { createLogger } from '../../src/log.js';
import { startTestFlink, TEST_FLINK_CACHE, type TestFlink } from '../support/flink.js';
import { freshDatabase } from '../support/db.js';
import { ROOT, startDrey, stopDrey } from '../support/process.js';
import { isAlive } from '../../src/local/processes.js';

let flink: TestFlink | undefined;

beforeAll(async () => {
  flink = await startTestFlink();
}, 300_000);

afterAll(async () => {
  await flink?.stop();
}, 60_000);

async function json(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

describe('local Flink from Maven Central', () => {
  it('runs a JobManager with a TaskManager and a SQL Gateway, all of the pinned Flink version', async () => {
    if (!flink) return;
    const overview = await json(`${flink.restUrl}/overview`);
    expect(overview).toMatchObject({ 'flink-version': FLINK_VERSION, taskmanagers: 1 });
    expect(overview['slots-total']).toBeGreaterThan(0);
    expect(await json(`${flink.gatewayUrl}/v1/info`)).toEqual({ productName: 'Apache Flink', version: FLINK_VERSION });
    // the web UI is served by the JobManager
    const ui = await fetch(`${flink.restUrl}/`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('<title>Apache Flink Web Dashboard</title>');
  });

  it('binds only to loopback, on ports chosen free', () => {
    if (!flink) return;
    expect(new URL(flink.restUrl).hostname).toBe('127.0.0.1');
    expect(new URL(flink.gatewayUrl).hostname).toBe('127.0.0.1');
    expect(new URL(flink.restUrl).port).not.toBe('8081');
  });

  it('fetches the jars once: resolving the distribution again reuses the cache', async () => {
    if (!flink) return;
    const tools = findJavaTools();
    if ('missing' in tools) throw new Error(tools.missing);
    const again = await ensureDistribution({ cacheDir: TEST_FLINK_CACHE, mvn: tools.mvn, log: createLogger('warn') });
    expect(again.fetched).toBe(false);
    expect(again.home).toBe(flink.flink.distribution.home);
    expect(existsSync(again.streamingExamplesJar)).toBe(true);
    expect(existsSync(path.join(again.lib, `flink-runtime-${FLINK_VERSION}.jar`))).toBe(true);
  });

  it('takes the processes down with drey even when drey is killed with SIGKILL', async () => {
    if (!flink) return;
    const workDir = mkdtempSync(path.join(os.tmpdir(), 'drey-flink-kill-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/localFlinkChild.ts', TEST_FLINK_CACHE, workDir], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.on('exit', (code) => reject(new Error(`the child exited (${code}) before Flink was up`)));
    });
    const { pids, rest } = JSON.parse(line) as { pids: number[]; rest: string };
    expect(pids).toHaveLength(3);
    expect(pids.every(isAlive)).toBe(true);
    expect((await fetch(`${rest}/overview`)).status).toBe(200);
    child.kill('SIGKILL');
    const deadline = Date.now() + 30_000;
    while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(pids.filter(isAlive)).toEqual([]);
    // the logs stay behind for whoever wants to know what happened
    for (const name of ['jobmanager', 'taskmanager-0', 'sql-gateway']) {
      const log = path.join(workDir, 'log', `${name}.log`);
      expect(statSync(log).size).toBeGreaterThan(0);
    }
    expect(readFileSync(path.join(workDir, 'log', 'jobmanager.log'), 'utf8')).toContain('Starting StandaloneSessionClusterEntrypoint');
  }, 120_000);
});

describe('without Java', () => {
  it('findJavaTools names what is missing', () => {
    expect(findJavaTools({ PATH: '/nonexistent' })).toEqual({ missing: expect.stringContaining('Java') });
  });

  it('drey says so at start and keeps simulating jobs', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'drey-nojava-'));
    const drey = await startDrey({
      PATH: empty,
      JAVA_HOME: '',
      CMF_LOCAL_FLINK: 'auto',
      CMF_DATA_DIR: empty,
      CMF_KUBE: 'simulated',
      DATABASE_URL: await freshDatabase(),
    });
    try {
      const health = (await (await fetch(`${drey.url}/healthz`)).json()) as { flink: { jobs: string; why: string } };
      expect(health.flink.jobs).toBe('simulated');
      expect(health.flink.why).toContain('Java');
      expect(drey.output()).toContain('the simulated cluster simulates jobs');
    } finally {
      await stopDrey(drey, 'SIGTERM');
    }
  }, 60_000);
});
