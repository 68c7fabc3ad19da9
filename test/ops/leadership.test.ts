import { jest } from '@jest/globals';
import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { serveOps } from '../../src/api/ops.js';
import { loadConfig } from '../../src/config.js';
import { LeaderElection } from '../../src/controllers/leader.js';
import { createLogger } from '../../src/log.js';
import { start, type Drey } from '../../src/main.js';
import { Metrics } from '../../src/metrics.js';
import { createPrismaClient, type PrismaClient } from '../../src/store/client.js';
import { createStore } from '../../src/store/index.js';
import { sharedCrdFile } from '../support/crd.js';
import { freshDatabase } from '../support/db.js';
import { eventually, FAST } from '../support/drey.js';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy.js';
import { scrape, valueOf } from './promText.js';

jest.setTimeout(120_000);

async function get(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

/** The lines a logger wrote, for waiting on what it said. */
function recorder(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, log: createLogger('info', (line) => lines.push(line)) };
}

describe('/livez and the leader election loop', () => {
  let databaseUrl: string;
  let prisma: PrismaClient;
  let election: LeaderElection | undefined;
  let ops: Server | undefined;
  beforeAll(async () => {
    databaseUrl = await freshDatabase();
    prisma = createPrismaClient(databaseUrl);
  });
  afterEach(async () => {
    await election?.stop();
    election = undefined;
    await new Promise<void>((resolve) => (ops ? ops.close(() => resolve()) : resolve()));
    ops?.closeAllConnections();
    ops = undefined;
  });
  afterAll(async () => prisma?.$disconnect());

  /** An ops server whose `/livez` looks at `election` as drey's does. */
  async function opsFor(e: LeaderElection, log: ReturnType<typeof createLogger>): Promise<string> {
    ops = await serveOps({
      port: 0,
      host: '127.0.0.1',
      log,
      metrics: new Metrics(),
      database: async () => ({ up: true }),
      stopping: () => false,
      wedged: () => {
        const why = e.wedged();
        return why ? { leaderElection: why } : {};
      },
    });
    const address = ops.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  it('fails /livez, naming the loop, while controllers never finish starting, and recovers when they do', async () => {
    const { log } = recorder();
    let finish: () => void = () => undefined;
    let finished = false;
    election = new LeaderElection({
      store: createStore(prisma),
      log,
      identity: 'wedged',
      name: 'livez-wedged',
      ttlMs: 1_000,
      renewMs: 300,
      retryMs: 200,
      wedgedAfterMs: 1_500,
      // hangs until the test lets it finish; later starts (after a slow renewal on a busy machine) do not
      onStartedLeading: () => (finished ? Promise.resolve() : new Promise<void>((resolve) => (finish = resolve))),
      onStoppedLeading: async () => undefined,
    });
    const url = await opsFor(election, log);
    election.start();
    const failed = await eventually('/livez to answer 503', async () => {
      const r = await get(`${url}/livez`);
      return r.status === 503 ? r.body : undefined;
    });
    expect(failed).toEqual({ status: 'not live', checks: { leaderElection: expect.stringMatching(/^no leader election round has finished for \d+ s \(lease 1 s\)/) } });
    finished = true;
    finish();
    const live = await eventually('/livez to answer 200 again', async () => {
      const r = await get(`${url}/livez`);
      return r.status === 200 ? r.body : undefined;
    });
    expect(live).toEqual({ status: 'ok' });
  });

  it('a database that does not answer lease queries: the leader stops leading at the deadline, and /livez stays 200 for longer than it would take to fail', async () => {
    const { lines, log } = recorder();
    const events: string[] = [];
    election = new LeaderElection({
      store: createStore(prisma),
      log,
      identity: 'slow-db',
      name: 'livez-slow',
      ttlMs: 3_000,
      renewMs: 500,
      retryMs: 200,
      // a renewal must land within 1.5 s of the last grant; each try (a follower's too) ends by then
      deadlineMs: 1_500,
      wedgedAfterMs: 4_000,
      onStartedLeading: async () => void events.push('started'),
      onStoppedLeading: async () => void events.push('stopped'),
    });
    const url = await opsFor(election, log);
    election.start();
    await eventually('the election to lead', () => election!.isLeader);
    // a transaction holding the lease row: every renewal waits on it until the database gives up
    const blocker = new pg.Client({ connectionString: databaseUrl });
    await blocker.connect();
    let fromBlock = 0;
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT * FROM "ControllerLease" WHERE name = 'livez-slow' FOR UPDATE`);
      // what happened before the row was locked (a slow renewal on a busy machine) is not this test's
      fromBlock = events.length;
      const failedAt = lines.filter((l) => l.includes('lease unavailable')).length;
      await eventually('the leader to stop leading', () => !election!.isLeader && events.at(-1) === 'stopped');
      // rounds that failed on the deadline for longer than wedgedAfterMs: each one finished, so the loop is not wedged
      const failedRounds = () => lines.filter((l) => l.includes('lease unavailable')).length - failedAt;
      await eventually('five rounds to fail on the deadline', () => failedRounds() >= 5, 60_000);
      expect(election.wedged()).toBeUndefined();
      expect(await get(`${url}/livez`)).toEqual({ status: 200, body: { status: 'ok' } });
      expect(election.isLeader).toBe(false);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    await eventually('the election to lead again', () => election!.isLeader);
    expect(events.slice(fromBlock)).toEqual(['stopped', 'started']);
  });
});

describe('two dreys on one database when the leader loses its lease', () => {
  const crd = sharedCrdFile();
  let databaseUrl: string;
  let proxy: TcpProxy;
  const dreys: { drey: Drey; dataDir: string }[] = [];
  /** Both dreys' log lines in the order they were written, each prefixed with its drey's name. */
  const timeline: string[] = [];

  async function startOne(name: string, url: string): Promise<Drey> {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), `drey-${name}-`));
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      CMF_OPS_PORT: '0',
      DATABASE_URL: url,
      CMF_DATA_DIR: dataDir,
      CMF_KUBE: 'simulated',
      ...(crd ? { CMF_SIM_CRD: crd } : {}),
      ...FAST,
      // long enough that a leader cut off from the database has stopped its controllers well before the lease expires
      CMF_LEADER_LEASE_MS: '6000',
    });
    const drey = await start(config, createLogger('info', (line) => timeline.push(`${name}: ${line}`)));
    dreys.push({ drey, dataDir });
    return drey;
  }

  beforeAll(async () => {
    databaseUrl = await freshDatabase();
    proxy = await startTcpProxy(databaseUrl);
  });
  afterAll(async () => {
    proxy?.restore();
    for (const { drey, dataDir } of dreys) {
      await drey.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
    await proxy?.close();
  });

  it('the old leader stops its controllers before the new one starts them, and leader_election_master_status follows', async () => {
    const status = async (d: Drey) => valueOf((await scrape(d.opsUrl!)).samples, 'leader_election_master_status', { name: 'controllers' });
    // the first reaches the database through a proxy the test can cut
    const first = await startOne('first', proxy.url);
    await eventually('the first drey to lead', () => first.leader.isLeader);
    const second = await startOne('second', databaseUrl);
    // the first leads and the metric says so (a renewal slowed by the second's start may step it down a moment)
    await eventually('the first leading, as the metric says', async () =>
      first.leader.isLeader && !second.leader.isLeader && (await status(first)) === 1 && (await status(second)) === 0 ? true : undefined,
    );

    const cutAt = timeline.length;
    proxy.cut();
    await eventually('the second drey to lead', () => second.leader.isLeader, 60_000);
    const after = timeline.slice(cutAt);
    const stopped = after.findIndex((l) => l.startsWith('first: ') && l.includes('leader election: controllers stopped'));
    const started = after.findIndex((l) => l.startsWith('second: ') && l.includes('this process leads; controllers start'));
    expect(stopped).toBeGreaterThanOrEqual(0);
    expect(started).toBeGreaterThan(stopped);
    expect(first.leader.isLeader).toBe(false);
    expect([await status(first), await status(second)]).toEqual([0, 1]);
    expect(first.leader.wedged()).toBeUndefined();
  });
});
