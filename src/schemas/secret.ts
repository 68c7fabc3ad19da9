import type { FromSchema } from 'json-schema-to-ts';
import { envelope, metadataSchema, stringMapSchema } from './common.js';

/** The Secret kind's name. */
export const SECRET_KIND = 'Secret';

/** Secret as posted; `spec.data` is write-only. */
export const secretSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    ...envelope(SECRET_KIND),
    metadata: metadataSchema,
    spec: { type: 'object', properties: { data: stringMapSchema } },
    status: {},
  },
} as const;

/** A validated secret body. */
export type SecretBody = FromSchema<typeof secretSchema>;
