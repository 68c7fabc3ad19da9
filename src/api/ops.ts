import { once } from 'node:events';
import http, { type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { DatabaseHealth } from '../store/health.js';

/** Options of the ops server. */
export interface OpsOptions {
  port: number;
  host: string;
  log: Logger;
  metrics: Metrics;
  /** Whether the database answers now. */
  database: () => Promise<DatabaseHealth>;
  /** True once drey is shutting down: it answers not ready from then on. */
  stopping: () => boolean;
  /** Why the FlinkDeployment CRD is not served, `ok` when it is; absent with the simulated cluster (it always serves it). Reported, never failing readiness. */
  flinkDeploymentCrd?: () => string;
  /** The loops that look wedged and why (none: live); see `serveOps`. */
  wedged?: () => Liveness['checks'];
}

/** What `/readyz` answers: each check `ok` or why it failed, and what is wrong without making drey unready. */
export interface Readiness {
  status: 'ready' | 'not ready';
  checks: { database?: string; shutdown?: string };
  warnings?: { flinkDeploymentCrd?: string };
}

/** What `/livez` answers: `ok`, or the checks that failed and why. */
export interface Liveness {
  status: 'ok' | 'not live';
  checks?: { leaderElection?: string };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

const SHUTTING_DOWN: Readiness = { status: 'not ready', checks: { shutdown: 'drey is shutting down' } };

/**
 * Ready when the database answers and drey is not shutting down; leadership plays no part (every
 * replica serves the API). A cluster without the FlinkDeployment CRD is a warning, not a failure:
 * environments, secrets, catalogs and statements need no Flink operator, and a CRD replaced during
 * an operator upgrade must not take the whole API down (`drey_flink_deployment_crd_served` and its
 * alert say it). Shutting down is looked at again after the database answers: a shared check that
 * started before SIGTERM must not answer ready after it.
 */
async function readiness(options: OpsOptions): Promise<Readiness> {
  if (options.stopping()) return SHUTTING_DOWN;
  const health = await options.database();
  if (options.stopping()) return SHUTTING_DOWN;
  const crd = options.flinkDeploymentCrd?.();
  const ready: Readiness = { status: health.up ? 'ready' : 'not ready', checks: { database: health.up ? 'ok' : health.error } };
  return crd === undefined || crd === 'ok' ? ready : { ...ready, warnings: { flinkDeploymentCrd: crd } };
}

/** Live unless a loop looks wedged: a restart is the cure for that, and for nothing a probe can see elsewhere. */
function liveness(options: OpsOptions): Liveness {
  const checks = options.wedged?.() ?? {};
  return Object.keys(checks).length ? { status: 'not live', checks } : { status: 'ok' };
}

/**
 * The ops server: plain HTTP on its own port, so kubelet probes and Prometheus reach drey when the
 * API requires client certificates, and a NetworkPolicy can open it to monitoring alone.
 * `/livez` answers while the event loop runs and no loop is wedged (no database: an outage must
 * not restart every replica), `/readyz` as `readiness` says, `/metrics` Prometheus text.
 */
export async function serveOps(options: OpsOptions): Promise<Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { status: 'method not allowed' });
    const answer = async (): Promise<void> => {
      switch (path) {
        case '/livez': {
          const live = liveness(options);
          return json(res, live.status === 'ok' ? 200 : 503, live);
        }
        case '/readyz': {
          const ready = await readiness(options);
          return json(res, ready.status === 'ready' ? 200 : 503, ready);
        }
        case '/metrics': {
          const { contentType, body } = await options.metrics.scrape();
          res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
          res.end(body);
          return;
        }
        default:
          return json(res, 404, { status: 'not found', paths: ['/livez', '/readyz', '/metrics'] });
      }
    };
    answer().catch((err: unknown) => {
      options.log.warn('ops request failed', { path, error: (err as Error).message });
      if (!res.headersSent) json(res, 500, { status: 'error' });
      else res.destroy();
    });
  });
  server.listen(options.port, options.host);
  await once(server, 'listening');
  return server;
}
