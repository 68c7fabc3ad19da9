import type { FromSchema } from 'json-schema-to-ts';
import { envelope, metadataSchema, nameSchema, stringMapSchema } from './common.js';

/** The KafkaDatabase kind's name. */
export const KAFKA_DATABASE_KIND = 'KafkaDatabase';

/** A Kafka cluster's connection: public client properties, and the id of the secret that completes them. */
export const kafkaClusterSchema = {
  type: 'object',
  required: ['connectionConfig'],
  properties: { connectionConfig: stringMapSchema, connectionSecretId: { type: 'string' } },
} as const;

/** KafkaDatabase (CMF 2.1): one Kafka cluster of a catalog, and the environments that may run DDL on it. */
export const kafkaDatabaseSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    ...envelope(KAFKA_DATABASE_KIND),
    metadata: metadataSchema,
    spec: {
      type: 'object',
      required: ['kafkaCluster'],
      properties: {
        kafkaCluster: kafkaClusterSchema,
        ddlEnvironments: { type: 'array', items: nameSchema },
      },
    },
  },
} as const;

/** A validated Kafka database body. */
export type KafkaDatabaseBody = FromSchema<typeof kafkaDatabaseSchema>;

/**
 * A KafkaDatabase PUT: as a POST, but `metadata.name` only has to match the path (a PUT never
 * creates, and databases that came from a 2.0 `kafkaClusters` entry may have any non-empty name).
 */
export const kafkaDatabaseUpdateSchema = {
  ...kafkaDatabaseSchema,
  properties: {
    ...kafkaDatabaseSchema.properties,
    metadata: { ...metadataSchema, properties: { ...metadataSchema.properties, name: { type: 'string', minLength: 1 } } },
  },
} as const;

/** A validated Kafka database PUT body. */
export type KafkaDatabaseUpdateBody = FromSchema<typeof kafkaDatabaseUpdateSchema>;

/** A Kafka database's spec. */
export type KafkaDatabaseSpec = KafkaDatabaseBody['spec'];
