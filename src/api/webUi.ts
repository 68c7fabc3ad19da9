import http, { type IncomingHttpHeaders } from 'node:http';
import { Router, type Request, type Response } from 'express';
import type { Domain } from '../domain/index.js';
import { NotFound, ServiceUnavailable } from '../domain/errors.js';
import { webUiAccess, WEB_UI } from './access.js';
import { param } from './params.js';
import { requestLog } from './requestId.js';
import type { Guard } from './routes.js';

/**
 * The Flink web UI proxy the Confluent CLI's `confluent flink application web-ui-forward` talks to:
 * `/cmf/api/v1/environments/{env}/applications/{app}/flink-web-ui/**` goes, method, headers and body
 * unchanged, to the same path on that application's JobManager (its web UI and its REST API).
 */

/** Where an application's JobManager answers, or why it cannot be reached. */
export type JobManagerLocation = { url: string } | { unavailable: string };

/** Finds the JobManager of a FlinkDeployment. */
export type JobManagerLocator = (deployment: { namespace: string; name: string }) => JobManagerLocation;

/** Headers that belong to one hop, or to drey itself, and must not reach the JobManager. */
const NOT_FORWARDED = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // drey's own credentials are for drey, not for Flink
  'authorization',
  'cookie',
]);

function forwardedHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !NOT_FORWARDED.has(k.toLowerCase())));
}

function proxy(req: Request, res: Response, target: URL): void {
  const upstream = http.request(
    target,
    { method: req.method, headers: { ...forwardedHeaders(req.headers), host: target.host }, timeout: 30_000 },
    (answer) => {
      const headers = Object.fromEntries(Object.entries(answer.headers).filter(([k]) => !NOT_FORWARDED.has(k) || k === 'transfer-encoding'));
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
    },
  );
  upstream.on('timeout', () => upstream.destroy(new Error('no answer within 30 s')));
  upstream.on('error', (err) => {
    requestLog(res).warn('flink web UI proxy: JobManager did not answer', { target: target.origin, error: err.message });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(502).json({ errors: [{ message: `the JobManager at ${target.origin} did not answer: ${err.message}` }] });
  });
  req.pipe(upstream);
}

/** Routes of the web UI proxy. */
export function flinkWebUiRoutes({ domain, locate, guard }: { domain: Domain; locate: JobManagerLocator; guard: Guard }): Router {
  const router = Router({ caseSensitive: true });
  router.all([WEB_UI, `${WEB_UI}/*rest`], guard(webUiAccess), async (req, res) => {
    const envName = param(req, 'envName');
    const appName = param(req, 'appName');
    const deployment = await domain.applications.deploymentOf(envName, appName);
    const location = locate(deployment);
    if ('unavailable' in location) throw new ServiceUnavailable(`Application '${appName}' has no Flink web UI: ${location.unavailable}`);
    const prefix = req.originalUrl.indexOf('/flink-web-ui') + '/flink-web-ui'.length;
    const rest = req.originalUrl.slice(prefix);
    if (rest === '' || rest.startsWith('?')) {
      // the UI loads its scripts relative to the page: its root needs the trailing slash
      res.redirect(308, `${req.originalUrl.slice(0, prefix)}/${rest}`);
      return;
    }
    // one leading slash: `//host/...` must not become another host
    const base = new URL(location.url);
    const target = new URL(base.pathname.replace(/\/$/, '') + rest.replace(/^\/+/, '/'), base);
    if (target.origin !== base.origin) throw new NotFound(`Resource not found: [${req.path.replace(/^\//, '')}]`);
    proxy(req, res, target);
  });
  return router;
}
