import { Router, type RequestHandler, type Response } from 'express';
import type { Domain } from '../domain/index.js';
import { parsePhase } from '../domain/statements.js';
import { NAMED_SORT_FIELDS, SEQUENCE_SORT_FIELDS } from '../domain/paging.js';
import type { JsonObject } from '../domain/objects.js';
import { ACCESS, principalOf, type Access } from './access.js';
import { objectBody, readBody } from './body.js';
import { methodNotAllowed } from './errors.js';
import { pageRequest, queryParam } from './paging.js';
import { param } from './params.js';
import { reply, replyEmpty } from './reply.js';

type Method = 'get' | 'post' | 'put' | 'delete';

/** Where secret, catalog and database bodies name environments. */
const ENVIRONMENT_LISTS: [part: string, key: string][] = [
  ['status', 'environments'],
  ['status', 'environmentsWithAccess'],
  ['spec', 'ddlEnvironments'],
];

/**
 * A secret's, catalog's or database's body (or a list of them) naming only the environments the
 * caller may see: the others' names are not its to know.
 */
function withVisibleEnvironments(body: JsonObject, visible: (name: string) => boolean): JsonObject {
  if (Array.isArray(body.items)) return { ...body, items: body.items.map((item) => withVisibleEnvironments(item as JsonObject, visible)) };
  const out: JsonObject = { ...body };
  for (const [part, key] of ENVIRONMENT_LISTS) {
    const section = out[part] as JsonObject | undefined;
    const names = section !== null && typeof section === 'object' && !Array.isArray(section) ? section[key] : undefined;
    if (!Array.isArray(names)) continue;
    out[part] = { ...section, [key]: names.filter((n) => typeof n === 'string' && visible(n)) };
  }
  return out;
}

/** Makes the middleware that enforces a route's access; absent where everyone may do everything. */
export type Guard = (access: Access) => RequestHandler;

/**
 * Registers a path's handlers, each behind `readBody` (so no handler acts before the whole body
 * was read and parsed) and its entry in the access table, and answers its other methods with 405.
 */
export function register(
  router: Router,
  path: string,
  handlers: Partial<Record<Method, RequestHandler>>,
  guard: Guard | undefined,
  table: Record<string, Partial<Record<Method, Access>>> = ACCESS,
): void {
  const methods = Object.keys(handlers) as Method[];
  for (const method of methods) {
    const access = table[path]?.[method];
    if (!access) throw new Error(`${method.toUpperCase()} ${path} has no entry in its access table`);
    router[method](path, readBody, ...(guard ? [guard(access)] : []), handlers[method]!);
  }
  router.all(path, methodNotAllowed(methods.map((m) => m.toUpperCase())));
}

/** The CMF REST API: thin handlers that parse, call the domain and reply. */
export function cmfRoutes(domain: Domain, guard?: Guard): Router {
  const router = Router({ caseSensitive: true, strict: false });
  const route = (path: string, handlers: Partial<Record<Method, RequestHandler>>) => register(router, path, handlers, guard);
  const scrub = (res: Response, body: JsonObject) => withVisibleEnvironments(body, (name) => domain.authorizer.can(principalOf(res), 'view', { kind: 'FlinkEnvironment', name }));
  const { environments, applications, secrets, secretMappings, computePools, statements, catalogs } = domain;
  const env = '/cmf/api/v1/environments/:envName';
  const app = `${env}/applications/:appName`;

  route('/cmf/api/v1/environments', {
    get: async (req, res) => reply(req, res, 200, await environments.list(pageRequest(req, NAMED_SORT_FIELDS))),
    post: async (req, res) => reply(req, res, 201, await environments.createOrUpdate(objectBody(req))),
  });
  route(env, {
    get: async (req, res) => reply(req, res, 200, await environments.get(param(req, 'envName'))),
    delete: async (req, res) => {
      await environments.delete(param(req, 'envName'));
      replyEmpty(res, 200);
    },
  });

  route(`${env}/applications`, {
    get: async (req, res) =>
      reply(req, res, 200, await applications.list(param(req, 'envName'), pageRequest(req, NAMED_SORT_FIELDS))),
    post: async (req, res) =>
      reply(req, res, 201, await applications.createOrUpdate(param(req, 'envName'), objectBody(req))),
  });
  route(app, {
    get: async (req, res) => reply(req, res, 200, await applications.get(param(req, 'envName'), param(req, 'appName'))),
    delete: async (req, res) => {
      await applications.delete(param(req, 'envName'), param(req, 'appName'));
      replyEmpty(res, 200);
    },
  });
  route(`${app}/start`, {
    post: async (req, res) => reply(req, res, 200, await applications.start(param(req, 'envName'), param(req, 'appName'))),
  });
  route(`${app}/suspend`, {
    post: async (req, res) =>
      reply(req, res, 200, await applications.suspend(param(req, 'envName'), param(req, 'appName'))),
  });
  route(`${app}/instances`, {
    get: async (req, res) =>
      reply(req, res, 200, await applications.listInstances(param(req, 'envName'), param(req, 'appName'), pageRequest(req, SEQUENCE_SORT_FIELDS))),
  });
  route(`${app}/instances/:instName`, {
    get: async (req, res) =>
      reply(req, res, 200, await applications.getInstance(param(req, 'envName'), param(req, 'appName'), param(req, 'instName'))),
  });
  route('/cmf/api/v1alpha1/environments/:envName/applications/:appName/events', {
    get: async (req, res) =>
      reply(req, res, 200, await applications.listEvents(param(req, 'envName'), param(req, 'appName'), pageRequest(req, SEQUENCE_SORT_FIELDS))),
  });

  route(`${env}/secret-mappings`, {
    get: async (req, res) =>
      reply(req, res, 200, await secretMappings.list(param(req, 'envName'), pageRequest(req, NAMED_SORT_FIELDS))),
    post: async (req, res) =>
      reply(req, res, 200, await secretMappings.create(param(req, 'envName'), objectBody(req))),
  });
  route(`${env}/secret-mappings/:name`, {
    get: async (req, res) => reply(req, res, 200, await secretMappings.get(param(req, 'envName'), param(req, 'name'))),
    put: async (req, res) =>
      reply(req, res, 200, await secretMappings.update(param(req, 'envName'), param(req, 'name'), objectBody(req))),
    delete: async (req, res) => {
      await secretMappings.delete(param(req, 'envName'), param(req, 'name'));
      replyEmpty(res, 204);
    },
  });

  route(`${env}/statements`, {
    get: async (req, res) =>
      reply(
        req,
        res,
        200,
        await statements.list(
          param(req, 'envName'),
          { computePoolName: queryParam(req, 'compute-pool') || undefined, phase: parsePhase(queryParam(req, 'phase')) },
          pageRequest(req, NAMED_SORT_FIELDS),
        ),
      ),
    post: async (req, res) => reply(req, res, 200, await statements.create(param(req, 'envName'), objectBody(req))),
  });
  route(`${env}/statements/:stmtName`, {
    get: async (req, res) => reply(req, res, 200, await statements.get(param(req, 'envName'), param(req, 'stmtName'))),
    // the contract defines no body for this 200
    put: async (req, res) => {
      await statements.update(param(req, 'envName'), param(req, 'stmtName'), objectBody(req));
      replyEmpty(res, 200);
    },
    delete: async (req, res) => {
      const done = await statements.delete(param(req, 'envName'), param(req, 'stmtName'));
      replyEmpty(res, done === 'deleted' ? 204 : 202);
    },
  });
  route(`${env}/statements/:stmtName/results`, {
    get: async (req, res) =>
      reply(req, res, 200, await statements.results(param(req, 'envName'), param(req, 'stmtName'), queryParam(req, 'page-token'))),
  });
  route(`${env}/statements/:stmtName/exceptions`, {
    get: async (req, res) =>
      reply(req, res, 200, await statements.exceptions(param(req, 'envName'), param(req, 'stmtName'))),
  });

  route(`${env}/compute-pools`, {
    get: async (req, res) =>
      reply(req, res, 200, await computePools.list(param(req, 'envName'), pageRequest(req, NAMED_SORT_FIELDS))),
    post: async (req, res) =>
      reply(req, res, 200, await computePools.create(param(req, 'envName'), objectBody(req))),
  });
  route(`${env}/compute-pools/:poolName`, {
    get: async (req, res) => reply(req, res, 200, await computePools.get(param(req, 'envName'), param(req, 'poolName'))),
    delete: async (req, res) => {
      await computePools.delete(param(req, 'envName'), param(req, 'poolName'));
      replyEmpty(res, 204);
    },
  });

  route('/cmf/api/v1/secrets', {
    get: async (req, res) => reply(req, res, 200, scrub(res, await secrets.list(pageRequest(req, NAMED_SORT_FIELDS)))),
    post: async (req, res) => reply(req, res, 200, scrub(res, await secrets.create(objectBody(req)))),
  });
  route('/cmf/api/v1/secrets/:secretName', {
    get: async (req, res) => reply(req, res, 200, scrub(res, await secrets.get(param(req, 'secretName')))),
    put: async (req, res) => reply(req, res, 200, scrub(res, await secrets.update(param(req, 'secretName'), objectBody(req)))),
    delete: async (req, res) => {
      await secrets.delete(param(req, 'secretName'));
      replyEmpty(res, 204);
    },
  });

  route('/cmf/api/v1/catalogs/kafka', {
    get: async (req, res) => reply(req, res, 200, scrub(res, await catalogs.list(pageRequest(req, NAMED_SORT_FIELDS)))),
    post: async (req, res) => reply(req, res, 200, scrub(res, await catalogs.create(objectBody(req)))),
  });
  route('/cmf/api/v1/catalogs/kafka/:catName', {
    get: async (req, res) => reply(req, res, 200, scrub(res, await catalogs.get(param(req, 'catName')))),
    // the contract (2.1) defines no body for this 200
    put: async (req, res) => {
      await catalogs.update(param(req, 'catName'), objectBody(req));
      replyEmpty(res, 200);
    },
    delete: async (req, res) => {
      await catalogs.delete(param(req, 'catName'));
      replyEmpty(res, 204);
    },
  });
  route('/cmf/api/v1/catalogs/kafka/:catName/databases', {
    get: async (req, res) =>
      reply(req, res, 200, scrub(res, await catalogs.databases.list(param(req, 'catName'), pageRequest(req, NAMED_SORT_FIELDS)))),
    post: async (req, res) => reply(req, res, 200, scrub(res, await catalogs.databases.create(param(req, 'catName'), objectBody(req)))),
  });
  route('/cmf/api/v1/catalogs/kafka/:catName/databases/:dbName', {
    get: async (req, res) => reply(req, res, 200, scrub(res, await catalogs.databases.get(param(req, 'catName'), param(req, 'dbName')))),
    // the contract (2.1) defines no body for this 200
    put: async (req, res) => {
      await catalogs.databases.update(param(req, 'catName'), param(req, 'dbName'), objectBody(req));
      replyEmpty(res, 200);
    },
    delete: async (req, res) => {
      await catalogs.databases.delete(param(req, 'catName'), param(req, 'dbName'));
      replyEmpty(res, 204);
    },
  });
  return router;
}
