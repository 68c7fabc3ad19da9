/**
 * The API with many applications stored and no controller running: create-or-update throughput,
 * GET and list latency against their bare counterparts, and the RSS of an API-serving follower.
 *
 * The benchmark holds the controllers' lease itself (holder 'bench', expiring in 100 years), so
 * neither drey here ever leads and nothing reconciles the bulk-stored applications: drey `A`
 * (CMF_KUBE=simulated) provides the cluster, follower `B` (CMF_KUBE=kubeconfig, A's kubeconfig)
 * serves every request measured.
 */
import path from 'node:path';
import pg from 'pg';
import { bareCreate, bareUpdate, createBareSchema, pageCursors, refreshPageCopy, startBareServer, type BareApplication, type BareServer } from './bare.js';
import { applicationBody, applicationsUrl, startNamedDrey, type ScaleContext } from './context.js';
import { expectOk, LeanConnection, request } from './http.js';
import { isLeader, postgresCpuSeconds, type Drey } from './processes.js';
import { latency, round, type Latency } from './stats.js';

/** Closed-loop throughput of 8 clients, and the CPU each process spent per operation (µs). */
export interface Throughput {
  ops: number;
  errors: number;
  opsPerSecond: number;
  p50: number;
  p99: number;
  cpuPerOpUs: { drey: number; postgres: number; client: number };
}

/** drey and its bare counterpart, side by side. */
export interface Versus<T> {
  drey: T;
  bare: T;
}

/** Latencies at one stored count. */
export interface StoredLevel {
  stored: number;
  get: Versus<Latency>;
  listRandom: Versus<Latency>;
  /** A walk page=0,1,2,… over every page (or as far as the timeout allowed). */
  listWalk: Versus<Latency & { pages: number; of: number; walks: number }>;
  followerRssMb: number;
}

/** Everything the stored phase measured. */
export interface StoredResult {
  throughput: { create: Versus<Throughput>; update: Versus<Throughput> };
  levels: StoredLevel[];
  /** RSS of follower B after serving the list and GET load at the largest stored count. */
  followerRssMb: number;
  followerHeapMb: number;
  /** Whether the bulk rows carry a converged application's status (else the sample's, null). */
  bulkStatus: 'converged sample' | 'none';
}

const CLIENTS = 8;
const PAGE = 100;
const STORED_ENV = 'stored';
const THROUGHPUT_ENV = 'throughput';
const ROUNDS = 3;

/** Holds the controllers' lease for 100 years, so no drey of this phase leads. */
async function holdLease(db: pg.Pool): Promise<void> {
  await db.query(
    `INSERT INTO "ControllerLease" (name, holder, "renewedAt", "expiresAt") VALUES ('controllers', 'bench', now(), now() + interval '100 years')
     ON CONFLICT (name) DO UPDATE SET holder = 'bench', "expiresAt" = now() + interval '100 years'`,
  );
}

/** One closed-loop round: each call's milliseconds, the failed calls, the round's length, CPU seconds spent in it. */
interface Loop {
  ms: number[];
  errors: number;
  seconds: number;
  cpu: { drey: number; postgres: number; client: number };
}

/** CPU seconds used so far by drey (when measured), PostgreSQL, and this process (the clients). */
async function cpuNow(drey: Drey | undefined): Promise<Loop['cpu']> {
  const usage = process.cpuUsage();
  return { drey: drey ? await drey.cpuSeconds() : 0, postgres: await postgresCpuSeconds(), client: (usage.user + usage.system) / 1e6 };
}

/** Runs `op(client, k)` from 8 clients in a closed loop for `seconds`, timing each call; `drey` is the process whose CPU counts as drey's. */
async function closedLoop(seconds: number, drey: Drey | undefined, op: (client: number, k: number) => Promise<boolean>): Promise<Loop> {
  const ms: number[] = [];
  let errors = 0;
  const before = await cpuNow(drey);
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      for (let k = 0; performance.now() < end; k++) {
        const t = performance.now();
        const ok = await op(client, k).catch(() => false);
        ms.push(performance.now() - t);
        if (!ok) errors++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const after = await cpuNow(drey);
  return {
    ms,
    errors,
    seconds: elapsed,
    cpu: { drey: after.drey - before.drey, postgres: after.postgres - before.postgres, client: after.client - before.client },
  };
}

function throughputOf(runs: Loop[]): Throughput {
  const ms = runs.flatMap((r) => r.ms);
  const errors = runs.reduce((s, r) => s + r.errors, 0);
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  const l = latency(ms);
  const perOp = (key: keyof Loop['cpu']) => round((runs.reduce((s, r) => s + r.cpu[key], 0) / Math.max(ms.length, 1)) * 1e6, 0);
  return {
    ops: ms.length,
    errors,
    opsPerSecond: round((ms.length - errors) / seconds, 1),
    p50: round(l.p50),
    p99: round(l.p99),
    cpuPerOpUs: { drey: perOp('drey'), postgres: perOp('postgres'), client: perOp('client') },
  };
}

/** One side of the throughput rounds: each client creates applications, then updates its own. */
interface Writer {
  create(client: number): Promise<boolean>;
  update(client: number, k: number): Promise<boolean>;
}

/**
 * drey's side: POSTs to the follower, a new name to create, a changed flinkConfiguration to
 * update; each client on its own lean keep-alive connection.
 */
function dreyWriter(url: string): Writer & { close(): void } {
  const target = new URL(url);
  const connections = Array.from({ length: CLIENTS }, () => new LeanConnection(target));
  const names: string[][] = Array.from({ length: CLIENTS }, () => []);
  let serial = 0;
  const post = async (c: number, body: unknown) => {
    const { status } = await connections[c]!.send('POST', target.pathname, body);
    return status === 200 || status === 201;
  };
  return {
    async create(c) {
      const name = `t${c}-${serial++}`;
      const created = await post(c, applicationBody(name));
      if (created) names[c]!.push(name);
      return created;
    },
    async update(c, k) {
      const own = names[c]!;
      return post(c, applicationBody(own[k % own.length]!, { 'bench.update': String(serial++) }));
    },
    close() {
      for (const connection of connections) connection.close();
    },
  };
}

/** The bare side: one transaction per write on client `c`'s own connection. */
function bareWriter(connections: pg.PoolClient[], environmentId: string): Writer {
  const apps: BareApplication[][] = Array.from({ length: CLIENTS }, () => []);
  let serial = 0;
  return {
    async create(c) {
      const name = `t${c}-${serial++}`;
      apps[c]!.push(await bareCreate(connections[c]!, environmentId, name, applicationBody(name).spec));
      return true;
    },
    async update(c, k) {
      const own = apps[c]!;
      await bareUpdate(connections[c]!, own[k % own.length]!, applicationBody('x', { 'bench.update': String(serial++) }).spec);
      return true;
    },
  };
}

/**
 * Create, then update, throughput: three rounds per side, drey and bare alternating so both see
 * the same noise. drey's clients POST to follower B; bare clients run one transaction each.
 */
async function throughput(ctx: ScaleContext, follower: Drey, db: pg.Pool, environmentId: string): Promise<StoredResult['throughput']> {
  const seconds = ctx.config.throughputS;
  const connections = await Promise.all(Array.from({ length: CLIENTS }, () => db.connect()));
  let cleanupWriter = () => undefined as void;
  try {
    const writers = { drey: dreyWriter(applicationsUrl(follower, THROUGHPUT_ENV)), bare: bareWriter(connections, environmentId) };
    cleanupWriter = () => writers.drey.close();
    const result = {} as StoredResult['throughput'];
    for (const kind of ['create', 'update'] as const) {
      const runs: Versus<Loop[]> = { drey: [], bare: [] };
      for (let r = 0; r < ROUNDS; r++) {
        ctx.progress(`throughput: ${kind} round ${r + 1} of ${ROUNDS} (${seconds} s drey, then ${seconds} s bare)`);
        for (const side of ['drey', 'bare'] as const) {
          const writer = writers[side];
          runs[side].push(await closedLoop(seconds, side === 'drey' ? follower : undefined, (c, k) => (kind === 'create' ? writer.create(c) : writer.update(c, k))));
        }
      }
      result[kind] = { drey: throughputOf(runs.drey), bare: throughputOf(runs.bare) };
    }
    return result;
  } finally {
    cleanupWriter();
    for (const connection of connections) connection.release();
  }
}

interface SampleRows {
  applicationId: string;
  environmentId: string;
}

/** The columns of a table, without those a sequence or identity fills. */
async function columns(db: pg.Pool, table: string): Promise<{ name: string; type: string }[]> {
  const { rows } = await db.query<{ name: string; type: string }>(
    `SELECT column_name AS name, data_type AS type FROM information_schema.columns
     WHERE table_schema = 'public' AND table_name = $1 AND coalesce(column_default, '') NOT LIKE 'nextval(%' AND is_identity = 'NO' AND is_generated = 'NEVER'
     ORDER BY ordinal_position`,
    [table],
  );
  return rows;
}

/** Every table other than Application with an `applicationId` column: an application's child rows. */
async function childTables(db: pg.Pool): Promise<string[]> {
  const { rows } = await db.query<{ table: string }>(
    `SELECT table_name AS table FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'applicationId' AND table_name <> 'Application' ORDER BY table_name`,
  );
  return rows.map((r) => r.table);
}

/**
 * Stores applications bulk-NNNNNN for NNNNNN in [from, to) as copies of the sample drey wrote
 * through the API (its Application row and every child row: instance, CMF_STATUS event, ...),
 * each with a new id, its own name and createdAt (1 ms apart), and `status` when given. The
 * instance's id is derived from the application's, so the event's instanceName names it.
 */
async function bulkStore(db: pg.Pool, sample: SampleRows, from: number, to: number, status: unknown): Promise<void> {
  const appColumns = await columns(db, 'Application');
  const override: Record<string, string> = {
    id: 'gen_random_uuid()',
    name: `'bulk-' || lpad(g::text, 6, '0')`,
    createdAt: `s."createdAt" + g * interval '1 millisecond'`,
    updatedAt: `s."createdAt" + g * interval '1 millisecond'`,
    ...(status !== undefined ? { status: `$4::${appColumns.find((c) => c.name === 'status')?.type === 'json' ? 'json' : 'jsonb'}` } : {}),
  };
  const children = await childTables(db);
  const instanceId = `md5(a.id::text || 'instance')::uuid`;
  const childSql: string[] = [];
  for (const table of children) {
    const cols = await columns(db, table);
    const value = (c: { name: string; type: string }) => {
      if (c.name === 'id') return table === 'ApplicationInstance' ? instanceId : 'gen_random_uuid()';
      if (c.name === 'applicationId') return 'a.id';
      if (c.name === 'instanceName') return `CASE WHEN s."instanceName" IS NULL THEN NULL ELSE (${instanceId})::text END`;
      if (c.name === 'createdAt' || c.name === 'updatedAt') return 'a."createdAt"';
      return `s."${c.name}"`;
    };
    childSql.push(
      `INSERT INTO "${table}" (${cols.map((c) => `"${c.name}"`).join(', ')})
       SELECT ${cols.map(value).join(', ')} FROM new_apps a, "${table}" s WHERE s."applicationId" = $1`,
    );
  }
  const chunk = 10_000;
  for (let start = from; start < to; start += chunk) {
    const end = Math.min(to, start + chunk);
    const client = await db.connect();
    try {
      await client.query('BEGIN');
      await client.query(`CREATE TEMP TABLE new_apps (id uuid, "createdAt" timestamptz(3)) ON COMMIT DROP`);
      await client.query(
        `WITH inserted AS (
           INSERT INTO "Application" (${appColumns.map((c) => `"${c.name}"`).join(', ')})
           SELECT ${appColumns.map((c) => override[c.name] ?? `s."${c.name}"`).join(', ')}
           FROM generate_series($2::int, $3::int - 1) g, "Application" s WHERE s.id = $1
           RETURNING id, "createdAt")
         INSERT INTO new_apps SELECT * FROM inserted`,
        status !== undefined ? [sample.applicationId, start, end, JSON.stringify(status)] : [sample.applicationId, start, end],
      );
      for (const sql of childSql) await client.query(sql, [sample.applicationId]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    } finally {
      client.release();
    }
  }
  await db.query('ANALYZE');
}

/** Sequential requests, drey and bare alternating in blocks of 50, `count` each, after 10 untimed each. */
async function alternate(count: number, dreyUrl: (i: number) => string, bareUrl: (i: number) => string): Promise<Versus<Latency>> {
  for (let i = 0; i < Math.min(10, count); i++) {
    await expectOk(dreyUrl(i));
    await expectOk(bareUrl(i));
  }
  const ms: Versus<number[]> = { drey: [], bare: [] };
  for (let block = 0; block < count; block += 50) {
    for (const side of ['drey', 'bare'] as const) {
      for (let i = block; i < Math.min(count, block + 50); i++) {
        const reply = await request(side === 'drey' ? dreyUrl(i) : bareUrl(i));
        if (reply.status !== 200) throw new Error(`${side} GET ${side === 'drey' ? dreyUrl(i) : bareUrl(i)} answered ${reply.status}: ${reply.body.slice(0, 200)}`);
        ms[side].push(reply.ms);
      }
    }
  }
  return { drey: rounded(latency(ms.drey)), bare: rounded(latency(ms.bare)) };
}

function rounded(l: Latency): Latency {
  return { n: l.n, p50: round(l.p50), p99: round(l.p99) };
}

/**
 * Walks every page in order: drey by page number, bare by the cursor of the page before. The
 * sides take turns, a whole walk each, until each has walked at least `samples` pages, so that a
 * short list's p99 is not its second-slowest page alone.
 */
async function walk(ctx: ScaleContext, follower: Drey, bare: BareServer, environmentId: string, pages: number): Promise<StoredLevel['listWalk']> {
  const deadlineMs = ctx.config.timeoutS * 1000;
  const walkDrey = async (ms: number[]) => {
    const started = performance.now();
    for (let page = 0; page < pages && performance.now() - started < deadlineMs; page++) {
      ms.push((await expectOk(`${applicationsUrl(follower, STORED_ENV)}?page=${page}&size=${PAGE}`)).ms);
    }
  };
  const walkBare = async (ms: number[]) => {
    const started = performance.now();
    let cursor = '';
    for (let page = 0; page < pages && performance.now() - started < deadlineMs; page++) {
      const reply = await expectOk(`${bare.url}/page/${environmentId}${cursor}`);
      ms.push(reply.ms);
      const rows = JSON.parse(reply.body) as { createdAt: string; name: string }[];
      const last = rows[rows.length - 1];
      if (!last) break;
      cursor = `?after=${encodeURIComponent(last.createdAt)}&name=${encodeURIComponent(last.name)}`;
    }
  };
  const dreyMs: number[] = [];
  const bareMs: number[] = [];
  let walks = 0;
  do {
    const before = dreyMs.length;
    await walkDrey(dreyMs);
    await walkBare(bareMs);
    walks++;
    if (dreyMs.length - before < pages) break; // a walk stopped at the deadline: one is enough
  } while (dreyMs.length < ctx.config.samples);
  const side = (ms: number[]) => ({ ...rounded(latency(ms)), pages: Math.round(ms.length / walks), of: pages, walks });
  return { drey: side(dreyMs), bare: side(bareMs) };
}

/** GET and list latencies, drey against bare, at the current stored count. */
async function measureLevel(ctx: ScaleContext, follower: Drey, bare: BareServer, db: pg.Pool, environmentId: string, stored: number): Promise<StoredLevel> {
  const { samples } = ctx.config;
  await refreshPageCopy(db, environmentId);
  const cursors = await pageCursors(db, environmentId);
  const pages = Math.ceil(stored / PAGE);
  const pick = (n: number) => Array.from({ length: samples }, () => Math.floor(Math.random() * n));
  const names = pick(stored).map((i) => `bulk-${String(i).padStart(6, '0')}`);
  ctx.progress(`stored ${stored}: ${samples} random GETs per side`);
  const get = await alternate(samples, (i) => `${applicationsUrl(follower, STORED_ENV)}/${names[i]}`, (i) => `${bare.url}/env/${STORED_ENV}/app/${names[i]}`);
  ctx.progress(`stored ${stored}: ${samples} random list pages of ${PAGE} per side`);
  const randomPages = pick(pages);
  const cursorQuery = (page: number) => {
    const c = cursors[page];
    return c ? `?after=${encodeURIComponent(c.after)}&name=${encodeURIComponent(c.name)}` : '';
  };
  const listRandom = await alternate(
    samples,
    (i) => `${applicationsUrl(follower, STORED_ENV)}?page=${randomPages[i]}&size=${PAGE}`,
    (i) => `${bare.url}/page/${environmentId}${cursorQuery(randomPages[i]!)}`,
  );
  ctx.progress(`stored ${stored}: walking all ${pages} pages per side`);
  const listWalk = await walk(ctx, follower, bare, environmentId, pages);
  return { stored, get, listRandom, listWalk, followerRssMb: round(await follower.rssMb(), 1) };
}

/** Runs the stored phase: API-only drey processes on a fresh database. */
export async function storedPhase(ctx: ScaleContext, statusSample: unknown): Promise<StoredResult> {
  const { config, database, progress } = ctx;
  const url = await database.fresh('scale_stored');
  await database.migrate(url);
  const db = new pg.Pool({ connectionString: url, max: CLIENTS + 2 });
  ctx.cleanup.add(async () => {
    // pg-pool's end() resolves once it has asked its idle clients to close, not once they have:
    // PostgreSQL stopping next may still terminate one, which the pool reports as an error.
    db.on('error', () => undefined);
    await db.end();
  });
  await holdLease(db);
  progress(`stored: the benchmark holds the controllers' lease (holder 'bench'), so no drey here reconciles; starting A (simulated) and follower B (A's kubeconfig)`);
  const a = await startNamedDrey(ctx, 'stored-a', url, { CMF_KUBE: 'simulated' });
  const b = await startNamedDrey(ctx, 'stored-b', url, { CMF_KUBE: 'kubeconfig', KUBECONFIG: path.join(a.dataDir, 'kubeconfig') });
  if ((await isLeader(a.url)) || (await isLeader(b.url))) throw new Error('a drey of the stored phase leads although the benchmark holds the lease');
  const bare = await startBareServer(db);
  try {
    for (const env of [THROUGHPUT_ENV, STORED_ENV]) {
      await expectOk(`${b.url}/cmf/api/v1/environments`, 'POST', { name: env, kubernetesNamespace: env });
    }
    const envIds = await db.query<{ id: string; name: string }>(`SELECT id, name FROM "Environment"`);
    const envId = (name: string) => envIds.rows.find((r) => r.name === name)!.id;
    await createBareSchema(db);
    const tput = await throughput(ctx, b, db, envId(THROUGHPUT_ENV));

    await expectOk(applicationsUrl(b, STORED_ENV), 'POST', applicationBody('bulk-000000'));
    const sample = await db.query<{ id: string }>(`SELECT id FROM "Application" WHERE "environmentId" = $1 AND name = 'bulk-000000'`, [envId(STORED_ENV)]);
    const sampleRows = { applicationId: sample.rows[0]!.id, environmentId: envId(STORED_ENV) };
    const levels: StoredLevel[] = [];
    let have = 1;
    for (const stored of config.stored) {
      progress(`stored: inserting applications ${have}..${stored - 1} in bulk (copies of one POSTed through the API)`);
      await bulkStore(db, sampleRows, have, stored, statusSample);
      // rows written over days would long since have been vacuumed and analyzed by autovacuum;
      // rows written by one statement a moment ago have not been yet
      await db.query(`VACUUM (ANALYZE) "Application", "ApplicationInstance", "ApplicationEvent"`);
      have = stored;
      levels.push(await measureLevel(ctx, b, bare, db, envId(STORED_ENV), stored));
    }
    const followerRssMb = round(await b.rssMb(), 1);
    const memory = await b.memory();
    const mb = (bytes: number) => `${round(bytes / 1048576, 1)} MB`;
    progress(`stored: follower B after the load: RSS ${followerRssMb} MB; after a GC: heap used ${mb(memory.heapUsed)} of ${mb(memory.heapTotal)}, external ${mb(memory.external)}, RSS ${mb(memory.rss)}`);
    return {
      throughput: tput,
      levels,
      followerRssMb,
      followerHeapMb: round(memory.heapUsed / 1048576, 1),
      bulkStatus: statusSample !== undefined ? 'converged sample' : 'none',
    };
  } finally {
    await bare.close();
    await b.stop();
    await a.stop();
  }
}
