/**
 * Object-level checks: a principal bound in environment env-a cannot read, list, guess or reference
 * anything in env-b, and gets the same 403, byte for byte, whether what it asks about exists or
 * not (so a refusal is no existence oracle). The same requests are sent before env-b exists and
 * after, and the answers compared.
 */
import { issue } from '../support/pki.js';
import { application, computePool, environment, secret, secretMapping, statement } from '../support/fixtures.js';
import { rawRequest, type RawResponse, type RawTls } from '../support/rawHttps.js';
import { startSecureDrey, type Client, type SecureDrey } from '../support/secureDrey.js';

const ENVS = '/cmf/api/v1/environments';
const BINDINGS = '/drey/api/v1/role-bindings';
/** In every object of env-b, so that any answer carrying env-b's data shows it. */
const MARKER = 'marker-b';

/** How a principal reaches drey here: its TLS options and headers. */
interface Caller {
  name: string;
  tls: RawTls;
  headers: Record<string, string>;
}

let world: SecureDrey;
let admin: Client;
const callers: Record<string, Caller> = {};

function send(who: string, method: string, path: string, body?: unknown): Promise<RawResponse> {
  const c = callers[who]!;
  return rawRequest(world.drey.url, { method, path, headers: c.headers, tls: c.tls, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

/** Everything in one environment: an application, a compute pool, a statement on it, a mapping to `secretName`. */
async function seedEnvironment(env: string, suffix: string, secretName: string): Promise<void> {
  const marked = suffix === 'b';
  const ok = async (path: string, body: unknown) => {
    const res = await admin.post(path, body);
    expect({ path, created: res.status < 300 }).toEqual({ path, created: true });
  };
  await ok(ENVS, environment(env, marked ? `ns-${MARKER}` : `ns-${suffix}`));
  await ok(`${ENVS}/${env}/applications`, application(`app-${suffix}`, marked ? { flinkConfiguration: { marker: MARKER } } : {}));
  await ok(`${ENVS}/${env}/compute-pools`, computePool(`pool-${suffix}`, marked ? { flinkConfiguration: { marker: MARKER } } : {}));
  await ok(`${ENVS}/${env}/statements`, statement(`stmt-${suffix}`, `SELECT '${marked ? MARKER : 'a'}'`, `pool-${suffix}`));
  await ok(`${ENVS}/${env}/secret-mappings`, secretMapping(`map-${suffix}`, secretName));
}

async function bind(principal: string, role: string, resource?: { resourceType: string; name: string }, environmentName?: string): Promise<void> {
  const res = await admin.post(BINDINGS, { principal, role, ...(environmentName ? { environment: environmentName } : {}), ...(resource ? { resource } : {}) });
  expect(res.status).toBe(201);
}

const ENV_KINDS = ['FlinkApplication', 'FlinkStatement', 'FlinkComputePool', 'FlinkSecretMapping'];

/** Every request on an environment's objects, by method and path (and body for writes). */
function operations(env: string, s: string): [string, string, unknown?][] {
  const e = `${ENVS}/${env}`;
  const app = `${e}/applications/app-${s}`;
  return [
    ['GET', e],
    ['DELETE', e],
    ['POST', ENVS, environment(env, `ns-${s}`)],
    ['GET', `${e}/applications`],
    ['POST', `${e}/applications`, application(`app-${s}`)],
    ['GET', app],
    ['DELETE', app],
    ['POST', `${app}/start`],
    ['POST', `${app}/suspend`],
    ['GET', `${app}/instances`],
    ['GET', `${app}/instances/1`],
    ['GET', `/cmf/api/v1alpha1/environments/${env}/applications/app-${s}/events`],
    ['GET', `${app}/flink-web-ui/`],
    ['GET', `${app}/flink-web-ui/jobs/overview`],
    ['POST', `${app}/flink-web-ui/jobs/0000/savepoints`, {}],
    ['GET', `${e}/statements`],
    ['POST', `${e}/statements`, statement(`stmt-${s}`, 'SELECT 1', `pool-${s}`)],
    ['GET', `${e}/statements/stmt-${s}`],
    ['PUT', `${e}/statements/stmt-${s}`, statement(`stmt-${s}`, 'SELECT 1', `pool-${s}`)],
    ['DELETE', `${e}/statements/stmt-${s}`],
    ['GET', `${e}/statements/stmt-${s}/results`],
    ['GET', `${e}/statements/stmt-${s}/exceptions`],
    ['GET', `${e}/compute-pools`],
    ['POST', `${e}/compute-pools`, computePool(`pool-${s}`)],
    ['GET', `${e}/compute-pools/pool-${s}`],
    ['DELETE', `${e}/compute-pools/pool-${s}`],
    ['GET', `${e}/secret-mappings`],
    ['POST', `${e}/secret-mappings`, secretMapping(`map-${s}`, 'secret-a')],
    ['GET', `${e}/secret-mappings/map-${s}`],
    ['PUT', `${e}/secret-mappings/map-${s}`, secretMapping(`map-${s}`, 'secret-a')],
    ['DELETE', `${e}/secret-mappings/map-${s}`],
  ];
}

/** The two principals bound in env-a only (plus view on secret-a, which env-a's mapping names). */
const PRINCIPALS = ['cluster-admin', 'developer'] as const;
const OPS_B = operations('env-b', 'b');
const OPS_MISSING = operations('env-missing', 'b');
const rows = PRINCIPALS.flatMap((who) => [...OPS_B, ...OPS_MISSING].map(([method, path], i) => [who, method, path, i] as const));

/** Answers to every row before env-b existed, then after it was seeded, by row. */
const before = new Map<string, RawResponse>();
const after = new Map<string, RawResponse>();
const rowKey = (who: string, i: number) => `${who} ${i}`;

async function answerAll(into: Map<string, RawResponse>): Promise<void> {
  for (const who of PRINCIPALS) {
    const ops = [...OPS_B, ...OPS_MISSING];
    for (let i = 0; i < ops.length; i++) {
      const [method, path, body] = ops[i]!;
      into.set(rowKey(who, i), await send(who, method, path, body));
    }
  }
}

beforeAll(async () => {
  world = await startSecureDrey({ CMF_RATE_LIMIT_PER_MIN: '1000000', CMF_RATE_LIMIT_BURST: '1000000' });
  admin = await world.as('bootstrap');
  for (const name of ['secret-a', 'secret-b']) expect((await admin.post('/cmf/api/v1/secrets', secret(name))).status).toBe(200);
  await seedEnvironment('env-a', 'a', 'secret-a');

  // cluster-admin by client certificate, developer and statement-author by OIDC token
  const ca = { ca: world.serverCa.certPem };
  const cert = issue(world.clientCa, { cn: 'cluster-admin', eku: 'clientAuth' });
  callers['cluster-admin'] = { name: 'cluster-admin', tls: { ...ca, cert: cert.certPem, key: cert.keyPem }, headers: {} };
  for (const name of ['developer', 'statement-author']) {
    callers[name] = { name, tls: ca, headers: { authorization: `Bearer ${await world.issuer.mint({ sub: name, groups: [] })}` } };
  }
  await bind('User:cluster-admin', 'ClusterAdmin', undefined, 'env-a');
  for (const kind of ENV_KINDS) await bind('User:developer', 'DeveloperManage', { resourceType: kind, name: '*' }, 'env-a');
  for (const who of PRINCIPALS) await bind(`User:${who}`, 'DeveloperRead', { resourceType: 'FlinkSecret', name: 'secret-a' });
  // statement-author may write statements and mappings in env-a, but see no compute pool and no secret
  for (const kind of ['FlinkStatement', 'FlinkSecretMapping']) await bind('User:statement-author', 'DeveloperManage', { resourceType: kind, name: '*' }, 'env-a');

  await answerAll(before);
  await seedEnvironment('env-b', 'b', 'secret-b');
  await answerAll(after);
}, 180_000);
afterAll(() => world?.stop());

describe('a principal bound in env-a only, on env-b and on a missing environment', () => {
  it.each(rows)('%s %s %s → 403, the same bytes whether or not it exists', (who, _method, _path, i) => {
    const [was, is] = [before.get(rowKey(who, i))!, after.get(rowKey(who, i))!];
    expect([was.status, is.status]).toEqual([403, 403]);
    expect(is.text).toBe(was.text);
    expect(is.headers['content-type']).toBe(was.headers['content-type']);
    expect(is.text).not.toContain(MARKER);
  });

  it.each(PRINCIPALS)('%s sees env-a, and only env-a, in the environment list', async (who) => {
    const res = await send(who, 'GET', ENVS);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text).items.map((e: { name: string }) => e.name)).toEqual(['env-a']);
  });

  it.each(PRINCIPALS)('%s reads env-a itself: its bindings work, so the refusals above are about env-b', async (who) => {
    for (const path of [`${ENVS}/env-a`, `${ENVS}/env-a/applications/app-a`, `${ENVS}/env-a/statements/stmt-a`, `${ENVS}/env-a/compute-pools/pool-a`, `${ENVS}/env-a/secret-mappings/map-a`]) {
      expect({ path, status: (await send(who, 'GET', path)).status }).toEqual({ path, status: 200 });
    }
  });
});

describe('path tricks never reach env-b', () => {
  const long = 'b'.repeat(254);
  const tricks: string[] = [
    `${ENVS}/env-a/../env-b/applications`,
    `${ENVS}/env-a/%2e%2e/env-b/applications`,
    `${ENVS}/env-a/applications/%2e%2e/%2e%2e/env-b/applications/app-b`,
    `${ENVS}/env-a/applications/..%2F..%2Fenv-b%2Fapplications%2Fapp-b`,
    `${ENVS}/env-a%2F..%2Fenv-b/applications`,
    `${ENVS}/env-a%2F..%2Fenv-b/applications/app-b`,
    `${ENVS}/%2e%2e/environments/env-b`,
    `${ENVS}/env-b/applications/`,
    `${ENVS}/env-b/applications/app-b/`,
    `${ENVS}/ENV-B/applications/app-b`,
    `${ENVS}/Env-B/applications`,
    `${ENVS}/env-b%00/applications`,
    `${ENVS}/env-b%20/applications`,
    `${ENVS}/env-b;x=1/applications`,
    `/${ENVS}/env-b/applications`,
    `${ENVS}//env-b/applications`,
    `/CMF/api/v1/environments/env-b/applications`,
    `${ENVS}/${long}/applications`,
    `${ENVS}/env-a/applications/${long}`,
    `${ENVS}/env-a/applications/app-a/../../../env-b/applications/app-b`,
    `${ENVS}/env-a/applications/app-a/flink-web-ui/../../../../env-b/applications/app-b`,
    `${ENVS}/env-a/applications?envName=env-b`,
    `${ENVS}/env-a/statements/stmt-a/..%2F..%2F..%2Fenv-b%2Fstatements%2Fstmt-b`,
  ];
  it.each(PRINCIPALS.flatMap((who) => tricks.map((path) => [who, path] as const)))('%s GET %s shows nothing of env-b', async (who, path) => {
    const res = await send(who, 'GET', path);
    // 503 is app-a's web UI, which the simulated cluster does not run; 500 would be a bug
    expect(res.status).not.toBe(500);
    expect(res.text).not.toContain(MARKER);
    if (res.status < 300) expect(JSON.parse(res.text).items?.map((o: { metadata: { name: string } }) => o.metadata.name) ?? []).not.toContain('app-b');
  });
});

describe('references from env-a to what the principal may not see', () => {
  it.each(PRINCIPALS)("%s: a mapping in env-a naming secret-b (which it may not view) is refused, one naming secret-a is not", async (who) => {
    const refused = await send(who, 'POST', `${ENVS}/env-a/secret-mappings`, secretMapping(`map-${who}`, 'secret-b'));
    expect(refused.status).toBe(403);
    expect(refused.text).not.toContain(MARKER);
    expect((await send(who, 'PUT', `${ENVS}/env-a/secret-mappings/map-a`, secretMapping('map-a', 'secret-b'))).status).toBe(403);
    expect((await admin.get(`${ENVS}/env-a/secret-mappings/map-a`)).body.spec.secretName).toBe('secret-a');
    expect((await admin.get(`${ENVS}/env-a/secret-mappings/map-${who}`)).status).toBe(404);
    const allowed = await send(who, 'POST', `${ENVS}/env-a/secret-mappings`, secretMapping(`map-${who}`, 'secret-a'));
    expect(allowed.status).toBe(200);
  });

  it.each(PRINCIPALS)('%s: a statement in env-a naming pool-b runs nowhere: pools are looked up in env-a, where there is none', async (who) => {
    const res = await send(who, 'POST', `${ENVS}/env-a/statements`, statement(`stmt-${who}`, 'SELECT 1', 'pool-b'));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.text).not.toContain(MARKER);
    expect((await admin.get(`${ENVS}/env-a/statements/stmt-${who}`)).status).toBe(404);
  });

  it('a statement naming a compute pool its author may not see is refused, the same whether the pool exists or not', async () => {
    const post = () => send('statement-author', 'POST', `${ENVS}/env-a/statements`, statement('stmt-author', 'SELECT 1', 'pool-late'));
    const missing = await post();
    expect((await admin.post(`${ENVS}/env-a/compute-pools`, computePool('pool-late'))).status).toBe(200);
    const existing = await post();
    expect([missing.status, existing.status]).toEqual([403, 403]);
    expect(existing.text).toBe(missing.text);
    expect((await send('statement-author', 'POST', `${ENVS}/env-a/statements`, statement('stmt-author', 'SELECT 1', 'pool-b'))).status).toBe(403);
    expect((await admin.get(`${ENVS}/env-a/statements/stmt-author`)).status).toBe(404);
  });

  it('a Kafka database may let run DDL only environments its author may see', async () => {
    const database = (name: string, ddlEnvironments: string[]) => ({
      apiVersion: 'cmf.confluent.io/v1',
      kind: 'KafkaDatabase',
      metadata: { name },
      spec: { kafkaCluster: { connectionConfig: { 'bootstrap.servers': 'kafka:9092' } }, ddlEnvironments },
    });
    expect((await admin.post('/cmf/api/v1/catalogs/kafka', { apiVersion: 'cmf.confluent.io/v1', kind: 'KafkaCatalog', metadata: { name: 'cat-refs' }, spec: { srInstance: { connectionConfig: { 'schema.registry.url': 'http://sr:8081' } } } })).status).toBe(200);
    const owner = await world.as({ oidc: 'catalog-owner' });
    await bind('User:catalog-owner', 'ResourceOwner', { resourceType: 'FlinkCatalog', name: 'cat-refs' });
    await bind('User:catalog-owner', 'DeveloperRead', { resourceType: 'FlinkApplication', name: '*' }, 'env-a');
    const refused = await owner.post('/cmf/api/v1/catalogs/kafka/cat-refs/databases', database('db-refs', ['env-a', 'env-b']));
    const refusedMissing = await owner.post('/cmf/api/v1/catalogs/kafka/cat-refs/databases', database('db-refs', ['env-a', 'env-gone']));
    expect([refused.status, refusedMissing.status]).toEqual([403, 403]);
    expect(refused.text.replace('env-b', 'X')).toBe(refusedMissing.text.replace('env-gone', 'X'));
    expect((await owner.post('/cmf/api/v1/catalogs/kafka/cat-refs/databases', database('db-refs', ['env-a']))).status).toBe(200);
    expect((await owner.put('/cmf/api/v1/catalogs/kafka/cat-refs/databases/db-refs', database('db-refs', ['env-b']))).status).toBe(403);
    expect((await admin.get('/cmf/api/v1/catalogs/kafka/cat-refs/databases/db-refs')).body.spec.ddlEnvironments).toEqual(['env-a']);
    // what an administrator lets run DDL, the owner sees only as far as it may see environments
    expect((await admin.put('/cmf/api/v1/catalogs/kafka/cat-refs/databases/db-refs', database('db-refs', ['env-a', 'env-b']))).status).toBe(200);
    expect((await owner.get('/cmf/api/v1/catalogs/kafka/cat-refs/databases/db-refs')).body.spec.ddlEnvironments).toEqual(['env-a']);
    expect((await owner.get('/cmf/api/v1/catalogs/kafka/cat-refs/databases')).body.items[0].spec.ddlEnvironments).toEqual(['env-a']);
    expect((await admin.get('/cmf/api/v1/catalogs/kafka/cat-refs/databases/db-refs')).body.spec.ddlEnvironments).toEqual(['env-a', 'env-b']);
  });

  it('a mapping naming a secret its author may not see is refused, the same whether the secret exists or not', async () => {
    const post = () => send('statement-author', 'POST', `${ENVS}/env-a/secret-mappings`, secretMapping('map-author', 'secret-late'));
    const missing = await post();
    expect((await admin.post('/cmf/api/v1/secrets', secret('secret-late'))).status).toBe(200);
    const existing = await post();
    expect([missing.status, existing.status]).toEqual([403, 403]);
    expect(existing.text).toBe(missing.text);
    expect((await admin.get(`${ENVS}/env-a/secret-mappings/map-author`)).status).toBe(404);
  });
});
