/**
 * The database goes away under load: drey stays up, answers 503 (never 500), reports the outage on
 * /healthz while it lasts, serves again on its own when the database is back, and loses nothing it
 * acknowledged. With the embedded PostgreSQL, drey restarts it itself; with an external one, it
 * reconnects.
 */
import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { EmbeddedPostgres, freePort } from '../../src/store/embeddedPostgres.js';
import { eventually } from '../support/drey.js';
import { environment } from '../support/fixtures.js';
import { logEntries } from '../support/logLines.js';
import { startDrey, stopDrey, type Running } from '../support/process.js';

jest.setTimeout(120_000);

const ENVS = '/cmf/api/v1/environments';
/** Writers still running when a test ends (it failed midway), stopped in afterEach. */
const active = new Set<Writers>();
afterEach(async () => {
  await Promise.all([...active].map((w) => w.stop()));
});

/** Writers posting environments until stopped, recording every answer. */
class Writers {
  readonly acknowledged: string[] = [];
  readonly statuses = new Map<number, number>();
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(url: string, prefix: string, count = 4) {
    this.loops = Array.from({ length: count }, (_, w) => this.loop(url, `${prefix}-${w}`));
    active.add(this);
  }

  private async loop(url: string, prefix: string): Promise<void> {
    for (let n = 0; this.running; n++) {
      const name = `${prefix}-${n}`;
      let status: number;
      try {
        const res = await fetch(`${url}${ENVS}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(environment(name, `ns-${name}`)) });
        status = res.status;
        await res.arrayBuffer();
      } catch {
        status = 0; // no answer at all
      }
      this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
      if (status === 201) this.acknowledged.push(name);
      // a refused write comes back at once: pace the retries as a client would
      else await new Promise((r) => setTimeout(r, 20));
    }
  }

  count(status: number): number {
    return this.statuses.get(status) ?? 0;
  }

  async stop(): Promise<void> {
    this.running = false;
    active.delete(this);
    await Promise.all(this.loops);
  }
}

async function health(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/healthz`);
  return { status: res.status, body: await res.json() };
}

/** Every acknowledged environment, read back through the API. */
async function missing(url: string, names: string[]): Promise<string[]> {
  const res = await fetch(`${url}${ENVS}?size=10000`);
  const stored = new Set(((await res.json()) as { items: { name: string }[] }).items.map((e) => e.name));
  return names.filter((n) => !stored.has(n));
}

/** Waits until drey serves writes again after the outage. */
async function servingAgain(url: string, writers: Writers): Promise<void> {
  const before = writers.acknowledged.length;
  await eventually('drey to serve again', async () => ((await health(url)).status === 200 ? true : undefined), 60_000);
  await eventually('writes to be acknowledged again', async () => (writers.acknowledged.length > before + 10 ? true : undefined), 60_000);
}

describe('the embedded PostgreSQL dies under load', () => {
  let dataDir: string;
  let drey: Running | undefined;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'drey-outage-'));
    await chmod(dataDir, 0o755); // the postgres account must reach it when the tests run as root
  });
  afterAll(async () => {
    if (drey && drey.child.exitCode === null) await stopDrey(drey, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('restarts it: 503 and /healthz down while it is gone, then serving again, with every acknowledged write kept', async () => {
    drey = await startDrey({ CMF_DATA_DIR: dataDir });
    const pgData = path.join(dataDir, 'postgres');
    const [postmaster, , , port] = readFileSync(path.join(pgData, 'postmaster.pid'), 'utf8').split('\n');
    const password = readFileSync(path.join(dataDir, 'postgres.password'), 'utf8').trim();

    // A backend busy with a query that never waits keeps the old server's shared memory in use
    // after the postmaster dies, so no restart can succeed until the test ends it: the outage
    // lasts as long as the test needs to see it, however busy the machine is.
    const holder = new pg.Client({ connectionString: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres` });
    holder.on('error', () => undefined);
    await holder.connect();
    const { rows } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const busy = holder.query('SELECT count(*) FROM generate_series(1, 1000000000000)').catch(() => undefined);

    const writers = new Writers(drey.url, 'emb');
    await eventually('writes before the outage', async () => (writers.acknowledged.length >= 20 ? true : undefined));
    process.kill(Number(postmaster), 'SIGKILL');

    // first unreachable, then (once drey has seen its child exit) being restarted, until the holder goes
    const down = await eventually('/healthz to report the database down and being restarted', async () => {
      const h = await health(drey!.url);
      return h.status === 503 && /being restarted/.test(h.body.databaseError) ? h.body : undefined;
    });
    expect(down).toMatchObject({ status: 'unavailable', database: 'embedded', databaseUp: false, databaseError: expect.stringContaining('the embedded PostgreSQL is being restarted (killed by SIGKILL') });
    await eventually('a write answered 503', async () => (writers.count(503) > 0 ? true : undefined));

    const released = Date.now();
    process.kill(rows[0]!.pid, 'SIGKILL');
    await busy;
    await servingAgain(drey.url, writers);
    await writers.stop();
    console.log(`embedded PostgreSQL killed: serving again ${Date.now() - released} ms after the old server let go; ${writers.count(201)} writes acknowledged, ${writers.count(503)} answered 503`);

    expect({ 500: writers.count(500), 0: writers.count(0) }).toEqual({ 500: 0, 0: 0 });
    expect([...writers.statuses.keys()].sort()).toEqual([201, 503]);
    expect(await missing(drey.url, writers.acknowledged)).toEqual([]);
    expect(logEntries(drey.output())).toContainEqual(expect.objectContaining({ msg: 'embedded PostgreSQL died; restarting it', reason: 'killed by SIGKILL' }));
    expect(drey.output()).toMatch(/embedded PostgreSQL restarted/);
    expect(drey.output()).not.toMatch(/request failed/);
    expect((await health(drey.url)).body).toMatchObject({ status: 'ok', databaseUp: true });
    expect(await stopDrey(drey, 'SIGTERM')).toBe(0);
  });
});

describe('an external PostgreSQL goes away under load', () => {
  let dataDir: string;
  let server: EmbeddedPostgres;
  let drey: Running | undefined;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'drey-external-'));
    await chmod(dataDir, 0o755);
    server = new EmbeddedPostgres({ dataDir, port: await freePort(), log: { info: () => undefined, warn: () => undefined, error: () => undefined } });
  });
  afterAll(async () => {
    if (drey && drey.child.exitCode === null) await stopDrey(drey, 'SIGKILL');
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('reconnects when it is back: 503 and /healthz down meanwhile, the controllers lead again, nothing acknowledged lost', async () => {
    const admin = await server.start();
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query('CREATE DATABASE drey_outage');
    await client.end();
    const url = new URL(admin);
    url.pathname = '/drey_outage';
    drey = await startDrey({ DATABASE_URL: url.toString(), CMF_DATA_DIR: path.join(dataDir, 'drey'), CMF_LEADER_LEASE_MS: '2000' });
    await eventually('the controllers to lead', async () => ((await health(drey!.url)).body.controllers.leader ? true : undefined));

    const writers = new Writers(drey.url, 'ext');
    await eventually('writes before the outage', async () => (writers.acknowledged.length >= 20 ? true : undefined));
    await server.stop();

    const down = await eventually('/healthz to report the database down', async () => {
      const h = await health(drey!.url);
      return h.status === 503 ? h.body : undefined;
    });
    expect(down).toMatchObject({ status: 'unavailable', database: 'external', databaseUp: false, databaseError: 'cannot reach the database' });
    await eventually('a write answered 503', async () => (writers.count(503) > 0 ? true : undefined));

    const back = Date.now();
    await server.start();
    await servingAgain(drey.url, writers);
    await writers.stop();
    console.log(`external PostgreSQL stopped: serving again ${Date.now() - back} ms after it was back; ${writers.count(201)} writes acknowledged, ${writers.count(503)} answered 503`);
    await eventually('the controllers to lead again', async () => ((await health(drey!.url)).body.controllers.leader ? true : undefined), 30_000);

    expect({ 500: writers.count(500), 0: writers.count(0) }).toEqual({ 500: 0, 0: 0 });
    expect(await missing(drey.url, writers.acknowledged)).toEqual([]);
    expect(drey.output()).not.toMatch(/request failed/);
    expect(await stopDrey(drey, 'SIGTERM')).toBe(0);
  });
});
