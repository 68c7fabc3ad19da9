/** Schema pieces shared by every kind; each kind's schema lives in a file of its own. */

/** The API version every v1 resource carries. */
export const API_VERSION = 'cmf.confluent.io/v1';
/** The API version of application events, served under /cmf/api/v1alpha1. */
export const EVENTS_API_VERSION = 'cmf.confluent.io/v1alpha1';

/** Resource names: 4 to 253 characters, a DNS subdomain. */
export const nameSchema = {
  type: 'string',
  minLength: 4,
  maxLength: 253,
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
} as const;

/** A map of strings, such as labels or Flink configuration. */
export const stringMapSchema = {
  type: 'object',
  additionalProperties: { type: 'string' },
} as const;

/** Metadata of a named resource; read-only fields a client echoes back are accepted and ignored. */
export const metadataSchema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: nameSchema,
    labels: stringMapSchema,
    annotations: stringMapSchema,
    uid: { type: 'string' },
    creationTimestamp: { type: 'string' },
    updateTimestamp: { type: 'string' },
  },
} as const;

/** `apiVersion` and `kind` of a resource of the given kind. */
export function envelope<K extends string>(kind: K) {
  return {
    apiVersion: { type: 'string', const: API_VERSION },
    kind: { type: 'string', const: kind },
  } as const;
}

/** Any JSON object (a free-form spec). */
export const objectSchema = { type: 'object' } as const;
