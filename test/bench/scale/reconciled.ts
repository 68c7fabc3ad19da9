/**
 * A leader with a reconciled fleet: its RSS, what one idle resync period costs (row writes,
 * Kubernetes writes, CPU), and a soak of steady writes sampling RSS and heap for a leak.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { ConvergedLeader, ConvergeResult } from './converge.js';
import { applicationBody, applicationsUrl, type ScaleContext } from './context.js';
import { request } from './http.js';
import { difference, perUnit, requestsByClient, writeRequests, type RequestsByClient } from './kubeMetrics.js';
import { linearFit, round } from './stats.js';

/** The leader with a reconciled fleet. */
export interface ReconciledResult {
  converge: ConvergeResult;
  /** Where the simulated cluster ran: in a drey of its own, or in the leader. */
  cluster: 'separate' | 'inprocess';
  leaderRssMb: number;
  /** The leader's RSS right after a full GC, and its heap then. */
  leaderRssAfterGcMb: number;
  leaderHeapMb: number;
  /** RSS of the drey holding the simulated cluster, when separate. */
  clusterRssMb: number | null;
  idle: IdleResult;
  soak: SoakResult;
}

/** One idle resync period at a converged fleet. */
export interface IdleResult {
  /** Length of the CPU and Kubernetes window: one resync period. */
  windowS: number;
  /**
   * Length of the row-write window: the same start, ending 11 s later, because backends report
   * their row counts to pg_stat up to 10 s late; longer, so no write of the period is missed.
   */
  rowWindowS: number;
  /** n_tup_ins + n_tup_upd + n_tup_del per table that had any. */
  rowWrites: Record<string, number>;
  /** Row writes of every table but ControllerLease. */
  rowWritesExceptLease: number;
  leaseWrites: number;
  /** Kubernetes write requests (null: no /metrics). */
  k8sWrites: number | null;
  /** Kubernetes requests per application in the period, i.e. per reconcile of a resync. */
  k8sPerReconcile: RequestsByClient | null;
  /** Leader CPU (utime + stime) over the period, as % of one core. */
  cpuPercent: number;
}

/** The soak: steady writes, with RSS and heap sampled every 5 s. */
export interface SoakResult {
  seconds: number;
  /** Writes per second asked for, and achieved. */
  rate: number;
  achievedRate: number;
  errors: number;
  /** Failed writes by HTTP status or error code. */
  errorKinds: Record<string, number>;
  samples: { t: number; rssMb: number; heapMb: number }[];
  /** Samples before this many seconds are warm-up, left out of the slopes. */
  warmupS: number;
  rssSlopeMbPerMin: number;
  heapSlopeMbPerMin: number;
}

/** Row writes per table since the statistics were reset, from pg_stat_user_tables. */
async function rowWrites(client: pg.Client): Promise<Map<string, number>> {
  await client.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await client.query<{ table: string; writes: string }>(
    `SELECT schemaname || '.' || relname AS table, n_tup_ins + n_tup_upd + n_tup_del AS writes FROM pg_stat_user_tables`,
  );
  return new Map(rows.map((r) => [r.table.replace(/^public\./, ''), Number(r.writes)]));
}

/** Measures one resync period of a converged, idle leader. */
export async function idleResync(ctx: ScaleContext, leader: ConvergedLeader, n: number): Promise<IdleResult> {
  const { config, progress } = ctx;
  const client = new pg.Client({ connectionString: leader.databaseUrl });
  await client.connect();
  try {
    progress(`idle: settling 10 s, then one resync period (${config.resyncMs / 1000} s) and 11 s for row counts to be reported`);
    await sleep(10_000);
    const rows0 = await rowWrites(client);
    const k8s0 = await leader.metrics.scrape().catch(() => undefined);
    const cpu0 = await leader.drey.cpuSeconds();
    const started = performance.now();
    await sleep(config.resyncMs);
    const cpu1 = await leader.drey.cpuSeconds();
    const windowS = (performance.now() - started) / 1000;
    const k8s1 = await leader.metrics.scrape().catch(() => undefined);
    await sleep(11_000);
    const rows1 = await rowWrites(client);
    const rowWindowS = (performance.now() - started) / 1000;
    const writes: Record<string, number> = {};
    for (const [table, count] of rows1) {
      const delta = count - (rows0.get(table) ?? 0);
      if (delta) writes[table] = delta;
    }
    const leaseWrites = writes.ControllerLease ?? 0;
    const delta = k8s0 && k8s1 ? difference(k8s1, k8s0) : undefined;
    return {
      windowS: round(windowS, 1),
      rowWindowS: round(rowWindowS, 1),
      rowWrites: writes,
      rowWritesExceptLease: Object.values(writes).reduce((s, v) => s + v, 0) - leaseWrites,
      leaseWrites,
      k8sWrites: delta ? writeRequests(delta) : null,
      k8sPerReconcile: delta ? perUnit(requestsByClient(delta), n) : null,
      cpuPercent: round(((cpu1 - cpu0) / windowS) * 100, 1),
    };
  } finally {
    await client.end();
  }
}

/**
 * Writes a changed spec (flinkConfiguration `bench.soak`) to the existing applications
 * app-0..app-(n-1) in turn at `soakRate` per second (at most 8 in flight), sampling RSS and heap
 * (after a full GC) every 5 s; slopes by least squares after a warm-up.
 */
export async function soak(ctx: ScaleContext, leader: ConvergedLeader, n: number): Promise<SoakResult> {
  const { soakS, soakRate } = ctx.config;
  ctx.progress(`soak: ${soakS} s of ${soakRate} writes/s to ${n} applications, sampling RSS and heap every 5 s`);
  const samples: SoakResult['samples'] = [];
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const sample = async () => {
    const rssMb = await leader.drey.rssMb();
    const memory = await leader.drey.memory();
    samples.push({ t: round(elapsed(), 1), rssMb: round(rssMb, 1), heapMb: round(memory.heapUsed / 1048576, 1) });
  };
  let errors = 0;
  const errorKinds: Record<string, number> = {};
  const failed = (kind: string) => {
    errors++;
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  };
  let written = 0;
  const inFlight = new Set<Promise<void>>();
  const write = (i: number) => {
    const body = applicationBody(`app-${i % n}`, { 'bench.soak': String(i) });
    const done = request(applicationsUrl(leader.drey), 'POST', body)
      .then((r) => {
        if (r.status === 200 || r.status === 201) written++;
        else failed(`HTTP ${r.status}`);
      })
      .catch((err: unknown) => failed((err as { code?: string }).code ?? (err as Error).message))
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };
  await sample();
  let nextSample = 5;
  for (let i = 0; elapsed() < soakS; i++) {
    const due = i / soakRate;
    if (due > elapsed()) await sleep((due - elapsed()) * 1000);
    while (inFlight.size >= 8) await Promise.race(inFlight);
    write(i);
    if (elapsed() >= nextSample) {
      nextSample += 5;
      await sample();
    }
  }
  await Promise.all(inFlight);
  await sample();
  const seconds = elapsed();
  const warmupS = Math.min(60, Math.max(10, seconds / 4));
  const kept = samples.filter((s) => s.t >= warmupS);
  const slope = (key: 'rssMb' | 'heapMb') => round(linearFit(kept.map((s) => ({ x: s.t / 60, y: s[key] }))).slope, 2);
  return {
    seconds: round(seconds, 1),
    rate: soakRate,
    achievedRate: round(written / seconds, 1),
    errors,
    errorKinds,
    samples,
    warmupS: round(warmupS, 1),
    rssSlopeMbPerMin: slope('rssMb'),
    heapSlopeMbPerMin: slope('heapMb'),
  };
}

/** RSS of the leader of a converged run, then one idle resync period, then the soak. */
export async function measureFleet(ctx: ScaleContext, leader: ConvergedLeader, converge: ConvergeResult): Promise<ReconciledResult> {
  const leaderRssMb = round(await leader.drey.rssMb(), 1);
  const memory = await leader.drey.memory();
  const clusterRssMb = leader.cluster ? round(await leader.cluster.rssMb(), 1) : null;
  const mb = (bytes: number) => round(bytes / 1048576, 1);
  ctx.progress(
    `fleet of ${converge.n}: leader RSS ${leaderRssMb.toFixed(0)} MB; after a GC ${mb(memory.rss)} MB, heap used ${mb(memory.heapUsed)} of ${mb(memory.heapTotal)} MB` +
      (clusterRssMb !== null ? `; the simulated cluster's drey ${clusterRssMb} MB` : ' (the simulated cluster in the same process)'),
  );
  const idle = await idleResync(ctx, leader, converge.n);
  ctx.progress(`idle: ${idle.rowWritesExceptLease} row writes (lease ${idle.leaseWrites}), ${idle.k8sWrites ?? 'n/a'} Kubernetes writes, CPU ${idle.cpuPercent}%`);
  const soaked = await soak(ctx, leader, converge.n);
  ctx.progress(`soak: RSS ${soaked.rssSlopeMbPerMin} MB/min, heap ${soaked.heapSlopeMbPerMin} MB/min`);
  return {
    converge,
    cluster: leader.cluster ? 'separate' : 'inprocess',
    leaderRssMb,
    leaderRssAfterGcMb: mb(memory.rss),
    leaderHeapMb: mb(memory.heapUsed),
    clusterRssMb,
    idle,
    soak: soaked,
  };
}
