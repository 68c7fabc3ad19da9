import type { Request, RequestHandler, Response } from 'express';
import { Forbidden } from '../domain/errors.js';
import type { Authorizer } from '../security/authorizer.js';
import type { Principal } from '../security/principal.js';
import type { Kind, ResourceRef, Verb } from '../security/resources.js';
import { bodyValue } from './body.js';
import { param } from './params.js';

/**
 * What a request needs, worked out from its path and body only (never from what is stored, so a
 * refusal reads the same whether or not the object exists):
 * - one object, and possibly objects it names (a statement's compute pool, a mapping's secret);
 * - a list, which then shows only what the caller may see;
 * - `anyone`: any authenticated caller (whoami, questions about oneself);
 * - `domain`: the domain decides with the principal (role bindings, whose rules need what is stored).
 */
export type Need =
  | { verb: Verb; ref: ResourceRef; refs?: { verb: Verb; ref: ResourceRef }[] }
  | { list: Kind; environment?: string }
  | { anyone: true }
  | { domain: AccessFacts }
  | { superUser: AccessFacts };

/** How a route's method works out its need from the request. */
export type Access = (req: Request) => Need;

/** What the body holds at `path`, or undefined where the path leaves its objects. */
function bodyAt(req: Request, ...path: string[]): unknown {
  let value: unknown = bodyValue(req);
  for (const key of path) value = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

/** A name the body gives at `path` (`metadata.name`, `spec.secretName`), if it gives one. */
function bodyField(req: Request, ...path: string[]): string | undefined {
  const value = bodyAt(req, ...path);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

const envKind =
  (kind: 'FlinkApplication' | 'FlinkStatement' | 'FlinkComputePool' | 'FlinkSecretMapping', verb: Verb, nameParam: string) =>
  (req: Request): Need => ({ verb, ref: { kind, environment: param(req, 'envName'), name: param(req, nameParam) } });
const envCreate =
  (kind: 'FlinkApplication' | 'FlinkStatement' | 'FlinkComputePool' | 'FlinkSecretMapping') =>
  (req: Request): Need => ({ verb: 'create', ref: { kind, environment: param(req, 'envName'), name: bodyField(req, 'metadata', 'name') } });
const envList =
  (kind: Kind) =>
  (req: Request): Need => ({ list: kind, environment: param(req, 'envName') });
const cmfKind =
  (kind: 'FlinkEnvironment' | 'FlinkCatalog' | 'FlinkSecret', verb: Verb, nameParam: string) =>
  (req: Request): Need => ({ verb, ref: { kind, name: param(req, nameParam) } });
const cmfCreate =
  (kind: 'FlinkEnvironment' | 'FlinkCatalog' | 'FlinkSecret') =>
  (req: Request): Need => ({ verb: 'create', ref: { kind, name: kind === 'FlinkEnvironment' ? bodyField(req, 'name') : bodyField(req, 'metadata', 'name') } });

/** A mapping may name only a secret its author may see. */
const mappingWrite =
  (verb: Verb, name: (req: Request) => string | undefined) =>
  (req: Request): Need => {
    const secret = bodyField(req, 'spec', 'secretName');
    return {
      verb,
      ref: { kind: 'FlinkSecretMapping', environment: param(req, 'envName'), name: name(req) },
      ...(secret ? { refs: [{ verb: 'view' as const, ref: { kind: 'FlinkSecret' as const, name: secret } }] } : {}),
    };
  };

/** A statement may run only in a compute pool of its environment its author may see. */
function statementCreate(req: Request): Need {
  const environment = param(req, 'envName');
  const pool = bodyField(req, 'spec', 'computePoolName');
  return {
    verb: 'create',
    ref: { kind: 'FlinkStatement', environment, name: bodyField(req, 'metadata', 'name') },
    ...(pool ? { refs: [{ verb: 'view' as const, ref: { kind: 'FlinkComputePool' as const, environment, name: pool } }] } : {}),
  };
}

/**
 * A database may let only environments its author may see run DDL on it: naming one is handing it
 * the right to make and drop topics.
 */
const databaseWrite =
  (verb: Verb) =>
  (req: Request): Need => {
    const value = bodyAt(req, 'spec', 'ddlEnvironments');
    const environments = Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
    return {
      verb,
      ref: { kind: 'FlinkCatalog', name: param(req, 'catName') },
      refs: environments.map((name) => ({ verb: 'view' as const, ref: { kind: 'FlinkEnvironment' as const, name } })),
    };
  };

const ENV = '/cmf/api/v1/environments/:envName';
const APP = `${ENV}/applications/:appName`;
const CATALOG = '/cmf/api/v1/catalogs/kafka/:catName';

/**
 * What every route needs, by path template and method. Every route must have an entry: `route()`
 * refuses to register one without. Statement results and exceptions need edit rights (CMF: "results
 * and exceptions need edit permission"); a catalog's databases are parts of the catalog.
 */
export const ACCESS: Record<string, Partial<Record<'get' | 'post' | 'put' | 'delete', Access>>> = {
  '/cmf/api/v1/environments': { get: () => ({ list: 'FlinkEnvironment' }), post: cmfCreate('FlinkEnvironment') },
  [ENV]: { get: cmfKind('FlinkEnvironment', 'view', 'envName'), delete: cmfKind('FlinkEnvironment', 'delete', 'envName') },
  [`${ENV}/applications`]: { get: envList('FlinkApplication'), post: envCreate('FlinkApplication') },
  [APP]: { get: envKind('FlinkApplication', 'view', 'appName'), delete: envKind('FlinkApplication', 'delete', 'appName') },
  [`${APP}/start`]: { post: envKind('FlinkApplication', 'update', 'appName') },
  [`${APP}/suspend`]: { post: envKind('FlinkApplication', 'update', 'appName') },
  [`${APP}/instances`]: { get: envKind('FlinkApplication', 'view', 'appName') },
  [`${APP}/instances/:instName`]: { get: envKind('FlinkApplication', 'view', 'appName') },
  '/cmf/api/v1alpha1/environments/:envName/applications/:appName/events': { get: envKind('FlinkApplication', 'view', 'appName') },
  [`${ENV}/secret-mappings`]: { get: envList('FlinkSecretMapping'), post: mappingWrite('create', (req) => bodyField(req, 'metadata', 'name')) },
  [`${ENV}/secret-mappings/:name`]: {
    get: envKind('FlinkSecretMapping', 'view', 'name'),
    put: mappingWrite('update', (req) => param(req, 'name')),
    delete: envKind('FlinkSecretMapping', 'delete', 'name'),
  },
  [`${ENV}/statements`]: { get: envList('FlinkStatement'), post: statementCreate },
  [`${ENV}/statements/:stmtName`]: {
    get: envKind('FlinkStatement', 'view', 'stmtName'),
    put: envKind('FlinkStatement', 'update', 'stmtName'),
    delete: envKind('FlinkStatement', 'delete', 'stmtName'),
  },
  [`${ENV}/statements/:stmtName/results`]: { get: envKind('FlinkStatement', 'update', 'stmtName') },
  [`${ENV}/statements/:stmtName/exceptions`]: { get: envKind('FlinkStatement', 'update', 'stmtName') },
  [`${ENV}/compute-pools`]: { get: envList('FlinkComputePool'), post: envCreate('FlinkComputePool') },
  [`${ENV}/compute-pools/:poolName`]: { get: envKind('FlinkComputePool', 'view', 'poolName'), delete: envKind('FlinkComputePool', 'delete', 'poolName') },
  '/cmf/api/v1/secrets': { get: () => ({ list: 'FlinkSecret' }), post: cmfCreate('FlinkSecret') },
  '/cmf/api/v1/secrets/:secretName': {
    get: cmfKind('FlinkSecret', 'view', 'secretName'),
    put: cmfKind('FlinkSecret', 'update', 'secretName'),
    delete: cmfKind('FlinkSecret', 'delete', 'secretName'),
  },
  '/cmf/api/v1/catalogs/kafka': { get: () => ({ list: 'FlinkCatalog' }), post: cmfCreate('FlinkCatalog') },
  [CATALOG]: { get: cmfKind('FlinkCatalog', 'view', 'catName'), put: cmfKind('FlinkCatalog', 'update', 'catName'), delete: cmfKind('FlinkCatalog', 'delete', 'catName') },
  [`${CATALOG}/databases`]: { get: cmfKind('FlinkCatalog', 'view', 'catName'), post: databaseWrite('update') },
  [`${CATALOG}/databases/:dbName`]: {
    get: cmfKind('FlinkCatalog', 'view', 'catName'),
    put: databaseWrite('update'),
    delete: cmfKind('FlinkCatalog', 'update', 'catName'),
  },
};

/** The Flink web UI proxy's path. */
export const WEB_UI = `${APP}/flink-web-ui`;

/**
 * The path a web UI request reaches on the JobManager, as Flink's router will read it: one leading
 * slash, percent-decoded, dot segments resolved, without the REST API's version prefix (`/v1`),
 * in lower case; undefined when it cannot be decoded or holds a backslash.
 */
export function webUiPath(req: Request): string | undefined {
  const at = req.path.indexOf('/flink-web-ui') + '/flink-web-ui'.length;
  try {
    const decoded = decodeURIComponent(req.path.slice(at));
    // a backslash is a separator to some URL parsers and not to others: no such path is served
    if (decoded.includes('\\')) return undefined;
    const path = new URL(decoded.replace(/^\/*/, '/'), 'http://jobmanager').pathname;
    return path.replace(/^\/v\d+(?=\/|$)/, '').toLowerCase();
  } catch {
    return undefined;
  }
}

/** Flink REST paths a GET changes something through (YARN-era job cancellation). */
const MUTATING_GETS = /\/(yarn-cancel|yarn-stop)(\/|$)/;

/**
 * The web UI proxy: reading needs view on the application, anything else (cancelling a job,
 * triggering a savepoint) update. Jars (uploading, running, even a plan, which runs the jar's main)
 * run code of the caller's choosing in the cluster, beside the applications drey manages: super
 * users only, whatever the method.
 */
export function webUiAccess(req: Request): Need {
  const ref = { kind: 'FlinkApplication' as const, environment: param(req, 'envName'), name: param(req, 'appName') };
  const path = webUiPath(req);
  if (path === undefined || /^\/jars(\/|$)/.test(path)) {
    return { superUser: { verb: req.method === 'GET' || req.method === 'HEAD' ? 'view' : 'update', kind: 'FlinkApplication', environment: ref.environment, name: ref.name } };
  }
  if ((req.method === 'GET' || req.method === 'HEAD') && !MUTATING_GETS.test(path)) return { verb: 'view', ref };
  return { verb: 'update', ref };
}

const DREY = '/drey/api/v1';
const whole = (kind: 'ApiToken' | 'AuditEvent' | 'Encryption', verb: Verb) => (): Need => ({ verb, ref: { kind } });
const token = (verb: Verb) => (req: Request): Need => ({ verb, ref: { kind: 'ApiToken', name: param(req, 'name') } });

/** What drey's own routes need. API tokens, the audit trail and encryption are bound as a whole. */
export const ACCESS_DREY: Record<string, Partial<Record<'get' | 'post' | 'delete', Access>>> = {
  [`${DREY}/whoami`]: { get: () => ({ anyone: true }) },
  [`${DREY}/access-reviews`]: { post: () => ({ anyone: true }) },
  [`${DREY}/access-rules`]: { get: () => ({ anyone: true }) },
  [`${DREY}/role-bindings`]: { get: () => ({ domain: { verb: 'list', kind: 'RoleBinding' } }), post: () => ({ domain: { verb: 'create', kind: 'RoleBinding' } }) },
  [`${DREY}/role-bindings/:id`]: { delete: (req) => ({ domain: { verb: 'delete', kind: 'RoleBinding', name: param(req, 'id') } }) },
  [`${DREY}/api-tokens`]: { get: whole('ApiToken', 'view'), post: (req) => ({ verb: 'create', ref: { kind: 'ApiToken', name: bodyField(req, 'metadata', 'name') } }) },
  [`${DREY}/api-tokens/:name`]: { get: token('view'), delete: token('delete') },
  [`${DREY}/audit-events`]: { get: whole('AuditEvent', 'view') },
  [`${DREY}/encryption`]: { get: whole('Encryption', 'view') },
  [`${DREY}/encryption/rewrap`]: { post: whole('Encryption', 'update') },
};

/** What a request acted on, as the audit trail records it. */
export interface AccessFacts {
  verb: Verb | 'list';
  kind?: Kind;
  environment?: string;
  name?: string;
}

/** The principal the authentication middleware found for this request. */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('no principal: the authentication middleware did not run');
  return principal;
}

/** How a refusal reads: from the request alone, so that it tells nothing of what is stored. */
function refusal(p: Principal, verb: string, ref: ResourceRef): Forbidden {
  const what = ref.name === undefined ? `${ref.kind} objects` : `${ref.kind} '${ref.name}'`;
  const where = 'environment' in ref ? ` in environment '${ref.environment}'` : '';
  return new Forbidden(`User:${p.user} may not ${verb} ${what}${where}`);
}

/**
 * The middleware that enforces a route's need before its handler reads anything. A list the caller
 * may see only part of leaves `res.locals.only` for `pageRequest`.
 */
export function authorize(authorizer: Authorizer, access: Access): RequestHandler {
  return (req, res, next) => {
    const p = principalOf(res);
    const need = access(req);
    if ('list' in need) {
      res.locals.access = { verb: 'list', kind: need.list, environment: need.environment } satisfies AccessFacts;
      const visible = authorizer.visible(p, need.list, need.environment);
      const ref = (need.environment === undefined ? { kind: need.list } : { kind: need.list, environment: need.environment }) as ResourceRef;
      if (visible === 'none') throw refusal(p, 'list', ref);
      if (visible !== 'all') res.locals.only = visible;
    } else if ('verb' in need) {
      const { ref } = need;
      res.locals.access = { verb: need.verb, kind: ref.kind, environment: 'environment' in ref ? ref.environment : undefined, name: ref.name } satisfies AccessFacts;
      // a body without a name is the domain's 400: the caller needs the right for some name
      const allowed = ref.name === undefined ? authorizer.canSome(p, need.verb, ref) : authorizer.can(p, need.verb, ref);
      if (!allowed) throw refusal(p, need.verb, ref);
      for (const other of need.refs ?? []) if (!authorizer.can(p, other.verb, other.ref)) throw refusal(p, other.verb, other.ref);
    } else if ('domain' in need) {
      res.locals.access = need.domain;
    } else if ('superUser' in need) {
      res.locals.access = need.superUser;
      if (!authorizer.isSuperUser(p)) throw new Forbidden(`User:${p.user} may not use jars through the Flink web UI: only super users may`);
    }
    next();
  };
}
