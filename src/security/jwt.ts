import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import yaml from 'js-yaml';
import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  errors,
  jwtVerify,
  type FetchImplementation,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { ConfigError } from '../config.js';
import { BadRequest } from '../domain/errors.js';
import type { Logger } from '../log.js';
import { oidcIssuersSchema, type OidcIssuerEntry } from '../schemas/oidcIssuers.js';
import { compileValidator } from '../schemas/validate.js';
import { CredentialRejected, type Principal } from './principal.js';

/** One trusted token issuer, validated: what `JwtAuthenticator` checks a token against. */
export interface IssuerSettings {
  /** The exact `iss` its tokens carry. */
  issuer: string;
  /** Where its signing keys are served; found through OIDC discovery when unset. */
  jwksUrl: string | undefined;
  /** Accepted `aud` values: a token must name at least one. */
  audiences: string[];
  /** Accepted `alg` values; never `none` nor an HMAC algorithm. */
  algorithms: string[];
  /** The claim holding the user name, and what is put before it. */
  usernameClaim: string;
  usernamePrefix: string;
  /** The claim holding the groups (an array of strings), and what is put before each. */
  groupsClaim: string;
  groupsPrefix: string;
  /** Leeway for `exp`, `nbf` and `iat` against this machine's clock. */
  clockSkewS: number;
  /** Tokens issued (`iat`) longer ago than this are refused; no limit when unset. */
  maxTokenAgeS: number | undefined;
  /** PEM bundle the issuer's https endpoints are checked against; the system roots when unset. */
  ca: string | undefined;
  /** The least time between two JWKS fetches caused by an unknown `kid`. */
  jwksCooldownMs: number;
}

/** Longest bearer token looked at: anything longer is refused before it is parsed. */
export const MAX_TOKEN_LENGTH = 8 * 1024;

/** Signature algorithms an issuer may be configured with: asymmetric only. */
const SUPPORTED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/** User names that belong to API tokens (`token:`) and to drey itself (`system:`). */
const RESERVED_USER = /^(token|system):/;
/** Group names that belong to drey itself. */
const RESERVED_GROUP = /^system:/;
/** Largest discovery document or key set read from an issuer. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
const FETCH_TIMEOUT_MS = 5_000;
/** Keys are fetched again at least this often even when every `kid` is known. */
const CACHE_MAX_AGE_MS = 10 * 60_000;

/** The single-issuer environment variable behind each field of an issuers-file entry. */
const ENV_NAMES = {
  issuer: 'CMF_OIDC_ISSUER',
  jwksUrl: 'CMF_OIDC_JWKS_URL',
  audience: 'CMF_OIDC_AUDIENCE',
  algorithms: 'CMF_OIDC_ALGORITHMS',
  usernameClaim: 'CMF_OIDC_USERNAME_CLAIM',
  usernamePrefix: 'CMF_OIDC_USERNAME_PREFIX',
  groupsClaim: 'CMF_OIDC_GROUPS_CLAIM',
  groupsPrefix: 'CMF_OIDC_GROUPS_PREFIX',
  clockSkewS: 'CMF_OIDC_CLOCK_SKEW_S',
  maxTokenAgeS: 'CMF_OIDC_MAX_TOKEN_AGE_S',
  caFile: 'CMF_OIDC_CA_FILE',
  jwksCooldownMs: 'CMF_OIDC_JWKS_COOLDOWN_MS',
} as const satisfies Record<keyof OidcIssuerEntry, string>;

type Field = keyof OidcIssuerEntry;

const validateIssuersFile = compileValidator<OidcIssuerEntry[]>(oidcIssuersSchema);

/**
 * The token issuers drey trusts: one from the `CMF_OIDC_*` variables and any number from the list in
 * `CMF_OIDC_ISSUERS_FILE` (YAML or JSON). Throws ConfigError naming the setting at fault.
 */
export function oidcSettings(env: NodeJS.ProcessEnv): IssuerSettings[] {
  const defaultCooldownMs = envInteger(env, ENV_NAMES.jwksCooldownMs) ?? 30_000;
  const settings: IssuerSettings[] = [];
  const issuer = env.CMF_OIDC_ISSUER || undefined;
  if (issuer !== undefined) {
    const entry: OidcIssuerEntry = {
      issuer,
      jwksUrl: env.CMF_OIDC_JWKS_URL || undefined,
      audience: list(env.CMF_OIDC_AUDIENCE) ?? requiredAudience(),
      algorithms: list(env.CMF_OIDC_ALGORITHMS),
      usernameClaim: env.CMF_OIDC_USERNAME_CLAIM || undefined,
      usernamePrefix: env.CMF_OIDC_USERNAME_PREFIX,
      groupsClaim: env.CMF_OIDC_GROUPS_CLAIM || undefined,
      groupsPrefix: env.CMF_OIDC_GROUPS_PREFIX,
      clockSkewS: envInteger(env, ENV_NAMES.clockSkewS),
      maxTokenAgeS: envInteger(env, ENV_NAMES.maxTokenAgeS),
      caFile: env.CMF_OIDC_CA_FILE || undefined,
    };
    settings.push(settle(entry, (field) => ENV_NAMES[field], process.cwd(), defaultCooldownMs));
  } else {
    const stray = Object.entries(ENV_NAMES).find(([field, name]) => field !== 'jwksCooldownMs' && env[name]);
    if (stray) throw new ConfigError(`${stray[1]} is set but CMF_OIDC_ISSUER is not`);
  }
  if (env.CMF_OIDC_ISSUERS_FILE) {
    // Relative CA file paths in the file are relative to the file.
    const file = path.resolve(env.CMF_OIDC_ISSUERS_FILE);
    readIssuersFile(file).forEach((entry, i) => {
      const name = (field: Field): string => `CMF_OIDC_ISSUERS_FILE entry ${i} ${field}`;
      settings.push(settle(entry, name, path.dirname(file), defaultCooldownMs));
    });
  }
  const seen = new Set<string>();
  for (const { issuer: iss } of settings) {
    if (seen.has(iss)) throw new ConfigError(`OIDC issuer '${iss}' is configured twice`);
    seen.add(iss);
  }
  return settings;
}

function requiredAudience(): never {
  throw new ConfigError('CMF_OIDC_AUDIENCE is required with CMF_OIDC_ISSUER: tokens meant for another service must not be accepted');
}

/** `a, b` → `['a', 'b']`; unset or empty → undefined. */
function list(raw: string | undefined): string[] | undefined {
  const items = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return items.length > 0 ? items : undefined;
}

function envInteger(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new ConfigError(`${name} must be an integer, not '${raw}'`);
  return value;
}

function readIssuersFile(file: string): OidcIssuerEntry[] {
  let parsed: unknown;
  try {
    parsed = yaml.load(readFileSync(file, 'utf8'), { schema: yaml.CORE_SCHEMA });
  } catch (err) {
    throw new ConfigError(`CMF_OIDC_ISSUERS_FILE ${file} cannot be read: ${(err as Error).message}`);
  }
  try {
    return validateIssuersFile(parsed);
  } catch (err) {
    if (err instanceof BadRequest) throw new ConfigError(`CMF_OIDC_ISSUERS_FILE ${file}: ${err.messages.join('; ')}`);
    throw err;
  }
}

/** Applies the defaults to one issuer and checks what the schema cannot. */
function settle(entry: OidcIssuerEntry, name: (field: Field) => string, baseDir: string, defaultCooldownMs: number): IssuerSettings {
  endpoint(entry.issuer, name('issuer'));
  if (entry.jwksUrl !== undefined) endpoint(entry.jwksUrl, name('jwksUrl'));
  const usernamePrefix = entry.usernamePrefix ?? '';
  if (RESERVED_USER.test(usernamePrefix)) throw new ConfigError(`${name('usernamePrefix')} must not start with a reserved prefix (token:, system:)`);
  const groupsPrefix = entry.groupsPrefix ?? '';
  if (RESERVED_GROUP.test(groupsPrefix)) throw new ConfigError(`${name('groupsPrefix')} must not start with the reserved prefix system:`);
  return {
    issuer: entry.issuer,
    jwksUrl: entry.jwksUrl,
    audiences: typeof entry.audience === 'string' ? [entry.audience] : [...entry.audience],
    algorithms: algorithms(entry.algorithms ?? ['RS256', 'ES256'], name('algorithms')),
    usernameClaim: entry.usernameClaim ?? 'sub',
    usernamePrefix,
    groupsClaim: entry.groupsClaim ?? 'groups',
    groupsPrefix,
    clockSkewS: inRange(entry.clockSkewS ?? 30, name('clockSkewS'), 0, 600),
    maxTokenAgeS: entry.maxTokenAgeS === undefined ? undefined : inRange(entry.maxTokenAgeS, name('maxTokenAgeS'), 1, 30 * 86_400),
    ca: entry.caFile === undefined ? undefined : caBundle(path.resolve(baseDir, entry.caFile), name('caFile')),
    jwksCooldownMs: inRange(entry.jwksCooldownMs ?? defaultCooldownMs, name('jwksCooldownMs'), 100, 3_600_000),
  };
}

function inRange(value: number, name: string, min: number, max: number): number {
  if (value < min || value > max) throw new ConfigError(`${name} must be from ${min} to ${max}, not ${value}`);
  return value;
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** An issuer's URL: https, or http on a loopback address (tests, a local issuer). */
function endpoint(raw: string, name: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL, not '${raw}'`);
  }
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname)))) {
    throw new ConfigError(`${name} must be an https:// URL (http:// only on a loopback address), not '${raw}'`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigError(`${name} must not carry credentials, a query or a fragment`);
  }
  return url;
}

function algorithms(values: readonly string[], name: string): string[] {
  for (const alg of values) {
    if (alg.toLowerCase() === 'none') throw new ConfigError(`${name} must not include 'none': unsigned tokens are never accepted`);
    if (/^hs/i.test(alg)) {
      throw new ConfigError(`${name} must not include '${alg}': with a shared-secret algorithm the issuer's public key would sign tokens`);
    }
    if (!SUPPORTED_ALGORITHMS.includes(alg)) throw new ConfigError(`${name} must list algorithms among ${SUPPORTED_ALGORITHMS.join(', ')}, not '${alg}'`);
  }
  return [...new Set(values)];
}

function caBundle(file: string, name: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${name} ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no certificate');
    createSecureContext({ ca: pem });
  } catch {
    throw new ConfigError(`${name} ${file} must hold PEM certificates`);
  }
  return pem;
}

/**
 * `fetch` over `node:http`/`node:https`, because Node 20's global fetch cannot be given a CA without
 * undici. Redirects are not followed, and responses over MAX_RESPONSE_BYTES are refused.
 */
function nodeFetch(ca: string | undefined): FetchImplementation {
  return (url, options) =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const fail = (err: Error): void => reject(options.signal.aborted ? options.signal.reason : err);
      const request = (target.protocol === 'https:' ? https : http).request(
        target,
        { method: options.method, headers: Object.fromEntries(options.headers), signal: options.signal, ...(ca === undefined ? {} : { ca }) },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) res.destroy(new Error(`response from ${target.origin} exceeds ${MAX_RESPONSE_BYTES} bytes`));
            else chunks.push(chunk);
          });
          res.on('error', fail);
          res.on('end', () => {
            try {
              resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 502 }));
            } catch (err) {
              fail(err as Error); // a status a Response cannot carry a body with (1xx, 204, 304)
            }
          });
        },
      );
      request.on('error', fail);
      request.end();
    });
}

/** The keys of one issuer: its remote JWKS, created on first use (after discovery, if needed). */
class Issuer {
  readonly #fetch: FetchImplementation;
  #keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(
    readonly settings: IssuerSettings,
    private readonly log: Logger,
  ) {
    const fetch = nodeFetch(settings.ca);
    this.#fetch = async (url, options) => {
      const response = await fetch(url, options).catch((err: Error) => {
        log.warn('OIDC issuer unreachable', { issuer: settings.issuer, url, error: err.message });
        throw err;
      });
      if (response.status !== 200) log.warn('OIDC issuer answered with an error', { issuer: settings.issuer, url, status: response.status });
      return response;
    };
  }

  /** The key resolver; a failed discovery is tried again by the next token. */
  keys(): Promise<JWTVerifyGetKey> {
    this.#keys ??= this.#createKeys().catch((err: unknown) => {
      this.#keys = undefined;
      throw err;
    });
    return this.#keys;
  }

  async #createKeys(): Promise<JWTVerifyGetKey> {
    const jwksUrl = this.settings.jwksUrl ?? (await this.#discover());
    return createRemoteJWKSet(new URL(jwksUrl), {
      cooldownDuration: this.settings.jwksCooldownMs,
      cacheMaxAge: Math.max(CACHE_MAX_AGE_MS, this.settings.jwksCooldownMs),
      timeoutDuration: FETCH_TIMEOUT_MS,
      [customFetch]: this.#fetch,
    });
  }

  /** `jwks_uri` from the issuer's discovery document, which must name the issuer exactly. */
  async #discover(): Promise<string> {
    const url = `${this.settings.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const response = await this.#fetch(url, {
      method: 'GET',
      headers: new Headers({ accept: 'application/json' }),
      redirect: 'manual',
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
    if (response.status !== 200) throw new Error(`discovery answered ${response.status}`);
    const doc = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
    const problem =
      doc.issuer !== this.settings.issuer ? 'names another issuer' : typeof doc.jwks_uri !== 'string' ? 'has no jwks_uri' : undefined;
    if (problem !== undefined) {
      this.log.warn(`OIDC discovery document ${problem}`, { issuer: this.settings.issuer, url });
      throw new Error(`discovery document ${problem}`);
    }
    const jwksUrl = doc.jwks_uri as string;
    try {
      endpoint(jwksUrl, 'jwks_uri');
    } catch (err) {
      this.log.warn('OIDC discovery document has an unusable jwks_uri', { issuer: this.settings.issuer, error: (err as Error).message });
      throw err;
    }
    this.log.debug('OIDC issuer discovered', { issuer: this.settings.issuer, jwksUrl });
    return jwksUrl;
  }

  /** Checks signature and claims; jose's error code (and claim) becomes the rejection reason. */
  async verify(token: string): Promise<JWTPayload> {
    const s = this.settings;
    try {
      const { payload } = await jwtVerify(token, await this.keys(), {
        issuer: s.issuer,
        audience: s.audiences,
        algorithms: s.algorithms,
        clockTolerance: s.clockSkewS,
        maxTokenAge: s.maxTokenAgeS,
        requiredClaims: ['exp'],
      });
      return payload;
    } catch (err) {
      if (!(err instanceof errors.JOSEError)) throw new CredentialRejected('issuer_unavailable');
      const claim = (err as { claim?: unknown }).claim;
      throw new CredentialRejected(typeof claim === 'string' ? `${err.code}:${claim}` : err.code);
    }
  }

  /** The principal a verified token names, or a rejection when its claims cannot be mapped. */
  principal(payload: JWTPayload): Principal {
    const s = this.settings;
    const name = claim(payload, s.usernameClaim);
    if (typeof name !== 'string' || name === '') throw new CredentialRejected('username_claim_invalid');
    const user = s.usernamePrefix + name;
    if (RESERVED_USER.test(user)) throw new CredentialRejected('reserved_username');
    const value = claim(payload, s.groupsClaim);
    const raw = value === undefined ? [] : value;
    if (!Array.isArray(raw) || !raw.every((g): g is string => typeof g === 'string' && g !== '')) {
      throw new CredentialRejected('groups_claim_invalid');
    }
    const groups = [...new Set(raw.map((g) => s.groupsPrefix + g))];
    if (groups.some((g) => RESERVED_GROUP.test(g))) throw new CredentialRejected('reserved_group');
    return { user, groups, authenticator: 'oidc', expiresAt: new Date((payload.exp as number) * 1000) };
  }
}

/** A claim the payload itself holds (never one inherited from Object.prototype). */
function claim(payload: JWTPayload, name: string): unknown {
  return Object.hasOwn(payload, name) ? payload[name] : undefined;
}

/**
 * Bearer-token authentication against trusted OIDC issuers (Kubernetes' JWT authenticator, in small).
 * Every refusal is a CredentialRejected whose reason is a short code for the debug log; no part of a
 * token is ever put in a reason or a log line.
 */
export class JwtAuthenticator {
  readonly #issuers: Map<string, Issuer>;

  constructor({ issuers, log }: { issuers: IssuerSettings[]; log: Logger }) {
    this.#issuers = new Map(issuers.map((s) => [s.issuer, new Issuer(s, log)]));
  }

  /** The principal a token names, once its issuer, signature and claims are accepted. */
  async verify(token: string): Promise<Principal> {
    if (token.length > MAX_TOKEN_LENGTH) throw new CredentialRejected('token_too_large');
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw new CredentialRejected('malformed');
    }
    const issuer = typeof iss === 'string' ? this.#issuers.get(iss) : undefined;
    if (issuer === undefined) throw new CredentialRejected('unknown_issuer');
    return issuer.principal(await issuer.verify(token));
  }
}
