import type { FromSchema } from 'json-schema-to-ts';
import { envelope, metadataSchema, objectSchema } from './common.js';

/** The ComputePool kind's name. */
export const COMPUTE_POOL_KIND = 'ComputePool';

/** ComputePool as posted: `spec.clusterSpec` is a FlinkDeployment spec for statements to run on. */
export const computePoolSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    ...envelope(COMPUTE_POOL_KIND),
    metadata: metadataSchema,
    spec: {
      type: 'object',
      required: ['type', 'clusterSpec'],
      properties: {
        type: { type: 'string', minLength: 1 },
        clusterSpec: objectSchema,
        state: { type: 'string', enum: ['RUNNING', 'SUSPENDED'] },
      },
    },
    status: {},
  },
} as const;

/** A validated compute pool body. */
export type ComputePoolBody = FromSchema<typeof computePoolSchema>;
