import type { FromSchema } from 'json-schema-to-ts';
import { envelope, metadataSchema, stringMapSchema } from './common.js';

/** The Statement kind's name. */
export const STATEMENT_KIND = 'Statement';

const statementSpecSchema = {
  type: 'object',
  required: ['statement', 'computePoolName'],
  properties: {
    statement: { type: 'string', minLength: 1, pattern: '\\S' },
    properties: stringMapSchema,
    flinkConfiguration: stringMapSchema,
    computePoolName: { type: 'string', minLength: 1 },
    parallelism: { type: 'integer', minimum: 1, maximum: 2147483647 },
    stopped: { type: 'boolean' },
  },
} as const;

/** Statement as created. */
export const statementSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    ...envelope(STATEMENT_KIND),
    metadata: metadataSchema,
    spec: statementSpecSchema,
    status: {},
    result: {},
  },
} as const;

/** Statement as updated: the Confluent CLI sends only metadata.name and spec. */
export const statementUpdateSchema = {
  ...statementSchema,
  required: ['metadata', 'spec'],
} as const;

/** A validated statement body. */
export type StatementBody = FromSchema<typeof statementSchema>;
/** A validated statement spec. */
export type StatementSpec = StatementBody['spec'];
