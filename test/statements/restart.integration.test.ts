import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { JobManagerClient } from '../../src/flink/jobManager.js';
import { freshDatabase } from '../support/db.js';
import { eventually } from '../support/drey.js';
import { computePool, environment, statement } from '../support/fixtures.js';
import { testJavaTools, TEST_FLINK_CACHE } from '../support/flink.js';
import { startDrey, stopDrey, type Running } from '../support/process.js';

/**
 * A drey killed with SIGKILL while an INSERT runs takes its local Flink with it. Started again on
 * the same database and data directory, it finds the statement's job gone and resubmits it from
 * the statement's last savepoint, and says so in the status.
 */

jest.setTimeout(300_000);

const ENV = 'restart-env';
const STMTS = `/cmf/api/v1/environments/${ENV}/statements`;
const running: Running[] = [];
let dir: string | undefined;

afterAll(async () => {
  for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) await stopDrey(r, 'SIGTERM');
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Body = Record<string, any>;

async function call(url: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: Body }> {
  const res = await fetch(`${url}${p}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Body) : {} };
}

async function spawn(databaseUrl: string): Promise<Running> {
  const r = await startDrey({
    DATABASE_URL: databaseUrl,
    CMF_DATA_DIR: dir!,
    CMF_KUBE: 'simulated',
    CMF_LOCAL_FLINK: 'on',
    CMF_FLINK_CACHE: TEST_FLINK_CACHE,
    CMF_SIM_STEP_MS: '50',
  });
  running.push(r);
  return r;
}

async function phase(url: string, name: string, wanted: string): Promise<Body> {
  return eventually(`${name} to be ${wanted}`, async () => {
    const body = (await call(url, 'GET', `${STMTS}/${name}`)).body;
    if (body.status?.phase === 'FAILED') throw new Error(body.status.detail);
    return body.status?.phase === wanted ? body : undefined;
  }, 120_000);
}

async function jobManager(url: string): Promise<JobManagerClient> {
  const info = (await call(url, 'GET', '/healthz')).body;
  return new JobManagerClient({ baseUrl: info.flink.rest });
}

describe('a drey restart', () => {
  it('resubmits a running INSERT from its last savepoint when drey and its local Flink were killed', async () => {
    if (!testJavaTools()) return;
    dir = await mkdtemp(path.join(os.tmpdir(), 'drey-restart-'));
    const databaseUrl = await freshDatabase();
    const first = await spawn(databaseUrl);
    expect((await call(first.url, 'POST', '/cmf/api/v1/environments', environment(ENV, 'restart-ns'))).status).toBe(201);
    const pool = computePool('pool', {
      flinkVersion: 'v2_2',
      image: 'flink:2.2',
      jobManager: { resource: { cpu: 1, memory: '1024m' } },
      taskManager: { resource: { cpu: 1, memory: '1536m' } },
    });
    expect((await call(first.url, 'POST', `/cmf/api/v1/environments/${ENV}/compute-pools`, pool)).status).toBe(200);
    for (const [name, sql] of [
      ['create-gen', "CREATE TABLE gen (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '10')"],
      ['create-sink', "CREATE TABLE sink (id BIGINT) WITH ('connector' = 'blackhole')"],
    ]) {
      expect((await call(first.url, 'POST', STMTS, statement(name, sql, 'pool'))).body.status.phase).toBe('COMPLETED');
    }
    const insert = statement('copy', 'INSERT INTO sink SELECT id FROM gen', 'pool', { flinkConfiguration: { 'execution.checkpointing.interval': '2s' } });
    expect((await call(first.url, 'POST', STMTS, insert)).status).toBe(200);
    const runningBody = await phase(first.url, 'copy', 'RUNNING');

    // a savepoint to come back to: stop, then resume
    const spec = runningBody.spec;
    await call(first.url, 'PUT', `${STMTS}/copy`, { metadata: { name: 'copy' }, spec: { ...spec, stopped: true } });
    const stopped = await phase(first.url, 'copy', 'STOPPED');
    const savepoint = /savepoint (\S+?)\.?$/.exec(stopped.status.detail)?.[1];
    expect(savepoint).toMatch(/^file:/);
    await call(first.url, 'PUT', `${STMTS}/copy`, { metadata: { name: 'copy' }, spec: { ...spec, stopped: false } });
    await phase(first.url, 'copy', 'RUNNING');

    // killed while the INSERT runs
    expect(await stopDrey(first, 'SIGKILL')).toBeNull();

    const second = await spawn(databaseUrl);
    const resumed = await eventually('the INSERT to run again', async () => {
      const body = (await call(second.url, 'GET', `${STMTS}/copy`)).body;
      return body.status?.phase === 'RUNNING' && /resubmitted/.test(body.status.detail) ? body : undefined;
    }, 180_000);
    expect(resumed.status.detail).toContain(`resubmitted from savepoint ${savepoint}`);
    const jm = await jobManager(second.url);
    const job = await eventually('the resubmitted job', async () => (await jm.jobsOverview()).jobs.find((j) => j.name === `${ENV}/copy#3` && j.state === 'RUNNING'));
    const restored = await eventually('the restore', async () => (await jm.checkpoints(job.jid)).latest.restored ?? undefined);
    expect(restored.external_path).toBe(savepoint);
    expect((await call(second.url, 'DELETE', `${STMTS}/copy`)).status).toBe(202);
    await eventually('copy to go', async () => ((await call(second.url, 'GET', `${STMTS}/copy`)).status === 404 ? true : undefined), 60_000);
  });
});
