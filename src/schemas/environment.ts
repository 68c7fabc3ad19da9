import type { FromSchema } from 'json-schema-to-ts';
import { nameSchema } from './common.js';

const stringMapOrNull = { type: ['object', 'null'], additionalProperties: { type: 'string' } } as const;
const statementDefaultsSchema = {
  type: ['object', 'null'],
  properties: { flinkConfiguration: stringMapOrNull },
} as const;

/**
 * PostEnvironment. `null` for a field means "keep what is stored", as the Confluent CLI sends
 * updates; a field left out is kept too.
 */
export const postEnvironmentSchema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: nameSchema,
    kubernetesNamespace: {
      type: ['string', 'null'],
      minLength: 1,
      maxLength: 253,
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
    },
    flinkApplicationDefaults: { type: ['object', 'null'] },
    computePoolDefaults: { type: ['object', 'null'] },
    statementDefaults: {
      type: ['object', 'null'],
      properties: { detached: statementDefaultsSchema, interactive: statementDefaultsSchema },
    },
  },
} as const;

/** A validated environment create-or-update body. */
export type PostEnvironment = FromSchema<typeof postEnvironmentSchema>;
