/**
 * `npm run bench -- api`: the API of an API-serving drey (a child process, as in production)
 * against bare baselines measured in the same run on the same PostgreSQL (the machine is shared,
 * so absolute times mean little; the ratios are the result):
 *   create    — POST new applications, 8 concurrent clients, vs one pg transaction per create
 *               inserting the application, instance and event rows (8 pooled connections)
 *   get       — GET one application (p50, sequential), vs the bare SELECT by (environment, name)
 *               and vs a bare Express handler doing that SELECT and answering JSON
 *   list      — every page of 100, page=0,1,2… as a client walks a list (p50/p99), vs the same
 *               ORDER BY + OFFSET sent bare, and vs a bare Express handler doing an indexed
 *               keyset query
 *   rss       — the API-serving process's resident memory after all of the above
 * `BENCH_APPS` (default 20000) applications are stored in bulk with SQL; `BENCH_BIG` (default 0,
 * e.g. 100000) repeats list and rss with that many.
 */
import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import pg from 'pg';
import { createApp } from '../../src/api/app.js';
import { serve } from '../../src/api/server.js';
import { createDomain } from '../../src/domain/index.js';
import { createLogger } from '../../src/log.js';
import { createPrismaClient } from '../../src/store/client.js';
import { EmbeddedPostgres } from '../../src/store/embeddedPostgres.js';
import { createStore } from '../../src/store/index.js';
import { migrate, MIGRATIONS_DIR } from '../../src/store/migrate.js';
import { ephemeralKeyring } from '../support/keyring.js';

const APPS = Number(process.env.BENCH_APPS ?? 20_000);
const BIG = Number(process.env.BENCH_BIG ?? 0);
const CREATES = Number(process.env.BENCH_CREATES ?? 2_000);
const GETS = Number(process.env.BENCH_GETS ?? 2_000);
const CONCURRENCY = 8;
const PAGE = 100;

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function call(url: string, method = 'GET', body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function expectOk(url: string, method = 'GET', body?: string): Promise<void> {
  const status = await call(url, method, body);
  if (status >= 300) throw new Error(`${method} ${url} answered ${status}`);
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Latencies (ms) of `count` sequential calls, after a warm-up. */
async function latencies(count: number, fn: (i: number) => Promise<unknown>, warmup = 50): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < warmup; i++) await fn(i % count);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    await fn(i);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99) };
}

/** Operations per second of `count` operations spread over CONCURRENCY workers. */
async function throughput(count: number, fn: (i: number) => Promise<unknown>): Promise<{ perSecond: number; p50: number }> {
  let next = 0;
  const times: number[] = [];
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++;
        const t = process.hrtime.bigint();
        await fn(i);
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  times.sort((a, b) => a - b);
  return { perSecond: count / seconds, p50: quantile(times, 0.5) };
}

const ms = (v: number) => `${v.toFixed(2)} ms`;
const line = (text: string) => process.stdout.write(`${text}\n`);

function appBody(name: string): string {
  return JSON.stringify({
    apiVersion: 'cmf.confluent.io/v1',
    kind: 'FlinkApplication',
    metadata: { name },
    spec: { job: { jarURI: 'local:///x.jar', state: 'running', parallelism: 1 }, flinkConfiguration: { a: 'b' } },
  });
}

/** Stores `count` more applications (named app-<n>) in the environment, in bulk. */
async function insertApplications(db: pg.Pool, table: string, environmentId: string, from: number, count: number): Promise<void> {
  await db.query(
    `INSERT INTO ${table} (id, "environmentId", name, "apiVersion", kind, spec, "specHash", version, "createdAt", "updatedAt")
     SELECT gen_random_uuid(), $1, 'app-' || n, 'cmf.confluent.io/v1', 'FlinkApplication',
            '{"job":{"jarURI":"local:///x.jar","state":"running","parallelism":1},"flinkConfiguration":{"a":"b"}}'::json,
            md5(n::text), 1, timestamptz '2026-01-01' + n * interval '1 millisecond', timestamptz '2026-01-01' + n * interval '1 millisecond'
     FROM generate_series($2::int, $3::int) n`,
    [environmentId, from, from + count - 1],
  );
  await db.query(`ANALYZE ${table}`);
}

/** CPU time (ms) used so far by a process, from /proc (Linux). */
async function cpuMs(pid: number): Promise<number> {
  const { user, system } = await cpuSplitMs(pid);
  return user + system;
}

/** CPU time (ms) used so far by a process in user space and in the kernel (system calls: sockets), from /proc (Linux). */
async function cpuSplitMs(pid: number): Promise<{ user: number; system: number }> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /, '').split(' ');
  return { user: (Number(fields[11]) * 1000) / 100, system: (Number(fields[12]) * 1000) / 100 };
}

/**
 * CPU time (ms) used so far by the PostgreSQL server at `dataDir`: the postmaster's own and its
 * ended backends' (which it reaped: cutime, cstime), plus its live backends'.
 */
async function postgresCpuMs(dataDir: string): Promise<number> {
  let postmaster: number | undefined;
  const children: number[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if ((await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes(dataDir)) postmaster = Number(pid);
      const ppid = Number((await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /, '').split(' ')[1]);
      children.push(ppid, Number(pid));
    } catch {
      // the process ended while we looked
    }
  }
  if (postmaster === undefined) return 0;
  const fields = (await readFile(`/proc/${postmaster}/stat`, 'utf8')).replace(/^.*\) /, '').split(' ');
  let total = ((Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 1000) / 100;
  for (let i = 0; i < children.length; i += 2) {
    if (children[i] === postmaster) total += await cpuMs(children[i + 1]!).catch(() => 0);
  }
  return total;
}

/** CPU per operation of a phase: drey's process, PostgreSQL's, and this (client) process's. */
async function cpuPerOp<T>(pid: number, dataDir: string, ops: number, phase: () => Promise<T>): Promise<{ result: T; cpu: string }> {
  const [drey0, pg0, self0] = [await cpuSplitMs(pid), await postgresCpuMs(dataDir), process.cpuUsage()];
  const result = await phase();
  const self = process.cpuUsage(self0);
  const drey1 = await cpuSplitMs(pid);
  const per = (ms: number) => `${((ms * 1000) / ops).toFixed(0)}µs`;
  const dreyUser = drey1.user - drey0.user;
  const dreySystem = drey1.system - drey0.system;
  const cpu =
    `cpu/op drey ${per(dreyUser + dreySystem)} (kernel ${per(dreySystem)}) postgres ${per((await postgresCpuMs(dataDir)) - pg0)} ` +
    `client ${per((self.user + self.system) / 1000)}`;
  return { result, cpu };
}

/** Resident memory of the process under test, from /proc (Linux), with what its V8 heap and buffers hold. */
async function memory(pid: number, bare: string): Promise<string> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
  const usage = await new Promise<Record<string, number>>((resolve, reject) => {
    http
      .get(`${bare}/bare/memory`, { agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(JSON.parse(text) as Record<string, number>));
      })
      .on('error', reject);
  });
  const mb = (v: number | undefined) => `${((v ?? 0) / 1024 / 1024).toFixed(0)} MB`;
  return `${rss.toFixed(0)} MB (heap used ${mb(usage.heapUsed)} of ${mb(usage.heapTotal)}, external ${mb(usage.external)})`;
}

/**
 * The process under test: drey's API as main.ts serves it, plus a bare Express app (its own port,
 * its own pg pool) answering the baseline handlers over copies of the tables (`bare_*`).
 */
async function serveForBench(databaseUrl: string): Promise<void> {
  const prisma = createPrismaClient(databaseUrl);
  const log = createLogger('warn');
  const drey = await serve(createApp({ domain: createDomain(createStore(prisma, { keyring: ephemeralKeyring() })), log }), { port: 0, host: '127.0.0.1', log });
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  const bare = express();
  bare.get('/bare/:env/applications/:app', async (req, res) => {
    const { rows } = await pool.query(
      'SELECT a.* FROM bare_app a JOIN bare_env e ON e.id = a."environmentId" WHERE e.name = $1 AND a.name = $2',
      [req.params.env, req.params.app],
    );
    if (!rows[0]) res.status(404).json({ errors: [{ message: 'not found' }] });
    else res.json(rows[0]);
  });
  bare.get('/bare/:env/applications', async (req, res) => {
    const after = typeof req.query.after === 'string' ? JSON.parse(req.query.after) : null;
    const { rows } = await pool.query(
      `SELECT a.* FROM bare_app a WHERE a."environmentId" = (SELECT id FROM bare_env WHERE name = $1)
         AND (a."createdAt", a.name) > ($2::timestamptz, $3::text)
       ORDER BY a."createdAt", a.name LIMIT ${PAGE}`,
      [req.params.env, after?.[0] ?? '-infinity', after?.[1] ?? ''],
    );
    res.json({ items: rows });
  });
  bare.get('/bare/memory', (_req, res) => {
    global.gc?.();
    res.json(process.memoryUsage());
  });
  const bareServer = bare.listen(0, '127.0.0.1');
  await once(bareServer, 'listening');
  process.stdout.write(`${JSON.stringify({ drey: (drey.address() as AddressInfo).port, bare: (bareServer.address() as AddressInfo).port })}\n`);
}

async function startChild(databaseUrl: string): Promise<{ child: ChildProcess; drey: string; bare: string }> {
  const profile = process.env.BENCH_PROFILE ? [`--cpu-prof`, `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = spawn(process.execPath, [...profile, '--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, DREY_BENCH_SERVE: databaseUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  const ports = JSON.parse(chunk.toString('utf8')) as { drey: number; bare: number };
  return { child, drey: `http://127.0.0.1:${ports.drey}`, bare: `http://127.0.0.1:${ports.bare}` };
}

/** Walks every page of the list in order; returns latency quantiles. */
async function walkPages(base: string, total: number): Promise<{ p50: number; p99: number }> {
  const pages = Math.ceil(total / PAGE) + 1;
  return latencies(pages, (i) => expectOk(`${base}?page=${i}&size=${PAGE}`), 0);
}

/** The same walk through the bare keyset handler. */
async function walkKeyset(url: string, total: number): Promise<{ p50: number; p99: number }> {
  let after: unknown = null;
  const pages = Math.ceil(total / PAGE) + 1;
  return latencies(
    pages,
    async (i) => {
      if (i === 0) after = null;
      const body = await new Promise<string>((resolve, reject) => {
        http
          .get(`${url}${after ? `?after=${encodeURIComponent(JSON.stringify(after))}` : ''}`, { agent }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => resolve(text));
          })
          .on('error', reject);
      });
      const items = (JSON.parse(body) as { items: { createdAt: string; name: string }[] }).items;
      const last = items[items.length - 1];
      after = last ? [last.createdAt, last.name] : after;
    },
    0,
  );
}

/** Bare ORDER BY + OFFSET walk, straight through pg. */
async function walkOffsetBare(db: pg.Pool, environmentId: string, total: number): Promise<{ p50: number; p99: number }> {
  const pages = Math.ceil(total / PAGE) + 1;
  return latencies(
    pages,
    (i) =>
      db.query(`SELECT * FROM "Application" WHERE "environmentId" = $1 ORDER BY "createdAt", name OFFSET $2 LIMIT ${PAGE}`, [
        environmentId,
        i * PAGE,
      ]),
    0,
  );
}

/** Runs the API benchmark and prints drey against the bare baselines. */
export async function apiBench(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'drey-bench-'));
  await chmod(dir, 0o755);
  const postgres = new EmbeddedPostgres({ dataDir: dir, log: { info: () => undefined, warn: () => undefined, error: () => undefined } });
  const url = await postgres.start();
  let child: ChildProcess | undefined;
  try {
    await migrate(url, MIGRATIONS_DIR);
    const db = new pg.Pool({ connectionString: url, max: CONCURRENCY });
    for (const t of ['env', 'app', 'inst', 'event']) {
      const source = { env: 'Environment', app: 'Application', inst: 'ApplicationInstance', event: 'ApplicationEvent' }[t];
      await db.query(`CREATE TABLE bare_${t} (LIKE "${source}" INCLUDING DEFAULTS INCLUDING INDEXES)`);
    }
    await db.query('CREATE INDEX ON bare_app ("environmentId", "createdAt", name)');
    const started = await startChild(url);
    child = started.child;
    const envs = `${started.drey}/cmf/api/v1/environments`;
    for (const name of ['bench', 'writes']) await expectOk(envs, 'POST', JSON.stringify({ name, kubernetesNamespace: name }));
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM "Environment" WHERE name = 'bench'`);
    const benchId = rows[0]!.id;
    await db.query(`INSERT INTO bare_env SELECT * FROM "Environment"`);
    await insertApplications(db, '"Application"', benchId, 0, APPS);
    await insertApplications(db, 'bare_app', benchId, 0, APPS);
    line(`${APPS} applications stored; drey pid ${child.pid}`);

    // create-or-update throughput
    const bareCreate = await cpuPerOp(child.pid!, dir, CREATES, () => throughput(CREATES, async () => {
      const client = await db.connect();
      try {
        const id = randomUUID();
        const at = new Date();
        await client.query('BEGIN');
        await client.query(
          `INSERT INTO bare_app (id, "environmentId", name, "apiVersion", kind, spec, "specHash", "createdAt", "updatedAt") VALUES ($1, $2, $3, 'v1', 'FlinkApplication', $4, 'h', $5, $5)`,
          [id, benchId, `w-${id}`, appBody('x'), at],
        );
        await client.query(`INSERT INTO bare_inst (id, "applicationId", spec, "createdAt", "updatedAt") VALUES ($1, $2, $3, $4, $4)`, [randomUUID(), id, appBody('x'), at]);
        await client.query(`INSERT INTO bare_event (id, "applicationId", type, message, "createdAt") VALUES ($1, $2, 'CMF_STATUS', 'created', $3)`, [randomUUID(), id, at]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    }));
    await throughput(200, (i) => expectOk(`${envs}/writes/applications`, 'POST', appBody(`warm-${i}`)));
    const dreyCreate = await cpuPerOp(child.pid!, dir, CREATES, () =>
      throughput(CREATES, (i) => expectOk(`${envs}/writes/applications`, 'POST', appBody(`new-${i}`))),
    );
    line(
      `create   drey ${dreyCreate.result.perSecond.toFixed(0)}/s (p50 ${ms(dreyCreate.result.p50)})   bare ${bareCreate.result.perSecond.toFixed(0)}/s   ` +
        `ratio ${(dreyCreate.result.perSecond / bareCreate.result.perSecond).toFixed(2)}\n         drey ${dreyCreate.cpu}\n         bare ${bareCreate.cpu}`,
    );
    const dreyRepost = await cpuPerOp(child.pid!, dir, CREATES, () =>
      throughput(CREATES, (i) => expectOk(`${envs}/writes/applications`, 'POST', appBody(`new-${i}`))),
    );
    line(`repost   drey ${dreyRepost.result.perSecond.toFixed(0)}/s (p50 ${ms(dreyRepost.result.p50)})   (unchanged: writes nothing)   ${dreyRepost.cpu}`);

    // GET one application
    const pick = (i: number) => `app-${(i * 7919) % APPS}`;
    const bareSelect = await latencies(GETS, (i) =>
      db.query('SELECT a.* FROM bare_app a JOIN bare_env e ON e.id = a."environmentId" WHERE e.name = $1 AND a.name = $2', ['bench', pick(i)]),
    );
    const bareGet = await latencies(GETS, (i) => expectOk(`${started.bare}/bare/bench/applications/${pick(i)}`));
    const dreyGet = await latencies(GETS, (i) => expectOk(`${envs}/bench/applications/${pick(i)}`));
    line(`get      drey p50 ${ms(dreyGet.p50)}   bare Express p50 ${ms(bareGet.p50)}   bare SELECT p50 ${ms(bareSelect.p50)}   ratio to bare Express ${(dreyGet.p50 / bareGet.p50).toFixed(2)}`);

    const lists = async (total: number) => {
      // warm-up: the first pages of each, as a client starting a walk
      await walkOffsetBare(db, benchId, 10 * PAGE);
      await walkKeyset(`${started.bare}/bare/bench/applications`, 10 * PAGE);
      await walkPages(`${envs}/bench/applications`, 10 * PAGE);
      const bareOffset = await walkOffsetBare(db, benchId, total);
      const bareKeyset = await walkKeyset(`${started.bare}/bare/bench/applications`, total);
      const drey = await walkPages(`${envs}/bench/applications`, total);
      line(
        `list@${total}   drey p50/p99 ${ms(drey.p50)}/${ms(drey.p99)}   bare OFFSET ${ms(bareOffset.p50)}/${ms(bareOffset.p99)}   ` +
          `bare keyset Express ${ms(bareKeyset.p50)}/${ms(bareKeyset.p99)}   p99 ratio to keyset ${(drey.p99 / bareKeyset.p99).toFixed(2)}`,
      );
    };
    await lists(APPS);
    line(`rss      drey ${await memory(child.pid!, started.bare)} with ${APPS + CREATES + 200} applications stored`);
    if (BIG > APPS) {
      await insertApplications(db, '"Application"', benchId, APPS, BIG - APPS);
      await insertApplications(db, 'bare_app', benchId, APPS, BIG - APPS);
      await lists(BIG);
      await latencies(GETS, (i) => expectOk(`${envs}/bench/applications/app-${(i * 7919) % BIG}`));
      line(`rss      drey ${await memory(child.pid!, started.bare)} with ${BIG + CREATES + 200} applications stored`);
    }
    await db.end();
  } finally {
    agent.destroy();
    if (child) {
      child.kill('SIGINT');
      await once(child, 'exit');
    }
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.env.DREY_BENCH_SERVE) {
  process.on('SIGINT', () => process.exit(0));
  await serveForBench(process.env.DREY_BENCH_SERVE);
}
