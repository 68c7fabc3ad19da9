import type { FromSchema } from 'json-schema-to-ts';

/** The API version of drey's own resources, served under /drey/api/v1 beside CMF's. */
export const DREY_API_VERSION = 'drey/v1';
/** The ApiToken kind's name. */
export const API_TOKEN_KIND = 'ApiToken';

/**
 * Token names: lowercase alphanumerics and '-', up to 253 characters. No dots, unlike CMF's names,
 * so `token:<name>` reads as one word in a role binding's principal.
 */
export const apiTokenNameSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 253,
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
} as const;

/**
 * Whom a token acts as: `token:` and a token-like name, never a person's name, so a token cannot
 * take over a user's role bindings. Several tokens may share one principal (rotation without rebinding).
 */
export const apiTokenPrincipalSchema = {
  type: 'string',
  maxLength: 259,
  pattern: '^token:[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
} as const;

/** RFC 3339 with a zone; the domain also checks that it names a real instant. */
const timestampSchema = {
  type: 'string',
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$',
} as const;

const descriptionSchema = { type: 'string', maxLength: 1024 } as const;

/**
 * ApiToken as posted to create one. `apiVersion` and `kind` may be left out. `spec` is optional:
 * `principal` defaults to `token:<name>`, the expiry to now plus the default TTL; give
 * `expiresAt` or `ttlDays`, not both.
 */
export const apiTokenRequestSchema = {
  type: 'object',
  required: ['metadata'],
  properties: {
    apiVersion: { type: 'string', const: DREY_API_VERSION },
    kind: { type: 'string', const: API_TOKEN_KIND },
    metadata: {
      type: 'object',
      required: ['name'],
      properties: { name: apiTokenNameSchema, creationTimestamp: { type: 'string' } },
    },
    spec: {
      type: 'object',
      properties: {
        principal: apiTokenPrincipalSchema,
        expiresAt: timestampSchema,
        ttlDays: { type: 'integer', minimum: 1 },
        description: descriptionSchema,
      },
    },
    status: {},
  },
} as const;

/** A validated create request. */
export type ApiTokenRequest = FromSchema<typeof apiTokenRequestSchema>;

const apiTokenProperties = {
  apiVersion: { type: 'string', const: DREY_API_VERSION },
  kind: { type: 'string', const: API_TOKEN_KIND },
  metadata: {
    type: 'object',
    required: ['name', 'uid', 'creationTimestamp'],
    additionalProperties: false,
    properties: {
      name: apiTokenNameSchema,
      /** the id the token carries (`drey_<uid without dashes>_...`), to match a leaked token to its name */
      uid: { type: 'string' },
      creationTimestamp: timestampSchema,
    },
  },
  spec: {
    type: 'object',
    required: ['principal', 'expiresAt'],
    additionalProperties: false,
    properties: { principal: apiTokenPrincipalSchema, expiresAt: timestampSchema, description: descriptionSchema },
  },
  status: {
    type: 'object',
    required: ['createdBy'],
    additionalProperties: false,
    properties: {
      createdBy: { type: 'string' },
      lastUsedAt: timestampSchema,
      revokedAt: timestampSchema,
      revokedBy: { type: 'string' },
    },
  },
} as const;

/** An ApiToken as get, list and revoke return it: never its value, nor its hash. */
export const apiTokenSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec', 'status'],
  additionalProperties: false,
  properties: apiTokenProperties,
} as const;

/** An ApiToken as returned by get, list and revoke. */
export type ApiTokenObject = FromSchema<typeof apiTokenSchema>;

/** The answer to a create: the only response that carries the token itself (`token`). */
export const apiTokenCreatedSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec', 'status', 'token'],
  additionalProperties: false,
  properties: { ...apiTokenProperties, token: { type: 'string' } },
} as const;

/** A created ApiToken with its value. */
export type ApiTokenCreated = FromSchema<typeof apiTokenCreatedSchema>;
