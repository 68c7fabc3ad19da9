/**
 * Convergence: a fresh database and a fresh leader drey; N applications POSTed 8 at a time; the
 * list endpoint polled once a second until every application is RUNNING and STABLE. Also counts
 * the Kubernetes requests it took, per application.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { applicationBody, applicationsUrl, ENVIRONMENT, startNamedDrey, type ScaleContext } from './context.js';
import { expectOk, pool, request } from './http.js';
import { difference, KubeMetrics, perUnit, requestsByClient, writeRequests, type RequestsByClient, type Sample } from './kubeMetrics.js';
import { isLeader, type Drey } from './processes.js';
import { round } from './stats.js';

/** What one convergence run measured. */
export interface ConvergeResult {
  n: number;
  /** Seconds until every POST was answered. */
  postSeconds: number;
  /** Seconds from the first POST until all N were RUNNING/STABLE; null when not within the timeout. */
  seconds: number | null;
  /** Applications RUNNING/STABLE at the end (N when converged). */
  converged: number;
  postErrors: number;
  firstPostError?: string;
  timeoutS: number;
  /** Up to three applications that had not converged at the timeout, with what their status said. */
  unconverged?: { name: string; lifecycleState?: string; jobState?: string; error?: string }[];
  /** Kubernetes requests per application until convergence (null: the server has no /metrics). */
  k8sPerApp: RequestsByClient | null;
  k8sWritesPerApp: number | null;
}

/** The leader of a convergence run, still running, for the measurements of a reconciled fleet. */
export interface ConvergedLeader {
  drey: Drey;
  /** The drey holding the simulated cluster when it is not the leader (CMF_CONTROLLERS=off). */
  cluster?: Drey;
  metrics: KubeMetrics;
  databaseUrl: string;
  databaseName: string;
  /** One converged application's status, copied into bulk-stored rows later. */
  statusSample: unknown;
}

const POST_CONCURRENCY = 8;
const LIST_PAGE = 10_000;

interface ListedApplication {
  metadata?: { name?: string };
  status?: { lifecycleState?: string; jobStatus?: { state?: string }; error?: string | null };
}

function isConverged(app: ListedApplication): boolean {
  return app.status?.jobStatus?.state === 'RUNNING' && app.status.lifecycleState === 'STABLE';
}

/** Counts the converged applications by reading the list in pages of 10,000. */
export async function countConverged(drey: Drey): Promise<{ converged: number; total: number; statusSample: unknown; unconverged: ConvergeResult['unconverged'] & object }> {
  let converged = 0;
  let statusSample: unknown;
  const unconverged: ConvergeResult['unconverged'] & object = [];
  let total = 0;
  for (let page = 0; ; page++) {
    const reply = await expectOk(`${applicationsUrl(drey)}?size=${LIST_PAGE}&page=${page}`);
    const body = JSON.parse(reply.body) as { items: ListedApplication[]; metadata: { size: number } };
    total = body.metadata.size;
    for (const app of body.items) {
      if (!isConverged(app)) {
        if (unconverged.length < 3) {
          const { lifecycleState, jobStatus, error } = app.status ?? {};
          unconverged.push({ name: app.metadata?.name ?? '?', ...(lifecycleState ? { lifecycleState } : {}), ...(jobStatus?.state ? { jobState: jobStatus.state } : {}), ...(error ? { error: String(error).slice(0, 200) } : {}) });
        }
        continue;
      }
      converged++;
      statusSample ??= app.status;
    }
    if ((page + 1) * LIST_PAGE >= total || body.items.length === 0) break;
  }
  return { converged, total, statusSample, unconverged };
}

/** POSTs applications app-0..app-(n-1), 8 at a time, until done or past the deadline. */
async function postAll(drey: Drey, n: number, deadline: number): Promise<{ errors: number; first?: string }> {
  let errors = 0;
  let first: string | undefined;
  await pool(n, POST_CONCURRENCY, async (i) => {
    if (Date.now() > deadline) return;
    const reply = await request(applicationsUrl(drey), 'POST', applicationBody(`app-${i}`)).catch((err: Error) => ({ status: 0, body: err.message }));
    if (reply.status !== 200 && reply.status !== 201) {
      errors++;
      first ??= `${reply.status} ${reply.body.slice(0, 200)}`;
    }
  });
  return { errors, ...(first ? { first } : {}) };
}

async function scrape(metrics: KubeMetrics): Promise<Sample[] | undefined> {
  return metrics.scrape().catch((err: Error) => {
    process.stderr.write(`scale: /metrics: ${err.message}\n`);
    return undefined;
  });
}

/**
 * One convergence run at `n` applications. The leader is left running (the caller stops it, or
 * goes on measuring the reconciled fleet with it). With `separateCluster`, the simulated cluster
 * runs in a drey of its own that never leads, and the leader reaches it through its kubeconfig.
 */
export async function convergeRun(ctx: ScaleContext, n: number, separateCluster = false): Promise<{ result: ConvergeResult; leader: ConvergedLeader }> {
  const { config, database, progress } = ctx;
  const databaseName = `scale_converge_${n}`;
  const databaseUrl = await database.fresh(databaseName);
  let cluster: Drey | undefined;
  let drey: Drey;
  if (separateCluster) {
    cluster = await startNamedDrey(ctx, `converge-${n}-cluster`, databaseUrl, { CMF_KUBE: 'simulated', CMF_CONTROLLERS: 'off' });
    drey = await startNamedDrey(ctx, `converge-${n}`, databaseUrl, { CMF_KUBE: 'kubeconfig', KUBECONFIG: path.join(cluster.dataDir, 'kubeconfig') });
    const deadline = Date.now() + 60_000;
    while (!(await isLeader(drey.url))) {
      if (Date.now() > deadline) throw new Error(`converge-${n} did not lead within 60 s although converge-${n}-cluster runs with CMF_CONTROLLERS=off`);
      await sleep(200);
    }
  } else {
    drey = await startNamedDrey(ctx, `converge-${n}`, databaseUrl, { CMF_KUBE: 'simulated' });
  }
  const metrics = await KubeMetrics.fromKubeconfig(path.join((cluster ?? drey).dataDir, 'kubeconfig'));
  await expectOk(`${drey.url}/cmf/api/v1/environments`, 'POST', { name: ENVIRONMENT, kubernetesNamespace: ENVIRONMENT });
  const before = await scrape(metrics);

  progress(`converge N=${n}: posting ${n} applications, 8 at a time (timeout ${config.timeoutS} s)`);
  const started = performance.now();
  const deadline = Date.now() + config.timeoutS * 1000;
  let postSeconds = NaN;
  const posting = postAll(drey, n, deadline).then((r) => {
    postSeconds = (performance.now() - started) / 1000;
    progress(`converge N=${n}: all POSTs answered in ${postSeconds.toFixed(1)} s${r.errors ? ` (${r.errors} failed: ${r.first})` : ''}`);
    return r;
  });
  let seconds: number | null = null;
  let converged = 0;
  let statusSample: unknown;
  let unconverged: ConvergeResult['unconverged'];
  let lastReport = 0;
  for (;;) {
    const tick = performance.now();
    const count = await countConverged(drey).catch(() => undefined);
    if (count) {
      converged = count.converged;
      statusSample ??= count.statusSample;
      unconverged = count.unconverged;
    }
    const elapsed = (performance.now() - started) / 1000;
    if (converged >= n) {
      seconds = elapsed;
      break;
    }
    if (elapsed > config.timeoutS) break;
    if (elapsed - lastReport >= 30) {
      lastReport = elapsed;
      progress(`converge N=${n}: ${converged} of ${n} converged after ${elapsed.toFixed(0)} s`);
    }
    await sleep(Math.max(0, 1000 - (performance.now() - tick)));
  }
  const posted = await posting;
  const after = await scrape(metrics);
  const delta = before && after ? difference(after, before) : undefined;
  progress(
    seconds !== null
      ? `converge N=${n}: converged in ${seconds.toFixed(1)} s`
      : `converge N=${n}: did not converge in ${config.timeoutS} s (${converged} of ${n}); e.g. ${JSON.stringify(unconverged)}`,
  );
  return {
    result: {
      n,
      postSeconds: round(postSeconds),
      seconds: seconds === null ? null : round(seconds),
      converged,
      postErrors: posted.errors,
      ...(posted.first ? { firstPostError: posted.first } : {}),
      timeoutS: config.timeoutS,
      ...(seconds === null ? { unconverged } : {}),
      k8sPerApp: delta ? perUnit(requestsByClient(delta), n) : null,
      k8sWritesPerApp: delta ? round(writeRequests(delta) / n) : null,
    },
    leader: { drey, ...(cluster ? { cluster } : {}), metrics, databaseUrl, databaseName, statusSample },
  };
}
