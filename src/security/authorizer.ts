import { subjectsOf, type Principal, type Subject } from './principal.js';
import type { Kind, ResourceRef, Verb } from './resources.js';
import {
  clusterGrants,
  isClusterRole,
  patternCovers,
  patternMatches,
  resourceGrants,
  scopeOf,
  type PatternType,
  type RoleBinding,
  type Scope,
} from './roles.js';

/** Which names of a kind a principal may see: every one, none, or those named or prefixed. */
export type NameFilter = 'all' | 'none' | { names: string[]; prefixes: string[] };

/** One thing a principal may do, for the access-rules listing. */
export interface AccessRule {
  scope: Scope;
  kind: Kind;
  pattern: { type: PatternType; name: string };
  verbs: Verb[];
}

/** What a check is about: one object by its name, or every object a pattern names. */
type Target = { name: string } | { pattern: PatternType; name: string };

const EVERY: Target = { pattern: 'LITERAL', name: '*' };

/**
 * Decides who may do what from role bindings held in memory, so that a decision costs no SQL.
 * Deny by default; super users (from configuration, never stored) may do everything.
 */
export class Authorizer {
  private bySubject = new Map<Subject, RoleBinding[]>();
  private readonly superUsers: Set<Subject>;
  private readonly load: (() => Promise<readonly RoleBinding[]>) | undefined;
  private reading: Promise<void> | undefined;
  private again = false;

  /** `load` reads every role binding (from the database), for `refresh`. */
  constructor({ superUsers = [], load }: { superUsers?: Subject[]; load?: () => Promise<readonly RoleBinding[]> } = {}) {
    this.superUsers = new Set(superUsers);
    this.load = load;
  }

  /**
   * Reads every binding again. A call made while a read runs is answered by one more read after it,
   * so what a caller wrote before calling holds once the call resolves, and an older read never
   * lands after a newer one.
   */
  refresh(): Promise<void> {
    const load = this.load;
    if (!load) return Promise.resolve();
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      try {
        do {
          this.again = false;
          this.replace(await load());
        } while (this.again);
      } finally {
        this.reading = undefined;
      }
    })();
    return this.reading;
  }

  /** Takes a new snapshot of every role binding. */
  replace(bindings: readonly RoleBinding[]): void {
    const next = new Map<Subject, RoleBinding[]>();
    for (const b of bindings) {
      const list = next.get(b.subject);
      if (list) list.push(b);
      else next.set(b.subject, [b]);
    }
    this.bySubject = next;
  }

  /** Super users, and the caller of a drey without authenticators (which serves loopback only). */
  isSuperUser(p: Pick<Principal, 'user' | 'groups'> & { authenticator?: string }): boolean {
    return p.authenticator === 'local' || subjectsOf(p).some((s) => this.superUsers.has(s));
  }

  /** The bindings that apply to a principal: its user's and its groups'. */
  bindingsOf(p: Pick<Principal, 'user' | 'groups'>): RoleBinding[] {
    return subjectsOf(p).flatMap((s) => this.bySubject.get(s) ?? []);
  }

  /**
   * Whether `p` may `verb` the object `ref` names, or every object of its kind when `ref` has no
   * name. Any binding in an environment lets its holder see that environment itself (the CLI reads
   * the environment before what is in it).
   */
  can(p: Pick<Principal, 'user' | 'groups'>, verb: Verb, ref: ResourceRef): boolean {
    if (this.isSuperUser(p)) return true;
    const environment = 'environment' in ref ? ref.environment : undefined;
    const scope = scopeOf(ref.kind, environment);
    const target: Target = ref.name === undefined ? EVERY : { name: ref.name };
    return this.bindingsOf(p).some((b) => grants(b, scope, ref.kind, verb, target));
  }

  /** Whether `p` may `verb` at least some objects of a kind in a scope. */
  canSome(p: Pick<Principal, 'user' | 'groups'>, verb: Verb, ref: ResourceRef): boolean {
    if (this.isSuperUser(p)) return true;
    const scope = scopeOf(ref.kind, 'environment' in ref ? ref.environment : undefined);
    return this.bindingsOf(p).some((b) => (b.resource ? b.scope === scope && grants(b, scope, ref.kind, verb, b.resource) : grants(b, scope, ref.kind, verb, EVERY)));
  }

  /** Which objects of a kind `p` may see in a scope (lists show only those). */
  visible(p: Pick<Principal, 'user' | 'groups'>, kind: Kind, environment?: string): NameFilter {
    if (this.isSuperUser(p)) return 'all';
    const scope = scopeOf(kind, environment);
    const names: string[] = [];
    const prefixes: string[] = [];
    for (const b of this.bindingsOf(p)) {
      if (kind === 'FlinkEnvironment' && b.scope.startsWith('env:')) names.push(b.scope.slice(4));
      if (b.scope !== scope) continue;
      if (!b.resource) {
        if (grants(b, scope, kind, 'view', EVERY)) return 'all';
        continue;
      }
      if (b.resource.kind !== kind || !resourceGrants(b.role, kind).includes('view')) continue;
      if (b.resource.pattern === 'LITERAL' && b.resource.name === '*') return 'all';
      (b.resource.pattern === 'LITERAL' ? names : prefixes).push(b.resource.name);
    }
    return names.length || prefixes.length ? { names: [...new Set(names)], prefixes: [...new Set(prefixes)] } : 'none';
  }

  /**
   * Whether `p` may create or delete `binding`: it needs `bind` where the binding applies, and must
   * already hold everything the binding grants there (so no one hands out more than they have).
   */
  mayGrant(p: Pick<Principal, 'user' | 'groups'>, binding: RoleBinding): boolean {
    if (this.isSuperUser(p)) return true;
    const held = this.bindingsOf(p);
    const holds = (kind: Kind, verb: Verb, target: Target) => held.some((b) => grants(b, binding.scope, kind, verb, target));
    if (binding.resource) {
      const { kind } = binding.resource;
      if (!holds(kind, 'bind', binding.resource)) return false;
      return resourceGrants(binding.role, kind).every((verb) => holds(kind, verb, binding.resource!));
    }
    if (!isClusterRole(binding.role)) return false;
    // binding a role to a whole scope needs bind on every kind there
    if (!Object.keys(clusterGrants('SystemAdmin', binding.scope)).every((kind) => holds(kind as Kind, 'bind', EVERY))) return false;
    return Object.entries(clusterGrants(binding.role, binding.scope)).every(([kind, verbs]) => verbs.every((verb) => holds(kind as Kind, verb, EVERY)));
  }

  /** Whether `p` may make some role binding somewhere (and so may look at bindings). */
  maySomeBind(p: Pick<Principal, 'user' | 'groups'>): boolean {
    return this.isSuperUser(p) || this.bindingsOf(p).some((b) => (b.resource ? resourceGrants(b.role, b.resource.kind) : Object.values(clusterGrants(b.role, b.scope)).flat()).includes('bind'));
  }

  /** Everything `p` may do, one rule per binding, for clients that hide what they cannot offer. */
  rules(p: Pick<Principal, 'user' | 'groups'>): AccessRule[] | 'all' {
    if (this.isSuperUser(p)) return 'all';
    const rules: AccessRule[] = [];
    for (const b of this.bindingsOf(p)) {
      if (b.resource) {
        const verbs = resourceGrants(b.role, b.resource.kind);
        if (verbs.length) rules.push({ scope: b.scope, kind: b.resource.kind, pattern: { type: b.resource.pattern, name: b.resource.name }, verbs });
      } else {
        for (const [kind, verbs] of Object.entries(clusterGrants(b.role, b.scope))) {
          rules.push({ scope: b.scope, kind: kind as Kind, pattern: { type: 'LITERAL', name: '*' }, verbs });
        }
      }
      if (b.scope.startsWith('env:')) {
        rules.push({ scope: 'cmf', kind: 'FlinkEnvironment', pattern: { type: 'LITERAL', name: b.scope.slice(4) }, verbs: ['view'] });
      }
    }
    return rules;
  }
}

/**
 * Whether one binding grants `verb` on every object `target` names, of `kind` in `scope`. A binding
 * in an environment also lets its holder see that environment.
 */
function grants(b: RoleBinding, scope: Scope, kind: Kind, verb: Verb, target: Target): boolean {
  if (verb === 'view' && kind === 'FlinkEnvironment' && b.scope === `env:${target.name}` && !('pattern' in target && (target.pattern === 'PREFIXED' || target.name === '*'))) {
    return true;
  }
  if (b.scope !== scope) return false;
  if (!b.resource) return (clusterGrants(b.role, scope)[kind] ?? []).includes(verb);
  if (b.resource.kind !== kind || !resourceGrants(b.role, kind).includes(verb)) return false;
  return 'pattern' in target ? patternCovers(b.resource, target) : patternMatches(b.resource.pattern, b.resource.name, target.name);
}
