import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { emptyDatabase, query } from './support/db.js';
import { environment } from './support/fixtures.js';
import { logEntries } from './support/logLines.js';
import { ROOT, startDrey, stopDrey } from './support/process.js';

async function postEnvironment(url: string, name: string): Promise<number> {
  const res = await fetch(`${url}/cmf/api/v1/environments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(environment(name, 'ns-main')),
  });
  return res.status;
}

function postgresRunning(dataDir: string): boolean {
  const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
  return existsSync(pidFile);
}

jest.setTimeout(90_000);

describe('drey as a process', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'drey-main-'));
    await chmod(dataDir, 0o755);
  });
  afterAll(async () => rm(dataDir, { recursive: true, force: true }));

  it('starts with nothing configured on embedded PostgreSQL, logs where, and stops cleanly on SIGTERM', async () => {
    const drey = await startDrey({ CMF_DATA_DIR: dataDir });
    expect(drey.output()).toMatch(/database: embedded PostgreSQL/);
    expect(logEntries(drey.output())).toContainEqual(expect.objectContaining({ msg: 'migrations applied', applied: expect.stringMatching(/^20261121000000_init,/) }));
    expect(drey.output()).not.toMatch(/postgresql:\/\/postgres:[0-9a-f]{8}/);
    expect(await postEnvironment(drey.url, 'kept-env')).toBe(201);
    expect(await stopDrey(drey, 'SIGTERM')).toBe(0);
    expect(drey.output()).toMatch(/drey stopped/);
    expect(postgresRunning(dataDir)).toBe(false);
  });

  it('keeps the data across a restart on the same data directory, and stops on SIGINT', async () => {
    const drey = await startDrey({ CMF_DATA_DIR: dataDir });
    expect(logEntries(drey.output())).toContainEqual(expect.objectContaining({ msg: 'migrations applied', applied: 'none', alreadyApplied: expect.any(Number) }));
    const res = await fetch(`${drey.url}/cmf/api/v1/environments/kept-env`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { name: string }).name).toBe('kept-env');
    expect(await stopDrey(drey, 'SIGINT')).toBe(0);
    expect(postgresRunning(dataDir)).toBe(false);
  });

  it('recovers after being killed: the orphaned PostgreSQL is stopped and the data is there', async () => {
    const drey = await startDrey({ CMF_DATA_DIR: dataDir });
    await stopDrey(drey, 'SIGKILL');
    const again = await startDrey({ CMF_DATA_DIR: dataDir });
    expect((await fetch(`${again.url}/cmf/api/v1/environments/kept-env`)).status).toBe(200);
    expect(await stopDrey(again, 'SIGTERM')).toBe(0);
  });

  it('uses DATABASE_URL instead when set, applying the migrations there', async () => {
    const url = await emptyDatabase();
    const other = await mkdtemp(path.join(os.tmpdir(), 'drey-unused-'));
    const drey = await startDrey({ DATABASE_URL: url, CMF_DATA_DIR: other });
    expect(drey.output()).toMatch(/database: external PostgreSQL/);
    expect(drey.output()).not.toContain(new URL(url).password);
    expect(await postEnvironment(drey.url, 'external-env')).toBe(201);
    expect(await stopDrey(drey, 'SIGTERM')).toBe(0);
    expect(await query(url, 'SELECT name FROM "Environment"')).toEqual([{ name: 'external-env' }]);
    expect(existsSync(path.join(other, 'postgres'))).toBe(false);
    await rm(other, { recursive: true, force: true });
  });

  it('refuses a bad setting with a clear message', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: 'eighty' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toContain("PORT must be an integer from 0 to 65535, not 'eighty'");
  });

  it('stores the embedded database password in a file only its owner reads', async () => {
    const file = await stat(path.join(dataDir, 'postgres.password'));
    expect(file.mode & 0o077).toBe(0);
    expect((await readFile(path.join(dataDir, 'postgres.password'), 'utf8')).trim()).toMatch(/^[0-9a-f]{48}$/);
  });
});
