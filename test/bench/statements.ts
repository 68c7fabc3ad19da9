/**
 * `npm run bench -- statements`: statement latency through drey against the same SQL sent straight
 * to the same SQL Gateway in the same run, reported as ratios of medians (the machine is shared).
 *   SHOW TABLES  — drey: the POST round trip (answered COMPLETED at once);
 *                  bare: open a session, execute, fetch until EOS, close the session
 *   SELECT       — time to first row of a bounded SELECT over a datagen table. drey: POST, then GET
 *                  .../results following nextPageToken until a row comes (a DEDICATED pool: each
 *                  statement gets its cluster first); bare: open a session with the properties drey
 *                  gives its sessions, create the table (drey replays it into its session too),
 *                  execute, fetch until a row comes
 * drey runs in-process as the end-to-end tests start it: simulated Kubernetes, real local Flink.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findJavaTools } from '../../src/flink/local/jvm.js';
import { SqlGatewayClient, type ResultPage } from '../../src/flink/sqlGateway.js';
import { createLogger } from '../../src/log.js';
import { start, type Drey } from '../../src/main.js';
import { inProcessConfig } from '../support/drey.js';
import { computePool, environment, statement } from '../support/fixtures.js';
import { TEST_FLINK_CACHE } from '../support/flink.js';

const N = Number(process.env.BENCH_SQL_N ?? 10);
const WARMUP = 2;
/** Pause between two polls of an empty page, the same for drey's API and the bare gateway. */
const POLL_MS = 20;
const STATEMENTS = '/cmf/api/v1/environments/bench/statements';
const TABLE_DDL = "CREATE TABLE bench_gen (id BIGINT, v STRING) WITH ('connector' = 'datagen', 'number-of-rows' = '10')";
const SELECT = 'SELECT id, v FROM bench_gen';

type Body = Record<string, any>;

async function api(drey: Drey, method: string, path: string, body?: unknown): Promise<{ status: number; body: Body }> {
  const res = await fetch(`${drey.url}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Body) : {} };
}

async function expectStatus(what: string, call: Promise<{ status: number; body: Body }>, ...wanted: number[]): Promise<Body> {
  const res = await call;
  if (!wanted.includes(res.status)) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
  return res.body;
}

/** Deletes a statement and waits until it is gone, so that no cluster or job outlives its run. */
async function deleteStatement(drey: Drey, name: string): Promise<void> {
  await expectStatus(`DELETE ${name}`, api(drey, 'DELETE', `${STATEMENTS}/${name}`), 202, 204);
  for (const deadline = Date.now() + 60_000; (await api(drey, 'GET', `${STATEMENTS}/${name}`)).status !== 404; await sleep(50)) {
    if (Date.now() > deadline) throw new Error(`statement ${name} was not gone within 60 s of its DELETE`);
  }
}

/** Fetches an operation's pages until `enough` says so (or the results end). */
async function fetchUntil(gateway: SqlGatewayClient, session: string, operation: string, enough: (page: ResultPage) => boolean): Promise<void> {
  for (let token: number | undefined = 0; token !== undefined; ) {
    const page = await gateway.fetchResults(session, operation, token, { rowFormat: 'JSON' });
    if (enough(page) || page.resultType === 'EOS') return;
    if (page.resultType === 'NOT_READY' || page.rows.length === 0) await sleep(POLL_MS);
    token = page.nextToken;
  }
}

/** One timed run; what it returns is its clean-up, done after the clock stops. */
type Run = (i: number) => Promise<(() => Promise<unknown>) | void>;

/** Runs `drey` and `bare` alternately (warm-ups first) and returns their times in milliseconds. */
async function measure(drey: Run, bare: Run): Promise<{ drey: number[]; bare: number[] }> {
  const times = { drey: [] as number[], bare: [] as number[] };
  for (let i = -WARMUP; i < N; i++) {
    for (const [side, run] of [['drey', drey], ['bare', bare]] as const) {
      const started = performance.now();
      const cleanUp = await run(i);
      if (i >= 0) times[side].push(performance.now() - started);
      await cleanUp?.();
    }
  }
  return times;
}

function percentile(times: number[], p: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function row(what: string, times: { drey: number[]; bare: number[] }): string {
  const ms = (t: number[]) => `${percentile(t, 50).toFixed(0)} / ${percentile(t, 90).toFixed(0)}`.padStart(13);
  return `${what.padEnd(22)} ${ms(times.drey)} ${ms(times.bare)} ${(percentile(times.drey, 50) / percentile(times.bare, 50)).toFixed(2).padStart(8)}x\n`;
}

/** Starts drey in-process on its own embedded PostgreSQL with the simulated cluster and real local Flink. */
async function startDrey(dataDir: string): Promise<Drey> {
  const config = inProcessConfig({
    CMF_DATA_DIR: dataDir,
    CMF_LOCAL_FLINK: 'on',
    CMF_LOCAL_KAFKA: 'off',
    CMF_FLINK_CACHE: TEST_FLINK_CACHE,
    CMF_SIM_STEP_MS: '50',
    CMF_RESYNC_MS: '2000',
    CMF_LEADER_LEASE_MS: '2000',
  });
  return start(config, createLogger('warn'));
}

/** Runs the statements benchmark; without Java or Maven says loudly what is missing and returns false. */
export async function statementsBench(): Promise<boolean> {
  const tools = findJavaTools();
  if ('missing' in tools) {
    process.stdout.write(`\n*** SKIPPED: the statements benchmark needs ${tools.missing} (install a JDK 17 and Maven) ***\n\n`);
    return false;
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'drey-bench-sql-'));
  // the embedded PostgreSQL runs as its own account and must reach its directory inside
  await chmod(dataDir, 0o755);
  let drey: Drey | undefined;
  try {
    drey = await startDrey(dataDir);
    const d = drey;
    const gateway = new SqlGatewayClient({ baseUrl: d.flink!.gatewayUrl });
    const jobManager = new URL(d.flink!.restUrl);
    await expectStatus('POST environment', api(d, 'POST', '/cmf/api/v1/environments', environment('bench', 'bench')), 201);
    const pool = computePool('bench-pool', {
      flinkVersion: 'v2_2',
      image: 'flink:2.2',
      flinkConfiguration: { 'taskmanager.numberOfTaskSlots': '4' },
      jobManager: { resource: { cpu: 1, memory: '1024m' } },
      taskManager: { resource: { cpu: 1, memory: '1536m' } },
    });
    await expectStatus('POST compute pool', api(d, 'POST', '/cmf/api/v1/environments/bench/compute-pools', pool), 200);
    process.stdout.write(`statements: ${N} runs each after ${WARMUP} warm-ups, drey and bare alternately, on ${d.flink!.gatewayUrl}\n`);

    // before the table exists: drey's session then replays no catalog entry, as the bare one does
    const show = await measure(
      async (i) => {
        const body = await expectStatus('POST SHOW TABLES', api(d, 'POST', STATEMENTS, statement(`show-${i + WARMUP}`, 'SHOW TABLES', 'bench-pool')), 200);
        if (body.status.phase !== 'COMPLETED') throw new Error(`SHOW TABLES is ${body.status.phase}: ${body.status.detail}`);
        return () => deleteStatement(d, `show-${i + WARMUP}`);
      },
      async () => {
        const session = await gateway.openSession({ properties: { 'parallelism.default': '1' } });
        await fetchUntil(gateway, session, await gateway.executeStatement(session, 'SHOW TABLES'), () => false);
        await gateway.closeSession(session);
      },
    );

    const ddl = await expectStatus('POST CREATE TABLE', api(d, 'POST', STATEMENTS, statement('create-gen', TABLE_DDL, 'bench-pool')), 200);
    if (ddl.status.phase !== 'COMPLETED') throw new Error(`CREATE TABLE is ${ddl.status.phase}: ${ddl.status.detail}`);
    const select = await measure(
      async (i) => {
        const name = `select-${i + WARMUP}`;
        const created = await expectStatus('POST SELECT', api(d, 'POST', STATEMENTS, statement(name, SELECT, 'bench-pool')), 200);
        if (created.status.phase === 'FAILED') throw new Error(`SELECT failed: ${created.status.detail}`);
        for (let token: string | undefined; ; ) {
          const page = await expectStatus(`results of ${name}`, api(d, 'GET', `${STATEMENTS}/${name}/results${token ? `?page-token=${encodeURIComponent(token)}` : ''}`), 200);
          if (page.results.data.length > 0) break;
          token = page.metadata.annotations?.nextPageToken;
          if (!token) throw new Error(`the results of ${name} ended without a row`);
          await sleep(POLL_MS);
        }
        return () => deleteStatement(d, name);
      },
      async (i) => {
        const properties = {
          'parallelism.default': '1',
          'execution.target': 'remote',
          'rest.address': jobManager.hostname,
          'rest.port': jobManager.port,
          'pipeline.name': `bench/bare-${i + WARMUP}`,
        };
        const session = await gateway.openSession({ properties });
        await fetchUntil(gateway, session, await gateway.executeStatement(session, TABLE_DDL), () => false);
        let rows = 0;
        await fetchUntil(gateway, session, await gateway.executeStatement(session, SELECT), (page) => (rows += page.rows.length) > 0);
        if (rows === 0) throw new Error('the bare SELECT ended without a row');
        return () => gateway.closeSession(session);
      },
    );

    process.stdout.write(
      `${'what'.padEnd(22)} ${'drey p50/p90'.padStart(13)} ${'bare p50/p90'.padStart(13)} ${'p50 ratio'.padStart(9)}\n` +
        row('SHOW TABLES (ms)', show) +
        row('SELECT 1st row (ms)', select),
    );
    return true;
  } finally {
    await drey?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
