import type { FromSchema } from 'json-schema-to-ts';
import { envelope, metadataSchema, stringMapSchema } from './common.js';

/** The KafkaCatalog kind's name. */
export const KAFKA_CATALOG_KIND = 'KafkaCatalog';

/**
 * KafkaCatalog: a Schema Registry instance and, as CMF 2.0 writes them, the Kafka clusters listed
 * as its databases. Since CMF 2.1 `kafkaClusters` is optional (databases are resources of their own).
 */
export const kafkaCatalogSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    ...envelope(KAFKA_CATALOG_KIND),
    metadata: metadataSchema,
    spec: {
      type: 'object',
      required: ['srInstance'],
      properties: {
        srInstance: {
          type: 'object',
          required: ['connectionConfig'],
          properties: { connectionConfig: stringMapSchema, connectionSecretId: { type: 'string' } },
        },
        kafkaClusters: {
          type: 'array',
          items: {
            type: 'object',
            required: ['databaseName', 'connectionConfig'],
            properties: {
              databaseName: { type: 'string', minLength: 1 },
              connectionConfig: stringMapSchema,
              connectionSecretId: { type: 'string' },
            },
          },
        },
      },
    },
  },
} as const;

/** A validated Kafka catalog body. */
export type KafkaCatalogBody = FromSchema<typeof kafkaCatalogSchema>;

/** One entry of a catalog's `spec.kafkaClusters`. */
export type KafkaClusterEntry = NonNullable<KafkaCatalogBody['spec']['kafkaClusters']>[number];
