import type { FromSchema } from 'json-schema-to-ts';
import { BINDABLE_KINDS, ROLES } from '../security/roles.js';
import { nameSchema } from './common.js';

/**
 * A role binding as posted to `/drey/api/v1/role-bindings`: what `confluent iam rbac role-binding
 * create --principal --role [--flink-environment] [--resource Kind:name [--prefix]]` says. Without
 * `environment` it applies to the whole installation (CMF's `--cmf`).
 */
export const roleBindingSchema = {
  type: 'object',
  required: ['principal', 'role'],
  additionalProperties: false,
  properties: {
    principal: { type: 'string', pattern: '^(User|Group):[^\\s]+$', maxLength: 512 },
    role: { type: 'string', enum: ROLES },
    environment: nameSchema,
    resource: {
      type: 'object',
      required: ['resourceType', 'name'],
      additionalProperties: false,
      properties: {
        resourceType: { type: 'string', enum: BINDABLE_KINDS },
        name: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[a-z0-9*][-a-z0-9.]*$' },
        patternType: { type: 'string', enum: ['LITERAL', 'PREFIXED'] },
      },
    },
  },
} as const;

/** A validated role binding body. */
export type RoleBindingBody = FromSchema<typeof roleBindingSchema>;
