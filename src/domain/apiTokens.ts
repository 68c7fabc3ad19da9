import {
  API_TOKEN_KIND,
  apiTokenRequestSchema,
  DREY_API_VERSION,
  type ApiTokenCreated,
  type ApiTokenObject,
  type ApiTokenRequest,
} from '../schemas/apiToken.js';
import { compileValidator } from '../schemas/validate.js';
import { apiTokenPepper, apiTokenSettings, hashSecret, mintToken, type ApiTokenSettings } from '../security/apiTokens.js';
import type { ApiTokenRecord } from '../store/apiTokens.js';
import type { Store } from '../store/index.js';
import { Forbidden, NotFound, Unprocessable } from './errors.js';
import type { JsonObject } from './objects.js';
import { pageBody, type PageRequest } from './paging.js';
import { now } from './time.js';

/** The properties a token list sorts by, for the route's `sort` parser. */
export { API_TOKEN_SORT_FIELDS } from '../store/apiTokens.js';

const validate = compileValidator<ApiTokenRequest>(apiTokenRequestSchema);

const DAY_MS = 86_400_000;

/** A token as the API returns it: what it is and how it was used, never its value or hash. */
export function apiTokenOut(token: ApiTokenRecord): ApiTokenObject {
  return {
    apiVersion: DREY_API_VERSION,
    kind: API_TOKEN_KIND,
    metadata: { name: token.name, uid: token.id, creationTimestamp: token.createdAt.toISOString() },
    spec: {
      principal: token.principal,
      expiresAt: token.expiresAt.toISOString(),
      ...(token.description !== null ? { description: token.description } : {}),
    },
    status: {
      createdBy: token.createdBy,
      ...(token.lastUsedAt ? { lastUsedAt: token.lastUsedAt.toISOString() } : {}),
      ...(token.revokedAt ? { revokedAt: token.revokedAt.toISOString(), revokedBy: token.revokedBy ?? '' } : {}),
    },
  };
}

/** When a new token expires: every token does, within the configured maximum. */
function expiry(spec: NonNullable<ApiTokenRequest['spec']>, at: Date, settings: ApiTokenSettings): Date {
  if (spec.expiresAt !== undefined && spec.ttlDays !== undefined) {
    throw new Unprocessable('Give spec.expiresAt or spec.ttlDays, not both');
  }
  if (spec.expiresAt === undefined) {
    const days = spec.ttlDays ?? settings.defaultTtlDays;
    if (days > settings.maxTtlDays) throw new Unprocessable(`spec.ttlDays must be at most ${settings.maxTtlDays}`);
    return new Date(at.getTime() + days * DAY_MS);
  }
  const expiresAt = new Date(spec.expiresAt);
  if (Number.isNaN(expiresAt.getTime())) throw new Unprocessable(`spec.expiresAt '${spec.expiresAt}' is not a valid time`);
  if (expiresAt.getTime() <= at.getTime()) throw new Unprocessable('spec.expiresAt must be in the future');
  if (expiresAt.getTime() > at.getTime() + settings.maxTtlDays * DAY_MS) {
    throw new Unprocessable(`spec.expiresAt must be at most ${settings.maxTtlDays} days from now`);
  }
  return expiresAt;
}

/**
 * API token use cases. Who may call them is the API's concern; `createdBy` and `by` are the
 * caller's subject (`User:alice`), kept for audits.
 */
export function apiTokens(store: Store, settings: ApiTokenSettings = apiTokenSettings({})) {
  const pepper = apiTokenPepper(store);

  return {
    /**
     * Creates a token; the answer is the only place its value (`token`) ever appears. Unless
     * `mayReuseUser` (super users), the token's user must be new: `token:<its name>`, with no role
     * bindings and no other token, or its maker would hand out rights it was never given.
     */
    async create(body: JsonObject, createdBy: string, { mayReuseUser = false }: { mayReuseUser?: boolean } = {}): Promise<ApiTokenCreated> {
      const post = validate(body);
      const name = post.metadata.name;
      const spec = post.spec ?? {};
      const principal = spec.principal ?? `token:${name}`;
      if (!mayReuseUser && (await store.apiTokens.get(name)) === null) {
        const taken = principal !== `token:${name}` || (await store.apiTokens.principalInUse(principal)) || (await store.roleBindings.boundSubject(`User:${principal}`));
        if (taken) throw new Forbidden(`${createdBy} may not make a token that acts as '${principal}': only super users may give a token a user that has role bindings or tokens`);
      }
      const at = now();
      const expiresAt = expiry(spec, at, settings);
      const minted = mintToken();
      const token = await store.apiTokens.create({
        id: minted.id,
        name,
        principal,
        secretHash: hashSecret(await pepper(), minted.secret),
        description: spec.description ?? null,
        createdBy,
        createdAt: at,
        expiresAt,
        lastUsedAt: null,
        revokedAt: null,
        revokedBy: null,
      });
      return { ...apiTokenOut(token), token: minted.token };
    },

    async get(name: string): Promise<ApiTokenObject> {
      const token = await store.apiTokens.get(name);
      if (!token) throw new NotFound(`ApiToken '${name}' not found`);
      return apiTokenOut(token);
    },

    /** Every token, revoked and expired ones included, so audits can see them. */
    async list(page: PageRequest): Promise<ReturnType<typeof pageBody<ApiTokenObject>>> {
      const result = await store.apiTokens.list(page);
      return pageBody(page, { items: result.items.map(apiTokenOut), total: result.total });
    },

    /**
     * Revokes a token at once on every replica. Idempotent: revoking a revoked token changes
     * nothing and answers it as it is, with the first revocation's time and author. The token stays
     * listed with `status.revokedAt`.
     */
    async revoke(name: string, by: string): Promise<ApiTokenObject> {
      const token = await store.apiTokens.revoke(name, by, now());
      if (!token) throw new NotFound(`ApiToken '${name}' not found`);
      return apiTokenOut(token);
    },
  };
}
