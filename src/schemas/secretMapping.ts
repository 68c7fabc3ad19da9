import type { FromSchema } from 'json-schema-to-ts';
import { envelope, metadataSchema, nameSchema } from './common.js';

/** The EnvironmentSecretMapping kind's name. */
export const SECRET_MAPPING_KIND = 'EnvironmentSecretMapping';

/** EnvironmentSecretMapping: metadata.name is the connection secret id, spec.secretName the Secret. */
export const secretMappingSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    ...envelope(SECRET_MAPPING_KIND),
    metadata: metadataSchema,
    spec: { type: 'object', required: ['secretName'], properties: { secretName: nameSchema } },
  },
} as const;

/** A validated secret mapping body. */
export type SecretMappingBody = FromSchema<typeof secretMappingSchema>;
