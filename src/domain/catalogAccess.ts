import type { EnvironmentSecretIds, KafkaCatalog, KafkaDatabase } from '../store/catalogs.js';
import { isObject } from './objects.js';

/**
 * Who may use a catalog or a database (`status.environmentsWithAccess`), computed when served: an
 * environment has access to a connection whose `connectionSecretId` is unset or that it maps (a
 * secret mapping of that name), and to a database when it also has access to the database's catalog.
 */

/** The `connectionSecretId` of a connection object, if set. */
function secretIdOf(connection: unknown): string | undefined {
  return isObject(connection) && typeof connection.connectionSecretId === 'string' ? connection.connectionSecretId : undefined;
}

/** The secret id a catalog's Schema Registry connection needs, if any. */
export function catalogSecretId(catalog: KafkaCatalog): string | undefined {
  return isObject(catalog.spec) ? secretIdOf(catalog.spec.srInstance) : undefined;
}

/** The secret id a database's Kafka connection needs, if any. */
export function databaseSecretId(database: KafkaDatabase): string | undefined {
  return isObject(database.spec) ? secretIdOf(database.spec.kafkaCluster) : undefined;
}

/** The names of the environments (sorted, as `environments` is) that map every secret id given. */
export function environmentsWithAccess(environments: EnvironmentSecretIds[], secretIds: (string | undefined)[]): string[] {
  const needed = secretIds.filter((id): id is string => id !== undefined);
  return environments.filter((e) => needed.every((id) => e.secretIds.has(id))).map((e) => e.environment);
}
