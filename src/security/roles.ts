import type { Subject } from './principal.js';
import { CMF_KINDS, ENVIRONMENT_KINDS, type Kind, type Verb } from './resources.js';

/**
 * CMF's role names. The first three are bound to a whole scope (CMF's "cluster level"), the last
 * three to named resources of one kind in a scope.
 */
export const CLUSTER_ROLES = ['SystemAdmin', 'ClusterAdmin', 'UserAdmin'] as const;
export const RESOURCE_ROLES = ['ResourceOwner', 'DeveloperManage', 'DeveloperRead'] as const;
export const ROLES = [...CLUSTER_ROLES, ...RESOURCE_ROLES] as const;
export type ClusterRole = (typeof CLUSTER_ROLES)[number];
export type ResourceRole = (typeof RESOURCE_ROLES)[number];
export type Role = (typeof ROLES)[number];

/**
 * Where a binding applies: the installation (CMF's `--cmf`: environments, catalogs, secrets and
 * drey's own objects) or one environment (`--flink-environment`: applications, statements, compute
 * pools, secret mappings). As in CMF the two do not nest: a binding at `cmf` grants nothing inside
 * an environment.
 */
export type Scope = 'cmf' | `env:${string}`;

/** `LITERAL *` names every resource of the kind. */
export type PatternType = 'LITERAL' | 'PREFIXED';

/** A role binding as drey evaluates it. */
export interface RoleBinding {
  subject: Subject;
  role: Role;
  scope: Scope;
  /** Present exactly for the resource roles. */
  resource?: { kind: Kind; pattern: PatternType; name: string };
}

/** The kinds a resource role may name: CMF's Flink resources (drey's own objects are bound whole). */
export const BINDABLE_KINDS: readonly Kind[] = ['FlinkEnvironment', 'FlinkCatalog', 'FlinkSecret', ...ENVIRONMENT_KINDS];

const ALL: Verb[] = ['view', 'create', 'update', 'delete'];

/**
 * What each cluster role grants on every object of a kind, at the installation and in an
 * environment: CMF's permission matrix (CP docs, "Access control for CMF"), plus drey's own
 * objects (role bindings through `bind`, API tokens, the audit trail, encryption). Create and update
 * always come together, as in CMF's matrix, so a POST that creates or updates needs `create` alone.
 */
export const CLUSTER_GRANTS: Record<ClusterRole, { cmf: Partial<Record<Kind, Verb[]>>; environment: Partial<Record<Kind, Verb[]>> }> = {
  SystemAdmin: {
    cmf: {
      FlinkEnvironment: [...ALL, 'bind'],
      FlinkCatalog: [...ALL, 'bind'],
      FlinkSecret: [...ALL, 'bind'],
      ApiToken: [...ALL, 'bind'],
      // the audit trail is append-only: it can only be read
      AuditEvent: ['view', 'bind'],
      Encryption: [...ALL, 'bind'],
    },
    environment: Object.fromEntries(ENVIRONMENT_KINDS.map((k) => [k, [...ALL, 'bind']])),
  },
  // "ClusterAdmin: environment create/update Y, delete N; add role bindings N"
  ClusterAdmin: {
    cmf: { FlinkEnvironment: ['view', 'create', 'update'], FlinkCatalog: ALL, FlinkSecret: ALL },
    environment: Object.fromEntries(ENVIRONMENT_KINDS.map((k) => [k, ALL])),
  },
  // "UserAdmin: add role bindings Y", nothing else; API tokens are how it hands out machine identities
  UserAdmin: {
    cmf: { FlinkEnvironment: ['bind'], FlinkCatalog: ['bind'], FlinkSecret: ['bind'], ApiToken: [...ALL, 'bind'], AuditEvent: ['bind'], Encryption: ['bind'] },
    environment: Object.fromEntries(ENVIRONMENT_KINDS.map((k) => [k, ['bind']])),
  },
};

/**
 * What each resource role grants on the resources its pattern names. An environment is never
 * edited through a resource role (CMF: only SystemAdmin and ClusterAdmin create or update one), and
 * DeveloperRead does not see statements (CMF: "Statement view: DeveloperRead N").
 */
export function resourceGrants(role: Role, kind: Kind): Verb[] {
  const editable = kind !== 'FlinkEnvironment';
  switch (role) {
    case 'ResourceOwner':
      return editable ? [...ALL, 'bind'] : ['view', 'bind'];
    case 'DeveloperManage':
      return editable ? ALL : ['view'];
    case 'DeveloperRead':
      return kind === 'FlinkStatement' ? [] : ['view'];
    default:
      return [];
  }
}

/** What a role bound to a whole scope grants there, kind by kind (nothing for the resource roles). */
export function clusterGrants(role: Role, scope: Scope): Partial<Record<Kind, Verb[]>> {
  return isClusterRole(role) ? CLUSTER_GRANTS[role][scope === 'cmf' ? 'cmf' : 'environment'] : {};
}

export function isClusterRole(role: Role): role is ClusterRole {
  return (CLUSTER_ROLES as readonly string[]).includes(role);
}

/** The scope a kind's objects live in. */
export function scopeOf(kind: Kind, environment: string | undefined): Scope {
  return (CMF_KINDS as readonly string[]).includes(kind) ? 'cmf' : `env:${environment}`;
}

/** Whether a pattern names `name`. */
export function patternMatches(pattern: PatternType, value: string, name: string): boolean {
  if (pattern === 'LITERAL') return value === '*' || value === name;
  return name.startsWith(value);
}

/**
 * Whether every name pattern `b` can name is named by pattern `a` too: `LITERAL *` covers all;
 * `PREFIXED team-` covers `LITERAL team-a` and `PREFIXED team-a`, not `PREFIXED te` nor `LITERAL *`.
 */
export function patternCovers(a: { pattern: PatternType; name: string }, b: { pattern: PatternType; name: string }): boolean {
  if (a.pattern === 'LITERAL' && a.name === '*') return true;
  if (b.pattern === 'LITERAL' && b.name === '*') return false;
  if (a.pattern === 'LITERAL') return b.pattern === 'LITERAL' && a.name === b.name;
  return b.name.startsWith(a.name);
}
