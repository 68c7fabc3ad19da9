import type { FromSchema } from 'json-schema-to-ts';
import { envelope, metadataSchema, objectSchema } from './common.js';

/** The FlinkApplication kind's name. */
export const APPLICATION_KIND = 'FlinkApplication';

/** FlinkApplication as posted: its spec is a FlinkDeployment spec. */
export const flinkApplicationSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    ...envelope(APPLICATION_KIND),
    metadata: metadataSchema,
    spec: {
      type: 'object',
      properties: {
        job: {
          type: 'object',
          properties: {
            state: { type: 'string', enum: ['running', 'suspended'] },
            parallelism: { type: 'integer', minimum: 1 },
            jarURI: { type: 'string' },
          },
        },
        flinkConfiguration: objectSchema,
      },
    },
    status: {},
  },
} as const;

/** A validated application body. */
export type FlinkApplicationBody = FromSchema<typeof flinkApplicationSchema>;
