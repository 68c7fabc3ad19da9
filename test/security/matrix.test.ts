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
import { ENVIRONMENT_KINDS, type EnvironmentKind, type Kind, type ResourceRef, type Verb } from '../../src/security/resources.js';
import { apiClient, type TestResponse } from '../support/api.js';
import { API_VERSION, application, computePool, secret, secretMapping, statement } from '../support/fixtures.js';
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
    if (!['User:' + p.user, ...p.groups.map((g) => `Group:${g}`)].includes(b.subject)) return false;
    const environment = b.scope === 'cmf' ? undefined : b.scope.slice(4);
    const kinds: Kind[] = b.resource ? [b.resource.kind] : environment ? [...ENVIRONMENT_KINDS] : ['FlinkEnvironment', 'FlinkCatalog', 'FlinkSecret', 'RoleBinding', 'ApiToken', 'AuditEvent', 'Encryption'];
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
  /** The path; `{…}` placeholders are filled in by `setup`. */
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

/**
 * The target of a DELETE: the seeded object where the model refuses to delete it (so a refusal is
 * tried on something real), else a fresh one the bootstrap user makes first.
 */
function deletion(
  p: ModelPrincipal | undefined,
  seededNeed: Need,
  seeded: string,
  make: () => { name: string; need: Need; setup: Case['setup'] },
): { name: string; need: Need; setup?: Case['setup'] } {
  return p && allowed(p, seededNeed) ? make() : { name: seeded, need: seededNeed };
}

/** Every case a principal meets in a column. */
function casesFor(column: Column, p: ModelPrincipal | undefined): Case[] {
  const cases: Case[] = [];
  const add = (c: Case) => cases.push(c);
  const pairOf = (route: string, env = '') => `${route} ${env}`;

  // environments
  {
    const route = `GET ${CMF}/environments`;
    add({ route, method: 'GET', path: `${CMF}/environments?size=1000`, existing: true, need: { list: 'FlinkEnvironment', scope: 'cmf' }, success: 200, ...listed(`${CMF}/environments?size=1000`, 'FlinkEnvironment', 'cmf') });
    const post = `POST ${CMF}/environments`;
    const made = fresh('env', column);
    add({ route: post, method: 'POST', path: `${CMF}/environments`, body: { name: 'env-a', kubernetesNamespace: 'ns-a' }, existing: true, pair: post, name: 'env-a', need: { verb: 'create', ref: { kind: 'FlinkEnvironment', name: 'env-a' } }, success: 201 });
    add({ route: post, method: 'POST', path: `${CMF}/environments`, body: { name: made, kubernetesNamespace: `ns-${made}` }, existing: false, pair: post, name: made, need: { verb: 'create', ref: { kind: 'FlinkEnvironment', name: made } }, success: 201, whenMissing: 201 });
    const item = `${CMF}/environments/:envName`;
    for (const env of ENVS) {
      add({ route: `GET ${item}`, method: 'GET', path: envPath(env), existing: true, pair: pairOf(`GET ${item}`, env), name: env, need: { verb: 'view', ref: { kind: 'FlinkEnvironment', name: env } }, success: 200 });
      add({ route: `GET ${item}`, method: 'GET', path: envPath(MISSING_ENV), existing: false, pair: pairOf(`GET ${item}`, env), name: MISSING_ENV, need: { verb: 'view', ref: { kind: 'FlinkEnvironment', name: MISSING_ENV } }, success: 200 });
    }
    const del = (name: string): Need => ({ verb: 'delete', ref: { kind: 'FlinkEnvironment', name } });
    const target = deletion(p, del('env-b'), 'env-b', () => {
      const name = fresh('env', column);
      return { name, need: del(name), setup: async () => void (await ok(boot.post(`${CMF}/environments`, { name, kubernetesNamespace: `ns-${name}` }), name)) };
    });
    add({ route: `DELETE ${item}`, method: 'DELETE', path: envPath(target.name), existing: true, pair: `DELETE ${item}`, name: target.name, need: target.need, setup: target.setup, success: 200 });
    add({ route: `DELETE ${item}`, method: 'DELETE', path: envPath(MISSING_ENV), existing: false, pair: `DELETE ${item}`, name: MISSING_ENV, need: del(MISSING_ENV), success: 200 });
  }

  // the kinds that live in an environment
  for (const [kind, k] of Object.entries(ENV_KINDS) as [EnvironmentKind, (typeof ENV_KINDS)[EnvironmentKind]][]) {
    const collection = `${CMF}/environments/:envName/${k.segment}`;
    const item = `${collection}/:${k.param}`;
    const ref = (env: string, name: string): ResourceRef => ({ kind, environment: env, name });
    const missing = `${k.prefix}-missing`;
    for (const env of ENVS) {
      const base = `${envPath(env)}/${k.segment}`;
      const list = `${base}?size=1000`;
      add({ route: `GET ${collection}`, method: 'GET', path: list, existing: true, pair: pairOf(`GET ${collection}`, env), name: env, need: { list: kind, scope: `env:${env}` }, success: 200, ...listed(list, kind, `env:${env}`) });
      add({ route: `GET ${collection}`, method: 'GET', path: `${envPath(MISSING_ENV)}/${k.segment}`, existing: false, pair: pairOf(`GET ${collection}`, env), name: MISSING_ENV, need: { list: kind, scope: `env:${MISSING_ENV}` }, success: 200 });

      const create = (name: string): Need => ({ verb: 'create', ref: ref(env, name), ...(k.refs ? { refs: k.refs(env) } : {}) });
      const made = fresh(k.prefix, column);
      add({ route: `POST ${collection}`, method: 'POST', path: base, body: k.body(env, k.seeded(env)), existing: true, pair: pairOf(`POST ${collection}`, env), name: k.seeded(env), need: create(k.seeded(env)), success: k.again });
      add({ route: `POST ${collection}`, method: 'POST', path: base, body: k.body(env, made), existing: false, pair: pairOf(`POST ${collection}`, env), name: made, need: create(made), success: k.again, whenMissing: k.created });

      const get = (name: string): Need => ({ verb: 'view', ref: ref(env, name) });
      add({ route: `GET ${item}`, method: 'GET', path: `${base}/${k.seeded(env)}`, existing: true, pair: pairOf(`GET ${item}`, env), name: k.seeded(env), need: get(k.seeded(env)), success: 200 });
      add({ route: `GET ${item}`, method: 'GET', path: `${base}/${missing}`, existing: false, pair: pairOf(`GET ${item}`, env), name: missing, need: get(missing), success: 200 });

      if (k.put) {
        const put = (name: string): Need => ({ verb: 'update', ref: ref(env, name), ...(kind === 'FlinkSecretMapping' && k.refs ? { refs: k.refs(env) } : {}) });
        add({ route: `PUT ${item}`, method: 'PUT', path: `${base}/${k.seeded(env)}`, body: k.body(env, k.seeded(env)), existing: true, pair: pairOf(`PUT ${item}`, env), name: k.seeded(env), need: put(k.seeded(env)), success: 200 });
        add({ route: `PUT ${item}`, method: 'PUT', path: `${base}/${missing}`, body: k.body(env, missing), existing: false, pair: pairOf(`PUT ${item}`, env), name: missing, need: put(missing), success: 200 });
      }

      const del = (name: string): Need => ({ verb: 'delete', ref: ref(env, name) });
      const target = deletion(p, del(k.seeded(env)), k.seeded(env), () => {
        const name = fresh(k.prefix, column);
        return { name, need: del(name), setup: async () => void (await ok(boot.post(base, k.body(env, name)), `${base}/${name}`)) };
      });
      add({ route: `DELETE ${item}`, method: 'DELETE', path: `${base}/${target.name}`, existing: true, pair: pairOf(`DELETE ${item}`, env), name: target.name, need: target.need, setup: target.setup, success: k.deleted });
      add({ route: `DELETE ${item}`, method: 'DELETE', path: `${base}/${missing}`, existing: false, pair: pairOf(`DELETE ${item}`, env), name: missing, need: del(missing), success: k.deleted });
    }
  }

  // what hangs off an application or a statement, and the Flink web UI
  const APP = `${CMF}/environments/:envName/applications/:appName`;
  const STMT = `${CMF}/environments/:envName/statements/:stmtName`;
  for (const env of ENVS) {
    const app = (name: string) => `${envPath(env)}/applications/${name}`;
    const onApp = (verb: Verb, name: string): Need => ({ verb, ref: { kind: 'FlinkApplication', environment: env, name } });
    const appRows: [Method, string, string, Verb, number, boolean?][] = [
      ['POST', `${APP}/suspend`, '/suspend', 'update', 200],
      ['POST', `${APP}/start`, '/start', 'update', 200],
      ['GET', `${APP}/instances`, '/instances', 'view', 200],
      ['GET', `${APP}/instances/:instName`, `/instances/{instance-${env}}`, 'view', 200],
      // the simulated cluster runs no JobManager: an allowed request reaches the proxy, which answers 503
      ['GET', WEB_UI, '/flink-web-ui/overview', 'view', 503, true],
      ['POST', WEB_UI, '/flink-web-ui/jobs/j1/savepoints', 'update', 503, true],
    ];
    for (const [method, route, rest, verb, success, raw] of appRows) {
      const key = `${method} ${route}`;
      add({ route: key, method, path: app(SEEDED[env].app) + rest, raw, existing: true, pair: pairOf(key, env), name: SEEDED[env].app, need: onApp(verb, SEEDED[env].app), success });
      add({ route: key, method, path: app('app-missing') + rest, raw, existing: false, pair: pairOf(key, env), name: 'app-missing', need: onApp(verb, 'app-missing'), success });
    }
    const jars = `POST ${WEB_UI}/jars/upload`;
    add({ route: jars, method: 'POST', path: `${app(SEEDED[env].app)}/flink-web-ui/jars/upload`, raw: true, existing: true, pair: pairOf(jars, env), name: SEEDED[env].app, need: { superUser: true }, success: 503 });
    add({ route: jars, method: 'POST', path: `${app('app-missing')}/flink-web-ui/jars/upload`, raw: true, existing: false, pair: pairOf(jars, env), name: 'app-missing', need: { superUser: true }, success: 503 });
    const events = `GET /cmf/api/v1alpha1/environments/:envName/applications/:appName/events`;
    for (const [name, existing] of [[SEEDED[env].app, true], ['app-missing', false]] as const) {
      add({ route: events, method: 'GET', path: `/cmf/api/v1alpha1/environments/${env}/applications/${name}/events`, existing, pair: pairOf(events, env), name, need: onApp('view', name), success: 200 });
    }
    // statement results and exceptions need edit rights, as in CMF
    for (const rest of ['results', 'exceptions']) {
      const key = `GET ${STMT}/${rest}`;
      for (const [name, existing] of [[SEEDED[env].statement, true], ['st-missing', false]] as const) {
        add({ route: key, method: 'GET', path: `${envPath(env)}/statements/${name}/${rest}`, existing, pair: pairOf(key, env), name, need: { verb: 'update', ref: { kind: 'FlinkStatement', environment: env, name } }, success: 200 });
      }
    }
  }

  // secrets and catalogs, at the scope of the whole installation
  const cmfKinds = [
    { kind: 'FlinkSecret' as const, base: `${CMF}/secrets`, param: 'secretName', prefix: 'sec', seeded: SEEDED['env-a'].secret, body: (n: string) => secret(n, { k: 'v' }), created: 200, put: 200, deleted: 204 },
    { kind: 'FlinkCatalog' as const, base: CATALOGS, param: 'catName', prefix: 'cat', seeded: CATALOG, body: catalog, created: 200, put: 200, deleted: 204 },
  ];
  for (const k of cmfKinds) {
    const item = `${k.base}/:${k.param}`;
    const on = (verb: Verb, name: string): Need => ({ verb, ref: { kind: k.kind, name } });
    const missing = `${k.prefix}-missing`;
    add({ route: `GET ${k.base}`, method: 'GET', path: `${k.base}?size=1000`, existing: true, need: { list: k.kind, scope: 'cmf' }, success: 200, ...listed(`${k.base}?size=1000`, k.kind, 'cmf') });
    const made = fresh(k.prefix, column);
    add({ route: `POST ${k.base}`, method: 'POST', path: k.base, body: k.body(k.seeded), existing: true, pair: `POST ${k.base}`, name: k.seeded, need: on('create', k.seeded), success: 409 });
    add({ route: `POST ${k.base}`, method: 'POST', path: k.base, body: k.body(made), existing: false, pair: `POST ${k.base}`, name: made, need: on('create', made), success: 409, whenMissing: k.created });
    for (const [method, verb, success] of [['GET', 'view', 200], ['PUT', 'update', k.put]] as const) {
      add({ route: `${method} ${item}`, method, path: `${k.base}/${k.seeded}`, body: method === 'PUT' ? k.body(k.seeded) : undefined, existing: true, pair: `${method} ${item}`, name: k.seeded, need: on(verb, k.seeded), success });
      add({ route: `${method} ${item}`, method, path: `${k.base}/${missing}`, body: method === 'PUT' ? k.body(missing) : undefined, existing: false, pair: `${method} ${item}`, name: missing, need: on(verb, missing), success });
    }
    const target = deletion(p, on('delete', k.seeded), k.seeded, () => {
      const name = fresh(k.prefix, column);
      return { name, need: on('delete', name), setup: async () => void (await ok(boot.post(k.base, k.body(name)), name)) };
    });
    add({ route: `DELETE ${item}`, method: 'DELETE', path: `${k.base}/${target.name}`, existing: true, pair: `DELETE ${item}`, name: target.name, need: target.need, setup: target.setup, success: k.deleted });
    add({ route: `DELETE ${item}`, method: 'DELETE', path: `${k.base}/${missing}`, existing: false, pair: `DELETE ${item}`, name: missing, need: on('delete', missing), success: k.deleted });
  }

  // a catalog's databases are parts of the catalog: reading them needs view on it, changing them update
  {
    const dbs = `${CATALOGS}/:catName/databases`;
    const item = `${dbs}/:dbName`;
    const on = (verb: Verb, name = CATALOG): Need => ({ verb, ref: { kind: 'FlinkCatalog', name } });
    const base = `${CATALOGS}/${CATALOG}/databases`;
    add({ route: `GET ${dbs}`, method: 'GET', path: base, existing: true, pair: `GET ${dbs}`, name: CATALOG, need: on('view'), success: 200 });
    add({ route: `GET ${dbs}`, method: 'GET', path: `${CATALOGS}/cat-missing/databases`, existing: false, pair: `GET ${dbs}`, name: 'cat-missing', need: on('view', 'cat-missing'), success: 200 });
    const made = fresh('db', column);
    add({ route: `POST ${dbs}`, method: 'POST', path: base, body: database(DATABASE), existing: true, pair: `POST ${dbs}`, name: DATABASE, need: on('update'), success: 409 });
    add({ route: `POST ${dbs}`, method: 'POST', path: base, body: database(made), existing: false, pair: `POST ${dbs}`, name: made, need: on('update'), success: 409, whenMissing: 200 });
    for (const [method, verb] of [['GET', 'view'], ['PUT', 'update']] as const) {
      add({ route: `${method} ${item}`, method, path: `${base}/${DATABASE}`, body: method === 'PUT' ? database(DATABASE) : undefined, existing: true, pair: `${method} ${item}`, name: DATABASE, need: on(verb), success: 200 });
      add({ route: `${method} ${item}`, method, path: `${base}/db-missing`, body: method === 'PUT' ? database('db-missing') : undefined, existing: false, pair: `${method} ${item}`, name: 'db-missing', need: on(verb), success: 200 });
    }
    const target = deletion(p, on('update'), DATABASE, () => {
      const name = fresh('db', column);
      return { name, need: on('update'), setup: async () => void (await ok(boot.post(base, database(name)), name)) };
    });
    add({ route: `DELETE ${item}`, method: 'DELETE', path: `${base}/${target.name}`, existing: true, pair: `DELETE ${item}`, name: target.name, need: target.need, setup: target.setup, success: 204 });
    add({ route: `DELETE ${item}`, method: 'DELETE', path: `${base}/db-missing`, existing: false, pair: `DELETE ${item}`, name: 'db-missing', need: on('update'), success: 204 });
  }

  // drey's own routes
  add({
    route: `GET ${DREY}/whoami`,
    method: 'GET',
    path: `${DREY}/whoami`,
    existing: true,
    need: { anyone: true },
    success: 200,
    check: (res, q) => expect(res.body).toMatchObject({ user: q.user, groups: q.groups, authenticator: column, superUser: q.superUser }),
  });
  add({ route: `GET ${DREY}/access-rules`, method: 'GET', path: `${DREY}/access-rules`, existing: true, need: { anyone: true }, success: 200, check: (res, q) => expect(res.body.superUser).toBe(q.superUser) });
  const reviews = `POST ${DREY}/access-reviews`;
  for (const env of ENVS) {
    for (const [name, existing] of [[SEEDED[env].app, true], ['app-missing', false]] as const) {
      const ref: ResourceRef = { kind: 'FlinkApplication', environment: env, name };
      const resource = { kind: ref.kind, environment: env, name };
      // about oneself: anyone may ask, and the answer is the model's
      add({ route: reviews, method: 'POST', path: `${DREY}/access-reviews`, body: { verb: 'update', resource }, existing, need: { anyone: true }, success: 200, whenMissing: 200, check: (res, q) => expect(res.body.allowed).toBe(can(BINDINGS, q, 'update', ref)) });
      // about someone else (dr): only who may bind it
      const dr: ModelPrincipal = { user: 'dr', groups: [] };
      add({
        route: reviews,
        method: 'POST',
        path: `${DREY}/access-reviews`,
        body: { user: 'dr', verb: 'view', resource },
        existing,
        pair: pairOf(`${reviews} others`, env),
        name,
        need: { review: ref },
        success: 200,
        whenMissing: 200,
        check: (res) => expect(res.body.allowed).toBe(can(BINDINGS, dr, 'view', ref)),
      });
    }
  }

  const bindings = `${DREY}/role-bindings`;
  add({
    route: `GET ${bindings}`,
    method: 'GET',
    path: bindings,
    existing: true,
    need: { bindings: true },
    success: 200,
    check: (res, q) => {
      const ids = (res.body.items as { id: string }[]).map((b) => b.id).sort();
      expect(ids).toEqual([...held].filter(([, b]) => mayGrant(BINDINGS, q, b)).map(([id]) => id).sort());
    },
  });
  // grants to a subject of its own, so no principal of the matrix gains anything
  const grants: [string, BindingBody, BindingBody][] = [
    ...ENVS.map((env): [string, BindingBody, BindingBody] => [
      env,
      { role: 'DeveloperRead', environment: env, resource: { resourceType: 'FlinkApplication', name: SEEDED[env].app } },
      { role: 'DeveloperRead', environment: MISSING_ENV, resource: { resourceType: 'FlinkApplication', name: SEEDED[env].app } },
    ]),
    ...ENVS.map((env): [string, BindingBody, BindingBody] => [`cluster ${env}`, { role: 'ClusterAdmin', environment: env }, { role: 'ClusterAdmin', environment: MISSING_ENV }]),
  ];
  for (const [label, existingBody, missingBody] of grants) {
    const subject = `User:${fresh('rb', column)}` as const;
    for (const [body, existing, name] of [[existingBody, true, existingBody.environment!], [missingBody, false, MISSING_ENV]] as const) {
      add({
        route: `POST ${bindings}`,
        method: 'POST',
        path: bindings,
        body: { principal: subject, ...body },
        existing,
        pair: pairOf(`POST ${bindings}`, label),
        name,
        need: { grant: modelBinding(subject, body) },
        success: 201,
        whenMissing: 201,
        check: (res) => void held.set(res.body.id, modelBinding(subject, body)),
      });
    }
  }
  {
    const subject = `User:${fresh('rb', column)}` as const;
    const grant = modelBinding(subject, { role: 'UserAdmin' });
    add({ route: `POST ${bindings}`, method: 'POST', path: bindings, body: { principal: subject, role: 'UserAdmin' }, existing: true, need: { grant }, success: 201, check: (res) => void held.set(res.body.id, grant) });
  }
  const unbinds: BindingBody[] = [
    ...ENVS.map((env): BindingBody => ({ role: 'DeveloperRead', environment: env, resource: { resourceType: 'FlinkApplication', name: SEEDED[env].app } })),
    { role: 'UserAdmin' },
  ];
  for (const body of unbinds) {
    const subject = `User:${fresh('rb', column)}` as const;
    const slot = `{binding-${subject.slice(5)}}`;
    const label = `${body.role} ${body.environment ?? 'cmf'}`;
    add({
      route: `DELETE ${bindings}/:id`,
      method: 'DELETE',
      path: `${bindings}/${slot}`,
      existing: true,
      pair: pairOf(`DELETE ${bindings}`, label),
      name: slot,
      need: { ungrant: modelBinding(subject, body) },
      success: 204,
      setup: async (vars) => void vars.set(slot, await bind(subject, body)),
    });
    add({ route: `DELETE ${bindings}/:id`, method: 'DELETE', path: `${bindings}/${MISSING_BINDING}`, existing: false, pair: pairOf(`DELETE ${bindings}`, label), name: MISSING_BINDING, need: { ungrant: undefined }, success: 204 });
  }

  const tokens = `${DREY}/api-tokens`;
  const onToken = (verb: Verb, name?: string): Need => ({ verb, ref: { kind: 'ApiToken', ...(name ? { name } : {}) } });
  add({ route: `GET ${tokens}`, method: 'GET', path: tokens, existing: true, need: onToken('view'), success: 200 });
  const tokenMade = fresh('tok', column);
  add({ route: `POST ${tokens}`, method: 'POST', path: tokens, body: { metadata: { name: TOKEN } }, existing: true, pair: `POST ${tokens}`, name: TOKEN, need: onToken('create', TOKEN), success: 409 });
  add({ route: `POST ${tokens}`, method: 'POST', path: tokens, body: { metadata: { name: tokenMade } }, existing: false, pair: `POST ${tokens}`, name: tokenMade, need: onToken('create', tokenMade), success: 409, whenMissing: 201 });
  add({ route: `GET ${tokens}/:name`, method: 'GET', path: `${tokens}/${TOKEN}`, existing: true, pair: `GET ${tokens}/:name`, name: TOKEN, need: onToken('view', TOKEN), success: 200 });
  add({ route: `GET ${tokens}/:name`, method: 'GET', path: `${tokens}/tok-missing`, existing: false, pair: `GET ${tokens}/:name`, name: 'tok-missing', need: onToken('view', 'tok-missing'), success: 200 });
  const revoke = deletion(p, onToken('delete', TOKEN), TOKEN, () => {
    const name = fresh('tok', column);
    return { name, need: onToken('delete', name), setup: async () => void (await ok(boot.post(tokens, { metadata: { name } }), name)) };
  });
  add({ route: `DELETE ${tokens}/:name`, method: 'DELETE', path: `${tokens}/${revoke.name}`, existing: true, pair: `DELETE ${tokens}/:name`, name: revoke.name, need: revoke.need, setup: revoke.setup, success: 200 });
  add({ route: `DELETE ${tokens}/:name`, method: 'DELETE', path: `${tokens}/tok-missing`, existing: false, pair: `DELETE ${tokens}/:name`, name: 'tok-missing', need: onToken('delete', 'tok-missing'), success: 200 });

  add({ route: `GET ${DREY}/audit-events`, method: 'GET', path: `${DREY}/audit-events?limit=1`, existing: true, need: { verb: 'view', ref: { kind: 'AuditEvent' } }, success: 200 });
  add({ route: `GET ${DREY}/encryption`, method: 'GET', path: `${DREY}/encryption`, existing: true, need: { verb: 'view', ref: { kind: 'Encryption' } }, success: 200 });
  add({ route: `POST ${DREY}/encryption/rewrap`, method: 'POST', path: `${DREY}/encryption/rewrap`, existing: true, need: { verb: 'update', ref: { kind: 'Encryption' } }, success: 202 });
  return cases;
}

/** Every route a row must exercise: each method of ACCESS and ACCESS_DREY, and the web UI's three kinds of request. */
const ROUTES = [
  ...[ACCESS, ACCESS_DREY].flatMap((table) => Object.entries(table).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))),
  `GET ${WEB_UI}`,
  `POST ${WEB_UI}`,
  `POST ${WEB_UI}/jars/upload`,
];

function rowsOf(column: Column): Row[] {
  return PERSONAS.filter((persona) => column !== 'apiToken' || persona.group === undefined).flatMap((persona) => {
    const p = who(column, persona);
    return casesFor(column, p).map((c): Row => {
      const expected = !p ? 401 : !allowed(p, c.need) ? 403 : c.existing ? c.success : (c.whenMissing ?? 404);
      return { ...c, column, persona, expected, title: `${column} ${persona.name} ${c.method} ${c.path} → ${expected}` };
    });
  });
}

/** Routes a row sent a request to. */
const exercised = new Set<string>();
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
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: { get: (n) => (res.headers[n.toLowerCase()] as string | undefined) ?? null } }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  world = await startSecureDrey({ CMF_SUPER_USERS: 'User:super,User:token:super', CMF_RATE_LIMIT_PER_MIN: '0' });
  boot = await world.as('bootstrap');
  for (const env of ENVS) {
    const s = SEEDED[env];
    await ok(boot.post(`${CMF}/environments`, { name: env, kubernetesNamespace: env === 'env-a' ? 'ns-a' : 'ns-b' }), env);
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
    const res = row.raw
      ? await rawRequest(credentials.get(key)!, key, row.method, path)
      : await clients.get(key)!.request(row.method, path, row.body);
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
