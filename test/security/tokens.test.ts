/**
 * Bearer tokens at the HTTP level, against a whole drey: every bad OIDC token and every malformed
 * Authorization header is a 401 with the same body and `WWW-Authenticate` (never a 500, never a
 * fall back to the client certificate), a key rotation at the issuer is followed, API tokens stop
 * working the moment they are revoked or expire, and no token presented reaches a log line.
 */
import { randomBytes } from 'node:crypto';
import { eventually } from '../support/eventually.js';
import { TOKEN_KINDS, type TokenKind } from '../support/oidc.js';
import { issue } from '../support/pki.js';
import { rawRequest, type RawResponse } from '../support/rawHttps.js';
import { startSecureDrey, type Client, type SecureDrey } from '../support/secureDrey.js';

const WHOAMI = '/drey/api/v1/whoami';
const TOKENS = '/drey/api/v1/api-tokens';
const INVALID = '{"errors":[{"message":"The credentials presented are not valid"}]}';
const CHALLENGE = 'Bearer realm="drey", error="invalid_token"';

let world: SecureDrey;
let admin: Client;
/** Every credential this file sent, to look for in drey's log at the end. */
const presented: string[] = [];

beforeAll(async () => {
  world = await startSecureDrey({
    CMF_OIDC_JWKS_COOLDOWN_MS: '200',
    CMF_AUTH_FAILURES_PER_MIN: '1000000',
    CMF_RATE_LIMIT_PER_MIN: '1000000',
    CMF_RATE_LIMIT_BURST: '1000000',
  });
  admin = await world.as('bootstrap');
  presented.push(world.bootstrapToken);
}, 120_000);
afterAll(() => world?.stop());

/** GET whoami with these Authorization values (one header per value) and, optionally, a client certificate. */
function whoami(authorization: string[], cert?: { certPem: string; keyPem: string }): Promise<RawResponse> {
  presented.push(...authorization);
  return rawRequest(world.drey.url, {
    path: WHOAMI,
    headers: authorization.length ? { authorization } : {},
    tls: { ca: world.serverCa.certPem, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) },
  });
}

/** The parts of a refusal a client sees; the same for every bad credential. */
const refusal = (res: RawResponse) => ({ status: res.status, challenge: res.headers['www-authenticate'], text: res.text });
const REFUSED = { status: 401, challenge: CHALLENGE, text: INVALID };

describe('OIDC tokens', () => {
  it('accepts the valid token: the tests below fail for the reason they name', async () => {
    const res = await whoami([`Bearer ${await world.issuer.mint('valid')}`]);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ user: 'alice', groups: ['ops'], authenticator: 'oidc' });
  });

  const bad = TOKEN_KINDS.filter((k): k is Exclude<TokenKind, 'valid'> => k !== 'valid');
  it.each(bad)('refuses the %s token with 401, the invalid_token challenge and the common body', async (kind) => {
    expect(refusal(await whoami([`Bearer ${await world.issuer.mint(kind)}`]))).toEqual(REFUSED);
  });
});

describe('malformed Authorization headers', () => {
  const cases: [string, () => Promise<string[]>][] = [
    ['an empty Bearer', async () => ['Bearer']],
    ['Bearer and spaces', async () => ['Bearer    ']],
    ['a Basic header', async () => [`Basic ${Buffer.from('alice:secret').toString('base64')}`]],
    ['two Authorization headers, both valid', async () => [`Bearer ${await world.issuer.mint('valid')}`, `Bearer ${world.bootstrapToken}`]],
    ['a valid Authorization header and an invalid one', async () => [`Bearer ${world.bootstrapToken}`, 'Bearer nonsense']],
    ['a token over 8 KiB', async () => [`Bearer ${randomBytes(6 * 1024).toString('base64url')}.${randomBytes(1024).toString('base64url')}.abc`]],
    ['an API token over 8 KiB', async () => [`Bearer drey_${'a'.repeat(9 * 1024)}`]],
    ['a JWT with two dots and garbage', async () => ['Bearer a.b.c']],
    ['a bearer that is not a JWT nor an API token', async () => ['Bearer not-a-token']],
    ['Bearer with a token and more', async () => [`Bearer ${await world.issuer.mint('valid')} extra`]],
  ];
  it.each(cases)('%s → 401, never 500', async (_name, headers) => {
    expect(refusal(await whoami(await headers()))).toEqual(REFUSED);
  });

  it('a request without any credential is told authentication is required', async () => {
    const res = await whoami([]);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="drey"');
    expect(res.text).toBe('{"errors":[{"message":"Authentication is required"}]}');
  });

  it('an invalid bearer next to a valid client certificate is 401: no fall back to the certificate', async () => {
    const cert = issue(world.clientCa, { cn: 'carol', eku: 'clientAuth' });
    const alone = await whoami([], cert);
    expect(alone.status).toBe(200);
    expect(JSON.parse(alone.text)).toMatchObject({ user: 'carol', authenticator: 'mtls' });
    expect(refusal(await whoami([`Bearer ${await world.issuer.mint('expired')}`], cert))).toEqual(REFUSED);
    expect(refusal(await whoami(['Bearer drey_0123'], cert))).toEqual(REFUSED);
  });
});

describe('API tokens', () => {
  async function create(name: string, spec: Record<string, unknown> = {}): Promise<string> {
    const res = await admin.post(TOKENS, { metadata: { name }, spec });
    expect(res.status).toBe(201);
    presented.push(res.body.token);
    return res.body.token as string;
  }

  it('a revoked token is refused on the very next request', async () => {
    const token = await create('revoke-me');
    expect((await whoami([`Bearer ${token}`])).status).toBe(200);
    expect((await admin.delete(`${TOKENS}/revoke-me`)).status).toBe(200);
    expect(refusal(await whoami([`Bearer ${token}`]))).toEqual(REFUSED);
  });

  it('a token is refused once it has expired', async () => {
    // created with the shortest lifetime the API gives (ttlDays 1), then its expiry moved into the past in the database
    const token = await create('expire-me', { ttlDays: 1 });
    expect((await whoami([`Bearer ${token}`])).status).toBe(200);
    const moved = await world.drey.prisma.apiToken.updateMany({ where: { name: 'expire-me' }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(moved.count).toBe(1);
    expect(refusal(await whoami([`Bearer ${token}`]))).toEqual(REFUSED);
  });

  it('a token given an expiry seconds ahead works until then and is refused from then on', async () => {
    const token = await create('short-lived', { expiresAt: new Date(Date.now() + 8_000).toISOString() });
    const expiresAt = Date.parse((await admin.get(`${TOKENS}/short-lived`)).body.spec.expiresAt);
    const first = await whoami([`Bearer ${token}`]);
    // on a very busy machine the first request may already be late; only one sent in time must pass
    if (Date.now() < expiresAt) expect(first.status).toBe(200);
    await eventually('the token to expire', async () => (await whoami([`Bearer ${token}`])).status === 401, 30_000);
    expect(refusal(await whoami([`Bearer ${token}`]))).toEqual(REFUSED);
  });

  it('the right id with a wrong secret is refused, like an unknown id', async () => {
    const token = await create('wrong-secret');
    const id = token.slice(0, 'drey_'.length + 32);
    const wrongSecret = `${id}_${randomBytes(32).toString('base64url')}`;
    const unknownId = `drey_${randomBytes(16).toString('hex')}_${token.slice(-43)}`;
    expect(refusal(await whoami([`Bearer ${wrongSecret}`]))).toEqual(REFUSED);
    expect(refusal(await whoami([`Bearer ${unknownId}`]))).toEqual(REFUSED);
    expect((await whoami([`Bearer ${token}`])).status).toBe(200);
  });
});

describe('key rotation at the issuer', () => {
  it('refuses a token signed with a key the issuer does not serve yet, and accepts it once the issuer serves it', async () => {
    const early = await world.issuer.mint('unknownKid');
    const old = await world.issuer.mint('valid');
    expect((await whoami([`Bearer ${old}`])).status).toBe(200);
    expect(refusal(await whoami([`Bearer ${early}`]))).toEqual(REFUSED);
    const fetchesBefore = world.issuer.jwksFetches;

    await world.issuer.rotate();
    // drey fetches the key set again at most once per cooldown (200 ms here): poll until it has
    await eventually('drey to accept the rotated key', async () => (await whoami([`Bearer ${early}`])).status === 200);
    expect(JSON.parse((await whoami([`Bearer ${early}`])).text)).toMatchObject({ user: 'alice', authenticator: 'oidc' });
    expect(refusal(await whoami([`Bearer ${old}`]))).toEqual(REFUSED);
    expect(world.issuer.jwksFetches).toBeGreaterThan(fetchesBefore);
  });
});

describe("drey's log", () => {
  it('holds no token presented in this file, nor any signature or secret part of one', () => {
    const parts = presented.flatMap((value) => {
      const token = value.replace(/^(Bearer|Basic) +/i, '').trim();
      return [token, ...token.split(/[._]/)].filter((p) => p.length >= 16);
    });
    expect(parts.length).toBeGreaterThan(20);
    const logs = world.drey.logs.join('\n');
    // the refusals were logged (with a reason), just never with what was presented
    expect(world.drey.logs.filter((l) => l.includes('credential rejected')).length).toBeGreaterThan(20);
    expect(parts.filter((p) => logs.includes(p))).toEqual([]);
  });
});
