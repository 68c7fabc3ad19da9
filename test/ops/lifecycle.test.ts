import { jest } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { METRIC_NAMES } from '../../src/metrics.js';
import { emptyDatabase, freshDatabase, query } from '../support/db.js';
import { eventually, startDrey, type TestDrey } from '../support/drey.js';
import { sharedCrdFile } from '../support/crd.js';
import { logEntries } from '../support/logLines.js';
import { ROOT } from '../support/process.js';
import { scrape } from './promText.js';

jest.setTimeout(300_000);

async function get(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

/** The name of a database URL's database. */
function databaseOf(url: string): string {
  return new URL(url).pathname.slice(1);
}

describe('the ops server of an in-process drey', () => {
  let t: TestDrey;
  beforeAll(async () => {
    t = await startDrey({ CMF_SHUTDOWN_DELAY_MS: '0' });
  });
  afterAll(async () => t?.stop());

  it('answers /livez and /readyz once started', async () => {
    expect(await get(`${t.drey.opsUrl}/livez`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await get(`${t.drey.opsUrl}/readyz`)).toEqual({ status: 200, body: { status: 'ready', checks: { database: 'ok' } } });
  });

  it('is not ready while the database refuses connections, and live all the same', async () => {
    const name = databaseOf(t.databaseUrl);
    await query(t.databaseUrl.replace(`/${name}`, '/postgres'), `ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    try {
      await query(t.databaseUrl.replace(`/${name}`, '/postgres'), 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      const down = await eventually('/readyz to answer 503', async () => {
        const r = await get(`${t.drey.opsUrl}/readyz`);
        return r.status === 503 ? r.body : undefined;
      });
      expect(down).toEqual({ status: 'not ready', checks: { database: expect.stringMatching(/^(cannot reach the database|the database did not answer: .+)$/) } });
      expect((await get(`${t.drey.opsUrl}/livez`)).status).toBe(200);
    } finally {
      await query(t.databaseUrl.replace(`/${name}`, '/postgres'), `ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    }
    await eventually('/readyz to answer 200 again', async () => (await get(`${t.drey.opsUrl}/readyz`)).status === 200);
  });
});

describe('drey migrate', () => {
  function migrateCommand(env: Record<string, string>): { status: number | null; output: string } {
    const { DATABASE_URL: _none, ...rest } = process.env;
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'migrate'], { cwd: ROOT, env: { ...rest, LOG_LEVEL: 'info', ...env }, encoding: 'utf8' });
    return { status: r.status, output: r.stdout + r.stderr };
  }

  it('applies the migrations to DATABASE_URL and exits 0', async () => {
    const url = await emptyDatabase();
    const r = migrateCommand({ DATABASE_URL: url });
    expect(r.status).toBe(0);
    expect(logEntries(r.output)).toContainEqual(expect.objectContaining({ msg: 'migrations applied', applied: expect.stringMatching(/^20261121000000_init,/) }));
    expect(r.output).not.toContain(new URL(url).password);
    expect(await query(url, 'SELECT count(*)::int AS n FROM "ControllerLease"')).toEqual([{ n: 0 }]);
    expect(logEntries(migrateCommand({ DATABASE_URL: url }).output)).toContainEqual(expect.objectContaining({ msg: 'migrations applied', applied: 'none' }));
  });

  it('refuses to run without DATABASE_URL, saying so', () => {
    const r = migrateCommand({});
    expect(r.status).toBe(2);
    expect(r.output).toContain('migrate needs DATABASE_URL');
  });
});

describe('the built drey with production dependencies only', () => {
  let stage: string;
  let child: ChildProcess | undefined;
  let output = '';
  let why: string | undefined;
  beforeAll(async () => {
    stage = await mkdtemp(path.join(os.tmpdir(), 'drey-stage-'));
    // compiled into the staging directory: the shared dist/ of the working tree is left alone
    spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.', '--outDir', path.join(stage, 'dist')], { cwd: ROOT, encoding: 'utf8' });
    if (!existsSync(path.join(stage, 'dist', 'main.js'))) throw new Error('tsc emitted no dist/main.js');
    for (const f of ['package.json', 'package-lock.json']) await cp(path.join(ROOT, f), path.join(stage, f));
    // what dist/ reads at run time beside its node_modules: the migrations and the API document
    for (const dir of ['prisma', 'openapi']) if (existsSync(path.join(ROOT, dir))) await cp(path.join(ROOT, dir), path.join(stage, dir), { recursive: true });
    const ci = spawnSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: stage, encoding: 'utf8' });
    if (ci.status !== 0) why = `npm ci --omit=dev failed: ${(ci.stderr || ci.stdout).split('\n').filter((l) => l.includes('npm error')).join(' ')}`;
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await rm(stage, { recursive: true, force: true });
  });

  it('serves /readyz, the API (and its OpenAPI document once /openapi/v3 is served) and every metric, then on SIGTERM is not ready at once, exits 0 and releases the lease', async () => {
    if (why) throw new Error(why);
    const databaseUrl = await freshDatabase();
    const dataDir = path.join(stage, 'data');
    child = spawn(process.execPath, ['dist/main.js'], {
      cwd: stage,
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: databaseUrl,
        CMF_DATA_DIR: dataDir,
        CMF_KUBE: 'simulated',
        CMF_LOCAL_FLINK: 'off',
        CMF_LOCAL_KAFKA: 'off',
        PORT: '0',
        HOST: '127.0.0.1',
        CMF_OPS_PORT: '0',
        CMF_LEADER_LEASE_MS: '2000',
        CMF_SHUTDOWN_DELAY_MS: '2000',
        ...(sharedCrdFile() ? { CMF_SIM_CRD: sharedCrdFile()! } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const running = child;
    for (const s of [running.stdout!, running.stderr!]) s.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => running.once('exit', (code) => resolve(code)));
    const listening = (msg: string) => logEntries(output).find((e) => e.msg === msg)?.url as string | undefined;
    const opsUrl = await Promise.race([
      eventually('drey to listen', () => listening('ops server is listening'), 120_000),
      exited.then((code) => Promise.reject(new Error(`drey exited with ${code}:\n${output}`))),
    ]);
    const url = listening('drey is listening')!;

    expect(await get(`${opsUrl}/readyz`)).toEqual({ status: 200, body: { status: 'ready', checks: { database: 'ok' } } });
    expect((await get(`${url}/cmf/api/v1/environments`)).status).toBe(200);
    const openapi = await get(`${url}/openapi/v3`);
    if (openapi.status === 404) console.warn('SKIPPED PART: /openapi/v3 is not served yet, so the OpenAPI document is not checked');
    else expect(openapi).toMatchObject({ status: 200, body: { openapi: expect.stringMatching(/^3\./) } });
    await eventually('the lease to be held', async () => ((await query(databaseUrl, 'SELECT holder FROM "ControllerLease"')).length === 1 ? true : undefined), 60_000);
    const { types } = await scrape(opsUrl);
    expect(METRIC_NAMES.filter((name) => !types.has(name))).toEqual([]);

    running.kill('SIGTERM');
    // not ready at once, while the shutdown delay lets endpoints drain
    expect(await eventually('/readyz to answer 503', async () => ((await get(`${opsUrl}/readyz`)).status === 503 ? true : undefined), 1_000)).toBe(true);
    expect(await exited).toBe(0);
    expect(await query(databaseUrl, 'SELECT holder FROM "ControllerLease"')).toEqual([]);
    expect(output).toMatch(/drey stopped/);
  });
});
