import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../config.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import { CredentialRejected, type Principal } from './principal.js';

/**
 * What every API token starts with: secret scanners (GitHub's, gitleaks) find leaked tokens by it,
 * and the authenticator tells them from JWTs by it.
 */
export const API_TOKEN_PREFIX = 'drey_';

/** `drey_<id: 32 lowercase hex>_<secret: 32 bytes in base64url, 43 characters>`. */
const TOKEN_FORMAT = /^drey_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;

/** The ServerKey holding the pepper every secret hash is keyed with. */
const PEPPER_KEY = 'api-token-pepper';

/** `lastUsedAt` is written at most this often per token: it is for audits, not for every request. */
export const LAST_USED_INTERVAL_MS = 60_000;

/** A new token: its row's id and secret, and the value handed to its owner once. */
export interface MintedToken {
  id: string;
  secret: string;
  token: string;
}

/** A fresh token with a random id and 256 random bits of secret. */
export function mintToken(): MintedToken {
  const id = randomUUID();
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, token: `${API_TOKEN_PREFIX}${id.replaceAll('-', '')}_${secret}` };
}

/** The id (as a UUID) and secret of a well-formed token; `undefined` for anything else. */
export function parseToken(raw: string): { id: string; secret: string } | undefined {
  const match = TOKEN_FORMAT.exec(raw);
  if (!match) return undefined;
  const hex = match[1]!;
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return { id, secret: match[2]! };
}

/**
 * What is stored of a secret. The secret is 256 random bits, so a fast keyed hash suffices (no
 * password stretching); the pepper keeps a copy of the table alone from testing guesses.
 */
export function hashSecret(pepper: Buffer, secret: string): Buffer {
  return createHmac('sha256', pepper).update(secret).digest();
}

/** The pepper, read once per process (every replica shares it through the ServerKey table). */
export function apiTokenPepper(store: Pick<Store, 'serverKeys'>): () => Promise<Buffer> {
  let pepper: Promise<Buffer> | undefined;
  return () =>
    (pepper ??= store.serverKeys.get(PEPPER_KEY).catch((err: unknown) => {
      pepper = undefined;
      throw err;
    }));
}

/** Options of an ApiTokenAuthenticator. */
export interface ApiTokenAuthenticatorOptions {
  store: Pick<Store, 'apiTokens' | 'serverKeys'>;
  /** Where rejections of known tokens are noted (by name, at debug); never a token. */
  log: Logger;
  /** The current instant; tests move it instead of waiting. */
  now?: () => Date;
}

/**
 * Accepts the API tokens stored in the database. Each verification reads the token's row by primary
 * key and caches nothing, so a revocation or expiry holds at once on every replica.
 */
export class ApiTokenAuthenticator {
  private readonly store: ApiTokenAuthenticatorOptions['store'];
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly pepper: () => Promise<Buffer>;
  /** When this process last wrote each token's `lastUsedAt`: concurrent requests write it once. */
  private readonly touched = new Map<string, number>();

  constructor(options: ApiTokenAuthenticatorOptions) {
    this.store = options.store;
    this.log = options.log;
    this.now = options.now ?? (() => new Date());
    this.pepper = apiTokenPepper(options.store);
  }

  /**
   * The principal a token acts as, or CredentialRejected with a short reason (`malformed`,
   * `unknown`, `wrong-secret`, `revoked`, `expired`). Database failures propagate as they are.
   */
  async verify(raw: string): Promise<Principal> {
    const parsed = parseToken(raw);
    if (!parsed) throw new CredentialRejected('malformed');
    const [pepper, row] = await Promise.all([this.pepper(), this.store.apiTokens.credential(parsed.id)]);
    if (!row) throw new CredentialRejected('unknown');
    const presented = hashSecret(pepper, parsed.secret);
    if (row.secretHash.length !== presented.length || !timingSafeEqual(row.secretHash, presented)) {
      throw this.rejected('wrong-secret', row.name);
    }
    if (row.revokedAt) throw this.rejected('revoked', row.name);
    const at = this.now();
    if (row.expiresAt.getTime() <= at.getTime()) throw this.rejected('expired', row.name);
    await this.touch(parsed.id, row.lastUsedAt, at);
    return { user: row.principal, groups: [], authenticator: 'apiToken', expiresAt: row.expiresAt };
  }

  private rejected(reason: string, name: string): CredentialRejected {
    this.log.debug('api token rejected', { reason, name });
    return new CredentialRejected(reason);
  }

  /** Records the use unless this process or the row says it was recorded less than a minute ago. */
  private async touch(id: string, lastUsedAt: Date | null, at: Date): Promise<void> {
    const last = Math.max(lastUsedAt?.getTime() ?? -Infinity, this.touched.get(id) ?? -Infinity);
    if (at.getTime() - last < LAST_USED_INTERVAL_MS) return;
    for (const [other, when] of this.touched) {
      if (at.getTime() - when >= LAST_USED_INTERVAL_MS) this.touched.delete(other);
    }
    this.touched.set(id, at.getTime());
    await this.store.apiTokens.touch(id, at, new Date(at.getTime() - LAST_USED_INTERVAL_MS));
  }
}

/** How long tokens live. */
export interface ApiTokenSettings {
  /** Lifetime of a token created without `expiresAt` or `ttlDays`. */
  defaultTtlDays: number;
  /** Longest lifetime a token may be given: every token expires. */
  maxTtlDays: number;
}

function days(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > 36_500) {
    throw new ConfigError(`${name} must be a whole number of days from 1 to 36500, not '${raw}'`);
  }
  return value;
}

/** Reads `CMF_API_TOKEN_DEFAULT_TTL_DAYS` (90) and `CMF_API_TOKEN_MAX_TTL_DAYS` (365). */
export function apiTokenSettings(env: NodeJS.ProcessEnv): ApiTokenSettings {
  const defaultTtlDays = days(env, 'CMF_API_TOKEN_DEFAULT_TTL_DAYS', 90);
  const maxTtlDays = days(env, 'CMF_API_TOKEN_MAX_TTL_DAYS', 365);
  if (defaultTtlDays > maxTtlDays) {
    throw new ConfigError(
      `CMF_API_TOKEN_DEFAULT_TTL_DAYS (${defaultTtlDays}) must not exceed CMF_API_TOKEN_MAX_TTL_DAYS (${maxTtlDays})`,
    );
  }
  return { defaultTtlDays, maxTtlDays };
}
