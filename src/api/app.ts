import express, { type Express, type RequestHandler } from 'express';
import type { Domain } from '../domain/index.js';
import { TooManyRequests } from '../domain/errors.js';
import type { DatabaseHealth } from '../store/health.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Principal } from '../security/principal.js';
import type { RateLimiter } from '../security/rateLimit.js';
import { authorize } from './access.js';
import { auditRequests } from './auditRequests.js';
import { authenticate, LOCAL_PRINCIPAL, type Authenticators } from './authenticate.js';
import { errorHandler, notFound } from './errors.js';
import { openApiRoutes } from './openapi.js';
import { requestId, requestLog } from './requestId.js';
import { cmfRoutes, type Guard } from './routes.js';
import { securityRoutes, type SecurityParts } from './securityRoutes.js';
import { flinkWebUiRoutes, type JobManagerLocator } from './webUi.js';

/** Who may call the API, and how often; without it, everyone may do everything. */
export interface AppSecurity {
  authenticators: Authenticators;
  /** Requests per principal, and failed authentications per source address; each off when absent. */
  limits?: { principal?: RateLimiter; failures?: RateLimiter };
}

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
  /** Absent: the local posture, where drey serves loopback only and every caller may do anything. */
  security?: AppSecurity;
  /** The audit trail and encryption at rest, for drey's own routes (and every request's audit). */
  parts?: SecurityParts;
  /** Where requests are counted and timed; none when absent. */
  metrics?: Metrics;
}

/** 429 once a principal asked too often. */
function limitPrincipals(limiter: RateLimiter): RequestHandler {
  return (_req, res, next) => {
    const wait = limiter.take((res.locals.principal as Principal).user);
    if (wait > 0) throw new TooManyRequests('Too many requests; retry later', wait);
    next();
  };
}

/**
 * 429 for an address whose credentials kept failing, before its next credential is checked: guessing
 * tokens or certificates costs the guesser, and callers elsewhere are not slowed.
 */
function limitFailures(limiter: RateLimiter): RequestHandler {
  return (req, res, next) => {
    const address = req.socket.remoteAddress ?? '';
    const wait = limiter.peek(address);
    if (wait > 0) throw new TooManyRequests('Too many failed authentications from this address; retry later', wait);
    res.once('finish', () => {
      if (res.statusCode === 401) limiter.take(address);
    });
    next();
  };
}

/** Paths no route matched share one `route` label: a raw path would make one series per name a caller tried. */
const UNMATCHED = '<unmatched>';

/**
 * Times every request by method, route template (`/cmf/api/v1/environments/:envName`, never the
 * raw path, whose names would make a series per resource) and status code, and counts those in flight.
 */
function measureRequests(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    metrics.httpInFlight.inc();
    res.once('close', () => {
      metrics.httpInFlight.dec();
      const template = req.route?.path as string | string[] | undefined;
      const route = template === undefined ? UNMATCHED : req.baseUrl + (Array.isArray(template) ? template.join('|') : String(template));
      metrics.httpDuration.observe({ method: req.method, route, code: String(res.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}

/** The HTTP application: request ids, audit, authentication, CMF and drey routes, one error handler. */
export function createApp({
  domain,
  log,
  info = () => ({}),
  database = async () => ({ up: true }),
  locateJobManager = () => ({ unavailable: 'this drey cannot reach JobManagers' }),
  security,
  parts = {},
  metrics,
}: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // reply() tags GETs itself, and answers If-None-Match whatever Cache-Control says
  app.set('query parser', 'simple');
  if (metrics) app.use(measureRequests(metrics));
  app.use(requestId(log));
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      requestLog(res).debug('request', { method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 });
    });
    next();
  });
  // 503 while the database does not answer: this replica cannot serve the API then
  app.get('/healthz', async (_req, res) => {
    const health = await database();
    res.status(health.up ? 200 : 503).json({
      status: health.up ? 'ok' : 'unavailable',
      ...(security ? {} : info()),
      databaseUp: health.up,
      ...(health.up ? {} : { databaseError: health.error }),
    });
  });
  app.use(openApiRoutes());
  if (parts.audit) app.use(auditRequests(parts.audit.trail));
  if (security) {
    if (security.limits?.failures) app.use(limitFailures(security.limits.failures));
    app.use(authenticate(security.authenticators));
    if (security.limits?.principal) app.use(limitPrincipals(security.limits.principal));
  } else {
    app.use((_req, res, next) => {
      res.locals.principal = LOCAL_PRINCIPAL;
      next();
    });
  }
  const guard: Guard = (access) => authorize(domain.authorizer, access);
  app.use(flinkWebUiRoutes({ domain, locate: locateJobManager, guard }));
  app.use(cmfRoutes(domain, guard));
  app.use(securityRoutes(domain, guard, parts));
  app.use(notFound);
  app.use(errorHandler());
  return app;
}
