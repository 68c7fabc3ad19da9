/**
 * A real Kafka broker and a real schema registry for integration tests, started from Maven Central
 * artifacts by drey's own launcher.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testJavaTools } from './flink.js';
import type { SaslUsers } from '../../src/kafka/local/broker.js';
import { LocalKafkaStack } from '../../src/kafka/local/stack.js';
import { createLogger } from '../../src/log.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The cache every test run shares: fetched by the first run on a machine, reused afterwards. */
export const TEST_KAFKA_CACHE = process.env.DREY_TEST_KAFKA_CACHE ?? path.join(ROOT, 'node_modules', '.cache', 'drey', 'kafka');

/** A running broker and registry. */
export interface TestKafka {
  /** The PLAINTEXT listener, `127.0.0.1:<port>`. */
  bootstrapServers: string;
  /** The SASL_PLAINTEXT listener (mechanism PLAIN), when users were given. */
  saslBootstrapServers?: string;
  /** The registry's Confluent-compatible API, `http://127.0.0.1:<port>/apis/ccompat/v7`. */
  registryUrl: string;
  /** Where the broker's and the registry's logs are. */
  logDirs: { broker: string; registry: string };
  stack: LocalKafkaStack;
  stop(): Promise<void>;
}

/**
 * Starts a broker (with a SASL_PLAINTEXT listener for `sasl.users` when given) and a registry on
 * free loopback ports, or returns undefined (after saying loudly what is missing) when this machine
 * has no Java or Maven. In CI a missing Java is a failure, not a skip.
 */
export async function startTestKafka(options: { sasl?: SaslUsers } = {}): Promise<TestKafka | undefined> {
  const tools = testJavaTools('Kafka');
  if (!tools) return undefined;
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'drey-kafka-'));
  const stack = await LocalKafkaStack.start({ workDir, cacheDir: TEST_KAFKA_CACHE, tools, log: createLogger('warn'), ...(options.sasl ? { sasl: options.sasl } : {}) });
  return {
    bootstrapServers: stack.bootstrapServers,
    ...(stack.saslBootstrapServers ? { saslBootstrapServers: stack.saslBootstrapServers } : {}),
    registryUrl: stack.registryUrl,
    logDirs: { broker: stack.broker.logDir, registry: stack.registry.logDir },
    stack,
    stop: () => stack.stop(),
  };
}
