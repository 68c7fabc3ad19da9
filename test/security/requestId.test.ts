/**
 * Every response carries an `X-Request-Id`, whatever answered it: a route, the error handler,
 * authentication, authorization, the rate limiter, or drey's HTTP server itself for requests it
 * cannot hand to the application. A plain incoming id is kept; anything else is replaced by a UUID.
 * The audit row and the log line of a request carry the id its response did.
 */
import { eventually } from '../support/eventually.js';
import { exchange, type WireRequest } from '../support/hostile.js';
import { logEntries } from '../support/logLines.js';
import { environment } from '../support/fixtures.js';
import { startSecureDrey, type Client, type SecureDrey } from '../support/secureDrey.js';

const ENVS = '/cmf/api/v1/environments';
const AUDIT = '/drey/api/v1/audit-events';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MIB = 1024 * 1024;

let world: SecureDrey;
let admin: Client;
let port: number;

beforeAll(async () => {
  // a burst the suite's own requests stay under, so that only the flood below is limited
  world = await startSecureDrey({ CMF_CONTROLLERS: 'off', CMF_RATE_LIMIT_PER_MIN: '60', CMF_RATE_LIMIT_BURST: '40' });
  admin = await world.as('bootstrap');
  port = Number(new URL(world.drey.url).port);
  expect((await admin.post(ENVS, environment('env-ids', 'flink-ids'))).status).toBe(201);
});
afterAll(async () => world?.stop());

/** A request on a connection of its own, over TLS, exactly as given. */
const raw = (req: WireRequest) => exchange(port, req, 10_000, { ca: world.serverCa.certPem });

describe('responses of the application', () => {
  const kinds: [string, number, () => Promise<{ status: number; headers: { get(name: string): string | null } }>][] = [
    ['a list', 200, () => admin.get(ENVS)],
    ['an unknown path', 404, () => admin.get('/nowhere')],
    ['a method the path does not serve', 405, () => admin.request('PATCH', ENVS, {})],
    ['a body over 1 MiB', 413, () => admin.post(ENVS, JSON.stringify({ padding: 'x'.repeat(MIB) }), { headers: { 'content-type': 'application/json' } })],
    ['malformed JSON', 400, () => admin.post(ENVS, '{"name":', { headers: { 'content-type': 'application/json' } })],
    ['no credential', 401, async () => (await world.as('none')).get(ENVS)],
    ['a caller without the right', 403, async () => (await world.as({ oidc: 'nobody' })).get('/cmf/api/v1/secrets')],
  ];

  it.each(kinds)('%s (%i) carries a generated X-Request-Id', async (_what, status, send) => {
    const res = await send();
    expect({ status: res.status, id: res.headers.get('x-request-id') }).toEqual({ status, id: expect.stringMatching(UUID) });
  });

  it('a request refused for asking too often (429) carries one too', async () => {
    const hasty = await world.as({ oidc: 'hasty' });
    let res = await hasty.get('/drey/api/v1/whoami');
    // the burst is 40: the limit comes within a few dozen requests however slowly they go out
    for (let i = 0; i < 500 && res.status !== 429; i++) res = await hasty.get('/drey/api/v1/whoami');
    expect({ status: res.status, id: res.headers.get('x-request-id') }).toEqual({ status: 429, id: expect.stringMatching(UUID) });
  });

  it('gives each request an id of its own', async () => {
    const ids = await Promise.all([admin.get(ENVS), admin.get(ENVS), admin.get('/nowhere')].map(async (r) => (await r).headers.get('x-request-id')));
    expect(new Set(ids).size).toBe(3);
  });
});

describe('responses of the HTTP server itself', () => {
  const kinds: [string, number, WireRequest][] = [
    ['a header Node refuses to parse', 400, { method: 'GET', target: ENVS, headers: [['X-Nul', 'a\u0000b']] }],
    ['headers over the size limit', 431, { method: 'GET', target: ENVS, headers: [['X-Huge', 'x'.repeat(20_000)]] }],
    ['an HTTP/1.1 request without Host', 400, { method: 'GET', target: ENVS, headers: [], noHost: true }],
    ['an expectation other than 100-continue', 417, { method: 'POST', target: ENVS, headers: [['Expect', 'x-junk'], ['Content-Type', 'application/json']], body: Buffer.from('{}') }],
    ['CONNECT', 501, { method: 'CONNECT', target: 'example.com:443', headers: [['Host', 'example.com:443']] }],
    ['a method Node does not know', 501, { method: 'FROB', target: ENVS, headers: [] }],
  ];

  it.each(kinds)('%s (%i) carries a generated X-Request-Id, whatever id the client sent', async (_what, status, req) => {
    const answer = await raw({ ...req, headers: [...req.headers, ['X-Request-Id', 'client-chosen']] });
    expect(answer.responses.map((r) => ({ status: r.status, id: r.headers['x-request-id'] }))).toEqual([{ status, id: expect.stringMatching(UUID) }]);
  });

  it('a body whose framing breaks after the application took the request keeps the id the application gave it', async () => {
    const answer = await raw({
      method: 'POST',
      target: ENVS,
      headers: [
        ['Authorization', `Bearer ${world.bootstrapToken}`],
        ['X-Request-Id', 'broken-body-1'],
        ['Content-Type', 'application/json'],
        ['Transfer-Encoding', 'chunked'],
      ],
      framing: 'as-given',
      body: Buffer.from('zz\r\n{}\r\n0\r\n\r\n'),
    });
    expect(answer.responses.map((r) => ({ status: r.status, id: r.headers['x-request-id'] }))).toEqual([{ status: 400, id: 'broken-body-1' }]);
  });
});

describe("the client's own id", () => {
  it.each([
    ['a plain token', 'ci-run-42.step_7:retry-1'],
    ['128 characters', 'a'.repeat(128)],
  ])('is kept when it is %s', async (_what, id) => {
    const res = await admin.get(ENVS, { headers: { 'x-request-id': id } });
    expect(res.headers.get('x-request-id')).toBe(id);
  });

  it.each([
    ['spaces', 'my request id'],
    ['129 characters', 'a'.repeat(129)],
    ['200 characters', 'b'.repeat(200)],
    ['a slash', 'a/b'],
    ['a quote', 'a"b'],
    ['nothing', ''],
  ])('is replaced by a UUID when it has %s', async (_what, id) => {
    const res = await admin.get(ENVS, { headers: { 'x-request-id': id } });
    expect(res.headers.get('x-request-id')).toMatch(UUID);
  });

  it('is kept on a refusal too', async () => {
    const res = await (await world.as('none')).get(ENVS, { headers: { 'x-request-id': 'refused-1' } });
    expect({ status: res.status, id: res.headers.get('x-request-id') }).toEqual({ status: 401, id: 'refused-1' });
  });
});

describe('the trail of a request', () => {
  it("is the audit row of a write, under the client's id", async () => {
    const res = await admin.post(ENVS, environment('env-ids-kept', 'flink-ids-kept'), { headers: { 'x-request-id': 'write-kept-1' } });
    expect(res.headers.get('x-request-id')).toBe('write-kept-1');
    // recorded once the answer is out, which the client may see first
    const rows = await eventually('the audit row', async () => ((await admin.get(`${AUDIT}?requestId=write-kept-1`)).body.items.length > 0 ? admin.get(`${AUDIT}?requestId=write-kept-1`) : undefined));
    expect(rows.body.items).toEqual([expect.objectContaining({ requestId: 'write-kept-1', method: 'POST', path: ENVS, status: 201, outcome: 'allowed' })]);
  });

  it('is the audit row of a write and of a refusal, under the id drey made', async () => {
    const write = await admin.post(ENVS, environment('env-ids-made', 'flink-ids-made'));
    const refused = await (await world.as({ oidc: 'nobody' })).post(ENVS, environment('env-ids-denied', 'flink-ids-denied'));
    expect([write.status, refused.status]).toEqual([201, 403]);
    for (const [res, outcome] of [
      [write, 'allowed'],
      [refused, 'denied'],
    ] as const) {
      const id = res.headers.get('x-request-id')!;
      expect(id).toMatch(UUID);
      const rows = await eventually('the audit row', async () => ((await admin.get(`${AUDIT}?requestId=${id}`)).body.items.length > 0 ? admin.get(`${AUDIT}?requestId=${id}`) : undefined));
      expect(rows.body.items).toEqual([expect.objectContaining({ requestId: id, status: res.status, outcome })]);
    }
  });

  it('is the log line of the request', async () => {
    const res = await admin.get(ENVS, { headers: { 'x-request-id': 'logged-1' } });
    expect(res.status).toBe(200);
    const lines = await eventually('the log line', () => {
      const found = logEntries(world.drey.logs).filter((e) => e.requestId === 'logged-1');
      return found.length > 0 && found;
    });
    expect(lines).toEqual([expect.objectContaining({ level: 'debug', msg: 'request', method: 'GET', path: '/cmf/api/v1/environments', status: 200 })]);
  });
});
