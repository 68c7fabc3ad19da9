/**
 * Issue 13's acceptance matrix: principal × role binding × operation → expected status, over every
 * route of `src/api/access.ts` (CMF's API, the Flink web UI proxy and drey's own `/drey/api/v1`), with
 * each principal reaching drey by a client certificate, by an OIDC token and by an API token. The
 * expected status comes from the reference model (test/support/rbacModel.ts), never from drey's
 * authorizer: no credential → 401; the model denies → 403, reading the same for an existing and a
 * missing target; else the route's success status for an existing target and 404 for a missing one.
 *
 * One drey serves all three columns: certificates and OIDC tokens carry the user `<name>`, API
 * tokens the user `token:<name>`, and both users get the same bindings. The CA, the OIDC issuer and
 * every credential are made here (test/support/secureDrey.ts); nothing leaves loopback.
 */
import https from 'node:https';
import { ACCESS, ACCESS_DREY, WEB_UI } from '../../src/api/access.js';
import { subjectsOf } from '../../src/security/principal.js';
import { CMF_KINDS, ENVIRONMENT_KINDS, type EnvironmentKind, type Kind, type ResourceRef, type Verb } from '../../src/security/resources.js';
import { apiClient, type TestResponse } from '../support/api.js';
import { API_VERSION, application, computePool, secret, secretMapping, statement } from '../support/fixtures.js';
import { query } from '../support/db.js';
import { issue } from '../support/pki.js';
import { can, mayGrant, visibleNames, type Binding, type ModelPrincipal, type Scope } from '../support/rbacModel.js';
import { startSecureDrey, type Client, type SecureDrey } from '../support/secureDrey.js';

const COLUMNS = ['mtls', 'oidc', 'apiToken'] as const;
type Column = (typeof COLUMNS)[number];
type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** A role binding as `POST /drey/api/v1/role-bindings` takes it, without its principal. */
interface BindingBody {
  role: Binding['role'];
  environment?: string;
  resource?: { resourceType: Kind; name: string; patternType?: 'LITERAL' | 'PREFIXED' };
}

/** One principal of the matrix: its name, its groups and what is bound to its user or to its groups. */
interface Persona {
  name: string;
  groups?: string[];
  superUser?: boolean;
  user?: BindingBody[];
  group?: BindingBody[];
}

const PERSONAS: readonly Persona[] = [
  { name: 'super', superUser: true },
  { name: 'sys', user: [{ role: 'SystemAdmin' }] },
  { name: 'cluster', user: [{ role: 'ClusterAdmin' }] },
  { name: 'cluster-a', user: [{ role: 'ClusterAdmin', environment: 'env-a' }] },
  { name: 'useradmin', user: [{ role: 'UserAdmin' }] },
  { name: 'owner', user: [{ role: 'ResourceOwner', environment: 'env-a', resource: { resourceType: 'FlinkApplication', name: 'app-', patternType: 'PREFIXED' } }] },
  { name: 'dm', user: [{ role: 'DeveloperManage', environment: 'env-a', resource: { resourceType: 'FlinkStatement', name: 'st-a', patternType: 'LITERAL' } }] },
  { name: 'dr', user: ENVIRONMENT_KINDS.map((k) => ({ role: 'DeveloperRead' as const, environment: 'env-a', resource: { resourceType: k, name: '*', patternType: 'LITERAL' as const } })) },
  // bound through its group only
  { name: 'grp', groups: ['ops'], group: [{ role: 'ClusterAdmin', environment: 'env-b' }] },
  { name: 'nobody' },
  { name: 'anon' },
];

/** The model's form of a binding body. */
function modelBinding(subject: Binding['subject'], b: BindingBody): Binding {
  const scope: Scope = b.environment === undefined ? 'cmf' : `env:${b.environment}`;
  const resource = b.resource && { kind: b.resource.resourceType, pattern: b.resource.patternType ?? 'LITERAL', name: b.resource.name };
  return { subject, role: b.role, scope, ...(resource ? { resource } : {}) };
}

/** The user a persona acts as in a column: API tokens act as `token:<token name>`. */
const userOf = (column: Column, p: Persona) => (column === 'apiToken' ? `token:${p.name}` : p.name);

/** Every binding the world starts with, for both users of each persona. */
const BINDINGS: Binding[] = PERSONAS.flatMap((p) => [
  ...(p.user ?? []).flatMap((b) => [modelBinding(`User:${p.name}`, b), modelBinding(`User:token:${p.name}`, b)]),
  ...(p.group ?? []).flatMap((b) => (p.groups ?? []).map((g) => modelBinding(`Group:${g}`, b))),
]);

/** Who asks, as the model sees it (`undefined` for no credential). API tokens carry no groups. */
function who(column: Column, p: Persona): ModelPrincipal | undefined {
  if (p.name === 'anon') return undefined;
  return { user: userOf(column, p), groups: column === 'apiToken' ? [] : (p.groups ?? []), superUser: p.superUser ?? false };
}

// ---- the world, seeded by the bootstrap super user ----

const ENVS = ['env-a', 'env-b'] as const;
type Env = (typeof ENVS)[number];
const SEEDED: Record<Env, { app: string; statement: string; pool: string; mapping: string; secret: string }> = {
  'env-a': { app: 'app-a', statement: 'st-a', pool: 'pool-a', mapping: 'map-a', secret: 'sec-a' },
  'env-b': { app: 'app-b', statement: 'st-b', pool: 'pool-b', mapping: 'map-b', secret: 'sec-b' },
};
/** An application in env-a that `owner`'s prefix `app-` does not reach, so its list shows filtering. */
const OTHER_APP = 'zz-a';
const CATALOG = 'cat-one';
const DATABASE = 'db-one';
const TOKEN = 'tok-a';
const MISSING_ENV = 'env-missing';
const MISSING_BINDING = '00000000-0000-4000-8000-000000000000';

const CMF = '/cmf/api/v1';
const DREY = '/drey/api/v1';
const CATALOGS = `${CMF}/catalogs/kafka`;
const envPath = (env: string) => `${CMF}/environments/${env}`;
const envBody = (name: string) => ({ name, kubernetesNamespace: `ns-${name}` });

/** A CMF 2.1 catalog (no Kafka clusters, so nothing to reach). */
function catalog(name: string) {
  return { apiVersion: API_VERSION, kind: 'KafkaCatalog', metadata: { name }, spec: { srInstance: { connectionConfig: { 'schema.registry.url': 'http://schemaregistry:8081' } } } };
}
function database(name: string) {
  return {
    apiVersion: API_VERSION,
    kind: 'KafkaDatabase',
    metadata: { name },
    spec: { kafkaCluster: { connectionConfig: { 'bootstrap.servers': `${name}.kafka:9092` } }, ddlEnvironments: [] },
  };
}

// ---- what each request needs, in the model's terms ----

type Need =
  | { verb: Verb; ref: ResourceRef; refs?: { verb: Verb; ref: ResourceRef }[] }
  | { list: Kind; scope: Scope }
  | { anyone: true }
  | { superUser: true }
  | { grant: Binding }
  /** deleting a binding; `undefined` when there is no such binding */
  | { ungrant: Binding | undefined }
  | { bindings: true }
  /** reviewing someone else's access needs bind on what is asked about */
  | { review: ResourceRef };

/** Whether the model lets `p` see some object of `kind` at `scope` (else drey refuses the list). */
function mayList(p: ModelPrincipal, kind: Kind, scope: Scope): boolean {
  const environment = scope === 'cmf' ? undefined : scope.slice(4);
  const probes = new Set(['x']);
  for (const b of BINDINGS) {
    if (b.resource) probes.add(b.resource.pattern === 'PREFIXED' ? `${b.resource.name}x` : b.resource.name);
    if (b.scope !== 'cmf') probes.add(b.scope.slice(4));
  }
  return [...probes].some((name) => can(BINDINGS, p, 'view', (environment === undefined ? { kind, name } : { kind, environment, name }) as ResourceRef));
}

/** Whether the model lets `p` bind anything anywhere (drey then shows it the bindings it could make). */
function maySomeBind(p: ModelPrincipal): boolean {
  if (p.superUser) return true;
  return BINDINGS.some((b) => {
    if (!subjectsOf(p).includes(b.subject)) return false;
    const environment = b.scope === 'cmf' ? undefined : b.scope.slice(4);
    const kinds: readonly Kind[] = b.resource ? [b.resource.kind] : environment ? ENVIRONMENT_KINDS : CMF_KINDS;
    const name = b.resource ? (b.resource.pattern === 'PREFIXED' ? `${b.resource.name}x` : b.resource.name) : 'x';
    return kinds.some((kind) => can(BINDINGS, p, 'bind', (environment === undefined ? { kind, name } : { kind, environment, name }) as ResourceRef));
  });
}

/** Whether the model allows the request. */
function allowed(p: ModelPrincipal, need: Need): boolean {
  if ('anyone' in need) return true;
  if ('superUser' in need) return p.superUser === true;
  if ('list' in need) return mayList(p, need.list, need.scope);
  if ('grant' in need) return mayGrant(BINDINGS, p, need.grant);
  if ('ungrant' in need) return need.ungrant ? mayGrant(BINDINGS, p, need.ungrant) : maySomeBind(p);
  if ('bindings' in need) return maySomeBind(p);
  if ('review' in need) return can(BINDINGS, p, 'bind', need.review);
  return can(BINDINGS, p, need.verb, need.ref) && (need.refs ?? []).every((r) => can(BINDINGS, p, r.verb, r.ref));
}

/**
 * Which check of a refused need fails first in the model: the object itself (0) or the i-th object
 * it names (i + 1). Two refusals read the same only when they are refused for the same reason: a
 * statement named `st-a` may fail on its pool where `st-new` fails on its own name.
 */
function refusedOn(p: ModelPrincipal, need: Need): number {
  if (!('verb' in need) || !can(BINDINGS, p, need.verb, need.ref)) return 0;
  return 1 + (need.refs ?? []).findIndex((r) => !can(BINDINGS, p, r.verb, r.ref));
}

// ---- the rows ----

/** One request of the matrix. */
interface Case {
  /** The route it exercises: `<METHOD> <template>` as in ACCESS, ACCESS_DREY or the web UI. */
  route: string;
  method: Method;
  /** The path; `{…}` placeholders are filled in at run time (by `setup`, or from `found`). */
  path: string;
  body?: unknown;
  /** Outside the CMF contract (the web UI proxy): sent without the contract check. */
  raw?: boolean;
  existing: boolean;
  /** The existing and the missing case of one target share a pair; `name` tells them apart. */
  pair?: string;
  name?: string;
  need: Need;
  /** The status when allowed (for an existing target, or always when there is no missing one). */
  success: number;
  /** The status when allowed and the target is missing: 404, but a POST creates what is missing. */
  whenMissing?: number;
  /** Runs as the bootstrap user first: makes what a DELETE removes. */
  setup?: (vars: Map<string, string>) => Promise<void>;
  /** What is read before the request, for `check`. */
  before?: () => Promise<unknown>;
  /** Checks the body of a success. */
  check?: (res: TestResponse, p: ModelPrincipal, before: unknown) => Promise<void> | void;
}

interface Row extends Case {
  column: Column;
  persona: Persona;
  expected: number;
  title: string;
}

let world: SecureDrey;
let boot: Client;
/** Every binding drey holds, by id, as the model sees it (lists of bindings are checked against it). */
const held = new Map<string, Binding>();
/** Names of seeded objects found at run time (application instances). */
const found = new Map<string, string>();

async function ok(res: Promise<TestResponse>, what: string): Promise<TestResponse> {
  const r = await res;
  if (r.status >= 300) throw new Error(`${what} answered ${r.status}: ${r.text}`);
  return r;
}

async function bind(principal: Binding['subject'], body: BindingBody): Promise<string> {
  const res = await ok(boot.post(`${DREY}/role-bindings`, { principal, ...body }), `binding ${principal}`);
  held.set(res.body.id, modelBinding(principal, body));
  return res.body.id as string;
}

const namesIn = (res: TestResponse): string[] => (res.body.items as { name?: string; metadata?: { name: string } }[]).map((i) => i.metadata?.name ?? i.name!).sort();

/** A list: what the principal sees is what the model shows of what the super user sees around it. */
function listed(path: string, kind: Kind, scope: Scope): Pick<Case, 'before' | 'check'> {
  return {
    before: async () => namesIn(await ok(boot.get(path), path)),
    check: async (res, p, before) => {
      const after = namesIn(await ok(boot.get(path), path));
      const earlier = before as string[];
      const stable = earlier.filter((n) => after.includes(n));
      const any = [...new Set([...earlier, ...after])];
      const seen = namesIn(res);
      expect(seen).toEqual(expect.arrayContaining(visibleNames(BINDINGS, p, kind, scope, stable)));
      expect(visibleNames(BINDINGS, p, kind, scope, any)).toEqual(expect.arrayContaining(seen));
    },
  };
}

/** Fresh names, unique over the whole run. */
let counter = 0;
const fresh = (prefix: string, column: Column) => `${prefix}-${column[0]}${++counter}`;

/** The environment kinds: where they live in the path, their bodies and their statuses. */
const ENV_KINDS: Record<
  EnvironmentKind,
  {
    segment: string;
    param: string;
    prefix: string;
    seeded: (env: Env) => string;
    body: (env: string, name: string) => unknown;
    refs?: (env: string) => { verb: Verb; ref: ResourceRef }[];
    created: number;
    /** POST of a name that exists: applications are created or updated, the others conflict. */
    again: number;
    deleted: number;
    put?: true;
  }
> = {
  FlinkApplication: { segment: 'applications', param: 'appName', prefix: 'app', seeded: (e) => SEEDED[e].app, body: (_e, n) => application(n), created: 201, again: 201, deleted: 200 },
  FlinkStatement: {
    segment: 'statements',
    param: 'stmtName',
    prefix: 'st',
    seeded: (e) => SEEDED[e].statement,
    body: (e, n) => statement(n, 'SELECT 1', poolOf(e)),
    refs: (e) => [{ verb: 'view', ref: { kind: 'FlinkComputePool', environment: e, name: poolOf(e) } }],
    created: 200,
    again: 409,
    deleted: 204,
    put: true,
  },
  FlinkComputePool: { segment: 'compute-pools', param: 'poolName', prefix: 'pool', seeded: (e) => SEEDED[e].pool, body: (_e, n) => computePool(n), created: 200, again: 409, deleted: 204 },
  FlinkSecretMapping: {
    segment: 'secret-mappings',
    param: 'name',
    prefix: 'map',
    seeded: (e) => SEEDED[e].mapping,
    body: (e, n) => secretMapping(n, secretOf(e)),
    refs: (e) => [{ verb: 'view', ref: { kind: 'FlinkSecret', name: secretOf(e) } }],
    created: 200,
    again: 409,
    deleted: 204,
    put: true,
  },
};
const poolOf = (env: string) => (env === 'env-b' ? SEEDED['env-b'].pool : SEEDED['env-a'].pool);
const secretOf = (env: string) => (env === 'env-b' ? SEEDED['env-b'].secret : SEEDED['env-a'].secret);

/** Where one request goes, what it sends and what it needs. */
interface Target {
  path: string;
  /** The name an existing and a missing target differ in. */
  name: string;
  need: Need;
  body?: unknown;
  setup?: Case['setup'];
  check?: Case['check'];
}

const methodOf = (route: string) => route.slice(0, route.indexOf(' ')) as Method;

/** Every case a principal meets in a column. */
function casesFor(column: Column, p: ModelPrincipal | undefined): Case[] {
  const cases: Case[] = [];
  /** A request without a missing twin (a list, a question, a whole kind). */
  const single = (route: string, path: string, need: Need, success: number, extra: Partial<Case> = {}) =>
    void cases.push({ route, method: methodOf(route), path, existing: true, need, success, ...extra });
  /** The same request at an existing target and at a missing one, `at` telling targets of one route apart. */
  const twins = (route: string, at: string, existing: Target, missing: Target, success: number, extra: Partial<Case> = {}) => {
    for (const [target, found] of [[existing, true], [missing, false]] as const) {
      cases.push({ route, method: methodOf(route), existing: found, pair: `${route} ${at}`, success, ...extra, ...target });
    }
  };
  /**
   * The target of a DELETE: the seeded object where the model refuses to delete it (so a refusal is
   * tried on something real), else a fresh one the bootstrap user makes first.
   */
  const deletion = (seeded: Target, make: (name: string) => Target, prefix: string): Target =>
    p && allowed(p, seeded.need) ? make(fresh(prefix, column)) : seeded;

  // environments
  const environments = `${CMF}/environments`;
  const onEnv = (verb: Verb, name: string): Need => ({ verb, ref: { kind: 'FlinkEnvironment', name } });
  single(`GET ${environments}`, `${environments}?size=1000`, { list: 'FlinkEnvironment', scope: 'cmf' }, 200, listed(`${environments}?size=1000`, 'FlinkEnvironment', 'cmf'));
  // posting an existing environment updates it
  const newEnv = fresh('env', column);
  twins(
    `POST ${environments}`,
    '',
    { path: environments, name: 'env-a', body: envBody('env-a'), need: onEnv('create', 'env-a') },
    { path: environments, name: newEnv, body: envBody(newEnv), need: onEnv('create', newEnv) },
    201,
    { whenMissing: 201 },
  );
  const environment = `${environments}/:envName`;
  const envTarget = (verb: Verb, name: string): Target => ({ path: envPath(name), name, need: onEnv(verb, name) });
  for (const env of ENVS) twins(`GET ${environment}`, env, envTarget('view', env), envTarget('view', MISSING_ENV), 200);
  const envGone = deletion(envTarget('delete', 'env-b'), (name) => ({ ...envTarget('delete', name), setup: async () => void (await ok(boot.post(environments, envBody(name)), name)) }), 'env');
  twins(`DELETE ${environment}`, '', envGone, envTarget('delete', MISSING_ENV), 200);

  // the kinds that live in an environment
  for (const [kind, k] of Object.entries(ENV_KINDS) as [EnvironmentKind, (typeof ENV_KINDS)[EnvironmentKind]][]) {
    const collection = `${CMF}/environments/:envName/${k.segment}`;
    const item = `${collection}/:${k.param}`;
    const missing = `${k.prefix}-missing`;
    for (const env of ENVS) {
      const base = `${envPath(env)}/${k.segment}`;
      const on = (verb: Verb, name: string, refs?: { verb: Verb; ref: ResourceRef }[]): Need => ({ verb, ref: { kind, environment: env, name }, ...(refs ? { refs } : {}) });
      const at = (verb: Verb, name: string, refs?: { verb: Verb; ref: ResourceRef }[]): Target => ({ path: `${base}/${name}`, name, need: on(verb, name, refs) });
      const list = (name: string): Target => ({ path: `${envPath(name)}/${k.segment}?size=1000`, name, need: { list: kind, scope: `env:${name}` } });
      const listOf = list(env);
      twins(`GET ${collection}`, env, listOf, list(MISSING_ENV), 200, listed(listOf.path, kind, `env:${env}`));
      const create = (name: string): Target => ({ path: base, name, body: k.body(env, name), need: on('create', name, k.refs?.(env)) });
      twins(`POST ${collection}`, env, create(k.seeded(env)), create(fresh(k.prefix, column)), k.again, { whenMissing: k.created });
      twins(`GET ${item}`, env, at('view', k.seeded(env)), at('view', missing), 200);
      if (k.put) {
        // a mapping may name only a secret its author may see; a statement's pool cannot change
        const put = (name: string): Target => ({ ...at('update', name, kind === 'FlinkSecretMapping' ? k.refs?.(env) : undefined), body: k.body(env, name) });
        twins(`PUT ${item}`, env, put(k.seeded(env)), put(missing), 200);
      }
      const gone = deletion(at('delete', k.seeded(env)), (name) => ({ ...at('delete', name), setup: async () => void (await ok(boot.post(base, k.body(env, name)), name)) }), k.prefix);
      twins(`DELETE ${item}`, env, gone, at('delete', missing), k.deleted);
    }
  }

  // what hangs off an application or a statement, and the Flink web UI
  const APP = `${CMF}/environments/:envName/applications/:appName`;
  const STMT = `${CMF}/environments/:envName/statements/:stmtName`;
  for (const env of ENVS) {
    const onApp = (verb: Verb, rest: string, base = `${envPath(env)}/applications`) => (name: string): Target => ({
      path: `${base}/${name}${rest}`,
      name,
      need: { verb, ref: { kind: 'FlinkApplication', environment: env, name } },
    });
    const appRoutes: [string, Verb, string, number][] = [
      [`POST ${APP}/suspend`, 'update', '/suspend', 200],
      [`POST ${APP}/start`, 'update', '/start', 200],
      [`GET ${APP}/instances`, 'view', '/instances', 200],
      [`GET ${APP}/instances/:instName`, 'view', `/instances/{instance-${env}}`, 200],
    ];
    for (const [route, verb, rest, success] of appRoutes) twins(route, env, onApp(verb, rest)(SEEDED[env].app), onApp(verb, rest)('app-missing'), success);
    const events = onApp('view', '/events', `/cmf/api/v1alpha1/environments/${env}/applications`);
    twins(`GET /cmf/api/v1alpha1/environments/:envName/applications/:appName/events`, env, events(SEEDED[env].app), events('app-missing'), 200);
    // the simulated cluster runs no JobManager: an allowed request reaches the proxy, which answers 503
    const ui = (verb: Verb, rest: string) => onApp(verb, `/flink-web-ui${rest}`);
    twins(`GET ${WEB_UI}`, env, ui('view', '/overview')(SEEDED[env].app), ui('view', '/overview')('app-missing'), 503, { raw: true });
    twins(`POST ${WEB_UI}`, env, ui('update', '/jobs/j1/savepoints')(SEEDED[env].app), ui('update', '/jobs/j1/savepoints')('app-missing'), 503, { raw: true });
    const jars = (name: string): Target => ({ ...ui('update', '/jars/upload')(name), need: { superUser: true } });
    twins(`POST ${WEB_UI}/jars/upload`, env, jars(SEEDED[env].app), jars('app-missing'), 503, { raw: true });
    // statement results and exceptions need edit rights, as in CMF
    for (const rest of ['results', 'exceptions']) {
      const of = (name: string): Target => ({ path: `${envPath(env)}/statements/${name}/${rest}`, name, need: { verb: 'update', ref: { kind: 'FlinkStatement', environment: env, name } } });
      twins(`GET ${STMT}/${rest}`, env, of(SEEDED[env].statement), of('st-missing'), 200);
    }
  }

  // secrets and catalogs, at the scope of the whole installation
  const cmfKinds = [
    { kind: 'FlinkSecret' as const, base: `${CMF}/secrets`, param: 'secretName', prefix: 'sec', seeded: SEEDED['env-a'].secret, body: (n: string) => secret(n, { k: 'v' }) },
    { kind: 'FlinkCatalog' as const, base: CATALOGS, param: 'catName', prefix: 'cat', seeded: CATALOG, body: catalog },
  ];
  for (const k of cmfKinds) {
    const item = `${k.base}/:${k.param}`;
    const missing = `${k.prefix}-missing`;
    const at = (verb: Verb, name: string, body?: unknown): Target => ({ path: `${k.base}/${name}`, name, body, need: { verb, ref: { kind: k.kind, name } } });
    single(`GET ${k.base}`, `${k.base}?size=1000`, { list: k.kind, scope: 'cmf' }, 200, listed(`${k.base}?size=1000`, k.kind, 'cmf'));
    const create = (name: string): Target => ({ ...at('create', name, k.body(name)), path: k.base });
    twins(`POST ${k.base}`, '', create(k.seeded), create(fresh(k.prefix, column)), 409, { whenMissing: 200 });
    twins(`GET ${item}`, '', at('view', k.seeded), at('view', missing), 200);
    twins(`PUT ${item}`, '', at('update', k.seeded, k.body(k.seeded)), at('update', missing, k.body(missing)), 200);
    const gone = deletion(at('delete', k.seeded), (name) => ({ ...at('delete', name), setup: async () => void (await ok(boot.post(k.base, k.body(name)), name)) }), k.prefix);
    twins(`DELETE ${item}`, '', gone, at('delete', missing), 204);
  }

  // a catalog's databases are parts of the catalog: reading them needs view on it, changing them update
  {
    const dbs = `${CATALOGS}/:catName/databases`;
    const item = `${dbs}/:dbName`;
    const base = `${CATALOGS}/${CATALOG}/databases`;
    const on = (verb: Verb, cat = CATALOG): Need => ({ verb, ref: { kind: 'FlinkCatalog', name: cat } });
    const at = (verb: Verb, name: string, body?: unknown): Target => ({ path: `${base}/${name}`, name, body, need: on(verb) });
    twins(`GET ${dbs}`, '', { path: base, name: CATALOG, need: on('view') }, { path: `${CATALOGS}/cat-missing/databases`, name: 'cat-missing', need: on('view', 'cat-missing') }, 200);
    const create = (name: string): Target => ({ path: base, name, body: database(name), need: on('update') });
    twins(`POST ${dbs}`, '', create(DATABASE), create(fresh('db', column)), 409, { whenMissing: 200 });
    twins(`GET ${item}`, '', at('view', DATABASE), at('view', 'db-missing'), 200);
    twins(`PUT ${item}`, '', at('update', DATABASE, database(DATABASE)), at('update', 'db-missing', database('db-missing')), 200);
    const gone = deletion(at('update', DATABASE), (name) => ({ ...at('update', name), setup: async () => void (await ok(boot.post(base, database(name)), name)) }), 'db');
    twins(`DELETE ${item}`, '', gone, at('update', 'db-missing'), 204);
  }

  // drey's own routes
  const check = (fn: Case['check']) => ({ check: fn });
  const me = (res: TestResponse, q: ModelPrincipal) => expect(res.body).toMatchObject({ user: q.user, groups: q.groups, authenticator: column, superUser: q.superUser });
  single(`GET ${DREY}/whoami`, `${DREY}/whoami`, { anyone: true }, 200, check(me));
  single(`GET ${DREY}/access-rules`, `${DREY}/access-rules`, { anyone: true }, 200, check((res, q) => expect(res.body.superUser).toBe(q.superUser)));
  const reviews = `POST ${DREY}/access-reviews`;
  const dr: ModelPrincipal = { user: 'dr', groups: [] };
  for (const env of ENVS) {
    const ref = (name: string): ResourceRef => ({ kind: 'FlinkApplication', environment: env, name });
    for (const name of [SEEDED[env].app, 'app-missing']) {
      // about oneself anyone may ask, and the answer is the model's
      single(reviews, `${DREY}/access-reviews`, { anyone: true }, 200, {
        body: { verb: 'update', resource: ref(name) },
        ...check((res, q) => expect(res.body.allowed).toBe(can(BINDINGS, q, 'update', ref(name)))),
      });
    }
    // about someone else (dr) only who may bind it
    const other = (name: string): Target => ({ path: `${DREY}/access-reviews`, name, body: { user: 'dr', verb: 'view', resource: ref(name) }, need: { review: ref(name) } });
    twins(reviews, env, other(SEEDED[env].app), other('app-missing'), 200, {
      whenMissing: 200,
      ...check((res) => expect(res.body.allowed).toBe(can(BINDINGS, dr, 'view', ref(res.body.resource.name)))),
    });
  }

  const bindings = `${DREY}/role-bindings`;
  single(`GET ${bindings}`, bindings, { bindings: true }, 200, check((res, q) => {
    const ids = (res.body.items as { id: string }[]).map((b) => b.id).sort();
    expect(ids).toEqual([...held].filter(([, b]) => mayGrant(BINDINGS, q, b)).map(([id]) => id).sort());
  }));
  // grants go to subjects of their own, so no principal of the matrix gains anything
  const grant = (subject: Binding['subject'], body: BindingBody, name: string): Target => {
    const binding = modelBinding(subject, body);
    return { path: bindings, name, body: { principal: subject, ...body }, need: { grant: binding }, check: (res) => void held.set(res.body.id, binding) };
  };
  const grants = (at: string, body: (env: string) => BindingBody) => {
    const subject = `User:${fresh('rb', column)}` as const;
    twins(`POST ${bindings}`, `${body('').role} ${at}`, grant(subject, body(at), at), grant(subject, body(MISSING_ENV), MISSING_ENV), 201, { whenMissing: 201 });
  };
  for (const env of ENVS) {
    grants(env, (at) => ({ role: 'DeveloperRead', environment: at, resource: { resourceType: 'FlinkApplication', name: SEEDED[env].app } }));
    grants(env, (at) => ({ role: 'ClusterAdmin', environment: at }));
  }
  const userAdmin = grant(`User:${fresh('rb', column)}`, { role: 'UserAdmin' }, '');
  single(`POST ${bindings}`, bindings, userAdmin.need, 201, { body: userAdmin.body, check: userAdmin.check });
  const unbinds: BindingBody[] = [
    ...ENVS.map((env): BindingBody => ({ role: 'DeveloperRead', environment: env, resource: { resourceType: 'FlinkApplication', name: SEEDED[env].app } })),
    { role: 'UserAdmin' },
  ];
  for (const body of unbinds) {
    const subject = `User:${fresh('rb', column)}` as const;
    const slot = `{binding-${subject.slice(5)}}`;
    twins(
      `DELETE ${bindings}/:id`,
      `${body.role} ${body.environment ?? 'cmf'}`,
      { path: `${bindings}/${slot}`, name: slot, need: { ungrant: modelBinding(subject, body) }, setup: async (vars) => void vars.set(slot, await bind(subject, body)) },
      { path: `${bindings}/${MISSING_BINDING}`, name: MISSING_BINDING, need: { ungrant: undefined } },
      204,
    );
  }

  const tokens = `${DREY}/api-tokens`;
  const onToken = (verb: Verb, name: string): Target => ({ path: `${tokens}/${name}`, name, need: { verb, ref: { kind: 'ApiToken', name } } });
  single(`GET ${tokens}`, tokens, { verb: 'view', ref: { kind: 'ApiToken' } }, 200);
  const mint = (name: string): Target => ({ ...onToken('create', name), path: tokens, body: { metadata: { name } } });
  twins(`POST ${tokens}`, '', mint(TOKEN), mint(fresh('tok', column)), 409, { whenMissing: 201 });
  twins(`GET ${tokens}/:name`, '', onToken('view', TOKEN), onToken('view', 'tok-missing'), 200);
  const revoked = deletion(onToken('delete', TOKEN), (name) => ({ ...onToken('delete', name), setup: async () => void (await ok(boot.post(tokens, { metadata: { name } }), name)) }), 'tok');
  twins(`DELETE ${tokens}/:name`, '', revoked, onToken('delete', 'tok-missing'), 200);

  single(`GET ${DREY}/audit-events`, `${DREY}/audit-events?limit=1`, { verb: 'view', ref: { kind: 'AuditEvent' } }, 200);
  single(`GET ${DREY}/encryption`, `${DREY}/encryption`, { verb: 'view', ref: { kind: 'Encryption' } }, 200);
  single(`POST ${DREY}/encryption/rewrap`, `${DREY}/encryption/rewrap`, { verb: 'update', ref: { kind: 'Encryption' } }, 202);
  return cases;
}

/** Every route a row must exercise: each method of ACCESS and ACCESS_DREY, and the web UI's three kinds of request. */
const ROUTES = [
  ...[ACCESS, ACCESS_DREY].flatMap((table) => Object.entries(table).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))),
  `GET ${WEB_UI}`,
  `POST ${WEB_UI}`,
  `POST ${WEB_UI}/jars/upload`,
];

/** What a body asks for, short enough for a row's title. */
function describeBody(body: unknown): string {
  if (body === undefined) return '';
  const b = body as Partial<BindingBody & { name: string; metadata: { name: string }; principal: string; verb: string; user: string }> & {
    resource?: { name: string; resourceType?: string; kind?: string };
  };
  if (b.role) return ` {${b.principal} ${b.role}@${b.environment ?? 'cmf'}${b.resource ? ` ${b.resource.resourceType} ${b.resource.name}` : ''}}`;
  if (b.verb) return ` {${b.user ? `${b.user} ` : ''}${b.verb} ${b.resource?.kind} ${b.resource?.name}}`;
  return ` {${b.metadata?.name ?? b.name}}`;
}

function rowsOf(column: Column): Row[] {
  return PERSONAS.filter((persona) => column !== 'apiToken' || persona.group === undefined).flatMap((persona) => {
    const p = who(column, persona);
    return casesFor(column, p).map((c): Row => {
      const expected = !p ? 401 : !allowed(p, c.need) ? 403 : c.existing ? c.success : (c.whenMissing ?? 404);
      return { ...c, column, persona, expected, title: `${column} ${persona.name} ${c.method} ${c.path}${describeBody(c.body)} → ${expected}` };
    });
  });
}

/** Routes a row sent a request to. */
const exercised = new Set<string>();
/** What each row sent, by its X-Request-Id, for the audit check at the end. */
const sent = new Map<string, { method: string; status: number; principal: string }>();
/** The 403 of each existing target, by column, persona and pair, for its missing twin to compare with. */
const refusals = new Map<string, { text: string; name: string; reason: number }>();

/** How each persona proves itself in each column: headers and TLS options. */
type Credentials = { headers: Record<string, string>; tls: { ca: string; cert?: string; key?: string } };
const credentials = new Map<string, Credentials>();
const clients = new Map<string, Client>();
const agents = new Map<string, https.Agent>();
const keyOf = (column: Column, persona: Persona) => `${column} ${persona.name}`;

/** A request outside the CMF contract (the web UI proxy), with the same credentials. */
function rawRequest(creds: Credentials, agentKey: string, method: Method, path: string): Promise<{ status: number; text: string; headers: TestResponse['headers'] }> {
  let agent = agents.get(agentKey);
  if (!agent) agents.set(agentKey, (agent = new https.Agent({ keepAlive: true, ...creds.tls })));
  return new Promise((resolve, reject) => {
    const req = https.request(`${world.drey.url}${path}`, { method, headers: creds.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const headers = { get: (n: string) => (res.headers[n.toLowerCase()] as string | undefined) ?? null };
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  world = await startSecureDrey({ CMF_SUPER_USERS: 'User:super,User:token:super', CMF_RATE_LIMIT_PER_MIN: '0', CMF_AUTH_FAILURES_PER_MIN: '0' });
  boot = await world.as('bootstrap');
  for (const env of ENVS) {
    const s = SEEDED[env];
    await ok(boot.post(`${CMF}/environments`, envBody(env)), env);
    await ok(boot.post(`${CMF}/secrets`, secret(s.secret, { k: 'v' })), s.secret);
    await ok(boot.post(`${envPath(env)}/secret-mappings`, secretMapping(s.mapping, s.secret)), s.mapping);
    await ok(boot.post(`${envPath(env)}/compute-pools`, computePool(s.pool)), s.pool);
    await ok(boot.post(`${envPath(env)}/statements`, statement(s.statement, 'SELECT 1', s.pool)), s.statement);
    await ok(boot.post(`${envPath(env)}/applications`, application(s.app)), s.app);
    const instances = await ok(boot.get(`${envPath(env)}/applications/${s.app}/instances`), 'instances');
    found.set(`{instance-${env}}`, instances.body.items[0].metadata.name);
  }
  await ok(boot.post(`${envPath('env-a')}/applications`, application(OTHER_APP)), OTHER_APP);
  await ok(boot.post(CATALOGS, catalog(CATALOG)), CATALOG);
  await ok(boot.post(`${CATALOGS}/${CATALOG}/databases`, database(DATABASE)), DATABASE);
  await ok(boot.post(`${DREY}/api-tokens`, { metadata: { name: TOKEN } }), TOKEN);

  for (const persona of PERSONAS) {
    for (const b of persona.user ?? []) {
      await bind(`User:${persona.name}`, b);
      await bind(`User:token:${persona.name}`, b);
    }
    for (const b of persona.group ?? []) for (const g of persona.groups ?? []) await bind(`Group:${g}`, b);
    const tls = { ca: world.serverCa.certPem };
    for (const column of COLUMNS) {
      let creds: Credentials;
      if (persona.name === 'anon') creds = { headers: {}, tls };
      else if (column === 'mtls') {
        const cert = issue(world.clientCa, { cn: persona.name, o: persona.groups ?? [], eku: 'clientAuth' });
        creds = { headers: {}, tls: { ...tls, cert: cert.certPem, key: cert.keyPem } };
      } else if (column === 'oidc') {
        creds = { headers: { authorization: `Bearer ${await world.issuer.mint({ sub: persona.name, groups: persona.groups ?? [] })}` }, tls };
      } else {
        const made = await ok(boot.post(`${DREY}/api-tokens`, { metadata: { name: persona.name } }), `token ${persona.name}`);
        creds = { headers: { authorization: `Bearer ${made.body.token}` }, tls };
      }
      credentials.set(keyOf(column, persona), creds);
      clients.set(keyOf(column, persona), apiClient(world.drey.url, creds));
    }
  }
}, 120_000);

afterAll(async () => {
  for (const agent of agents.values()) agent.destroy();
  await world?.stop();
});

it('has a row for every route of ACCESS, ACCESS_DREY and the web UI, and no row for a route that is not there', () => {
  const rowRoutes = new Set(COLUMNS.flatMap((c) => rowsOf(c).map((r) => r.route)));
  expect([...rowRoutes].sort()).toEqual([...new Set(ROUTES)].sort());
});

describe.each(COLUMNS)('%s', (column) => {
  // grp is bound through its group; API tokens carry no groups, so that persona has no apiToken rows
  it.each(rowsOf(column).map((r) => [r.title, r] as const))('%s', async (_title, row) => {
    const vars = new Map(found);
    await row.setup?.(vars);
    const fill = (s: string) => s.replace(/\{[^}]+\}/g, (m) => vars.get(m) ?? m);
    const path = fill(row.path);
    const before = row.expected < 300 ? await row.before?.() : undefined;
    const key = keyOf(column, row.persona);
    exercised.add(row.route);
    const id = `matrix-${sent.size + 1}`;
    const creds = credentials.get(key)!;
    const res = row.raw
      ? await rawRequest({ ...creds, headers: { ...creds.headers, 'x-request-id': id } }, key, row.method, path)
      : await clients.get(key)!.request(row.method, path, row.body, { headers: { 'x-request-id': id } });
    const user = who(column, row.persona)?.user;
    sent.set(id, { method: row.method, status: res.status, principal: user === undefined ? 'User:system:anonymous' : `User:${user}` });
    // the body rides along so that a wrong status shows what drey said
    expect({ status: res.status, text: res.text.slice(0, 600) }).toEqual({ status: row.expected, text: expect.any(String) });
    const p = who(column, row.persona);
    if (row.expected === 401) {
      expect(JSON.parse(res.text)).toEqual({ errors: [{ message: 'Authentication is required' }] });
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="drey"');
    } else if (row.expected === 403) {
      expect(JSON.parse(res.text).errors[0].message).toMatch(new RegExp(`^User:${p!.user} may not `));
      if (row.pair !== undefined) {
        const pairKey = `${key} ${row.pair}`;
        const name = row.name === undefined ? '' : fill(row.name);
        const reason = refusedOn(p!, row.need);
        if (row.existing) refusals.set(pairKey, { text: res.text, name, reason });
        else {
          const twin = refusals.get(pairKey);
          if (twin?.reason === reason) expect(res.text).toBe(twin.text.split(twin.name).join(name));
        }
      }
    } else if (row.expected < 300 && row.check) {
      await row.check({ ...res, body: res.text ? JSON.parse(res.text) : undefined }, p!, before);
    }
    if (row.method === 'DELETE' && res.status === 204 && row.route.endsWith('/role-bindings/:id')) held.delete(path.slice(path.lastIndexOf('/') + 1));
  });
});

it('sent a request to every route', () => {
  expect(ROUTES.filter((r) => !exercised.has(r))).toEqual([]);
});

it('recorded every write and every refusal of the run in the audit trail exactly once, with its principal and status, and nothing else', async () => {
  // reading the trail through the API stores every event recorded before it
  expect((await world.as('bootstrap').then((c) => c.get('/drey/api/v1/audit-events?limit=1'))).status).toBe(200);
  const rows = await query<{ requestId: string; principal: string; status: number; outcome: string }>(
    world.drey.databaseUrl,
    `SELECT "requestId", principal, status, outcome FROM "AuditEvent" WHERE "requestId" LIKE 'matrix-%' ORDER BY seq`,
  );
  const recorded = new Map<string, { principal: string; status: number }[]>();
  for (const r of rows) recorded.set(r.requestId, [...(recorded.get(r.requestId) ?? []), { principal: r.principal, status: r.status }]);
  const expected = [...sent].filter(([, s]) => !['GET', 'HEAD'].includes(s.method) || [401, 403, 429].includes(s.status));
  expect(expected.length).toBeGreaterThan(1000);
  expect(Object.fromEntries([...recorded].sort(([a], [b]) => a.localeCompare(b)))).toEqual(
    Object.fromEntries(expected.map(([id, s]) => [id, [{ principal: s.principal, status: s.status }]]).sort(([a], [b]) => String(a).localeCompare(String(b)))),
  );
});
