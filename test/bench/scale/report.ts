/** The scale benchmark's results: the Markdown table for the README and one JSON line of raw figures. */
import type { ScaleConfig } from './config.js';
import type { ConvergeResult } from './converge.js';
import type { RequestsByClient } from './kubeMetrics.js';
import type { ReconciledResult } from './reconciled.js';
import type { Latency } from './stats.js';
import { quadraticFit, round } from './stats.js';
import type { StoredResult, Throughput } from './stored.js';

/** Everything one run measured. */
export interface ScaleResults {
  drey: { dir: string; head: string };
  startedAt: string;
  wallSeconds: number;
  config: ScaleConfig;
  convergence: ConvergeResult[];
  fit: { a: number; b: number; points: number[]; quadraticShareAtLargest: number | null };
  reconciled?: ReconciledResult;
  stored?: StoredResult;
  /** Phases that failed, with why; the rest still reports. */
  failures: { phase: string; error: string }[];
}

/** Fits t = a·N + b·N² over the converged runs, and the share of N² at the largest N. */
export function convergenceFit(runs: ConvergeResult[]): ScaleResults['fit'] {
  const points = runs.filter((r) => r.seconds !== null).map((r) => ({ n: r.n, seconds: r.seconds! }));
  const { a, b } = quadraticFit(points);
  const largest = Math.max(...points.map((p) => p.n));
  const share = points.length ? (b * largest ** 2) / (a * largest + b * largest ** 2) : null;
  return { a, b, points: points.map((p) => p.n), quadraticShareAtLargest: share === null || !Number.isFinite(share) ? null : round(share, 3) };
}

type Met = boolean | undefined;

interface Row {
  row: string;
  drey: string;
  bare?: string;
  ratio?: string;
  goal: string;
  met?: Met;
}

const count = (n: number) => n.toLocaleString('en-US');
const ms = (v: number) => `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
const mark = (met: Met) => (met === undefined ? '—' : met ? '✓' : '✗');

function convergeText(r: ConvergeResult): string {
  if (r.seconds === null) {
    const stuck = r.unconverged?.[0];
    const example = stuck ? `; e.g. ${stuck.name}: ${stuck.lifecycleState ?? 'no lifecycleState'}, job ${stuck.jobState ?? 'none'}${stuck.error ? `, ${stuck.error}` : ''}` : '';
    return `did not converge in ${r.timeoutS} s (${count(r.converged)} of ${count(r.n)}${example})`;
  }
  return `${r.seconds.toFixed(1)} s (${((r.seconds / r.n) * 1000).toFixed(1)} ms/app; POSTs ${r.postSeconds.toFixed(1)} s)`;
}

function convergenceRows(results: ScaleResults): Row[] {
  const runs = [...results.convergence];
  const reconciled = results.reconciled?.converge;
  if (reconciled && !runs.some((r) => r.n === reconciled.n)) runs.push(reconciled);
  const rows: Row[] = runs.map((r) => ({
    row: `convergence, N = ${count(r.n)}`,
    drey: convergeText(r),
    goal: r.n === 1000 ? '< 30 s' : '—',
    met: r.n === 1000 ? r.seconds !== null && r.seconds < 30 : undefined,
  }));
  const { a, b, quadraticShareAtLargest: share, points } = results.fit;
  rows.push({
    row: `convergence fit t = a·N + b·N² (N = ${points.join(', ') || 'none converged'})`,
    drey: Number.isFinite(a)
      ? `a = ${(a * 1000).toFixed(2)} ms/app, b = ${(b * 1e6).toFixed(3)} µs/app²${share === null ? '' : `; N² term ${(share * 100).toFixed(0)}% of t at N = ${count(Math.max(...points))}`}`
      : 'n/a',
    goal: 'linear in N (N² term < 20% of t)',
    met: share === null ? undefined : share < 0.2,
  });
  return rows;
}

function tputText(t: Throughput, side: 'drey' | 'bare'): string {
  const cpu = t.cpuPerOpUs;
  const spent = side === 'drey' ? `drey ${cpu.drey} µs, PostgreSQL ${cpu.postgres} µs, clients ${cpu.client} µs` : `PostgreSQL ${cpu.postgres} µs, clients ${cpu.client} µs`;
  return `${t.opsPerSecond.toFixed(0)} ops/s (p50 ${ms(t.p50)}, p99 ${ms(t.p99)}${t.errors ? `, ${t.errors} errors` : ''}; CPU per op: ${spent})`;
}

function latencyText(l: Latency): string {
  return `p50 ${ms(l.p50)}, p99 ${ms(l.p99)}`;
}

function storedRows(stored: StoredResult): Row[] {
  const rows: Row[] = [];
  for (const kind of ['create', 'update'] as const) {
    const t = stored.throughput[kind];
    const share = t.drey.opsPerSecond / t.bare.opsPerSecond;
    rows.push({
      row: `${kind === 'create' ? 'create' : 'update'} throughput, 8 clients (POST application)`,
      drey: tputText(t.drey, 'drey'),
      bare: tputText(t.bare, 'bare'),
      ratio: `${(share * 100).toFixed(0)}%`,
      goal: '≥ 50%',
      met: share >= 0.5,
    });
  }
  for (const level of stored.levels) {
    const at = `${count(level.stored)} stored`;
    const get = level.get.drey.p50 / level.get.bare.p50;
    rows.push({ row: `GET one application p50, ${at}`, drey: ms(level.get.drey.p50), bare: ms(level.get.bare.p50), ratio: `${get.toFixed(2)}×`, goal: '≤ 1.5×', met: get <= 1.5 });
    for (const [what, v] of [
      ['random pages', level.listRandom],
      [`walk page=0,1,2,… (${level.listWalk.drey.pages}/${level.listWalk.drey.of} pages${level.listWalk.drey.walks > 1 ? ` × ${level.listWalk.drey.walks} walks` : ''})`, level.listWalk],
    ] as const) {
      const p99 = v.drey.p99 / v.bare.p99;
      rows.push({ row: `list size=100, ${what}, ${at}`, drey: latencyText(v.drey), bare: latencyText(v.bare), ratio: `p99 ${p99.toFixed(2)}×`, goal: '≤ 2×', met: p99 <= 2 });
    }
  }
  const [first, last] = [stored.levels[0], stored.levels[stored.levels.length - 1]];
  if (first && last && first !== last) {
    for (const key of ['listRandom', 'listWalk'] as const) {
      const drey = last[key].drey.p99 / first[key].drey.p99;
      const bare = last[key].bare.p99 / first[key].bare.p99;
      // the machine's noise moves both sides' p99 between levels: drey's growth counts net of bare's, when bare's grew
      const net = drey / Math.max(1, bare);
      rows.push({
        row: `list p99 growth ${count(first.stored)} → ${count(last.stored)} stored, ${key === 'listRandom' ? 'random pages' : 'walk'}`,
        drey: `${drey.toFixed(2)}×`,
        bare: `${bare.toFixed(2)}×`,
        ratio: `${net.toFixed(2)}× net of bare's`,
        goal: "flat in N (≤ 1.5×, net of bare's growth)",
        met: net <= 1.5,
      });
    }
  }
  rows.push({
    row: `RSS of an API-serving follower, ${count(last?.stored ?? 0)} stored, after the list/GET load`,
    drey: `${stored.followerRssMb.toFixed(0)} MB (heap after GC ${stored.followerHeapMb.toFixed(0)} MB)`,
    goal: '< 300 MB',
    met: stored.followerRssMb < 300,
  });
  return rows;
}

function requestsText(requests: RequestsByClient | null): string {
  if (requests === null) return 'n/a (no /metrics)';
  const clients = Object.entries(requests);
  if (!clients.length) return 'none';
  return clients
    .map(([client, verbs]) => `${client}: ${Object.entries(verbs).sort(([a], [b]) => a.localeCompare(b)).map(([verb, n]) => `${verb} ${n}`).join(', ')}`)
    .join('; ');
}

function reconciledRows(r: ReconciledResult, largestConverged: ConvergeResult | undefined): Row[] {
  const n = count(r.converge.n);
  const converged = r.converge.seconds !== null;
  const caveat = converged ? '' : ` (not converged: ${count(r.converge.converged)} of ${n}, so not idle)`;
  const { idle, soak } = r;
  const tables = Object.entries(idle.rowWrites)
    .filter(([t]) => t !== 'ControllerLease')
    .map(([t, v]) => `${t} ${v}`)
    .join(', ');
  return [
    {
      row: `RSS of the leader, ${n} reconciled applications (${r.cluster === 'separate' ? `the simulated cluster in a drey of its own: ${r.clusterRssMb?.toFixed(0)} MB` : 'the simulated cluster in the same process'})`,
      drey: `${r.leaderRssMb.toFixed(0)} MB; after a GC ${r.leaderRssAfterGcMb.toFixed(0)} MB (heap ${r.leaderHeapMb.toFixed(0)} MB)${caveat}`,
      goal: '< 500 MB',
      met: r.leaderRssMb < 500,
    },
    {
      row: `idle resync at ${n}: Postgres row writes in ${idle.rowWindowS.toFixed(0)} s`,
      drey: `${idle.rowWritesExceptLease}${tables ? ` (${tables})` : ''}; ControllerLease ${idle.leaseWrites} (renewals)${caveat}`,
      goal: '0 (leases apart)',
      met: idle.rowWritesExceptLease === 0,
    },
    {
      row: `idle resync at ${n}: Kubernetes writes in ${idle.windowS.toFixed(0)} s`,
      drey: idle.k8sWrites === null ? 'n/a (no /metrics)' : `${idle.k8sWrites}${caveat}`,
      goal: '0',
      met: idle.k8sWrites === null ? undefined : idle.k8sWrites === 0,
    },
    { row: `idle resync at ${n}: leader CPU over ${idle.windowS.toFixed(0)} s`, drey: `${idle.cpuPercent.toFixed(1)}% of a core${caveat}`, goal: '< 10% of a core', met: idle.cpuPercent < 10 },
    {
      row: `Kubernetes requests per application to reach STABLE (N = ${count(largestConverged?.n ?? r.converge.n)})`,
      drey: requestsText((largestConverged ?? r.converge).k8sPerApp),
      goal: 'reported',
    },
    { row: `Kubernetes requests per reconcile at steady state (${n}, one resync)`, drey: requestsText(idle.k8sPerReconcile), goal: 'reported' },
    {
      row: `soak ${soak.seconds.toFixed(0)} s at ${soak.rate} writes/s (achieved ${soak.achievedRate}), leader, after ${soak.warmupS.toFixed(0)} s warm-up`,
      drey: `RSS ${soak.rssSlopeMbPerMin.toFixed(2)} MB/min, heap ${soak.heapSlopeMbPerMin.toFixed(2)} MB/min (${soak.samples.length} samples${soak.errors ? `, ${soak.errors} failed writes: ${Object.entries(soak.errorKinds ?? {}).map(([k, v]) => `${k} ×${v}`).join(', ')}` : ''})`,
      goal: 'no growth (heap ≤ 0.5 MB/min)',
      met: soak.heapSlopeMbPerMin <= 0.5,
    },
  ];
}

/** The results as a Markdown table with a few lines saying what ran against what. */
export function markdown(results: ScaleResults): string {
  const rows = [...convergenceRows(results)];
  if (results.stored) rows.push(...storedRows(results.stored));
  const largest = [...results.convergence].reverse().find((r) => r.seconds !== null);
  if (results.reconciled) rows.push(...reconciledRows(results.reconciled, largest));
  const cell = (text: string | undefined) => (text ?? '—').replace(/\|/g, '\\|');
  const lines = [
    `Scale benchmark of drey at ${results.drey.head} (${results.drey.dir}), ${results.startedAt}, ${results.wallSeconds.toFixed(0)} s; 2 shared cores, so ratios matter more than times.`,
    'API rows: follower drey processes on a database whose controllers\' lease the benchmark holds (nothing reconciles); bare counterparts run in the benchmark process on the same PostgreSQL.',
    '',
    '| row | drey | bare | drey / bare | goal | met |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${cell(r.row)} | ${cell(r.drey)} | ${cell(r.bare)} | ${cell(r.ratio)} | ${cell(r.goal)} | ${mark(r.met)} |`),
  ];
  for (const failure of results.failures) lines.push('', `**${failure.phase} failed:** ${failure.error.split('\n')[0]}`);
  return lines.join('\n');
}

/** One line of JSON with every raw figure, prefixed so it can be grepped from the output. */
export function jsonLine(results: ScaleResults): string {
  return `SCALE_JSON ${JSON.stringify(results)}`;
}
