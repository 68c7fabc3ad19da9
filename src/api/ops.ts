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
}

/** What `/readyz` answers: each check `ok` or why it failed. */
export interface Readiness {
  status: 'ready' | 'not ready';
  checks: { database?: string; shutdown?: string };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

/** Ready when the database answers and drey is not shutting down; leadership plays no part (every replica serves the API). */
async function readiness(options: OpsOptions): Promise<Readiness> {
  if (options.stopping()) return { status: 'not ready', checks: { shutdown: 'drey is shutting down' } };
  const health = await options.database();
  return health.up ? { status: 'ready', checks: { database: 'ok' } } : { status: 'not ready', checks: { database: health.error } };
}

/**
 * The ops server: plain HTTP on its own port, so kubelet probes and Prometheus reach drey when the
 * API requires client certificates, and a NetworkPolicy can open it to monitoring alone.
 * `/livez` answers while the event loop runs (no database: an outage must not restart every
 * replica), `/readyz` as `readiness` says, `/metrics` Prometheus text.
 */
export async function serveOps(options: OpsOptions): Promise<Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { status: 'method not allowed' });
    const answer = async (): Promise<void> => {
      switch (path) {
        case '/livez':
          return json(res, 200, { status: 'ok' });
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
