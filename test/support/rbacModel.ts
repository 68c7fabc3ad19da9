/**
 * A reference model of CMF's role matrix, written independently of drey's authorizer
 * (src/security/roles.ts, authorizer.ts) so a property test can compare the two. Sources: the CMF
 * permission matrix (research §1.3, CP docs [S-8]) and the plan's §4 decisions. It imports nothing
 * from src/security/ but the shared vocabulary (resources.ts, principal.ts).
 *
 * Readings taken where the plan's table is silent or ambiguous (the lead should reconcile these):
 * 1. Scopes never nest: a binding acts only at its own scope (`cmf` or `env:<E>`, compared as whole
 *    strings, so `env:e1` says nothing about `env:e10`). The one exception is plan §4's environment
 *    visibility: any binding at `env:E` also gives `view` on `FlinkEnvironment:E` (at scope cmf).
 * 2. "Y" in the cluster table means view, create, update and delete; `bind` is its own column. A
 *    role that may bind at a scope may bind on every kind of that scope (for cmf that includes
 *    RoleBinding, ApiToken, AuditEvent and Encryption, though only cluster roles reach those).
 * 3. RoleBinding @cmf for SystemAdmin and UserAdmin is all five verbs on kind RoleBinding (listing,
 *    creating and deleting bindings). AuditEvent for SystemAdmin@cmf is `view` (and `bind`) only: the
 *    audit is append-only. Encryption and ApiToken for SystemAdmin@cmf are all four verbs.
 * 4. Resource-level roles may name only FlinkEnvironment, FlinkCatalog and FlinkSecret (at cmf) and
 *    the four environment kinds (at env:<E>). A resource binding on RoleBinding, ApiToken, AuditEvent
 *    or Encryption, a resource on a cluster role, a resource role without one, a kind at the wrong
 *    scope, an empty name or `env:` with no environment is malformed: it grants nothing (not even
 *    environment visibility) and `mayGrant` refuses it, also for super users.
 * 5. Patterns: LITERAL `*` matches every name of its kind; LITERAL n matches n only; PREFIXED p
 *    matches names that start with p (so PREFIXED `*` matches only names starting with a real `*`).
 *    A ref *named* `*` is a name like any other, never "all".
 * 6. A ref without a name means every object of the kind: it is allowed only by a cluster role or a
 *    LITERAL `*` binding (environment visibility never reaches it). Lists are filtered with
 *    `visibleNames` instead.
 * 7. `mayGrant` is the strict rule of plan §4/§8: `bind` covering the binding, and every permission
 *    the binding gives already held. So a pure UserAdmin may grant only UserAdmin (and, at env:E,
 *    UserAdmin@env:E). For a cluster-role grant, "bind at the scope" means `bind` on every kind of
 *    the scope for every name. Super users and SystemAdmin at the binding's scope always pass.
 *    Deleting a binding follows the same rule.
 * 8. One held binding must cover a granted pattern on its own; a union of several never covers a
 *    PREFIXED or `*` pattern (names are unbounded, so no finite union of other patterns can).
 */
import fc from 'fast-check';
import { subjectsOf, type Principal, type Subject } from '../../src/security/principal.js';
import {
  CMF_KINDS,
  ENVIRONMENT_KINDS,
  VERBS,
  isEnvironmentKind,
  type CmfKind,
  type EnvironmentKind,
  type Kind,
  type ResourceRef,
  type Verb,
} from '../../src/security/resources.js';

/** CMF's cluster-level roles: a binding with no resource, reaching every object of its scope. */
export const CLUSTER_ROLES = ['SystemAdmin', 'ClusterAdmin', 'UserAdmin'] as const;
/** CMF's resource-level roles: a binding naming a kind and a pattern of names. */
export const RESOURCE_ROLES = ['ResourceOwner', 'DeveloperManage', 'DeveloperRead'] as const;
/** The six roles drey encodes (CMF's matrix minus super.user, which is configuration here). */
export const ROLES = [...CLUSTER_ROLES, ...RESOURCE_ROLES] as const;
/** Kinds a resource-level binding may name (reading 4). */
export const RESOURCE_KINDS = ['FlinkEnvironment', 'FlinkCatalog', 'FlinkSecret', ...ENVIRONMENT_KINDS] as const;
/** Every kind, cmf kinds first. */
export const KINDS: readonly Kind[] = [...CMF_KINDS, ...ENVIRONMENT_KINDS];

export type ClusterRole = (typeof CLUSTER_ROLES)[number];
export type ResourceRole = (typeof RESOURCE_ROLES)[number];
export type Role = (typeof ROLES)[number];
export type ResourceKind = (typeof RESOURCE_KINDS)[number];
export type Scope = 'cmf' | `env:${string}`;
export type PatternType = 'LITERAL' | 'PREFIXED';
/** Which names of a kind a resource binding reaches (reading 5). */
export interface Pattern {
  pattern: PatternType;
  name: string;
}
/** A role binding as drey stores it; cluster roles carry no resource, resource roles one. */
export interface Binding {
  subject: Subject;
  role: Role;
  scope: Scope;
  resource?: { kind: Kind } & Pattern;
}
/** Who asks: the principal's names, and whether configuration makes it a super user. */
export type ModelPrincipal = Pick<Principal, 'user' | 'groups'> & { superUser?: boolean };

/** One row of a table: may the role [view, create, update, delete, bind] that kind. */
type Row = readonly [view: boolean, create: boolean, update: boolean, del: boolean, bind: boolean];
const Y = true;
const N = false;
const NONE: Row = [N, N, N, N, N];

/** Cluster roles bound at `cmf` (plan §4, rows "@cmf"; CMF matrix columns Env, Catalog/Secret, Add role bindings). */
const CLUSTER_AT_CMF: Record<ClusterRole, Record<CmfKind, Row>> = {
  SystemAdmin: {
    FlinkEnvironment: [Y, Y, Y, Y, Y],
    FlinkCatalog: [Y, Y, Y, Y, Y],
    FlinkSecret: [Y, Y, Y, Y, Y],
    RoleBinding: [Y, Y, Y, Y, Y],
    ApiToken: [Y, Y, Y, Y, Y],
    AuditEvent: [Y, N, N, N, Y],
    Encryption: [Y, Y, Y, Y, Y],
  },
  ClusterAdmin: {
    FlinkEnvironment: [Y, Y, Y, N, N],
    FlinkCatalog: [Y, Y, Y, Y, N],
    FlinkSecret: [Y, Y, Y, Y, N],
    RoleBinding: NONE,
    ApiToken: NONE,
    AuditEvent: NONE,
    Encryption: NONE,
  },
  UserAdmin: {
    FlinkEnvironment: [N, N, N, N, Y],
    FlinkCatalog: [N, N, N, N, Y],
    FlinkSecret: [N, N, N, N, Y],
    RoleBinding: [Y, Y, Y, Y, Y],
    ApiToken: [Y, Y, Y, Y, Y],
    AuditEvent: [N, N, N, N, Y],
    Encryption: [N, N, N, N, Y],
  },
};

/** Cluster roles bound at `env:E`, on the kinds of E (plan §4, rows "@env:E"; `view E` is reading 1). */
const CLUSTER_AT_ENV: Record<ClusterRole, Record<EnvironmentKind, Row>> = {
  SystemAdmin: {
    FlinkApplication: [Y, Y, Y, Y, Y],
    FlinkStatement: [Y, Y, Y, Y, Y],
    FlinkComputePool: [Y, Y, Y, Y, Y],
    FlinkSecretMapping: [Y, Y, Y, Y, Y],
  },
  ClusterAdmin: {
    FlinkApplication: [Y, Y, Y, Y, N],
    FlinkStatement: [Y, Y, Y, Y, N],
    FlinkComputePool: [Y, Y, Y, Y, N],
    FlinkSecretMapping: [Y, Y, Y, Y, N],
  },
  UserAdmin: {
    FlinkApplication: [N, N, N, N, Y],
    FlinkStatement: [N, N, N, N, Y],
    FlinkComputePool: [N, N, N, N, Y],
    FlinkSecretMapping: [N, N, N, N, Y],
  },
};

/** Resource roles, on the names their pattern matches (plan §4 resource table; CMF matrix rows ResourceOwner..DeveloperRead). */
const RESOURCE: Record<ResourceRole, Record<ResourceKind, Row>> = {
  ResourceOwner: {
    FlinkEnvironment: [Y, N, N, N, Y],
    FlinkCatalog: [Y, Y, Y, Y, Y],
    FlinkSecret: [Y, Y, Y, Y, Y],
    FlinkApplication: [Y, Y, Y, Y, Y],
    FlinkStatement: [Y, Y, Y, Y, Y],
    FlinkComputePool: [Y, Y, Y, Y, Y],
    FlinkSecretMapping: [Y, Y, Y, Y, Y],
  },
  DeveloperManage: {
    FlinkEnvironment: [Y, N, N, N, N],
    FlinkCatalog: [Y, Y, Y, Y, N],
    FlinkSecret: [Y, Y, Y, Y, N],
    FlinkApplication: [Y, Y, Y, Y, N],
    FlinkStatement: [Y, Y, Y, Y, N],
    FlinkComputePool: [Y, Y, Y, Y, N],
    FlinkSecretMapping: [Y, Y, Y, Y, N],
  },
  DeveloperRead: {
    FlinkEnvironment: [Y, N, N, N, N],
    FlinkCatalog: [Y, N, N, N, N],
    FlinkSecret: [Y, N, N, N, N],
    FlinkApplication: [Y, N, N, N, N],
    FlinkStatement: [N, N, N, N, N],
    FlinkComputePool: [Y, N, N, N, N],
    FlinkSecretMapping: [Y, N, N, N, N],
  },
};

/** The column of a verb in a Row. */
function column(verb: Verb): number {
  return VERBS.indexOf(verb);
}

function isClusterRole(role: Role): role is ClusterRole {
  return (CLUSTER_ROLES as readonly string[]).includes(role);
}

function isResourceKind(kind: Kind): kind is ResourceKind {
  return (RESOURCE_KINDS as readonly string[]).includes(kind);
}

/** The environment an `env:E` scope names, or undefined for `cmf`. */
function environmentOf(scope: Scope): string | undefined {
  return scope.startsWith('env:') ? scope.slice('env:'.length) : undefined;
}

/** The scope objects of this kind live in. */
function scopeOf(ref: ResourceRef): Scope {
  return 'environment' in ref ? `env:${ref.environment}` : 'cmf';
}

/** The kinds that live in a scope. */
function kindsOf(scope: Scope): readonly Kind[] {
  return scope === 'cmf' ? CMF_KINDS : ENVIRONMENT_KINDS;
}

/** Whether drey would store this binding at all (reading 4); malformed ones grant nothing. */
export function isWellFormed(binding: Binding): boolean {
  if (binding.scope !== 'cmf' && environmentOf(binding.scope) === '') return false;
  if (isClusterRole(binding.role)) return binding.resource === undefined;
  const resource = binding.resource;
  if (resource === undefined || resource.name === '' || !isResourceKind(resource.kind)) return false;
  return isEnvironmentKind(resource.kind) === (binding.scope !== 'cmf');
}

/** Whether a pattern reaches one name (reading 5). */
export function matches(held: Pattern, name: string): boolean {
  if (held.pattern === 'LITERAL') return held.name === '*' || held.name === name;
  return name.startsWith(held.name);
}

/**
 * Whether every name `wanted` reaches is also reached by `held` (same kind assumed). LITERAL `*`
 * covers everything; only LITERAL `*` covers LITERAL `*`. Otherwise a LITERAL n is covered by a
 * pattern that matches n, and a PREFIXED q only by a PREFIXED p that q starts with (PREFIXED `team-`
 * covers LITERAL `team-a` and PREFIXED `team-a`, not PREFIXED `te`); no LITERAL name covers a PREFIXED.
 */
export function covers(held: Pattern, wanted: Pattern): boolean {
  const heldAll = held.pattern === 'LITERAL' && held.name === '*';
  const wantedAll = wanted.pattern === 'LITERAL' && wanted.name === '*';
  if (heldAll) return true;
  if (wantedAll) return false;
  if (wanted.pattern === 'LITERAL') return matches(held, wanted.name);
  return held.pattern === 'PREFIXED' && wanted.name.startsWith(held.name);
}

/** Every name of a kind, as a pattern. */
const ALL: Pattern = { pattern: 'LITERAL', name: '*' };

/** Which names a question is about: one name, or all the names of a pattern (ALL for every one). */
type Names = { name: string } | Pattern;

/** Whether a held pattern reaches all of `names`. */
function reaches(held: Pattern, names: Names): boolean {
  return 'pattern' in names ? covers(held, names) : matches(held, names.name);
}

/** Whether this one binding gives `verb` on `names` of `kind` at `scope` (its subject aside). */
function gives(binding: Binding, verb: Verb, scope: Scope, kind: Kind, names: Names): boolean {
  if (!isWellFormed(binding)) return false;
  // Reading 1: any binding at env:E lets its holder view FlinkEnvironment E.
  const environment = environmentOf(binding.scope);
  if (environment !== undefined && scope === 'cmf' && kind === 'FlinkEnvironment' && verb === 'view') {
    if (reaches({ pattern: 'LITERAL', name: environment }, names)) return true;
  }
  if (binding.scope !== scope) return false;
  const role = binding.role;
  if (isClusterRole(role)) {
    const row =
      scope === 'cmf'
        ? CLUSTER_AT_CMF[role][kind as CmfKind]
        : CLUSTER_AT_ENV[role][kind as EnvironmentKind];
    return row !== undefined && row[column(verb)] === true;
  }
  const resource = binding.resource!;
  if (resource.kind !== kind) return false;
  const row = RESOURCE[role][kind as ResourceKind];
  return row[column(verb)] === true && reaches(resource, names);
}

/** The bindings that apply to a principal: those naming its user or one of its groups. */
function bindingsOf(bindings: readonly Binding[], principal: ModelPrincipal): Binding[] {
  const subjects: string[] = subjectsOf(principal);
  const mine: Binding[] = [];
  for (const binding of bindings) {
    if (subjects.includes(binding.subject)) mine.push(binding);
  }
  return mine;
}

/** Whether the principal holds `verb` on all of `names` of `kind` at `scope` through a single binding. */
function holds(bindings: readonly Binding[], principal: ModelPrincipal, verb: Verb, scope: Scope, kind: Kind, names: Names): boolean {
  if (principal.superUser === true) return true;
  for (const binding of bindingsOf(bindings, principal)) {
    if (gives(binding, verb, scope, kind, names)) return true;
  }
  return false;
}

/** May the principal do `verb` on `ref` (one object, or every object of the kind when it has no name)? */
export function can(bindings: readonly Binding[], principal: ModelPrincipal, verb: Verb, ref: ResourceRef): boolean {
  const names: Names = ref.name === undefined ? ALL : { name: ref.name };
  return holds(bindings, principal, verb, scopeOf(ref), ref.kind, names);
}

/** Which of `names` (objects of `kind` in `scope`) the principal may view: what a list shows. */
export function visibleNames(
  bindings: readonly Binding[],
  principal: ModelPrincipal,
  kind: Kind,
  scope: Scope,
  names: readonly string[],
): string[] {
  const environment = environmentOf(scope);
  if (isEnvironmentKind(kind) !== (environment !== undefined)) return [];
  const visible: string[] = [];
  for (const name of names) {
    const ref: ResourceRef =
      environment === undefined ? { kind: kind as CmfKind, name } : { kind: kind as EnvironmentKind, environment, name };
    if (can(bindings, principal, 'view', ref)) visible.push(name);
  }
  return visible;
}

/** One permission a binding gives: `verb` on the names of `pattern` of `kind` at `scope`. */
interface Permission {
  verb: Verb;
  scope: Scope;
  kind: Kind;
  pattern: Pattern;
}

/** Everything a well-formed binding gives, read off the same tables `gives` uses. */
function permissionsOf(binding: Binding): Permission[] {
  const permissions: Permission[] = [];
  const environment = environmentOf(binding.scope);
  if (environment !== undefined) {
    permissions.push({ verb: 'view', scope: 'cmf', kind: 'FlinkEnvironment', pattern: { pattern: 'LITERAL', name: environment } });
  }
  for (const verb of VERBS) {
    if (binding.resource === undefined) {
      for (const kind of kindsOf(binding.scope)) {
        if (gives(binding, verb, binding.scope, kind, ALL)) permissions.push({ verb, scope: binding.scope, kind, pattern: ALL });
      }
    } else {
      const { kind, pattern, name } = binding.resource;
      if (RESOURCE[binding.role as ResourceRole][kind as ResourceKind][column(verb)]) {
        permissions.push({ verb, scope: binding.scope, kind, pattern: { pattern, name } });
      }
    }
  }
  return permissions;
}

/**
 * May the principal create (or delete) this binding (reading 7)? It needs `bind` covering the
 * binding (for a cluster role: on every kind of its scope), and every permission the binding gives
 * must already be its own. Super users and SystemAdmin at the binding's scope pass.
 */
export function mayGrant(bindings: readonly Binding[], principal: ModelPrincipal, binding: Binding): boolean {
  if (!isWellFormed(binding)) return false;
  if (principal.superUser === true) return true;
  for (const mine of bindingsOf(bindings, principal)) {
    if (isWellFormed(mine) && mine.role === 'SystemAdmin' && mine.scope === binding.scope) return true;
  }
  if (binding.resource === undefined) {
    for (const kind of kindsOf(binding.scope)) {
      if (!holds(bindings, principal, 'bind', binding.scope, kind, ALL)) return false;
    }
  } else {
    const { kind, pattern, name } = binding.resource;
    if (!holds(bindings, principal, 'bind', binding.scope, kind, { pattern, name })) return false;
  }
  for (const p of permissionsOf(binding)) {
    if (!holds(bindings, principal, p.verb, p.scope, p.kind, p.pattern)) return false;
  }
  return true;
}

// ---- fast-check arbitraries, over tiny alphabets so names, prefixes and subjects collide ----

/** Environments; `e1` is a prefix of `e10`, so a scope compared by prefix would show. */
export const ENVIRONMENTS = ['e1', 'e2', 'e10'] as const;
/** Object names (other than environments'); `a` is a prefix of `ab`. */
export const NAMES = ['a', 'ab', 'b'] as const;
/** Users and groups; `ops` is both, so `User:ops` and `Group:ops` must not be confused. */
export const USERS = ['alice', 'ops'] as const;
export const GROUPS = ['ops', 'dev'] as const;
export const SUBJECTS: readonly Subject[] = [...USERS.map((u) => `User:${u}` as const), ...GROUPS.map((g) => `Group:${g}` as const)];
export const SCOPES: readonly Scope[] = ['cmf', ...ENVIRONMENTS.map((e) => `env:${e}` as const)];

/** The names objects of a kind have here: environment names for FlinkEnvironment. */
export function namesOf(kind: Kind): readonly string[] {
  return kind === 'FlinkEnvironment' ? ENVIRONMENTS : NAMES;
}

/** The pattern names bindings use for a kind: its names, a shorter prefix, and `*`. */
function patternNamesOf(kind: Kind): string[] {
  return kind === 'FlinkEnvironment' ? [...ENVIRONMENTS, 'e', '*'] : [...NAMES, '*'];
}

/** A well-formed binding (cluster or resource role) for one of SUBJECTS. */
export const arbBinding: fc.Arbitrary<Binding> = fc.oneof(
  fc.record({
    subject: fc.constantFrom(...SUBJECTS),
    role: fc.constantFrom<Role>(...CLUSTER_ROLES),
    scope: fc.constantFrom(...SCOPES),
  }),
  fc
    .tuple(
      fc.constantFrom(...SUBJECTS),
      fc.constantFrom<Role>(...RESOURCE_ROLES),
      fc.constantFrom(...RESOURCE_KINDS),
      fc.constantFrom(...ENVIRONMENTS),
      fc.constantFrom<PatternType>('LITERAL', 'PREFIXED'),
      fc.nat(),
    )
    .map(([subject, role, kind, environment, pattern, pick]): Binding => {
      const names = patternNamesOf(kind);
      const scope: Scope = isEnvironmentKind(kind) ? `env:${environment}` : 'cmf';
      return { subject, role, scope, resource: { kind, pattern, name: names[pick % names.length]! } };
    }),
);

/** A principal from USERS with some of GROUPS; now and then a super user. */
export const arbPrincipal: fc.Arbitrary<ModelPrincipal> = fc.record({
  user: fc.constantFrom(...USERS),
  groups: fc.subarray([...GROUPS]),
  superUser: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

export const arbVerb: fc.Arbitrary<Verb> = fc.constantFrom(...VERBS);

/** Every ref over the alphabets: each kind, each environment, each name and no name. */
export const ALL_REFS: readonly ResourceRef[] = KINDS.flatMap((kind): ResourceRef[] => {
  const names: (string | undefined)[] = [...namesOf(kind), undefined];
  const refs: ResourceRef[] = [];
  for (const name of names) {
    const named = name === undefined ? {} : { name };
    if (isEnvironmentKind(kind)) {
      for (const environment of ENVIRONMENTS) refs.push({ kind, environment, ...named });
    } else {
      refs.push({ kind, ...named });
    }
  }
  return refs;
});

/** A ref from ALL_REFS: one object of any kind, or (without a name) all of them. */
export const arbRef: fc.Arbitrary<ResourceRef> = fc.constantFrom(...ALL_REFS);
