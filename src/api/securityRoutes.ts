import { Router, type RequestHandler } from 'express';
import type { Domain } from '../domain/index.js';
import { BadRequest, Forbidden, ServiceUnavailable } from '../domain/errors.js';
import { API_TOKEN_SORT_FIELDS } from '../domain/apiTokens.js';
import type { AuditTrail } from '../security/audit.js';
import type { Encryption } from '../security/sealing.js';
import { CMF_KINDS, ENVIRONMENT_KINDS, VERBS, type Kind, type ResourceRef, type Verb } from '../security/resources.js';
import type { AuditEventStore } from '../store/auditEvents.js';
import { ACCESS_DREY, principalOf } from './access.js';
import { objectBody } from './body.js';
import { pageRequest, queryParam } from './paging.js';
import { param } from './params.js';
import { reply, replyEmpty } from './reply.js';
import { register, type Guard } from './routes.js';

type Method = 'get' | 'post' | 'delete';

/** What drey's own routes need beyond the domain; each route answers 503 where its part is absent. */
export interface SecurityParts {
  audit?: { trail: AuditTrail; events: AuditEventStore };
  encryption?: Encryption;
}

const KINDS: readonly string[] = [...CMF_KINDS, ...ENVIRONMENT_KINDS];

/** `{verb, resource: {kind, environment?, name?}}` of an access review, checked by hand: it is small. */
function reviewOf(body: Record<string, unknown>): { verb: Verb; ref: ResourceRef } {
  const { verb, resource } = body;
  if (typeof verb !== 'string' || !(VERBS as readonly string[]).includes(verb)) throw new BadRequest(`verb must be one of ${VERBS.join(', ')}`);
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) throw new BadRequest('resource is required');
  const { kind, environment, name } = resource as Record<string, unknown>;
  if (typeof kind !== 'string' || !KINDS.includes(kind)) throw new BadRequest(`resource.kind must be one of ${KINDS.join(', ')}`);
  if (name !== undefined && typeof name !== 'string') throw new BadRequest('resource.name must be string');
  const inEnvironment = (ENVIRONMENT_KINDS as readonly string[]).includes(kind);
  if (inEnvironment !== (typeof environment === 'string')) {
    throw new BadRequest(inEnvironment ? `resource.environment is required for ${kind}` : `resource.environment is not allowed for ${kind}`);
  }
  return { verb: verb as Verb, ref: { kind: kind as Kind, ...(inEnvironment ? { environment } : {}), ...(name === undefined ? {} : { name }) } as ResourceRef };
}

/** A date query parameter, or undefined. */
function dateParam(value: string | undefined, name: string): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new BadRequest(`Query parameter '${name}' must be an ISO 8601 time`);
  return date;
}

/**
 * drey's own API, beside CMF's: who am I, may I, who may what (role bindings), API tokens, the
 * audit trail and encryption at rest. Documented in the README next to the CMF paths.
 */
export function securityRoutes(domain: Domain, guard: Guard, parts: SecurityParts): Router {
  const router = Router({ caseSensitive: true, strict: false });
  const { authorizer } = domain;
  const route = (path: string, handlers: Partial<Record<Method, RequestHandler>>) => register(router, path, handlers, guard, ACCESS_DREY);
  const base = '/drey/api/v1';

  route(`${base}/whoami`, {
    get: (_req, res) => {
      const p = principalOf(res);
      reply(_req, res, 200, {
        user: p.user,
        groups: p.groups,
        authenticator: p.authenticator,
        superUser: authorizer.isSuperUser(p),
        ...(p.expiresAt ? { expiresAt: p.expiresAt.toISOString() } : {}),
      });
    },
  });
  route(`${base}/access-reviews`, {
    // about the caller, or (for someone who may bind that resource) about another user and groups
    post: (req, res) => {
      const p = principalOf(res);
      const body = objectBody(req);
      const { verb, ref } = reviewOf(body);
      let subject = p;
      if (body.user !== undefined || body.groups !== undefined) {
        if (typeof body.user !== 'string' || (body.groups !== undefined && (!Array.isArray(body.groups) || !body.groups.every((g) => typeof g === 'string')))) {
          throw new BadRequest('user must be string and groups a list of strings');
        }
        if (!authorizer.can(p, 'bind', ref)) throw new Forbidden(`User:${p.user} may not review the access of others to ${ref.kind}${ref.name ? ` '${ref.name}'` : ''}`);
        subject = { user: body.user, groups: (body.groups as string[] | undefined) ?? [], authenticator: 'apiToken' };
      }
      reply(req, res, 200, { user: subject.user, groups: subject.groups, verb, resource: ref, allowed: authorizer.can(subject, verb, ref) });
    },
  });
  route(`${base}/access-rules`, {
    get: (req, res) => {
      const rules = authorizer.rules(principalOf(res));
      reply(req, res, 200, rules === 'all' ? { superUser: true, rules: [] } : { superUser: false, rules });
    },
  });

  route(`${base}/role-bindings`, {
    get: async (req, res) =>
      reply(req, res, 200, await domain.roleBindings.list(principalOf(res), { principal: queryParam(req, 'principal'), environment: queryParam(req, 'environment') })),
    post: async (req, res) => reply(req, res, 201, await domain.roleBindings.create(principalOf(res), objectBody(req))),
  });
  route(`${base}/role-bindings/:id`, {
    delete: async (req, res) => {
      await domain.roleBindings.delete(principalOf(res), param(req, 'id'));
      replyEmpty(res, 204);
    },
  });

  route(`${base}/api-tokens`, {
    get: async (req, res) => reply(req, res, 200, await domain.apiTokens.list(pageRequest(req, API_TOKEN_SORT_FIELDS))),
    post: async (req, res) => {
      const p = principalOf(res);
      reply(req, res, 201, await domain.apiTokens.create(objectBody(req), `User:${p.user}`, { mayReuseUser: authorizer.isSuperUser(p) }));
    },
  });
  route(`${base}/api-tokens/:name`, {
    get: async (req, res) => reply(req, res, 200, await domain.apiTokens.get(param(req, 'name'))),
    delete: async (req, res) => reply(req, res, 200, await domain.apiTokens.revoke(param(req, 'name'), `User:${principalOf(res).user}`)),
  });

  route(`${base}/audit-events`, {
    get: async (req, res) => {
      const audit = parts.audit;
      if (!audit) throw new ServiceUnavailable('This drey keeps no audit trail in its database (CMF_AUDIT)');
      await audit.trail.flush();
      const before = queryParam(req, 'before');
      if (before !== undefined && !/^\d+$/.test(before)) throw new BadRequest(`Query parameter 'before' must be a non-negative integer`);
      const limit = Number(queryParam(req, 'limit') ?? 100);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new BadRequest(`Query parameter 'limit' must be between 1 and 1000`);
      const page = await audit.events.list({
        principal: queryParam(req, 'principal'),
        outcome: queryParam(req, 'outcome'),
        requestId: queryParam(req, 'requestId'),
        since: dateParam(queryParam(req, 'since'), 'since'),
        until: dateParam(queryParam(req, 'until'), 'until'),
        ...(before === undefined ? {} : { before: Number(before) }),
        limit,
      });
      reply(req, res, 200, { items: page.events.map((e) => ({ ...e, at: e.at.toISOString() })), next: page.next });
    },
  });

  route(`${base}/encryption`, {
    get: async (req, res) => {
      if (!parts.encryption) throw new ServiceUnavailable('Encryption at rest is not managed by this drey');
      reply(req, res, 200, await parts.encryption.status());
    },
  });
  route(`${base}/encryption/rewrap`, {
    post: async (req, res) => {
      if (!parts.encryption) throw new ServiceUnavailable('Encryption at rest is not managed by this drey');
      reply(req, res, 202, { rewrap: parts.encryption.startRewrap() });
    },
  });
  return router;
}
