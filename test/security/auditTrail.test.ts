/**
 * The audit trail over HTTP: a mixed run of allowed, denied and failed writes, refused and
 * successful reads, by every kind of principal (bootstrap token, OIDC, client certificate, API
 * token, none, a forged token), each request with an `X-Request-Id` of the test's choosing. Then
 * every write and every refusal is in the trail exactly once, with the right principal,
 * authenticator, outcome and status; successful reads and failed reads are not; no secret value or
 * credential is in any row; and only administrators may read the trail.
 */
import { eventually } from '../support/eventually.js';
import { application, environment, secret } from '../support/fixtures.js';
import { SECRET, secretFragments } from '../support/hostile.js';
import { startSecureDrey, type Client, type SecureDrey } from '../support/secureDrey.js';

const ENVS = '/cmf/api/v1/environments';
const E = `${ENVS}/env-audit`;
const APPS = `${E}/applications`;
const SECRETS = '/cmf/api/v1/secrets';
const AUDIT = '/drey/api/v1/audit-events';
const FORGED = `drey_${'0'.repeat(32)}_${'f'.repeat(43)}`;

/** Who a request comes from, as the trail must name it. */
interface Caller {
  client: Client;
  principal: string;
  authenticator: string;
  groups: string[];
}

/** A request the test sent, and what the trail must say of it (`absent`: nothing). */
interface Sent {
  requestId: string;
  method: string;
  path: string;
  caller: Caller;
  status: number;
  outcome: 'allowed' | 'failed' | 'denied' | 'unauthenticated' | 'absent';
  /** What the client was told, for a refusal. */
  message?: string;
}

let world: SecureDrey;
let admin: Caller;
const sent: Sent[] = [];
/** Every credential the run used: none may be in a row. */
const credentials: string[] = [FORGED];

/** Sends a request with an id of its own, checks its status, and notes what the trail must hold of it. */
async function send(caller: Caller, method: string, path: string, body: unknown, status: number, outcome: Sent['outcome']): Promise<any> {
  const requestId = `audit-${sent.length + 1}`;
  const headers = { 'x-request-id': requestId, ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}) };
  const res = await caller.client.request(method, path, body, { headers });
  expect({ requestId, method, path, status: res.status }).toEqual({ requestId, method, path, status });
  sent.push({ requestId, method, path: path.split('?')[0]!, caller, status, outcome, ...(status >= 400 ? { message: res.body.errors[0].message } : {}) });
  return res.body;
}

const ANONYMOUS = { principal: 'User:system:anonymous', authenticator: 'none', groups: [] };

beforeAll(async () => {
  world = await startSecureDrey({ CMF_CONTROLLERS: 'off' });
  credentials.push(world.bootstrapToken);
  admin = { client: await world.as('bootstrap'), principal: 'User:system:bootstrap', authenticator: 'apiToken', groups: [] };
  const devToken = await world.issuer.mint({ sub: 'dev', groups: ['devs'] });
  credentials.push(devToken);
  const dev: Caller = { client: await world.as({ token: devToken }), principal: 'User:dev', authenticator: 'oidc', groups: ['devs'] };
  const carol: Caller = { client: await world.as({ mtls: 'carol', groups: ['ops'] }), principal: 'User:carol', authenticator: 'mtls', groups: ['ops'] };
  const anonymous: Caller = { client: await world.as('none'), ...ANONYMOUS };
  const forged: Caller = { client: await world.as({ token: FORGED }), ...ANONYMOUS };

  // the administrator sets up: allowed writes
  await send(admin, 'POST', ENVS, environment('env-audit', 'flink-audit'), 201, 'allowed');
  await send(admin, 'POST', SECRETS, secret('audit-creds', { password: SECRET }), 200, 'allowed');
  const binding = await send(
    admin,
    'POST',
    '/drey/api/v1/role-bindings',
    { principal: 'User:dev', role: 'ResourceOwner', environment: 'env-audit', resource: { resourceType: 'FlinkApplication', name: 'app-', patternType: 'PREFIXED' } },
    201,
    'allowed',
  );
  const made = await send(admin, 'POST', '/drey/api/v1/api-tokens', { metadata: { name: 'audit-bot' } }, 201, 'allowed');
  credentials.push(made.token);
  const bot: Caller = { client: await world.as({ token: made.token }), principal: 'User:token:audit-bot', authenticator: 'apiToken', groups: [] };

  // a developer who owns the applications named app-*
  await send(dev, 'POST', APPS, application('app-one'), 201, 'allowed');
  await send(dev, 'POST', APPS, { ...application('app-nojob'), spec: { image: 'flink:1.19' } }, 201, 'allowed');
  await send(dev, 'POST', APPS, application('other-app'), 403, 'denied');
  await send(dev, 'POST', SECRETS, secret('dev-creds', { password: SECRET }), 403, 'denied');
  await send(dev, 'POST', APPS, `{"metadata": {"name": "app-two", "password": "${SECRET}"`, 400, 'failed');
  await send(dev, 'POST', `${APPS}/app-missing/start`, undefined, 404, 'failed');
  await send(dev, 'POST', `${APPS}/app-nojob/start`, undefined, 422, 'failed');
  await send(dev, 'GET', `${APPS}/app-one`, undefined, 200, 'absent');
  await send(dev, 'GET', `${APPS}/app-missing`, undefined, 404, 'absent');
  await send(dev, 'GET', '/drey/api/v1/whoami', undefined, 200, 'absent');
  await send(dev, 'GET', SECRETS, undefined, 403, 'denied');
  await send(dev, 'GET', AUDIT, undefined, 403, 'denied');

  // the administrator again: a failed write, reads
  await send(admin, 'DELETE', E, undefined, 409, 'failed');
  await send(admin, 'GET', ENVS, undefined, 200, 'absent');
  await send(admin, 'PUT', `${SECRETS}/audit-creds`, secret('audit-creds', { password: SECRET, rotated: SECRET }), 200, 'allowed');

  // a client certificate and an API token, neither bound to anything
  await send(carol, 'POST', ENVS, environment('env-carol', 'flink-carol'), 403, 'denied');
  await send(carol, 'GET', AUDIT, undefined, 403, 'denied');
  await send(bot, 'DELETE', `${SECRETS}/audit-creds`, undefined, 403, 'denied');
  await send(bot, 'GET', AUDIT, undefined, 403, 'denied');

  // no credential, a forged one, a revoked one
  await send(anonymous, 'POST', ENVS, environment('env-anon', 'flink-anon'), 401, 'unauthenticated');
  await send(anonymous, 'GET', ENVS, undefined, 401, 'unauthenticated');
  await send(forged, 'DELETE', E, undefined, 401, 'unauthenticated');
  await send(admin, 'DELETE', `/drey/api/v1/role-bindings/${binding.id}`, undefined, 204, 'allowed');
  await send(admin, 'DELETE', '/drey/api/v1/api-tokens/audit-bot', undefined, 200, 'allowed');
  await send({ ...bot, ...ANONYMOUS }, 'POST', ENVS, environment('env-bot', 'flink-bot'), 401, 'unauthenticated');
});
afterAll(async () => world?.stop());

const recorded = () => sent.filter((s) => s.outcome !== 'absent');

/** The trail's rows, once every recorded request is in (each is recorded when its answer is out, which its client may see first). */
async function rows() {
  const ids = new Set(recorded().map((s) => s.requestId));
  return eventually('every recorded request in the trail', async () => {
    // reading the trail stores what is queued first
    expect((await admin.client.get(`${AUDIT}?limit=1000`)).status).toBe(200);
    const all = await world.drey.prisma.auditEvent.findMany({ orderBy: { seq: 'asc' } });
    return [...ids].every((id) => all.some((r) => r.requestId === id)) && all;
  });
}

describe('the audit trail of a mixed run', () => {
  it('holds every write and every refusal exactly once, with its principal, authenticator, outcome and status, and nothing else', async () => {
    const all = await rows();
    const expected = recorded().map((s) => ({
      requestId: s.requestId,
      method: s.method,
      path: s.path,
      principal: s.caller.principal,
      authenticator: s.caller.authenticator,
      groups: s.caller.groups,
      outcome: s.outcome,
      status: s.status,
      reason: s.message ?? null,
      sourceIp: '127.0.0.1',
    }));
    const got = all.map((r) => ({
      requestId: r.requestId,
      method: r.method,
      path: r.path,
      principal: r.principal,
      authenticator: r.authenticator,
      groups: r.groups,
      outcome: r.outcome,
      status: r.status,
      reason: r.reason,
      sourceIp: r.sourceIp,
    }));
    // by request id: the order rows were stored in is the trail's business
    const byId = (a: { requestId: string }, b: { requestId: string }) => a.requestId.localeCompare(b.requestId, 'en', { numeric: true });
    expect(got.sort(byId)).toEqual(expected.sort(byId));
  });

  it('holds no successful or failed read', async () => {
    const all = await rows();
    const reads = sent.filter((s) => s.outcome === 'absent').map((s) => s.requestId);
    expect(reads.length).toBeGreaterThan(0);
    expect(all.filter((r) => reads.includes(r.requestId))).toEqual([]);
  });

  it('names what each authorized request acted on', async () => {
    const all = await rows();
    expect(all.find((r) => r.outcome === 'denied' && r.principal === 'User:dev' && r.method === 'POST' && r.path === APPS)).toMatchObject({
      verb: 'create',
      resourceKind: 'FlinkApplication',
      environment: 'env-audit',
      resourceName: 'other-app',
    });
    expect(all.find((r) => r.principal === 'User:token:audit-bot' && r.method === 'DELETE')).toMatchObject({ verb: 'delete', resourceKind: 'FlinkSecret', resourceName: 'audit-creds' });
  });

  it('holds no secret value and no credential', async () => {
    const text = JSON.stringify(await rows(), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    expect(secretFragments(text)).toEqual([]);
    // not toContain: a failure would print the credential
    expect(credentials.filter((c) => text.includes(c))).toHaveLength(0);
  });

  it('reads the same through the API as in the table, newest first', async () => {
    const all = await rows();
    const page = await admin.client.get(`${AUDIT}?limit=1000`);
    expect(page.body.items.map((e: { requestId: string }) => e.requestId)).toEqual(all.map((r) => r.requestId).reverse());
  });

  it('is read by administrators only', async () => {
    const denied = sent.filter((s) => s.path === AUDIT);
    expect(denied.map((s) => [s.caller.principal, s.status])).toEqual([
      ['User:dev', 403],
      ['User:carol', 403],
      ['User:token:audit-bot', 403],
    ]);
    expect(denied.map((s) => s.message)).toEqual(['User:dev may not view AuditEvent objects', 'User:carol may not view AuditEvent objects', 'User:token:audit-bot may not view AuditEvent objects']);
  });
});
