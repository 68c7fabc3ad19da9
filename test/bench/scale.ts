/**
 * `npm run bench -- scale`: drey at scale, each figure beside a bare counterpart measured in the
 * same run (the machine is shared and noisy, so ratios, not absolute times). drey runs as child
 * processes (`node dist/main.js` of the checkout, so RSS and CPU are drey's own) on one embedded
 * PostgreSQL the benchmark starts, a fresh database per phase.
 *
 *   convergence  — N applications POSTed 8 at a time to a fresh leader (CMF_SIM_STEP_MS=100) until
 *                  all are RUNNING/STABLE, polling the list once a second; for several N, fitted
 *                  to t = a·N + b·N²; Kubernetes requests per application on the way
 *   fleet        — the leader of SCALE_RECONCILED converged applications: RSS; one idle resync
 *                  period (row writes from pg_stat_user_tables, Kubernetes writes from the
 *                  simulated API server's /metrics, CPU from /proc/<pid>/stat); a soak of steady
 *                  writes with RSS and heap sampled every 5 s, slopes by least squares
 *   stored       — API-only drey processes (the benchmark holds the controllers' lease, so none
 *                  leads and nothing reconciles): create and update throughput of 8 clients
 *                  against one pg transaction each on bare tables; GET against a bare Express
 *                  join; list pages of 100 (random and walked) against a bare keyset query, at
 *                  each SCALE_STORED count; the follower's RSS after that load
 *
 * Settings (environment):
 *   SCALE_DREY_DIR=<checkout>   drey to benchmark (default: this repository); built with tsc unless SCALE_BUILD=0
 *   SCALE_CONVERGE=100,300,1000 convergence curve
 *   SCALE_RECONCILED=10000      fleet size (reuses the convergence run of the same N, if any)
 *   SCALE_STORED=20000,100000   stored counts for the API rows
 *   CMF_RESYNC_MS=30000         drey's resync period, and the idle window
 *   SCALE_SOAK_S=60 SCALE_SOAK_RATE=10   soak length and writes per second
 *   SCALE_THROUGHPUT_S=5        length of each of the 3 throughput rounds per side
 *   SCALE_SAMPLES=300           random GETs and random list pages per side
 *   SCALE_TIMEOUT_S=600         cap of any one convergence or list walk
 *   SCALE_PHASES=converge,fleet,stored  which phases run
 *   SCALE_FLEET_CLUSTER=separate  the fleet's simulated cluster in a drey of its own (CMF_CONTROLLERS=off) or `inprocess`
 *   SCALE_NODE_ARGS=            extra node options for every drey process (--cpu-prof, --max-semi-space-size=...)
 *   SCALE_REPORT=<file>         run nothing: print the table of the last SCALE_JSON line in <file> (a saved run's output)
 * Prints progress lines, then a Markdown table and a line `SCALE_JSON {...}` with every raw figure.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadScaleConfig } from './scale/config.js';
import type { ScaleContext } from './scale/context.js';
import { convergeRun } from './scale/converge.js';
import { closeConnections } from './scale/http.js';
import { buildDrey, Cleanup, Database, tempDir } from './scale/processes.js';
import { measureFleet } from './scale/reconciled.js';
import { convergenceFit, jsonLine, markdown, type ScaleResults } from './scale/report.js';
import { storedPhase } from './scale/stored.js';

/** The checkout's commit, read without writing anything to its repository. */
function headOf(dir: string): string {
  const head = spawnSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  return head.status === 0 ? head.stdout.trim() : 'unknown commit';
}

/** Runs a phase; a failure is printed and recorded, and the run goes on with the next phase. */
async function phase(results: ScaleResults, name: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    const error = (err as Error).stack ?? String(err);
    process.stderr.write(`scale: ${name} failed: ${error}\n`);
    results.failures.push({ phase: name, error: (err as Error).message });
  }
}

/** A convergence run at `n`; the fleet measurements too when `n` is the reconciled count. */
async function convergeAndMaybeFleet(ctx: ScaleContext, results: ScaleResults, n: number, inCurve: boolean, samples: { status?: unknown }): Promise<void> {
  // the curve measures drey as `npm start` runs it; a fleet of its own, the leader alone by default
  const { result, leader } = await convergeRun(ctx, n, !inCurve && ctx.config.fleetCluster === 'separate');
  if (inCurve) results.convergence.push(result);
  samples.status ??= leader.statusSample;
  try {
    if (n === ctx.config.reconciled && ctx.config.phases.includes('fleet')) results.reconciled = await measureFleet(ctx, leader, result);
  } finally {
    await leader.drey.stop();
    await leader.cluster?.stop();
    await ctx.database.drop(leader.databaseName);
  }
}

/** Runs the scale benchmark and prints its table and JSON line; with SCALE_REPORT=<file>, prints the table of the last SCALE_JSON line in that file instead. */
export async function scaleBench(): Promise<void> {
  if (process.env.SCALE_REPORT) {
    const line = readFileSync(process.env.SCALE_REPORT, 'utf8').split('\n').filter((l) => l.startsWith('SCALE_JSON ')).pop();
    if (!line) throw new Error(`no SCALE_JSON line in ${process.env.SCALE_REPORT}`);
    process.stdout.write(`${markdown(JSON.parse(line.slice('SCALE_JSON '.length)) as ScaleResults)}\n`);
    return;
  }
  const config = loadScaleConfig();
  const cleanup = new Cleanup();
  const started = Date.now();
  const progress = (message: string) => {
    const s = Math.round((Date.now() - started) / 1000);
    process.stdout.write(`[scale ${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${message}\n`);
  };
  const results: ScaleResults = {
    drey: { dir: config.dreyDir, head: headOf(config.dreyDir) },
    startedAt: new Date(started).toISOString(),
    wallSeconds: 0,
    config,
    convergence: [],
    fit: { a: NaN, b: NaN, points: [], quadraticShareAtLargest: null },
    failures: [],
  };
  try {
    if (config.build) {
      progress(`building ${config.dreyDir} (npx tsc -p .; SCALE_BUILD=0 skips)`);
      buildDrey(config.dreyDir);
    }
    const root = await tempDir(cleanup, 'drey-scale-');
    const database = await Database.start(cleanup, path.join(root, 'postgres'), config.dreyDir);
    const ctx: ScaleContext = { config, cleanup, database, root, progress };
    const samples: { status?: unknown } = {};
    const runs = config.phases.includes('converge') ? config.converge : [];
    for (const n of runs) {
      await phase(results, `convergence N=${n}`, () => convergeAndMaybeFleet(ctx, results, n, true, samples));
    }
    if (config.phases.includes('fleet') && !runs.includes(config.reconciled)) {
      await phase(results, `fleet N=${config.reconciled}`, () => convergeAndMaybeFleet(ctx, results, config.reconciled, false, samples));
    }
    if (config.phases.includes('stored')) {
      await phase(results, 'stored', async () => {
        results.stored = await storedPhase(ctx, samples.status);
      });
    }
  } finally {
    progress('stopping drey processes and PostgreSQL');
    await cleanup.run();
    closeConnections();
  }
  results.fit = convergenceFit(results.convergence);
  results.wallSeconds = (Date.now() - started) / 1000;
  process.stdout.write(`\n${markdown(results)}\n\n${jsonLine(results)}\n`);
}
