import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { RbacRule } from '../../kube/rbac.js';
import { StatusError, qualifiedResource } from './errors.js';
import type { Route } from './routes.js';

/**
 * What a bearer token may do, as RBAC decides it: `rules` bound by a ClusterRoleBinding (everywhere,
 * cluster-scoped resources included), or by a RoleBinding in each of `namespaces` (there only: no
 * cluster-scoped resource, no list or watch across namespaces).
 */
export interface Grant {
  /** The user kube-apiserver names in a refusal. */
  user: string;
  rules: readonly RbacRule[];
  /** The namespaces of its RoleBindings; undefined: a ClusterRoleBinding. */
  namespaces?: readonly string[];
}

/** cluster-admin's one rule. */
export const EVERYTHING: readonly RbacRule[] = [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }];

const covers = (values: readonly string[], value: string): boolean => values.includes('*') || values.includes(value);

/** The tokens the simulated API server accepts, each with its grant. */
export class Grants {
  private readonly byToken = new Map<string, Grant>();

  /** A new token with `grant`. */
  issue(grant: Grant): string {
    const token = randomBytes(32).toString('hex');
    this.byToken.set(token, grant);
    return token;
  }

  /** The grant of a request's `Authorization: Bearer` token; undefined when it carries none we issued. */
  of(authorization: string | undefined): Grant | undefined {
    const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    if (!m) return undefined;
    const given = Buffer.from(m[1]!.trim());
    for (const [token, grant] of this.byToken) {
      const expected = Buffer.from(token);
      if (given.length === expected.length && timingSafeEqual(given, expected)) return grant;
    }
    return undefined;
  }
}

/** The RBAC verb kube-apiserver checks for a request on a resource. */
function verbOf(route: Extract<Route, { kind: 'collection' | 'object' }>, method: string, watching: boolean): string {
  if (method === 'GET') return watching ? 'watch' : route.kind === 'collection' ? 'list' : 'get';
  return { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: route.kind === 'collection' ? 'deletecollection' : 'delete' }[method] ?? method.toLowerCase();
}

/**
 * Refuses, with kube-apiserver's 403 and wording, a request on a resource the grant does not cover.
 * Discovery and the OpenAPI documents stay open, as `system:discovery` leaves them to every user.
 */
export function authorize(grant: Grant, route: Route, method: string, watching: boolean): void {
  if (route.kind !== 'collection' && route.kind !== 'object') return;
  const verb = verbOf(route, method, watching);
  const { plural, group } = route.type;
  const resource = route.kind === 'object' && route.subresource ? `${plural}/${route.subresource}` : plural;
  const bound = grant.namespaces === undefined || (route.namespace !== undefined && grant.namespaces.includes(route.namespace));
  if (bound && grant.rules.some((r) => covers(r.apiGroups, group) && covers(r.resources, resource) && covers(r.verbs, verb))) return;
  const named = route.kind === 'object' ? `${qualifiedResource(plural, group)} "${route.name}"` : qualifiedResource(plural, group);
  const where = route.namespace !== undefined ? `in the namespace "${route.namespace}"` : 'at the cluster scope';
  throw new StatusError(403, 'Forbidden', `${named} is forbidden: User "${grant.user}" cannot ${verb} resource "${resource}" in API group "${group}" ${where}`, {
    ...(route.kind === 'object' ? { name: route.name } : {}),
    group: group || undefined,
    kind: plural,
  });
}
