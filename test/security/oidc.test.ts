import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { JwtAuthenticator, oidcSettings, type IssuerSettings } from '../../src/security/jwt.js';
import { CredentialRejected } from '../../src/security/principal.js';
import { eventually } from '../support/eventually.js';
import { startIssuer, TOKEN_KINDS, type TestIssuer, type TokenKind } from '../support/oidc.js';
import { createCa, issue } from '../support/pki.js';

const lines: string[] = [];
const log = createLogger('debug', (line) => void lines.push(line));
/** Every token handed to an authenticator, to check that none of it reached a log line. */
const presented: string[] = [];

/** An authenticator that remembers every token it is given. */
class Recording extends JwtAuthenticator {
  override verify(token: string): ReturnType<JwtAuthenticator['verify']> {
    presented.push(token);
    return super.verify(token);
  }
}

function authenticator(...issuers: IssuerSettings[]): JwtAuthenticator {
  return new Recording({ issuers, log });
}

/** The reason `token` is refused for, after checking it is a short code holding nothing of the token. */
async function refusal(auth: JwtAuthenticator, token: string): Promise<string> {
  const error = await auth.verify(token).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(CredentialRejected);
  const { reason, message } = error as CredentialRejected;
  expect(reason).toMatch(/^[A-Za-z0-9_:]+$/);
  for (const part of token.split('.').filter((p) => p.length >= 4)) {
    expect(reason).not.toContain(part);
    expect(message).not.toContain(part);
  }
  return reason;
}

describe('JwtAuthenticator against a loopback issuer', () => {
  let issuer: TestIssuer;
  let auth: JwtAuthenticator;

  beforeAll(async () => {
    issuer = await startIssuer();
    auth = authenticator(issuer.settings());
  });
  afterAll(() => issuer.close());

  it('accepts a valid token and maps the user and groups claims with their prefixes', async () => {
    const prefixed = authenticator(issuer.settings({ usernamePrefix: 'oidc:', groupsPrefix: 'idp:' }));
    const token = await issuer.mint({ sub: 'alice', groups: ['ops', 'dev', 'ops'] });
    const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number;
    expect(await prefixed.verify(token)).toEqual({
      user: 'oidc:alice',
      groups: ['idp:ops', 'idp:dev'],
      authenticator: 'oidc',
      expiresAt: new Date(exp * 1000),
    });
  });

  it('accepts RS256 tokens from the same key set', async () => {
    expect(await auth.verify(await issuer.mint('valid', {}, { alg: 'RS256' }))).toMatchObject({ user: 'alice', groups: ['ops'] });
  });

  it('reads the user and groups from the configured claims, with no groups when the claim is absent', async () => {
    const byEmail = authenticator(issuer.settings({ usernameClaim: 'email', groupsClaim: 'roles' }));
    expect(await byEmail.verify(await issuer.mint({ email: 'bob@example.com', roles: ['dev'] }))).toMatchObject({ user: 'bob@example.com', groups: ['dev'] });
    expect(await byEmail.verify(await issuer.mint({ email: 'bob@example.com' }))).toMatchObject({ groups: [] });
  });

  it('finds the key set through discovery once and reuses it', async () => {
    const fresh = authenticator(issuer.settings());
    const before = issuer.discoveryFetches;
    await Promise.all([fresh.verify(await issuer.mint()), fresh.verify(await issuer.mint())]);
    await fresh.verify(await issuer.mint());
    expect(issuer.discoveryFetches).toBe(before + 1);
  });

  it('uses a configured JWKS URL without discovery', async () => {
    const direct = authenticator(issuer.settings({ jwksUrl: issuer.jwksUrl }));
    const before = issuer.discoveryFetches;
    expect(await direct.verify(await issuer.mint())).toMatchObject({ user: 'alice' });
    expect(issuer.discoveryFetches).toBe(before);
  });

  const cases: [TokenKind, string][] = [
    ['expired', 'ERR_JWT_EXPIRED:exp'],
    ['notYetValid', 'ERR_JWT_CLAIM_VALIDATION_FAILED:nbf'],
    ['wrongIss', 'unknown_issuer'],
    ['wrongAud', 'ERR_JWT_CLAIM_VALIDATION_FAILED:aud'],
    ['badSig', 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'],
    ['algNone', 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ['hs256WithPublicKey', 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ['hs256WithPublicKeyJwk', 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ['hs256WithPublicKeyDer', 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ['unknownKid', 'ERR_JWKS_NO_MATCHING_KEY'],
    ['missingSub', 'username_claim_invalid'],
    ['reservedUser', 'reserved_username'],
    ['groupsNotArray', 'groups_claim_invalid'],
    ['huge', 'token_too_large'],
  ];
  it('covers every bad kind the test issuer mints', () => {
    expect(cases.map(([kind]) => kind).sort()).toEqual(TOKEN_KINDS.filter((k) => k !== 'valid').sort());
  });

  it.each(cases)('refuses the %s token (%s)', async (kind, reason) => {
    expect(await refusal(auth, await issuer.mint(kind))).toBe(reason);
  });

  const oddities: [string, () => string | Promise<string>, string][] = [
    ['not a JWT', () => 'not-a-jwt', 'malformed'],
    ['an empty token', () => '', 'malformed'],
    ['a token without exp', () => issuer.mint({ exp: undefined }), 'ERR_JWT_CLAIM_VALIDATION_FAILED:exp'],
    ['an empty username', () => issuer.mint({ sub: '' }), 'username_claim_invalid'],
    ['a numeric username', () => issuer.mint({ sub: 42 }), 'username_claim_invalid'],
    ['an API token user name', () => issuer.mint({ sub: 'token:abc' }), 'reserved_username'],
    ['a system: group', () => issuer.mint({ groups: ['system:masters'] }), 'reserved_group'],
    ['groups holding a number', () => issuer.mint({ groups: ['ops', 7] }), 'groups_claim_invalid'],
    ['groups set to null', () => issuer.mint({ groups: null }), 'groups_claim_invalid'],
    ['an audience list without ours', () => issuer.mint({ aud: ['a', 'b'] }), 'ERR_JWT_CLAIM_VALIDATION_FAILED:aud'],
  ];
  it.each(oddities)('refuses %s', async (_name, make, reason) => {
    expect(await refusal(auth, await make())).toBe(reason);
  });

  it('accepts a token naming our audience among others', async () => {
    expect(await auth.verify(await issuer.mint({ aud: ['other', issuer.audience] }))).toMatchObject({ user: 'alice' });
  });

  it('allows the configured clock skew on exp, and no more', async () => {
    const token = await issuer.mint({ exp: Math.floor(Date.now() / 1000) - 10 });
    expect(await auth.verify(token)).toMatchObject({ user: 'alice' });
    expect(await refusal(authenticator(issuer.settings({ clockSkewS: 0 })), token)).toBe('ERR_JWT_EXPIRED:exp');
  });

  it('refuses tokens issued longer ago than the maximum token age', async () => {
    const strict = authenticator(issuer.settings({ maxTokenAgeS: 3600 }));
    const now = Math.floor(Date.now() / 1000);
    expect(await refusal(strict, await issuer.mint({ iat: now - 7200 }))).toBe('ERR_JWT_EXPIRED:iat');
    expect(await refusal(strict, await issuer.mint({ iat: undefined }))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:iat');
    expect(await strict.verify(await issuer.mint({ iat: now - 60 }))).toMatchObject({ user: 'alice' });
  });

  it('does not trust a discovery document that names another issuer', async () => {
    const slash = `${issuer.url}/`;
    const misnamed = authenticator(issuer.settings({ issuer: slash }));
    expect(await refusal(misnamed, await issuer.mint({ iss: slash }))).toBe('issuer_unavailable');
    expect(lines.some((l) => l.includes('OIDC discovery document names another issuer'))).toBe(true);
  });

  it.each([
    [500, 'ERR_JOSE_GENERIC'],
    [204, 'issuer_unavailable'],
  ])('refuses tokens while the key set URL answers %i', async (status, reason) => {
    const broken = http.createServer((_req, res) => void res.writeHead(status).end());
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    try {
      const jwksUrl = `http://127.0.0.1:${(broken.address() as AddressInfo).port}/jwks`;
      expect(await refusal(authenticator(issuer.settings({ jwksUrl })), await issuer.mint())).toBe(reason);
    } finally {
      await new Promise((resolve) => broken.close(resolve));
    }
  });

  it('refuses every token of an issuer that cannot be reached, and says so in the log', async () => {
    const gone = await startIssuer();
    const token = await gone.mint();
    await gone.close();
    expect(await refusal(authenticator(gone.settings()), token)).toBe('issuer_unavailable');
    expect(lines.some((l) => l.includes('OIDC issuer unreachable') && l.includes(gone.url))).toBe(true);
  });
});

describe('several issuers', () => {
  let a: TestIssuer;
  let b: TestIssuer;
  let auth: JwtAuthenticator;

  beforeAll(async () => {
    [a, b] = await Promise.all([startIssuer(), startIssuer({ audience: 'drey-b' })]);
    auth = authenticator(a.settings({ usernamePrefix: 'a:' }), b.settings({ usernamePrefix: 'b:', groupsPrefix: 'b:' }));
  });
  afterAll(() => Promise.all([a.close(), b.close()]));

  it('accepts each issuer’s tokens with that issuer’s claim mapping', async () => {
    expect(await auth.verify(await a.mint())).toMatchObject({ user: 'a:alice', groups: ['ops'] });
    expect(await auth.verify(await b.mint())).toMatchObject({ user: 'b:alice', groups: ['b:ops'] });
  });

  it('refuses a token that names one trusted issuer but is signed by the other, whose key has the same kid', async () => {
    expect(await refusal(auth, await a.mint({ iss: b.url, aud: b.audience }))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('refuses a token for one issuer’s audience presented as the other’s', async () => {
    expect(await refusal(auth, await b.mint({ aud: a.audience }))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:aud');
  });
});

describe('key rotation at the issuer', () => {
  let issuer: TestIssuer;
  beforeAll(async () => {
    issuer = await startIssuer();
  });
  afterAll(() => issuer.close());

  it('refuses a key not served yet with one refetch, and accepts it once the issuer serves it after the cooldown', async () => {
    const auth = authenticator(issuer.settings({ jwksCooldownMs: 200 }));
    const oldToken = await issuer.mint();
    expect(await auth.verify(oldToken)).toMatchObject({ user: 'alice' });
    expect(issuer.jwksFetches).toBe(1);

    const newToken = await issuer.mint('unknownKid');
    // Refused within the cooldown without a fetch; once it has passed, refused after exactly one refetch.
    await eventually('a refetch for the unknown kid', async () => {
      expect(await refusal(auth, newToken)).toBe('ERR_JWKS_NO_MATCHING_KEY');
      return issuer.jwksFetches === 2;
    });

    await issuer.rotate();
    await eventually('the rotated key to be accepted', async () => {
      const principal = await auth.verify(newToken).catch((err: unknown) => {
        expect(err).toBeInstanceOf(CredentialRejected);
        return undefined;
      });
      return principal?.user === 'alice';
    });
    expect(issuer.jwksFetches).toBe(3);

    expect(await refusal(auth, oldToken)).toBe('ERR_JWKS_NO_MATCHING_KEY');
    expect(issuer.jwksFetches).toBeLessThanOrEqual(4);
  });

  it('fetches the key set once however many unknown-kid tokens arrive within the cooldown', async () => {
    const auth = authenticator(issuer.settings({ jwksCooldownMs: 60_000 }));
    await auth.verify(await issuer.mint());
    const before = issuer.jwksFetches;
    const unknown = await Promise.all(Array.from({ length: 10 }, () => issuer.mint('unknownKid')));
    const reasons = await Promise.all(Array.from({ length: 50 }, (_, i) => refusal(auth, unknown[i % unknown.length]!)));
    expect(new Set(reasons)).toEqual(new Set(['ERR_JWKS_NO_MATCHING_KEY']));
    expect(issuer.jwksFetches).toBe(before);
  });

  it('fetches the key set once for many first tokens arriving together', async () => {
    const auth = authenticator(issuer.settings({ jwksCooldownMs: 60_000, jwksUrl: issuer.jwksUrl }));
    const before = issuer.jwksFetches;
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => issuer.mint(i % 2 ? 'valid' : 'unknownKid')));
    await Promise.allSettled(tokens.map((t) => auth.verify(t)));
    expect(issuer.jwksFetches).toBe(before + 1);
  });
});

describe('an https issuer', () => {
  const ca = createCa({ cn: 'oidc test ca' });
  let issuer: TestIssuer;
  let dir: string;
  beforeAll(async () => {
    issuer = await startIssuer({ tls: issue(ca, { cn: 'localhost', eku: 'serverAuth' }) });
    dir = mkdtempSync(path.join(os.tmpdir(), 'drey-oidc-'));
  });
  afterAll(async () => {
    await issuer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is trusted through the configured CA file', async () => {
    const caFile = path.join(dir, 'ca.pem');
    writeFileSync(caFile, ca.certPem);
    const [settings] = oidcSettings({ ...issuer.env(), CMF_OIDC_CA_FILE: caFile });
    expect(settings!.ca).toBe(ca.certPem);
    expect(await authenticator(settings!).verify(await issuer.mint())).toMatchObject({ user: 'alice' });
  });

  it('is not trusted without its CA', async () => {
    expect(await refusal(authenticator(issuer.settings()), await issuer.mint())).toBe('issuer_unavailable');
    const other = createCa({ cn: 'another ca' });
    expect(await refusal(authenticator(issuer.settings({ ca: other.certPem })), await issuer.mint())).toBe('issuer_unavailable');
  });
});

describe('logging', () => {
  it('no log line holds any part of a presented token', () => {
    expect(presented.length).toBeGreaterThan(50);
    expect(lines.length).toBeGreaterThan(0);
    const all = lines.join('');
    const leaked = presented.flatMap((t) => t.split('.')).filter((part) => part.length >= 8 && all.includes(part));
    expect(leaked).toEqual([]);
  });
});

describe('oidcSettings', () => {
  let dir: string;
  let caFile: string;
  const base = { CMF_OIDC_ISSUER: 'https://idp.example.com', CMF_OIDC_AUDIENCE: 'drey' };
  const file = (name: string, text: string): string => {
    const target = path.join(dir, name);
    writeFileSync(target, text);
    return target;
  };

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'drey-oidc-settings-'));
    caFile = file('ca.pem', createCa({ cn: 'settings ca' }).certPem);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('trusts no issuer when nothing is set', () => {
    expect(oidcSettings({})).toEqual([]);
  });

  it('applies the defaults to a single issuer', () => {
    expect(oidcSettings(base)).toEqual([
      {
        issuer: 'https://idp.example.com',
        jwksUrl: undefined,
        audiences: ['drey'],
        algorithms: ['RS256', 'ES256'],
        usernameClaim: 'sub',
        usernamePrefix: '',
        groupsClaim: 'groups',
        groupsPrefix: '',
        clockSkewS: 30,
        maxTokenAgeS: undefined,
        ca: undefined,
        jwksCooldownMs: 30_000,
      },
    ]);
  });

  it('reads every single-issuer variable', () => {
    const [s] = oidcSettings({
      ...base,
      CMF_OIDC_JWKS_URL: 'https://keys.example.com/jwks',
      CMF_OIDC_AUDIENCE: 'drey, drey-cli',
      CMF_OIDC_ALGORITHMS: 'ES384,PS256',
      CMF_OIDC_USERNAME_CLAIM: 'email',
      CMF_OIDC_USERNAME_PREFIX: 'idp:',
      CMF_OIDC_GROUPS_CLAIM: 'roles',
      CMF_OIDC_GROUPS_PREFIX: 'idp:',
      CMF_OIDC_CLOCK_SKEW_S: '5',
      CMF_OIDC_MAX_TOKEN_AGE_S: '3600',
      CMF_OIDC_CA_FILE: caFile,
      CMF_OIDC_JWKS_COOLDOWN_MS: '200',
    });
    expect(s).toMatchObject({
      jwksUrl: 'https://keys.example.com/jwks',
      audiences: ['drey', 'drey-cli'],
      algorithms: ['ES384', 'PS256'],
      usernameClaim: 'email',
      usernamePrefix: 'idp:',
      groupsClaim: 'roles',
      groupsPrefix: 'idp:',
      clockSkewS: 5,
      maxTokenAgeS: 3600,
      jwksCooldownMs: 200,
    });
    expect(s!.ca).toContain('BEGIN CERTIFICATE');
  });

  it.each(['http://127.0.0.1:9000', 'http://localhost:9000/realms/x', 'http://[::1]:9000'])('allows http on loopback: %s', (issuer) => {
    expect(oidcSettings({ ...base, CMF_OIDC_ISSUER: issuer })[0]!.issuer).toBe(issuer);
  });

  it('combines the single issuer with an issuers file in YAML, with file paths relative to the file', () => {
    const issuers = file(
      'issuers.yaml',
      [
        '- issuer: https://a.example.com',
        '  audience: drey',
        '  caFile: ca.pem',
        '- issuer: https://b.example.com',
        '  audience: [drey, drey-cli]',
        '  algorithms: [ES256]',
        '  usernamePrefix: "b:"',
        '  clockSkewS: 0',
        '  jwksCooldownMs: 1000',
      ].join('\n'),
    );
    const settings = oidcSettings({ ...base, CMF_OIDC_ISSUERS_FILE: issuers, CMF_OIDC_JWKS_COOLDOWN_MS: '500' });
    expect(settings.map((s) => [s.issuer, s.audiences, s.algorithms, s.usernamePrefix, s.clockSkewS, s.jwksCooldownMs, s.ca !== undefined])).toEqual([
      ['https://idp.example.com', ['drey'], ['RS256', 'ES256'], '', 30, 500, false],
      ['https://a.example.com', ['drey'], ['RS256', 'ES256'], '', 30, 500, true],
      ['https://b.example.com', ['drey', 'drey-cli'], ['ES256'], 'b:', 0, 1000, false],
    ]);
  });

  it('reads an issuers file in JSON', () => {
    const issuers = file('issuers.json', JSON.stringify([{ issuer: 'https://a.example.com', audience: 'drey' }]));
    expect(oidcSettings({ CMF_OIDC_ISSUERS_FILE: issuers }).map((s) => s.issuer)).toEqual(['https://a.example.com']);
  });

  const refusals: [string, () => NodeJS.ProcessEnv, RegExp][] = [
    ['an issuer without audience', () => ({ CMF_OIDC_ISSUER: 'https://idp.example.com' }), /CMF_OIDC_AUDIENCE is required with CMF_OIDC_ISSUER/],
    ['an audience without issuer', () => ({ CMF_OIDC_AUDIENCE: 'drey' }), /CMF_OIDC_AUDIENCE is set but CMF_OIDC_ISSUER is not/],
    ['an issuer that is no URL', () => ({ ...base, CMF_OIDC_ISSUER: 'idp.example.com' }), /CMF_OIDC_ISSUER must be a URL, not 'idp.example.com'/],
    ['an http issuer off loopback', () => ({ ...base, CMF_OIDC_ISSUER: 'http://idp.example.com' }), /CMF_OIDC_ISSUER must be an https:\/\/ URL \(http:\/\/ only on a loopback address\)/],
    ['an http JWKS URL off loopback', () => ({ ...base, CMF_OIDC_JWKS_URL: 'http://10.0.0.1/jwks' }), /CMF_OIDC_JWKS_URL must be an https:\/\/ URL/],
    ['an issuer with a query', () => ({ ...base, CMF_OIDC_ISSUER: 'https://idp.example.com/?x=1' }), /CMF_OIDC_ISSUER must not carry credentials, a query or a fragment/],
    ['alg none', () => ({ ...base, CMF_OIDC_ALGORITHMS: 'RS256,none' }), /CMF_OIDC_ALGORITHMS must not include 'none'/],
    ['HS256', () => ({ ...base, CMF_OIDC_ALGORITHMS: 'HS256' }), /CMF_OIDC_ALGORITHMS must not include 'HS256'/],
    ['hs512 in lower case', () => ({ ...base, CMF_OIDC_ALGORITHMS: 'ES256,hs512' }), /CMF_OIDC_ALGORITHMS must not include 'hs512'/],
    ['an unknown algorithm', () => ({ ...base, CMF_OIDC_ALGORITHMS: 'RS1' }), /CMF_OIDC_ALGORITHMS must list algorithms among RS256, .*, not 'RS1'/],
    ['a clock skew that is no number', () => ({ ...base, CMF_OIDC_CLOCK_SKEW_S: 'abc' }), /CMF_OIDC_CLOCK_SKEW_S must be an integer, not 'abc'/],
    ['a negative clock skew', () => ({ ...base, CMF_OIDC_CLOCK_SKEW_S: '-1' }), /CMF_OIDC_CLOCK_SKEW_S must be from 0 to 600, not -1/],
    ['a zero maximum token age', () => ({ ...base, CMF_OIDC_MAX_TOKEN_AGE_S: '0' }), /CMF_OIDC_MAX_TOKEN_AGE_S must be from 1 to/],
    ['a cooldown too short to stop a refetch storm', () => ({ ...base, CMF_OIDC_JWKS_COOLDOWN_MS: '10' }), /CMF_OIDC_JWKS_COOLDOWN_MS must be from 100 to 3600000, not 10/],
    ['a missing CA file', () => ({ ...base, CMF_OIDC_CA_FILE: path.join(dir, 'nope.pem') }), /CMF_OIDC_CA_FILE .*nope\.pem cannot be read: ENOENT/],
    ['a CA file without certificates', () => ({ ...base, CMF_OIDC_CA_FILE: file('bad-ca.pem', 'hello') }), /CMF_OIDC_CA_FILE .*bad-ca\.pem must hold PEM certificates/],
    ['a reserved username prefix', () => ({ ...base, CMF_OIDC_USERNAME_PREFIX: 'system:' }), /CMF_OIDC_USERNAME_PREFIX must not start with a reserved prefix/],
    ['a reserved groups prefix', () => ({ ...base, CMF_OIDC_GROUPS_PREFIX: 'system:x:' }), /CMF_OIDC_GROUPS_PREFIX must not start with the reserved prefix system:/],
    ['a missing issuers file', () => ({ CMF_OIDC_ISSUERS_FILE: path.join(dir, 'none.yaml') }), /CMF_OIDC_ISSUERS_FILE .*none\.yaml cannot be read/],
    ['an issuers file that is no YAML', () => ({ CMF_OIDC_ISSUERS_FILE: file('broken.yaml', '- issuer: [') }), /CMF_OIDC_ISSUERS_FILE .*broken\.yaml cannot be read/],
    ['an issuers file that is no list', () => ({ CMF_OIDC_ISSUERS_FILE: file('map.yaml', 'issuer: https://a.example.com') }), /CMF_OIDC_ISSUERS_FILE .*map\.yaml: body must be array/],
    ['an empty issuers list', () => ({ CMF_OIDC_ISSUERS_FILE: file('empty.json', '[]') }), /empty\.json: body must NOT have fewer than 1 items/],
    ['a file entry without audience', () => ({ CMF_OIDC_ISSUERS_FILE: file('noaud.json', '[{"issuer":"https://a.example.com"}]') }), /noaud\.json: 0\.audience is required/],
    [
      'a file entry with an unknown field',
      () => ({ CMF_OIDC_ISSUERS_FILE: file('extra.json', '[{"issuer":"https://a.example.com","audience":"d","clientSecret":"x"}]') }),
      /extra\.json: 0 must NOT have additional properties/,
    ],
    [
      'a file entry with HS256',
      () => ({ CMF_OIDC_ISSUERS_FILE: file('hs.json', '[{"issuer":"https://a.example.com","audience":"d","algorithms":["HS256"]}]') }),
      /CMF_OIDC_ISSUERS_FILE entry 0 algorithms must not include 'HS256'/,
    ],
    [
      'a file entry with an http issuer off loopback',
      () => ({ CMF_OIDC_ISSUERS_FILE: file('http.json', '[{"issuer":"https://a.example.com","audience":"d"},{"issuer":"http://b.example.com","audience":"d"}]') }),
      /CMF_OIDC_ISSUERS_FILE entry 1 issuer must be an https:\/\/ URL/,
    ],
    [
      'the same issuer in the variables and the file',
      () => ({ ...base, CMF_OIDC_ISSUERS_FILE: file('dup.json', '[{"issuer":"https://idp.example.com","audience":"other"}]') }),
      /OIDC issuer 'https:\/\/idp.example.com' is configured twice/,
    ],
    [
      'the same issuer twice in the file',
      () => ({ CMF_OIDC_ISSUERS_FILE: file('dup2.json', '[{"issuer":"https://a.example.com","audience":"x"},{"issuer":"https://a.example.com","audience":"y"}]') }),
      /OIDC issuer 'https:\/\/a.example.com' is configured twice/,
    ],
  ];
  it.each(refusals)('refuses %s', (_name, env, message) => {
    let error: unknown;
    try {
      oidcSettings(env());
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
  });
});
