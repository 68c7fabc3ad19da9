import type { FromSchema } from 'json-schema-to-ts';

const nonEmpty = { type: 'string', minLength: 1 } as const;

/**
 * `CMF_OIDC_ISSUERS_FILE`: a list of token issuers, each with the fields of the single-issuer
 * `CMF_OIDC_*` settings in camelCase. Values are checked further (URLs, algorithms, ranges) by
 * `oidcSettings`, with the same messages for both sources.
 */
export const oidcIssuersSchema = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    required: ['issuer', 'audience'],
    additionalProperties: false,
    properties: {
      issuer: nonEmpty,
      jwksUrl: nonEmpty,
      audience: { anyOf: [nonEmpty, { type: 'array', minItems: 1, items: nonEmpty }] },
      algorithms: { type: 'array', minItems: 1, items: nonEmpty },
      usernameClaim: nonEmpty,
      usernamePrefix: { type: 'string' },
      groupsClaim: nonEmpty,
      groupsPrefix: { type: 'string' },
      clockSkewS: { type: 'integer' },
      maxTokenAgeS: { type: 'integer' },
      caFile: nonEmpty,
      jwksCooldownMs: { type: 'integer' },
    },
  },
} as const;

/** One issuer as written in the issuers file. */
export type OidcIssuerEntry = FromSchema<typeof oidcIssuersSchema>[number];
