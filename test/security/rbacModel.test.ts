/**
 * The reference model of CMF's role matrix (test/support/rbacModel.ts) checked by hand, row by row
 * against its sources, and then against properties it must have whatever the bindings. Citations:
 * "CMF <role> × <column>" is the CP permission matrix in research §1.3; "plan §4" is the plan's
 * table; "reading n" is the numbered reading at the top of rbacModel.ts.
 */
import fc from 'fast-check';
import { isEnvironmentKind, VERBS, type Kind, type ResourceRef, type Verb } from '../../src/security/resources.js';
import {
  ALL_REFS,
  arbBinding,
  arbPrincipal,
  arbVerb,
  can,
  covers,
  isWellFormed,
  KINDS,
  matches,
  mayGrant,
  namesOf,
  SCOPES,
  visibleNames,
  type Binding,
  type ModelPrincipal,
  type Pattern,
  type Role,
  type Scope,
} from '../support/rbacModel.js';

const SEED = Number(process.env.DREY_FUZZ_SEED ?? 20261201);
const RUNS = Number(process.env.DREY_FUZZ_RUNS ?? 500);

const alice: ModelPrincipal = { user: 'alice', groups: [] };
const bob: ModelPrincipal = { user: 'bob', groups: ['ops'] };
const opsUser: ModelPrincipal = { user: 'ops', groups: [] };
const root: ModelPrincipal = { user: 'root', groups: [], superUser: true };

/** A cluster-level binding for alice (or `subject`). */
function cluster(role: Role, scope: Scope, subject: Binding['subject'] = 'User:alice'): Binding {
  return { subject, role, scope };
}
/** A resource-level binding for alice (or `subject`). */
function res(role: Role, scope: Scope, kind: Kind, pattern: Pattern['pattern'], name: string, subject: Binding['subject'] = 'User:alice'): Binding {
  return { subject, role, scope, resource: { kind, pattern, name } };
}
const envRef = (name?: string): ResourceRef => (name === undefined ? { kind: 'FlinkEnvironment' } : { kind: 'FlinkEnvironment', name });
const app = (environment: string, name?: string): ResourceRef => ({ kind: 'FlinkApplication', environment, ...(name === undefined ? {} : { name }) });
const stmt = (environment: string, name: string): ResourceRef => ({ kind: 'FlinkStatement', environment, name });
const pool = (environment: string, name: string): ResourceRef => ({ kind: 'FlinkComputePool', environment, name });
const mapping = (environment: string, name: string): ResourceRef => ({ kind: 'FlinkSecretMapping', environment, name });
const secret = (name?: string): ResourceRef => (name === undefined ? { kind: 'FlinkSecret' } : { kind: 'FlinkSecret', name });
const catalog = (name: string): ResourceRef => ({ kind: 'FlinkCatalog', name });
const bindings: ResourceRef = { kind: 'RoleBinding' };
const audit: ResourceRef = { kind: 'AuditEvent' };
const apiToken: ResourceRef = { kind: 'ApiToken' };
const encryption: ResourceRef = { kind: 'Encryption' };

interface CanRow {
  why: string;
  held: Binding[];
  who: ModelPrincipal;
  verb: Verb;
  ref: ResourceRef;
  allowed: boolean;
}
function row(why: string, held: Binding[], verb: Verb, ref: ResourceRef, allowed: boolean, who: ModelPrincipal = alice): CanRow {
  return { why, held, who, verb, ref, allowed };
}

const SYS_CMF = [cluster('SystemAdmin', 'cmf')];
const CA_CMF = [cluster('ClusterAdmin', 'cmf')];
const UA_CMF = [cluster('UserAdmin', 'cmf')];
const SYS_E1 = [cluster('SystemAdmin', 'env:e1')];
const CA_E1 = [cluster('ClusterAdmin', 'env:e1')];
const UA_E1 = [cluster('UserAdmin', 'env:e1')];
const RO_APP_A = [res('ResourceOwner', 'env:e1', 'FlinkApplication', 'LITERAL', 'a')];
const RO_ENV_E1 = [res('ResourceOwner', 'cmf', 'FlinkEnvironment', 'LITERAL', 'e1')];
const DM_STMT_A = [res('DeveloperManage', 'env:e1', 'FlinkStatement', 'LITERAL', 'a')];
const DR_APP_ALL = [res('DeveloperRead', 'env:e1', 'FlinkApplication', 'LITERAL', '*')];
const DR_STMT_ALL = [res('DeveloperRead', 'env:e1', 'FlinkStatement', 'LITERAL', '*')];
const DR_APP_PREFIX_A = [res('DeveloperRead', 'env:e1', 'FlinkApplication', 'PREFIXED', 'a')];
const DR_POOL_A = [res('DeveloperRead', 'env:e1', 'FlinkComputePool', 'LITERAL', 'a')];

const CAN: CanRow[] = [
  // SystemAdmin @cmf
  row('CMF SystemAdmin × Env create/update: Y', SYS_CMF, 'create', envRef('e1'), true),
  row('CMF SystemAdmin × Env delete: Y', SYS_CMF, 'delete', envRef('e1'), true),
  row('CMF SystemAdmin × Pool/Catalog/Secret create/update/delete: Y', SYS_CMF, 'delete', secret('a'), true),
  row('CMF SystemAdmin × Pool/Catalog/Secret view: Y (catalog)', SYS_CMF, 'view', catalog('a'), true),
  row('research §1.3: a cmf binding grants nothing in an environment (app view)', SYS_CMF, 'view', app('e1', 'a'), false),
  row('research §1.3: a cmf binding grants nothing in an environment (statement create)', SYS_CMF, 'create', stmt('e1', 'a'), false),
  row('plan §4 SystemAdmin@cmf × AuditEvent view: Y', SYS_CMF, 'view', audit, true),
  row('reading 3: the audit is append-only, even for SystemAdmin@cmf', SYS_CMF, 'delete', audit, false),
  row('plan §4 SystemAdmin@cmf × Encryption: Y', SYS_CMF, 'update', encryption, true),
  row('CMF SystemAdmin × Add role bindings: Y', SYS_CMF, 'bind', bindings, true),
  row('plan §4 SystemAdmin@cmf × FlinkEnvironment: Y, every environment (list)', SYS_CMF, 'view', envRef(), true),
  // ClusterAdmin @cmf
  row('CMF ClusterAdmin × Env create/update: Y', CA_CMF, 'update', envRef('e1'), true),
  row('CMF ClusterAdmin × Env delete: N', CA_CMF, 'delete', envRef('e1'), false),
  row('CMF ClusterAdmin × Pool/Catalog/Secret create/update/delete: Y (catalog)', CA_CMF, 'delete', catalog('a'), true),
  row('CMF ClusterAdmin × Pool/Catalog/Secret view: Y (secret)', CA_CMF, 'view', secret('a'), true),
  row('CMF ClusterAdmin × Add role bindings: N', CA_CMF, 'bind', secret('a'), false),
  row('plan §4 ClusterAdmin@cmf × RoleBinding: N', CA_CMF, 'view', bindings, false),
  row('plan §4 ClusterAdmin@cmf × AuditEvent view: N', CA_CMF, 'view', audit, false),
  row('plan §4 ClusterAdmin@cmf × ApiToken: N', CA_CMF, 'create', apiToken, false),
  row('research §1.3: ClusterAdmin@cmf grants nothing in an environment', CA_CMF, 'view', app('e1', 'a'), false),
  // UserAdmin @cmf
  row('CMF UserAdmin × Add role bindings: Y', UA_CMF, 'bind', bindings, true),
  row('plan §4 UserAdmin@cmf × RoleBinding: bind on cmf objects', UA_CMF, 'bind', secret('a'), true),
  row('CMF UserAdmin × App view: N', UA_CMF, 'view', app('e1', 'a'), false),
  row('CMF UserAdmin × Env (any): N', UA_CMF, 'view', envRef('e1'), false),
  row('CMF UserAdmin × Pool/Catalog/Secret view: N', UA_CMF, 'view', secret('a'), false),
  row('plan §4 UserAdmin@cmf × ApiToken: Y', UA_CMF, 'create', apiToken, true),
  row('plan §4 UserAdmin@cmf × AuditEvent view: N', UA_CMF, 'view', audit, false),
  // SystemAdmin @env:e1
  row('plan §4 SystemAdmin@env:E × env kinds: Y (app delete)', SYS_E1, 'delete', app('e1', 'a'), true),
  row('plan §4 SystemAdmin@env:E × env kinds: Y (pool create)', SYS_E1, 'create', pool('e1', 'a'), true),
  row('plan §4 SystemAdmin@env:E × FlinkEnvironment: view E', SYS_E1, 'view', envRef('e1'), true),
  row('plan §4 SystemAdmin@env:E × FlinkEnvironment: not another environment', SYS_E1, 'view', envRef('e2'), false),
  row('plan §4 SystemAdmin@env:E × FlinkEnvironment: view only, no delete', SYS_E1, 'delete', envRef('e1'), false),
  row('scopes do not nest: env:e1 says nothing about e2', SYS_E1, 'view', app('e2', 'a'), false),
  row('reading 1: scopes compare whole, env:e1 says nothing about e10', SYS_E1, 'view', app('e10', 'a'), false),
  row('reading 1: ... nor env:e10 about e1', [cluster('SystemAdmin', 'env:e10')], 'view', app('e1', 'a'), false),
  row('plan §4 SystemAdmin@env:E × RoleBinding: Y @env:E', SYS_E1, 'bind', stmt('e1', 'a'), true),
  row('plan §4 SystemAdmin@env:E × cmf kinds: –', SYS_E1, 'view', secret('a'), false),
  // ClusterAdmin @env:e1
  row('CMF ClusterAdmin × Statement create/update/delete: Y', CA_E1, 'create', stmt('e1', 'a'), true),
  row('CMF ClusterAdmin × App create/update: Y', CA_E1, 'update', app('e1', 'a'), true),
  row('CMF ClusterAdmin × Add role bindings: N (in an environment)', CA_E1, 'bind', app('e1', 'a'), false),
  row('reading 6: environment visibility reaches E only, never the whole list', CA_E1, 'view', envRef(), false),
  row('plan §4 ClusterAdmin@env:E × FlinkEnvironment: view E only', CA_E1, 'update', envRef('e1'), false),
  // UserAdmin @env:e1
  row('plan §4 UserAdmin@env:E × env kinds: N', UA_E1, 'view', app('e1', 'a'), false),
  row('plan §4 UserAdmin@env:E × RoleBinding: Y @env:E', UA_E1, 'bind', app('e1', 'a'), true),
  row('plan §4 UserAdmin@env:E × FlinkEnvironment: view E', UA_E1, 'view', envRef('e1'), true),
  // ResourceOwner
  row('CMF ResourceOwner × App create/update: Y', RO_APP_A, 'update', app('e1', 'a'), true),
  row('CMF ResourceOwner × Add role bindings: Y (on the matching resource)', RO_APP_A, 'bind', app('e1', 'a'), true),
  row('LITERAL a matches a only, not ab', RO_APP_A, 'delete', app('e1', 'ab'), false),
  row('a resource binding reaches its kind only', RO_APP_A, 'view', stmt('e1', 'a'), false),
  row('a resource binding reaches its scope only', RO_APP_A, 'view', app('e2', 'a'), false),
  row('LITERAL a does not reach every application', RO_APP_A, 'view', app('e1'), false),
  row('CMF ResourceOwner on FlinkEnvironment: view', RO_ENV_E1, 'view', envRef('e1'), true),
  row('CMF ResourceOwner × Env create/update: N', RO_ENV_E1, 'update', envRef('e1'), false),
  row('CMF ResourceOwner × Env delete: N', RO_ENV_E1, 'delete', envRef('e1'), false),
  row('plan §4 ResourceOwner × bind on FlinkEnvironment', RO_ENV_E1, 'bind', envRef('e1'), true),
  row('research §1.3: FlinkEnvironment:E at cmf grants nothing inside E', RO_ENV_E1, 'view', app('e1', 'a'), false),
  // DeveloperManage
  row('CMF DeveloperManage × Statement create/update/delete: Y', DM_STMT_A, 'delete', stmt('e1', 'a'), true),
  row('CMF DeveloperManage × Add role bindings: N', DM_STMT_A, 'bind', stmt('e1', 'a'), false),
  row('CMF DeveloperManage × Env create/update: N', [res('DeveloperManage', 'cmf', 'FlinkEnvironment', 'LITERAL', 'e1')], 'update', envRef('e1'), false),
  row('CMF DeveloperManage × Secret create: Y, PREFIXED a reaches ab', [res('DeveloperManage', 'cmf', 'FlinkSecret', 'PREFIXED', 'a')], 'create', secret('ab'), true),
  row('CMF DeveloperManage × mapping update: Y', [res('DeveloperManage', 'env:e1', 'FlinkSecretMapping', 'LITERAL', 'a')], 'update', mapping('e1', 'a'), true),
  // DeveloperRead
  row('CMF DeveloperRead × App view: Y (LITERAL *)', DR_APP_ALL, 'view', app('e1', 'b'), true),
  row('CMF DeveloperRead × App view: Y, and LITERAL * reaches the whole list', DR_APP_ALL, 'view', app('e1'), true),
  row('CMF DeveloperRead × App create/update: N', DR_APP_ALL, 'update', app('e1', 'a'), false),
  row('CMF DeveloperRead × Statement view: N', DR_STMT_ALL, 'view', stmt('e1', 'a'), false),
  row('research §1.3: statement results need edit, which DeveloperRead lacks', DR_STMT_ALL, 'update', stmt('e1', 'a'), false),
  row('CMF DeveloperRead × Pool view: Y', DR_POOL_A, 'view', pool('e1', 'a'), true),
  row('CMF DeveloperRead × Pool create/update/delete: N', DR_POOL_A, 'create', pool('e1', 'a'), false),
  row('CMF DeveloperRead × Secret view: Y', [res('DeveloperRead', 'cmf', 'FlinkSecret', 'LITERAL', 'a')], 'view', secret('a'), true),
  // Patterns
  row('PREFIXED a matches ab', DR_APP_PREFIX_A, 'view', app('e1', 'ab'), true),
  row('PREFIXED a matches a itself', DR_APP_PREFIX_A, 'view', app('e1', 'a'), true),
  row('PREFIXED a does not match b', DR_APP_PREFIX_A, 'view', app('e1', 'b'), false),
  row('PREFIXED a does not reach every application', DR_APP_PREFIX_A, 'view', app('e1'), false),
  // Environment visibility (plan §4, a drey decision)
  row('plan §4: any binding at env:E lets its holder view E', DR_POOL_A, 'view', envRef('e1'), true),
  row('plan §4: ... and no other environment', DR_POOL_A, 'view', envRef('e10'), false),
  row('plan §4: ... and view only', DR_POOL_A, 'update', envRef('e1'), false),
  // Subjects
  row('a Group: binding applies to its members', [cluster('ClusterAdmin', 'env:e1', 'Group:ops')], 'create', app('e1', 'a'), true, bob),
  row('a Group: binding does not apply to non-members', [cluster('ClusterAdmin', 'env:e1', 'Group:ops')], 'create', app('e1', 'a'), false, alice),
  row('User:ops is not Group:ops (member of the group)', [cluster('ClusterAdmin', 'env:e1', 'User:ops')], 'create', app('e1', 'a'), false, bob),
  row('Group:ops is not User:ops (user of that name)', [cluster('ClusterAdmin', 'env:e1', 'Group:ops')], 'create', app('e1', 'a'), false, opsUser),
  row("another user's binding does not apply", [cluster('SystemAdmin', 'cmf', 'User:bob')], 'view', envRef('e1'), false, alice),
  row('no binding, no access', [], 'view', envRef('e1'), false),
  // Super users (CMF super.user row; plan §4)
  row('CMF super.user × Env delete: Y, with no binding', [], 'delete', envRef('e1'), true, root),
  row('plan §4: super users may do everything (audit)', [], 'view', audit, true, root),
  row('plan §4: super users may do everything (bind in an environment)', [], 'bind', app('e2', 'a'), true, root),
];

describe('the reference model of the role matrix', () => {
  it.each(CAN)('$why', ({ held, who, verb, ref, allowed }) => {
    expect(can(held, who, verb, ref)).toBe(allowed);
  });

  interface GrantRow {
    why: string;
    held: Binding[];
    who: ModelPrincipal;
    grant: Binding;
    allowed: boolean;
  }
  /** A grant row; the granted binding is for carol, who holds nothing. */
  const grant = (why: string, held: Binding[], g: Binding, allowed: boolean, who: ModelPrincipal = alice): GrantRow => ({
    why,
    held,
    who,
    grant: { ...g, subject: 'User:carol' },
    allowed,
  });
  /** A resource binding on applications in e1 (or `env`). */
  const onApps = (role: Role, pattern: Pattern['pattern'], name: string, env = 'e1'): Binding =>
    res(role, `env:${env}`, 'FlinkApplication', pattern, name);
  const readSecretA = res('DeveloperRead', 'cmf', 'FlinkSecret', 'LITERAL', 'a');
  const RO_APP_PREFIX_A = [onApps('ResourceOwner', 'PREFIXED', 'a')];
  const UA_CA_CMF = [...UA_CMF, ...CA_CMF];
  const GRANTS: GrantRow[] = [
    grant('plan §4: a super user passes', [], cluster('SystemAdmin', 'env:e1'), true, root),
    grant('plan §4: SystemAdmin at the scope passes', SYS_CMF, cluster('ClusterAdmin', 'cmf'), true),
    grant('research §1.3: SystemAdmin@cmf grants nothing in an environment (resource role)', SYS_CMF, onApps('DeveloperRead', 'LITERAL', 'a'), false),
    grant('research §1.3: SystemAdmin@cmf grants nothing in an environment (cluster role)', SYS_CMF, cluster('ClusterAdmin', 'env:e1'), false),
    grant('plan §4: SystemAdmin@env:E grants in E', SYS_E1, cluster('ClusterAdmin', 'env:e1'), true),
    grant('plan §4: SystemAdmin@env:E grants nothing in another environment', SYS_E1, cluster('ClusterAdmin', 'env:e2'), false),
    grant('plan §8: a pure UserAdmin may grant UserAdmin', UA_CMF, cluster('UserAdmin', 'cmf'), true),
    grant('plan §8: a pure UserAdmin may not grant ClusterAdmin (lacks its permissions)', UA_CMF, cluster('ClusterAdmin', 'cmf'), false),
    grant('plan §8: a pure UserAdmin may not grant view on a secret it cannot view', UA_CMF, readSecretA, false),
    grant('UserAdmin + ClusterAdmin @cmf may grant view on a secret', UA_CA_CMF, readSecretA, true),
    grant('UserAdmin + ClusterAdmin @cmf may not grant SystemAdmin (env delete, audit)', UA_CA_CMF, cluster('SystemAdmin', 'cmf'), false),
    grant('UserAdmin + ClusterAdmin @env:E hold all SystemAdmin@env:E gives', [...UA_E1, ...CA_E1], cluster('SystemAdmin', 'env:e1'), true),
    grant('UserAdmin@env:E may grant UserAdmin@env:E', UA_E1, cluster('UserAdmin', 'env:e1'), true),
    grant('UserAdmin@env:E may not grant view on an application it cannot view', UA_E1, onApps('DeveloperRead', 'LITERAL', 'a'), false),
    grant('CMF ClusterAdmin × Add role bindings: N', CA_CMF, readSecretA, false),
    grant('CMF DeveloperManage × Add role bindings: N', [onApps('DeveloperManage', 'LITERAL', '*')], onApps('DeveloperRead', 'LITERAL', 'a'), false),
    grant('plan §4: PREFIXED a covers LITERAL ab', RO_APP_PREFIX_A, onApps('DeveloperRead', 'LITERAL', 'ab'), true),
    grant('plan §4: PREFIXED a covers PREFIXED ab', RO_APP_PREFIX_A, onApps('DeveloperManage', 'PREFIXED', 'ab'), true),
    grant('ResourceOwner may hand on its own binding', RO_APP_PREFIX_A, RO_APP_PREFIX_A[0]!, true),
    grant('PREFIXED a does not cover LITERAL b', RO_APP_PREFIX_A, onApps('DeveloperRead', 'LITERAL', 'b'), false),
    grant('PREFIXED a does not cover LITERAL *', RO_APP_PREFIX_A, onApps('DeveloperRead', 'LITERAL', '*'), false),
    grant('an application binding does not cover statements', RO_APP_PREFIX_A, res('DeveloperRead', 'env:e1', 'FlinkStatement', 'LITERAL', 'a'), false),
    grant('a resource binding does not give bind at the scope', RO_APP_PREFIX_A, cluster('ClusterAdmin', 'env:e1'), false),
    grant('a resource binding does not reach another environment', RO_APP_PREFIX_A, onApps('DeveloperRead', 'LITERAL', 'a', 'e2'), false),
    grant('LITERAL * covers PREFIXED b', [onApps('ResourceOwner', 'LITERAL', '*')], onApps('DeveloperManage', 'PREFIXED', 'b'), true),
    grant(
      'DeveloperRead on a statement gives nothing its owner lacks',
      [res('ResourceOwner', 'env:e1', 'FlinkStatement', 'LITERAL', 'a')],
      res('DeveloperRead', 'env:e1', 'FlinkStatement', 'LITERAL', 'a'),
      true,
    ),
    grant('an environment owner may grant DeveloperManage on it (view only)', RO_ENV_E1, res('DeveloperManage', 'cmf', 'FlinkEnvironment', 'LITERAL', 'e1'), true),
    grant('a Group: binding lets its members grant', [cluster('UserAdmin', 'cmf', 'Group:ops')], cluster('UserAdmin', 'cmf'), true, bob),
    grant('reading 4: a malformed binding is refused, even to a super user', [], { ...cluster('ClusterAdmin', 'cmf'), resource: readSecretA.resource! }, false, root),
  ];
  it.each(GRANTS)('mayGrant: $why', ({ held, who, grant: g, allowed }) => {
    expect(mayGrant(held, who, g)).toBe(allowed);
  });

  const lit = (name: string): Pattern => ({ pattern: 'LITERAL', name });
  const pre = (name: string): Pattern => ({ pattern: 'PREFIXED', name });
  it.each([
    ['plan §4: PREFIXED team- covers LITERAL team-a', pre('team-'), lit('team-a'), true],
    ['plan §4: PREFIXED team- covers PREFIXED team-a', pre('team-'), pre('team-a'), true],
    ['plan §4: PREFIXED team- does not cover PREFIXED te', pre('team-'), pre('te'), false],
    ['PREFIXED team- does not cover LITERAL te', pre('team-'), lit('te'), false],
    ['PREFIXED team- covers itself', pre('team-'), pre('team-'), true],
    ['PREFIXED team- does not cover LITERAL *', pre('team-'), lit('*'), false],
    ['LITERAL * covers PREFIXED x', lit('*'), pre('x'), true],
    ['LITERAL * covers LITERAL *', lit('*'), lit('*'), true],
    ['LITERAL team-a covers itself', lit('team-a'), lit('team-a'), true],
    ['LITERAL team-a does not cover PREFIXED team-a', lit('team-a'), pre('team-a'), false],
    ['LITERAL a does not cover LITERAL *', lit('a'), lit('*'), false],
  ] as const)('covers: %s', (_why, held, wanted, expected) => {
    expect(covers(held, wanted)).toBe(expected);
  });

  it.each([
    ['LITERAL * matches any name', lit('*'), 'x', true],
    ['LITERAL a matches a', lit('a'), 'a', true],
    ['LITERAL a does not match ab', lit('a'), 'ab', false],
    ['PREFIXED a matches ab', pre('a'), 'ab', true],
    ['PREFIXED ab does not match a', pre('ab'), 'a', false],
    ['reading 5: PREFIXED * matches only names starting with *', pre('*'), 'a', false],
  ] as const)('matches: %s', (_why, held, name, expected) => {
    expect(matches(held, name)).toBe(expected);
  });

  it.each<[string, Binding, boolean]>([
    ['a cluster role without resource', cluster('ClusterAdmin', 'env:e1'), true],
    ['a resource role on a kind of its scope', res('DeveloperRead', 'cmf', 'FlinkSecret', 'LITERAL', 'a'), true],
    ['a cluster role with a resource', { ...cluster('ClusterAdmin', 'cmf'), resource: { kind: 'FlinkSecret', pattern: 'LITERAL', name: 'a' } }, false],
    ['a resource role without resource', cluster('DeveloperRead', 'env:e1'), false],
    ['an environment kind at cmf', res('DeveloperRead', 'cmf', 'FlinkApplication', 'LITERAL', 'a'), false],
    ['a cmf kind at an environment', res('DeveloperRead', 'env:e1', 'FlinkSecret', 'LITERAL', 'a'), false],
    ['a resource role on RoleBinding', res('ResourceOwner', 'cmf', 'RoleBinding', 'LITERAL', '*'), false],
    ['an empty name', res('DeveloperRead', 'cmf', 'FlinkSecret', 'PREFIXED', ''), false],
    ['an environment scope with no environment', cluster('ClusterAdmin', 'env:'), false],
  ])('isWellFormed: %s → %s', (_why, binding, expected) => {
    expect(isWellFormed(binding)).toBe(expected);
  });

  it('reading 4: a malformed binding grants nothing, not even environment visibility', () => {
    const malformed = res('DeveloperRead', 'env:e1', 'FlinkSecret', 'LITERAL', 'a');
    expect(can([malformed], alice, 'view', envRef('e1'))).toBe(false);
    expect(can([malformed], alice, 'view', secret('a'))).toBe(false);
  });

  it('visibleNames lists what a PREFIXED binding matches', () => {
    expect(visibleNames(DR_APP_PREFIX_A, alice, 'FlinkApplication', 'env:e1', ['a', 'ab', 'b'])).toEqual(['a', 'ab']);
    expect(visibleNames(DR_APP_PREFIX_A, alice, 'FlinkApplication', 'env:e2', ['a', 'ab', 'b'])).toEqual([]);
  });

  it('visibleNames lists the environments a principal has any binding in', () => {
    const held = [...DR_POOL_A, cluster('UserAdmin', 'env:e10')];
    expect(visibleNames(held, alice, 'FlinkEnvironment', 'cmf', ['e1', 'e2', 'e10'])).toEqual(['e1', 'e10']);
  });

  it('visibleNames is empty for a kind asked at the wrong scope', () => {
    expect(visibleNames([], root, 'FlinkApplication', 'cmf', ['a'])).toEqual([]);
    expect(visibleNames([], root, 'FlinkSecret', 'env:e1', ['a'])).toEqual([]);
  });
});

/** Whether two refs are about objects of the same kind in the same scope. */
function sameCollection(a: ResourceRef, b: ResourceRef): boolean {
  return a.kind === b.kind && ('environment' in a ? a.environment : '') === ('environment' in b ? b.environment : '');
}

describe('properties of the reference model', () => {
  const params = { seed: SEED, numRuns: RUNS };
  const arbBindings = fc.array(arbBinding, { maxLength: 8 });

  it('every generated binding is well formed', () => {
    fc.assert(fc.property(arbBinding, (b) => isWellFormed(b)), params);
  });

  it('visibleNames agrees with can(view) name by name', () => {
    fc.assert(
      fc.property(arbBindings, arbPrincipal, fc.constantFrom(...KINDS), fc.constantFrom(...SCOPES), (held, who, kind, scope) => {
        const names = namesOf(kind);
        const visible = visibleNames(held, who, kind, scope, names);
        if (isEnvironmentKind(kind) !== (scope !== 'cmf')) {
          expect(visible).toEqual([]);
          return;
        }
        for (const name of names) {
          const ref = (scope === 'cmf' ? { kind, name } : { kind, environment: scope.slice('env:'.length), name }) as ResourceRef;
          expect(visible.includes(name)).toBe(can(held, who, 'view', ref));
        }
      }),
      params,
    );
  });

  it('may act on every object of a kind implies may act on each', () => {
    fc.assert(
      fc.property(arbBindings, arbPrincipal, arbVerb, (held, who, verb) => {
        const wholeKinds = ALL_REFS.filter((r) => r.name === undefined && can(held, who, verb, r));
        return wholeKinds.every((all) => ALL_REFS.every((one) => !sameCollection(one, all) || can(held, who, verb, one)));
      }),
      params,
    );
  });

  it('a super user may do everything; bindings for other subjects change nothing', () => {
    fc.assert(
      fc.property(arbBindings, arbPrincipal, arbVerb, (held, who, verb) => {
        const others = held.map((b) => ({ ...b, subject: 'User:nobody' as const }));
        return ALL_REFS.every((ref) => can(held, { ...who, superUser: true }, verb, ref) && !can(others, { ...who, superUser: false }, verb, ref));
      }),
      params,
    );
  });

  it('mayGrant never holds for a grant containing a permission the granter lacks', () => {
    let granted = 0;
    fc.assert(
      fc.property(arbBindings, arbPrincipal, arbBinding, fc.nat(), (held, who, other, pick) => {
        // Half the time, grant something the principal's bindings already name, so grants pass often.
        const candidate = pick % 2 === 0 && held.length > 0 ? held[pick % held.length]! : other;
        if (!mayGrant(held, who, candidate)) return true;
        if (who.superUser !== true) granted += 1;
        // Granting it to the granter itself must add nothing it could not already do.
        const after = [...held, { ...candidate, subject: `User:${who.user}` as const }];
        return ALL_REFS.every((ref) => VERBS.every((verb) => !can(after, who, verb, ref) || can(held, who, verb, ref)));
      }),
      params,
    );
    expect(granted).toBeGreaterThan(0);
  });

  it('a holder of a ResourceOwner, UserAdmin or SystemAdmin binding may grant that binding to anyone', () => {
    fc.assert(
      fc.property(arbBindings, arbPrincipal, arbBinding, (held, who, b) => {
        if (b.role !== 'ResourceOwner' && b.role !== 'UserAdmin' && b.role !== 'SystemAdmin') return;
        const mine = { ...b, subject: `User:${who.user}` as const };
        expect(mayGrant([...held, mine], who, { ...b, subject: 'User:carol' })).toBe(true);
      }),
      params,
    );
  });

  it('covers is exactly inclusion of the names two patterns match', () => {
    const arbPattern = fc.record({
      pattern: fc.constantFrom<Pattern['pattern']>('LITERAL', 'PREFIXED'),
      name: fc.constantFrom('a', 'ab', 'b', '*', 'e', 'e1', 'e10'),
    });
    fc.assert(
      fc.property(arbPattern, arbPattern, (held, wanted) => {
        const wantedAll = wanted.pattern === 'LITERAL' && wanted.name === '*';
        // Names `wanted` matches, one of which `held` misses whenever it does not cover `wanted`.
        const witnesses = wantedAll ? ['~'] : [wanted.name, `${wanted.name}~`];
        const probes = [...witnesses, 'a', 'ab', 'abc', 'b', 'e', 'e1', 'e10', '*', '*x'];
        const missed = probes.some((n) => (wantedAll || matches(wanted, n)) && !matches(held, n));
        expect(covers(held, wanted)).toBe(!missed);
      }),
      params,
    );
  });
});
