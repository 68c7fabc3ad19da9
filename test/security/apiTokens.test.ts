import { createHmac } from 'node:crypto';
import { ConfigError } from '../../src/config.js';
import { apiTokens } from '../../src/domain/apiTokens.js';
import { createDomain } from '../../src/domain/index.js';
import type { JsonObject } from '../../src/domain/objects.js';
import { createLogger } from '../../src/log.js';
import { apiTokenCreatedSchema, apiTokenSchema, type ApiTokenCreated, type ApiTokenObject } from '../../src/schemas/apiToken.js';
import { compileValidator } from '../../src/schemas/validate.js';
import { ApiTokenAuthenticator, apiTokenSettings, LAST_USED_INTERVAL_MS, mintToken, parseToken } from '../../src/security/apiTokens.js';
import { CredentialRejected } from '../../src/security/principal.js';
import { createPrismaClient, type PrismaClient } from '../../src/store/client.js';
import { createStore, type Store } from '../../src/store/index.js';
import { freshDatabase, query } from '../support/db.js';
import { logEntries } from '../support/logLines.js';
import { queryCounter, type QueryCount } from '../support/queries.js';

const DAY_MS = 86_400_000;
const TOKEN_FORMAT = /^drey_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/;
const CREATOR = 'User:alice';
const ALL = { page: 0, size: 1000, sort: [] };

const asCreated = compileValidator<ApiTokenCreated>(apiTokenCreatedSchema);
const asToken = compileValidator<ApiTokenObject>(apiTokenSchema);

/** Statements of both replicas; each verification's SQL is counted here. */
const queries = queryCounter();
/** Every log line written during the test, at debug. */
const logLines: string[] = [];
const log = createLogger('debug', (line) => logLines.push(line));
/** Every token value and secret the test saw, to look for in the logs at the end. */
const issued: string[] = [];

let url: string;
let prismaA: PrismaClient;
let prismaB: PrismaClient;
let store: Store;
let storeB: Store;
let domain: ReturnType<typeof apiTokens>;
/** Two replicas sharing one database, each with its own connections. */
let replicaA: ApiTokenAuthenticator;
let replicaB: ApiTokenAuthenticator;

beforeAll(async () => {
  url = await freshDatabase();
  prismaA = createPrismaClient(url, { onQuery: queries.onQuery });
  prismaB = createPrismaClient(url, { onQuery: queries.onQuery });
  store = createStore(prismaA);
  storeB = createStore(prismaB);
  domain = createDomain(store).apiTokens;
  replicaA = new ApiTokenAuthenticator({ store, log });
  replicaB = new ApiTokenAuthenticator({ store: storeB, log });
});
afterAll(async () => {
  await prismaA.$disconnect();
  await prismaB.$disconnect();
});

/** Made as a super user would: who may give a token which user is tested over HTTP (apiTokenAuthority.test.ts). */
async function create(name: string, spec: JsonObject = {}): Promise<ApiTokenCreated> {
  const created = await domain.create({ metadata: { name }, spec }, CREATOR, { mayReuseUser: true });
  issued.push(created.token, parseToken(created.token)!.secret);
  return created;
}

/** The reason `verify` refused `raw` with; fails unless it was a CredentialRejected that does not quote the token. */
async function rejection(authenticator: ApiTokenAuthenticator, raw: string): Promise<string> {
  const err = await authenticator.verify(raw).then(
    () => new Error('the token was accepted'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CredentialRejected);
  if (raw.length > 10) expect((err as Error).message).not.toContain(raw);
  return (err as CredentialRejected).reason;
}

async function storedCount(): Promise<number> {
  const [row] = await query<{ n: number }>(url, 'SELECT count(*)::int AS n FROM "ApiToken"');
  return row!.n;
}

const updatesOf = (count: QueryCount) => count.sql.filter((s) => /^UPDATE "ApiToken"/.test(s)).length;

/** A token's body without its value, as get and list must show it. */
function withoutValue(created: ApiTokenCreated): ApiTokenObject {
  const { token: _token, ...rest } = created;
  return rest;
}

describe('creating an API token', () => {
  it('answers the value once: create returns it, get and list never do', async () => {
    const created = await create('ci-deploy', { description: 'deploys from CI' });
    expect(asCreated(created).token).toMatch(TOKEN_FORMAT);
    expect(created).toMatchObject({
      apiVersion: 'drey/v1',
      kind: 'ApiToken',
      metadata: { name: 'ci-deploy', uid: parseToken(created.token)!.id },
      spec: { principal: 'token:ci-deploy', description: 'deploys from CI' },
      status: { createdBy: CREATOR },
    });
    expect(Date.parse(created.spec.expiresAt) - Date.parse(created.metadata.creationTimestamp)).toBe(90 * DAY_MS);

    const got = await domain.get('ci-deploy');
    const listed = await domain.list(ALL);
    expect(asToken(got)).toEqual(withoutValue(created));
    expect(listed.items.map(asToken)).toContainEqual(withoutValue(created));
    const { secret } = parseToken(created.token)!;
    for (const text of [JSON.stringify(got), JSON.stringify(listed)]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain('"token"');
    }
  });

  it('stores only an HMAC of the secret under the server pepper: no column holds the secret or the token', async () => {
    const created = await create('hash-only');
    const { id, secret } = parseToken(created.token)!;
    const [row] = await query<Record<string, unknown>>(url, 'SELECT * FROM "ApiToken" WHERE id = $1', [id]);
    const [whole] = await query<{ text: string }>(url, 'SELECT t::text AS text FROM "ApiToken" t WHERE id = $1', [id]);
    const texts = [whole!.text, ...Object.values(row!).flatMap((v) =>
      Buffer.isBuffer(v) ? [v.toString('hex'), v.toString('base64'), v.toString('base64url'), v.toString('latin1')] : [String(v)],
    )];
    for (const text of texts) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(created.token);
      expect(text).not.toContain(Buffer.from(secret, 'base64url').toString('hex'));
    }
    const [pepper] = await query<{ value: string }>(url, `SELECT value FROM "ServerKey" WHERE name = 'api-token-pepper'`);
    expect(row!.secretHash).toEqual(createHmac('sha256', Buffer.from(pepper!.value, 'base64')).update(secret).digest());
  });

  it('keeps an explicit expiry and principal; tokens may share a principal, so one can replace another', async () => {
    const expiresAt = new Date(Date.now() + 10 * DAY_MS).toISOString();
    const first = await create('ci-rotation-1', { principal: 'token:ci', expiresAt });
    const second = await create('ci-rotation-2', { principal: 'token:ci', ttlDays: 30 });
    expect(first.spec).toEqual({ principal: 'token:ci', expiresAt });
    expect((await replicaA.verify(first.token)).user).toBe('token:ci');
    expect((await replicaA.verify(second.token)).user).toBe('token:ci');
  });

  it('refuses a taken name with 409 and leaves the first token working', async () => {
    const first = await create('taken-name');
    await expect(domain.create({ metadata: { name: 'taken-name' } }, CREATOR)).rejects.toMatchObject({
      status: 409,
      messages: ["ApiToken 'taken-name' already exists"],
    });
    expect((await replicaA.verify(first.token)).user).toBe('token:taken-name');
  });

  const inDays = (days: number) => new Date(Date.now() + days * DAY_MS).toISOString();
  it.each<[string, number, JsonObject]>([
    ['an expiry in the past', 422, { metadata: { name: 'bad-past' }, spec: { expiresAt: inDays(-1) } }],
    ['an expiry beyond the maximum', 422, { metadata: { name: 'bad-far' }, spec: { expiresAt: inDays(366) } }],
    ['a ttl beyond the maximum', 422, { metadata: { name: 'bad-ttl' }, spec: { ttlDays: 366 } }],
    ['both expiresAt and ttlDays', 422, { metadata: { name: 'bad-both' }, spec: { expiresAt: inDays(1), ttlDays: 1 } }],
    ['a date that does not exist', 422, { metadata: { name: 'bad-date' }, spec: { expiresAt: '2027-13-01T00:00:00Z' } }],
    ['a ttl of zero days', 400, { metadata: { name: 'bad-zero' }, spec: { ttlDays: 0 } }],
    ['an expiry without a zone', 400, { metadata: { name: 'bad-zone' }, spec: { expiresAt: '2027-01-01T00:00:00' } }],
    ['no name', 400, { metadata: {} }],
    ['a name with capitals', 400, { metadata: { name: 'CI' } }],
    ['a name with a dot', 400, { metadata: { name: 'ci.deploy' } }],
    ['a name over 253 characters', 400, { metadata: { name: 'a'.repeat(254) } }],
    ["a principal outside 'token:'", 400, { metadata: { name: 'bad-principal' }, spec: { principal: 'alice' } }],
    ['another apiVersion', 400, { apiVersion: 'cmf.confluent.io/v1', metadata: { name: 'bad-version' } }],
  ])('refuses %s with %i and stores nothing', async (_case, status, body) => {
    const before = await storedCount();
    await expect(domain.create(body, CREATOR)).rejects.toMatchObject({ status });
    expect(await storedCount()).toBe(before);
  });

  it('uses the configured default and maximum lifetimes', async () => {
    const short = apiTokens(store, { defaultTtlDays: 7, maxTtlDays: 30 });
    const created = await short.create({ metadata: { name: 'short-lived' } }, CREATOR);
    issued.push(created.token);
    expect(Date.parse(created.spec.expiresAt) - Date.parse(created.metadata.creationTimestamp)).toBe(7 * DAY_MS);
    await expect(short.create({ metadata: { name: 'too-long' }, spec: { ttlDays: 31 } }, CREATOR)).rejects.toMatchObject({ status: 422 });
  });
});

describe('verifying an API token', () => {
  it('accepts a good token as its principal, without groups', async () => {
    const created = await create('verify-ok');
    expect(await replicaA.verify(created.token)).toEqual({
      user: 'token:verify-ok',
      groups: [],
      authenticator: 'apiToken',
      expiresAt: new Date(created.spec.expiresAt),
    });
  });

  it('costs one statement, the lookup by primary key, once its use this minute is recorded', async () => {
    const created = await create('one-statement');
    await replicaA.verify(created.token);
    const count = await queries.during(() => replicaA.verify(created.token));
    expect(count.sql).toEqual([expect.stringMatching(/^SELECT .* FROM "ApiToken" WHERE "id" = \$1$/)]);
  });

  it('refuses malformed tokens', async () => {
    const good = (await create('malformed-base')).token;
    const hex = good.slice(5, 37);
    const secret = good.slice(38);
    const malformed = [
      '',
      'drey_',
      `Bearer ${good}`,
      ` ${good}`,
      `${good}x`,
      `${good}=`,
      good.slice(0, -1),
      `DREY_${hex}_${secret}`,
      `drey_${hex.toUpperCase()}_${secret}`,
      `drey_${hex.slice(1)}_${secret}`,
      `drey-${hex}-${secret}`,
      `drey_${hex}_${secret.slice(0, -1)}+`,
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
    ];
    issued.push(good);
    for (const raw of malformed) expect(await rejection(replicaA, raw)).toBe('malformed');
  });

  it('refuses a token whose id is unknown', async () => {
    expect(await rejection(replicaA, mintToken().token)).toBe('unknown');
  });

  it('refuses the right id with a wrong secret', async () => {
    const created = await create('wrong-secret');
    const { secret } = parseToken(created.token)!;
    const prefix = created.token.slice(0, -secret.length);
    const oneCharOff = `${prefix}${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    expect(await rejection(replicaA, `${prefix}${mintToken().secret}`)).toBe('wrong-secret');
    expect(await rejection(replicaA, oneCharOff)).toBe('wrong-secret');
    expect((await replicaA.verify(created.token)).user).toBe('token:wrong-secret');
  });

  it('refuses a token from the instant it expires', async () => {
    const created = await create('expiring', { ttlDays: 1 });
    const expiresAt = Date.parse(created.spec.expiresAt);
    const justBefore = new ApiTokenAuthenticator({ store, log, now: () => new Date(expiresAt - 1) });
    const atExpiry = new ApiTokenAuthenticator({ store, log, now: () => new Date(expiresAt) });
    expect((await justBefore.verify(created.token)).user).toBe('token:expiring');
    expect(await rejection(atExpiry, created.token)).toBe('expired');
  });

  it('refuses a revoked token at once on every replica, and keeps listing it', async () => {
    const created = await create('revoked-one');
    expect((await replicaA.verify(created.token)).user).toBe('token:revoked-one');
    expect((await replicaB.verify(created.token)).user).toBe('token:revoked-one');

    const revoked = await domain.revoke('revoked-one', 'User:bob');
    expect(await rejection(replicaA, created.token)).toBe('revoked');
    expect(await rejection(replicaB, created.token)).toBe('revoked');

    expect(asToken(revoked).status).toMatchObject({ revokedAt: expect.any(String), revokedBy: 'User:bob' });
    expect((await domain.list(ALL)).items).toContainEqual(revoked);
    expect(await domain.revoke('revoked-one', 'User:carol')).toEqual(revoked);
  });

  it('answers 404 for a name no token has', async () => {
    await expect(domain.get('no-such-token')).rejects.toMatchObject({ status: 404 });
    await expect(domain.revoke('no-such-token', 'User:bob')).rejects.toMatchObject({ status: 404 });
  });
});

describe('lastUsedAt', () => {
  it('is written at most once a minute per token, whichever replica verifies', async () => {
    const created = await create('last-used');
    let clock = Date.now();
    const now = () => new Date(clock);
    const a = new ApiTokenAuthenticator({ store, log, now });
    const b = new ApiTokenAuthenticator({ store: storeB, log, now });
    const lastUsedAt = async () => (await domain.get('last-used')).status.lastUsedAt;
    const verifications = (replica: ApiTokenAuthenticator, n: number) => async () => {
      for (let i = 0; i < n; i++) await replica.verify(created.token);
    };
    const t0 = now().toISOString();

    const burst = await queries.during(() => Promise.all(Array.from({ length: 20 }, () => a.verify(created.token))));
    expect(updatesOf(burst)).toBe(1);
    expect(await lastUsedAt()).toBe(t0);

    expect(updatesOf(await queries.during(verifications(a, 20)))).toBe(0);
    expect(updatesOf(await queries.during(verifications(b, 20)))).toBe(0);
    clock += LAST_USED_INTERVAL_MS - 1;
    expect(updatesOf(await queries.during(verifications(a, 10)))).toBe(0);
    expect(updatesOf(await queries.during(verifications(b, 10)))).toBe(0);
    expect(await lastUsedAt()).toBe(t0);

    clock += 1;
    expect(updatesOf(await queries.during(verifications(b, 10)))).toBe(1);
    expect(updatesOf(await queries.during(verifications(a, 10)))).toBe(0);
    expect(await lastUsedAt()).toBe(now().toISOString());
  });
});

describe('apiTokenSettings', () => {
  it('defaults to 90 days, at most 365, and reads both from the environment', () => {
    expect(apiTokenSettings({})).toEqual({ defaultTtlDays: 90, maxTtlDays: 365 });
    expect(apiTokenSettings({ CMF_API_TOKEN_DEFAULT_TTL_DAYS: '7', CMF_API_TOKEN_MAX_TTL_DAYS: '30' })).toEqual({
      defaultTtlDays: 7,
      maxTtlDays: 30,
    });
  });

  it.each<[string, NodeJS.ProcessEnv]>([
    ['zero days', { CMF_API_TOKEN_DEFAULT_TTL_DAYS: '0' }],
    ['negative days', { CMF_API_TOKEN_MAX_TTL_DAYS: '-1' }],
    ['a fraction', { CMF_API_TOKEN_DEFAULT_TTL_DAYS: '1.5' }],
    ['a word', { CMF_API_TOKEN_MAX_TTL_DAYS: 'forever' }],
    ['more than a century', { CMF_API_TOKEN_MAX_TTL_DAYS: '36501' }],
    ['a default beyond the maximum', { CMF_API_TOKEN_DEFAULT_TTL_DAYS: '400' }],
  ])('refuses %s with a ConfigError', (_case, env) => {
    expect(() => apiTokenSettings(env)).toThrow(ConfigError);
  });
});

describe('logs', () => {
  // last in this file: it looks at what every test above logged
  it('hold no token value or secret, while naming the refused tokens', () => {
    expect(logEntries(logLines).some((e) => e.msg === 'api token rejected' && e.name === 'revoked-one')).toBe(true);
    expect(issued.length).toBeGreaterThan(10);
    for (const line of logLines) for (const value of issued) expect(line).not.toContain(value);
  });
});
