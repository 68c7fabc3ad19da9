import kafkajs, { type Admin, type KafkaConfig, type SASLOptions } from 'kafkajs';

/**
 * drey's admin client of a catalog database's Kafka cluster, configured from the database's
 * connection config (Kafka client property names, as a Flink job gets them): the topics a catalog
 * shows, their cleanup policy, and creating and deleting topics for DDL.
 */

const { Kafka, ConfigResourceTypes, logLevel } = kafkajs;

/** A cluster that could not be reached, refused the credentials, or refused the request. */
export class KafkaClusterError extends Error {}

/** A topic that exists already. */
export class TopicExists extends KafkaClusterError {}

/** A topic as a catalog shows it. */
export interface TopicInfo {
  name: string;
  /** `compact` (possibly with `delete`) makes an upsert table. */
  compacted: boolean;
}

/** `sasl.jaas.config`'s `username="…"` and `password="…"`. */
function jaasCredentials(jaas: string): { username: string; password: string } | undefined {
  const username = /username\s*=\s*"([^"]*)"/.exec(jaas)?.[1];
  const password = /password\s*=\s*"([^"]*)"/.exec(jaas)?.[1];
  return username !== undefined && password !== undefined ? { username, password } : undefined;
}

/**
 * kafkajs settings for Kafka client properties: `bootstrap.servers`, `security.protocol`
 * (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL; a PEM `ssl.truststore.certificates` as the CA) and
 * `sasl.mechanism` PLAIN or SCRAM-SHA-256/512 with `sasl.jaas.config`'s username and password.
 * Other mechanisms are refused with the reason.
 */
export function kafkaClientConfig(config: Record<string, string>, timeoutMs = 10_000): KafkaConfig {
  const brokers = (config['bootstrap.servers'] ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0) throw new KafkaClusterError('its connectionConfig has no bootstrap.servers');
  const protocol = (config['security.protocol'] ?? 'PLAINTEXT').toUpperCase();
  if (!['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].includes(protocol)) throw new KafkaClusterError(`security.protocol '${protocol}' is not a Kafka security protocol`);
  let sasl: SASLOptions | undefined;
  if (protocol.startsWith('SASL_')) {
    const mechanism = (config['sasl.mechanism'] ?? 'GSSAPI').toUpperCase();
    const credentials = jaasCredentials(config['sasl.jaas.config'] ?? '');
    if (!['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'].includes(mechanism)) {
      throw new KafkaClusterError(`drey lists topics with SASL PLAIN or SCRAM only, not sasl.mechanism ${mechanism}`);
    }
    if (!credentials) throw new KafkaClusterError('its sasl.jaas.config names no username and password');
    sasl = { mechanism: mechanism.toLowerCase() as 'plain', ...credentials };
  }
  // a PEM trust store given inline (ssl.truststore.type PEM) is the CA; otherwise the system's CAs
  const pem = (config['ssl.truststore.type'] ?? '').toUpperCase() === 'PEM' ? config['ssl.truststore.certificates'] : undefined;
  const ssl = protocol.endsWith('SSL') ? (pem ? { ca: [pem] } : true) : false;
  return {
    clientId: 'drey',
    brokers,
    ssl,
    ...(sasl ? { sasl } : {}),
    connectionTimeout: Math.min(timeoutMs, 5_000),
    requestTimeout: timeoutMs,
    retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1_000 },
    logLevel: logLevel.NOTHING,
  };
}

/** kafkajs's error in words, without anything from the client's configuration. */
function reason(err: unknown): string {
  const e = err as Error & { type?: string; originalError?: Error };
  const text = e.originalError?.message ?? e.message ?? String(err);
  if (/SASL|authenticat/i.test(e.name) || /SASL|Authentication failed/i.test(text)) return `it refused the credentials (${text})`;
  if (/Connection error|ECONNREFUSED|ENOTFOUND|timeout|Closed connection|Failed to connect/i.test(text)) return `it cannot be reached (${text})`;
  return text;
}

/** Runs `work` with a connected admin client, and always disconnects it. */
async function withAdmin<T>(config: Record<string, string>, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Kafka(kafkaClientConfig(config)).admin();
  try {
    await admin.connect();
    return await work(admin);
  } catch (err) {
    if (err instanceof KafkaClusterError) throw err;
    if ((err as { type?: string }).type === 'TOPIC_ALREADY_EXISTS') throw new TopicExists((err as Error).message);
    throw new KafkaClusterError(`the Kafka cluster at ${config['bootstrap.servers']}: ${reason(err)}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Whether a topic is Kafka's or a tool's own (`__consumer_offsets`, `_schemas`, `_confluent-…`). */
function isInternal(topic: string): boolean {
  return topic.startsWith('_');
}

/** The cluster's user topics with their cleanup policy, by name. */
export async function listTopics(config: Record<string, string>): Promise<TopicInfo[]> {
  return withAdmin(config, async (admin) => {
    const names = (await admin.listTopics()).filter((t) => !isInternal(t)).sort();
    if (names.length === 0) return [];
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy'] })),
    });
    const policy = new Map(described.resources.map((r) => [r.resourceName, r.configEntries.find((c) => c.configName === 'cleanup.policy')?.configValue ?? 'delete']));
    return names.map((name) => ({ name, compacted: (policy.get(name) ?? 'delete').split(',').includes('compact') }));
  });
}

/** Creates a topic; one that exists already is an error naming it. */
export async function createTopic(config: Record<string, string>, topic: { name: string; partitions: number; configs: Record<string, string> }): Promise<void> {
  await withAdmin(config, async (admin) => {
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: topic.name, numPartitions: topic.partitions, configEntries: Object.entries(topic.configs).map(([name, value]) => ({ name, value })) }],
    });
    if (!created) throw new TopicExists(`the topic '${topic.name}' exists already`);
  });
}

/** Deletes a topic; one that does not exist is gone already. */
export async function deleteTopic(config: Record<string, string>, name: string): Promise<void> {
  await withAdmin(config, async (admin) => {
    const existing = await admin.listTopics();
    if (existing.includes(name)) await admin.deleteTopics({ topics: [name] });
  });
}
