/**
 * An OIDC token issuer for tests, on a loopback port and without network: it serves discovery
 * (`/.well-known/openid-configuration`) and its keys (`/jwks`), counts how often each is fetched,
 * and mints good and bad tokens.
 *
 *   const issuer = await startIssuer();
 *   const auth = new JwtAuthenticator({ issuers: [issuer.settings({ groupsPrefix: 'oidc:' })], log });
 *   await auth.verify(await issuer.mint());                     // alice in group ops
 *   await issuer.mint('expired');                               // one of TOKEN_KINDS
 *   await issuer.mint({ sub: 'bob', groups: ['dev'] });         // valid, with claims replaced
 *   await issuer.mint('valid', { groups: undefined });          // undefined removes a claim
 *   startDrey({ ...issuer.env(), ... });                        // the same issuer through CMF_OIDC_*
 *   await issuer.rotate(); issuer.jwksFetches; await issuer.close();
 *
 * Keys: an ES256 and an RS256 key are served (kids `es-1`, `rs-1`); the next pair (`es-2`, `rs-2`)
 * exists but is not served until `rotate()`, which serves it and drops the old pair.
 */
import { createHmac, KeyObject } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { IssuerSettings } from '../../src/security/jwt.js';

/** The tokens `mint` makes: one good, the rest each wrong in one way. */
export const TOKEN_KINDS = [
  'valid',
  'expired',
  'notYetValid',
  'wrongIss',
  'wrongAud',
  'badSig',
  'algNone',
  'hs256WithPublicKey',
  'hs256WithPublicKeyJwk',
  'hs256WithPublicKeyDer',
  'unknownKid',
  'missingSub',
  'reservedUser',
  'groupsNotArray',
  'huge',
] as const;

/**
 * `expired`/`notYetValid`: exp and nbf ten minutes off, beyond any clock skew; `wrongIss`: an
 * issuer nobody trusts; `badSig`: one signature byte flipped; `algNone`: unsigned; `hs256WithPublicKey*`:
 * HMAC keyed with the RSA public key as PEM, JWK JSON or DER; `unknownKid`: signed with the next key,
 * not served before `rotate()`; `reservedUser`: sub `system:admin`; `groupsNotArray`: groups `"ops"`;
 * `huge`: over 8 KiB.
 */
export type TokenKind = (typeof TOKEN_KINDS)[number];

/** Claims to put in a token; a claim set to undefined is left out. */
export type Claims = Record<string, unknown>;

/** The audience tokens are minted for unless `startIssuer` is told another. */
export const TEST_AUDIENCE = 'drey-test';

/** A running test issuer. */
export interface TestIssuer {
  /** The issuer identifier (`iss`), also its base URL. */
  readonly url: string;
  readonly jwksUrl: string;
  readonly audience: string;
  /** How many times `/jwks` was fetched. */
  readonly jwksFetches: number;
  /** How many times the discovery document was fetched. */
  readonly discoveryFetches: number;
  /** Kids of the keys `/jwks` serves now. */
  readonly servedKids: string[];
  /** A token of the given kind (default `valid`), with `claims` replacing the defaults; ES256 unless `alg` says RS256. */
  mint(kind?: TokenKind | Claims, claims?: Claims, options?: { alg?: 'ES256' | 'RS256' }): Promise<string>;
  /** Serves the next key pair instead of the current one; later tokens are signed with it. */
  rotate(): Promise<void>;
  /** Settings for `JwtAuthenticator` trusting this issuer (through discovery, 200 ms JWKS cooldown). */
  settings(overrides?: Partial<IssuerSettings>): IssuerSettings;
  /** The `CMF_OIDC_*` variables trusting this issuer (no CA: give `CMF_OIDC_CA_FILE` for a TLS issuer). */
  env(): Record<string, string>;
  close(): Promise<void>;
}

interface SigningKey {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicKey: CryptoKey;
}

interface KeyGeneration {
  es: SigningKey;
  rs: SigningKey;
}

async function signingKey(alg: 'ES256' | 'RS256', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

async function generation(n: number): Promise<KeyGeneration> {
  return { es: await signingKey('ES256', `es-${n}`), rs: await signingKey('RS256', `rs-${n}`) };
}

const b64 = (value: unknown): string => base64url.encode(JSON.stringify(value));

function hmacToken(header: object, claims: Claims, key: string | Buffer): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

/** The claims of `kind`, before `overrides`. */
function claimsFor(kind: TokenKind, url: string, audience: string): Claims {
  const now = Math.floor(Date.now() / 1000);
  const claims: Claims = { iss: url, aud: audience, sub: 'alice', groups: ['ops'], iat: now, exp: now + 600 };
  switch (kind) {
    case 'expired':
      return { ...claims, iat: now - 1200, exp: now - 600 };
    case 'notYetValid':
      return { ...claims, nbf: now + 600, exp: now + 1200 };
    case 'wrongIss':
      return { ...claims, iss: 'https://issuer.invalid' };
    case 'wrongAud':
      return { ...claims, aud: 'another-service' };
    case 'missingSub':
      return { ...claims, sub: undefined };
    case 'reservedUser':
      return { ...claims, sub: 'system:admin' };
    case 'groupsNotArray':
      return { ...claims, groups: 'ops' };
    case 'huge':
      return { ...claims, padding: 'x'.repeat(9 * 1024) };
    default:
      return claims;
  }
}

/** Starts an issuer on 127.0.0.1 and a free port; over TLS when given a server certificate. */
export async function startIssuer(options: { audience?: string; tls?: { certPem: string; keyPem: string } } = {}): Promise<TestIssuer> {
  const audience = options.audience ?? TEST_AUDIENCE;
  let generations = 1;
  let current = await generation(generations++);
  let next = await generation(generations++);
  let jwksFetches = 0;
  let discoveryFetches = 0;
  let url = '';

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const reply = (body: unknown): void => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/.well-known/openid-configuration') {
      discoveryFetches++;
      reply({ issuer: url, jwks_uri: `${url}/jwks`, id_token_signing_alg_values_supported: ['ES256', 'RS256'] });
    } else if (req.method === 'GET' && req.url === '/jwks') {
      jwksFetches++;
      reply({ keys: [current.es.publicJwk, current.rs.publicJwk] });
    } else {
      res.writeHead(404).end();
    }
  };
  const server = options.tls ? https.createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function mint(kindOrClaims: TokenKind | Claims = 'valid', overrides: Claims = {}, { alg = 'ES256' }: { alg?: 'ES256' | 'RS256' } = {}): Promise<string> {
    const kind = typeof kindOrClaims === 'string' ? kindOrClaims : 'valid';
    const merged = { ...claimsFor(kind, url, audience), ...(typeof kindOrClaims === 'string' ? {} : kindOrClaims), ...overrides };
    const claims = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined));
    const rsa = current.rs;
    switch (kind) {
      case 'algNone':
        return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
      case 'hs256WithPublicKey':
        return hmacToken({ alg: 'HS256', typ: 'JWT', kid: rsa.kid }, claims, await exportSPKI(rsa.publicKey));
      case 'hs256WithPublicKeyJwk':
        return hmacToken({ alg: 'HS256', typ: 'JWT', kid: rsa.kid }, claims, JSON.stringify(rsa.publicJwk));
      case 'hs256WithPublicKeyDer':
        return hmacToken({ alg: 'HS256', typ: 'JWT', kid: rsa.kid }, claims, KeyObject.from(rsa.publicKey).export({ type: 'spki', format: 'der' }));
    }
    const key = (kind === 'unknownKid' ? next : current)[alg === 'RS256' ? 'rs' : 'es'];
    const token = await new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
    if (kind !== 'badSig') return token;
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const bytes = base64url.decode(signature);
    bytes[0] = bytes[0]! ^ 0x01;
    return `${header}.${payload}.${base64url.encode(bytes)}`;
  }

  return {
    url,
    jwksUrl: `${url}/jwks`,
    audience,
    get jwksFetches() {
      return jwksFetches;
    },
    get discoveryFetches() {
      return discoveryFetches;
    },
    get servedKids() {
      return [current.es.kid, current.rs.kid];
    },
    mint,
    async rotate() {
      current = next;
      next = await generation(generations++);
    },
    settings: (overrides = {}) => ({
      issuer: url,
      jwksUrl: undefined,
      audiences: [audience],
      algorithms: ['ES256', 'RS256'],
      usernameClaim: 'sub',
      usernamePrefix: '',
      groupsClaim: 'groups',
      groupsPrefix: '',
      clockSkewS: 30,
      maxTokenAgeS: undefined,
      ca: undefined,
      jwksCooldownMs: 200,
      ...overrides,
    }),
    env: () => ({ CMF_OIDC_ISSUER: url, CMF_OIDC_AUDIENCE: audience, CMF_OIDC_ALGORITHMS: 'ES256,RS256', CMF_OIDC_JWKS_COOLDOWN_MS: '200' }),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
