import express, { type Express } from 'express';
import type { Domain } from '../domain/index.js';
import type { DatabaseHealth } from '../store/health.js';
import type { Logger } from '../log.js';
import { errorHandler, notFound } from './errors.js';
import { cmfRoutes } from './routes.js';
import { flinkWebUiRoutes, type JobManagerLocator } from './webUi.js';

/** Options of the HTTP application. */
export interface AppOptions {
  domain: Domain;
  log: Logger;
  /** Facts about this process for `/healthz`: database, cluster, leadership (read at each request). */
  info?: () => Record<string, unknown>;
  /** Whether the database answers now, for `/healthz`. */
  database?: () => Promise<DatabaseHealth>;
  /** Finds an application's JobManager for the web UI proxy. */
  locateJobManager?: JobManagerLocator;
}

/** The HTTP application: CMF routes, unknown paths as 404, one error handler. */
export function createApp({
  domain,
  log,
  info = () => ({}),
  database = async () => ({ up: true }),
  locateJobManager = () => ({ unavailable: 'this drey cannot reach JobManagers' }),
}: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // reply() tags GETs itself, and answers If-None-Match whatever Cache-Control says
  app.set('query parser', 'simple');
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log.debug('request', { method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 });
    });
    next();
  });
  // 503 while the database does not answer: this replica cannot serve the API then
  app.get('/healthz', async (_req, res) => {
    const health = await database();
    res.status(health.up ? 200 : 503).json({
      status: health.up ? 'ok' : 'unavailable',
      ...info(),
      databaseUp: health.up,
      ...(health.up ? {} : { databaseError: health.error }),
    });
  });
  app.use(flinkWebUiRoutes({ domain, locate: locateJobManager, log }));
  app.use(cmfRoutes(domain));
  app.use(notFound);
  app.use(errorHandler(log));
  return app;
}
