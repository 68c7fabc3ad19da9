/**
 * `npm run bench -- api`: API latency against a baseline measured in the same run on the same
 * PostgreSQL, reported as ratios (the machine is shared, so absolute times mean little).
 *   baseline  — one parameterised INSERT and one SELECT over a plain pg connection
 *   post      — POST an application (validate, merge defaults, instance + event, one transaction)
 *   get       — GET the application
 *   list      — GET a page of 20 applications
 * Also reports the API process's heap growth across the run.
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createApp } from '../../src/api/app.js';
import { createDomain } from '../../src/domain/index.js';
import { createLogger } from '../../src/log.js';
import { createPrismaClient } from '../../src/store/client.js';
import { EmbeddedPostgres } from '../../src/store/embeddedPostgres.js';
import { createStore } from '../../src/store/index.js';
import { migrate, MIGRATIONS_DIR } from '../../src/store/migrate.js';

const N = Number(process.env.BENCH_N ?? 300);

function call(url: string, method: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function time(label: string, fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await fn(-1 - i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await fn(i);
  const perOp = Number(process.hrtime.bigint() - start) / 1e6 / N;
  process.stdout.write(`${label.padEnd(10)} ${perOp.toFixed(3)} ms/op\n`);
  return perOp;
}

/** Runs the API benchmark and prints its ratios to the plain-pg baseline. */
export async function apiBench(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'drey-bench-'));
  await chmod(dir, 0o755);
  const postgres = new EmbeddedPostgres({ dataDir: dir, log: { info: () => undefined, warn: () => undefined, error: () => undefined } });
  const url = await postgres.start();
  try {
    await migrate(url, MIGRATIONS_DIR);
    const prisma = createPrismaClient(url);
    const app = createApp({ domain: createDomain(createStore(prisma)), log: createLogger('warn') });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cmf/api/v1/environments`;
    await call(base, 'POST', JSON.stringify({ name: 'bench', kubernetesNamespace: 'bench' }));

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('CREATE TABLE baseline (id uuid PRIMARY KEY, body jsonb)');
    const heapBefore = process.memoryUsage().heapUsed;
    const baseline = await time('baseline', async () => {
      const id = randomUUID();
      await client.query('INSERT INTO baseline VALUES ($1, $2)', [id, { a: 1 }]);
      await client.query('SELECT * FROM baseline WHERE id = $1', [id]);
    });
    const appBody = (i: number) =>
      JSON.stringify({
        apiVersion: 'cmf.confluent.io/v1',
        kind: 'FlinkApplication',
        metadata: { name: `app-${i < 0 ? `w${-i}` : i}` },
        spec: { job: { jarURI: 'local:///x.jar', state: 'running', parallelism: 1 }, flinkConfiguration: { a: 'b' } },
      });
    const post = await time('post', (i) => call(`${base}/bench/applications`, 'POST', appBody(i)));
    const get = await time('get', (i) => call(`${base}/bench/applications/app-${Math.max(i, 0)}`, 'GET'));
    const list = await time('list', () => call(`${base}/bench/applications?size=20`, 'GET'));
    global.gc?.();
    const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
    process.stdout.write(
      `ratios to baseline: post ${(post / baseline).toFixed(2)}x, get ${(get / baseline).toFixed(2)}x, list ${(list / baseline).toFixed(2)}x\n` +
        `heap growth over ${4 * N} operations: ${heapMb.toFixed(1)} MiB\n`,
    );
    await client.end();
    server.close();
    server.closeAllConnections();
    await prisma.$disconnect();
  } finally {
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
