import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import registryPkg from '@kafkajs/confluent-schema-registry';
import kafkajs, { type KafkaConfig, type SASLOptions } from 'kafkajs';
import { LocalKafka, serverProperties } from '../../src/kafka/local/broker.js';
import { ensureKafkaDistribution, KAFKA_VERSION, kafkaPom, REGISTRY_VERSION } from '../../src/kafka/local/distribution.js';
import { LocalRegistry, registryProperties, type LocalRegistryOptions } from '../../src/kafka/local/registry.js';
import { LocalKafkaStack } from '../../src/kafka/local/stack.js';
import { PortInUse } from '../../src/local/ports.js';
import { createLogger } from '../../src/log.js';
import { testJavaTools } from '../support/flink.js';
import { startTestKafka, TEST_KAFKA_CACHE, type TestKafka } from '../support/kafka.js';
import { isAlive } from '../../src/local/processes.js';

/**
 * A real Kafka broker and a real schema registry started by drey's launcher, driven with the same
 * Node clients a KafkaCatalog uses: kafkajs for topics and records, the Confluent registry client
 * for Avro in Confluent's wire format.
 */

const { Kafka, logLevel, ConfigResourceTypes, Partitioners, KafkaJSSASLAuthenticationError } = kafkajs;
const { SchemaRegistry, SchemaType } = registryPkg;

const ALICE = { username: 'alice', password: 'Alice-Passw0rd-for-tests' };

let kafka: TestKafka | undefined;

beforeAll(async () => {
  kafka = await startTestKafka({ sasl: { users: { [ALICE.username]: ALICE.password } } });
}, 300_000);

afterAll(async () => {
  await kafka?.stop();
}, 60_000);

function client(brokers: string, sasl?: SASLOptions): InstanceType<typeof Kafka> {
  const config: KafkaConfig = { clientId: 'drey-test', brokers: [brokers], logLevel: logLevel.NOTHING, retry: { retries: 2 } };
  return new Kafka(sasl ? { ...config, sasl } : config);
}

/** Creates a topic, sends `values` to it and reads them back with a fresh consumer group. */
async function roundTrip(kafkaClient: InstanceType<typeof Kafka>, topic: string, values: Buffer[]): Promise<Buffer[]> {
  const admin = kafkaClient.admin();
  const producer = kafkaClient.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafkaClient.consumer({ groupId: `${topic}-reader` });
  try {
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic }], waitForLeaders: true })).toBe(true);
    await producer.connect();
    await producer.send({ topic, messages: values.map((value, i) => ({ key: `k${i}`, value })) });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const received: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            received.push(message.value!);
            if (received.length === values.length) resolve();
          },
        })
        .catch(reject);
    });
    return received;
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await admin.disconnect();
  }
}

/** The addresses a process listens on (TCP), from /proc: `127.0.0.1:9092`, `[::]:8080`. */
function listening(pid: number): string[] {
  const inodes = new Set(
    readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        return [/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1]].filter((i): i is string => i !== undefined);
      } catch {
        return [];
      }
    }),
  );
  const ipv4 = (hex: string) => Buffer.from(hex, 'hex').reverse().join('.');
  const decode = (hex: string) => {
    if (hex.length === 8) return ipv4(hex);
    const mapped = /^0{16}FFFF0000([0-9A-F]{8})$/.exec(hex);
    if (mapped) return ipv4(mapped[1]!);
    return hex === '0'.repeat(32) ? '[::]' : `[${hex}]`;
  };
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((table) =>
    readFileSync(table, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((f) => f[3] === '0A' && inodes.has(f[9]!))
      .map((f) => {
        const [address, port] = f[1]!.split(':');
        return `${decode(address!)}:${parseInt(port!, 16)}`;
      }),
  );
}

describe('local Kafka from Maven Central', () => {
  it('creates a compacted topic whose cleanup.policy reads back through describeConfigs', async () => {
    if (!kafka) return;
    const admin = client(kafka.bootstrapServers).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'orders', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }], waitForLeaders: true });
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: 'orders', configNames: ['cleanup.policy'] }],
      });
      expect(described.resources[0]?.configEntries).toEqual([expect.objectContaining({ configName: 'cleanup.policy', configValue: 'compact' })]);
      expect(await admin.fetchTopicMetadata({ topics: ['orders'] })).toEqual({
        topics: [{ name: 'orders', partitions: [expect.objectContaining({ partitionId: 0, leader: 1, replicas: [1] })] }],
      });
    } finally {
      await admin.disconnect();
    }
  });

  it('does not create topics behind a client: producing to a missing topic fails', async () => {
    if (!kafka) return;
    const producer = client(kafka.bootstrapServers).producer({ allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
    await producer.connect();
    try {
      await expect(producer.send({ topic: 'nobody-made-this', messages: [{ value: 'x' }] })).rejects.toThrow(/does not host this topic-partition|UNKNOWN_TOPIC_OR_PARTITION|This server does not host/i);
    } finally {
      await producer.disconnect();
    }
  });

  it('round-trips records through the PLAINTEXT listener', async () => {
    if (!kafka) return;
    const values = ['one', 'two', 'three'].map((v) => Buffer.from(v));
    expect((await roundTrip(client(kafka.bootstrapServers), 'plain-topic', values)).map(String)).toEqual(['one', 'two', 'three']);
  });

  it('round-trips records through the SASL_PLAINTEXT listener with the right password', async () => {
    if (!kafka) return;
    const sasl = client(kafka.saslBootstrapServers!, { mechanism: 'plain', ...ALICE });
    expect((await roundTrip(sasl, 'sasl-topic', [Buffer.from('secret')])).map(String)).toEqual(['secret']);
  });

  it.each([
    ['a wrong password', { ...ALICE, password: 'not-the-password' }],
    ['an unknown user', { username: 'mallory', password: ALICE.password }],
  ])('refuses %s on the SASL_PLAINTEXT listener', async (_what, credentials) => {
    if (!kafka) return;
    const admin = client(kafka.saslBootstrapServers!, { mechanism: 'plain', ...credentials }).admin();
    try {
      const refused = admin.connect();
      await expect(refused).rejects.toBeInstanceOf(KafkaJSSASLAuthenticationError);
      await expect(refused).rejects.toThrow('SASL PLAIN authentication failed: Authentication failed: Invalid username or password');
    } finally {
      await admin.disconnect();
    }
  });

  it('serves Avro in Confluent wire format through the schema registry', async () => {
    if (!kafka) return;
    const topic = 'payments';
    const registry = new SchemaRegistry({ host: kafka.registryUrl });
    const schema = {
      type: 'record',
      name: 'Payment',
      namespace: 'dev.drey.test',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'amount', type: 'double' },
      ],
    };
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject: `${topic}-value` });
    const payment = { id: 'p1', amount: 10.5 };
    const encoded = await registry.encode(id, payment);
    expect(encoded[0]).toBe(0); // Confluent's magic byte, then the schema id
    expect(encoded.readInt32BE(1)).toBe(id);
    const [received] = await roundTrip(client(kafka.bootstrapServers), topic, [encoded]);
    expect(await registry.decode(received!)).toEqual(payment);
    const subjects = await fetch(`${kafka.registryUrl}/subjects`);
    expect(subjects.status).toBe(200);
    expect(await subjects.json()).toContain(`${topic}-value`);
    // Flink re-registers its own derived schema under the same subject: only NONE lets it in
    expect(await (await fetch(`${kafka.registryUrl}/config`)).json()).toEqual({ compatibilityLevel: 'NONE' });
  });

  it('listens only on loopback: the broker on its two listeners and its controller port, the registry on its one port', () => {
    if (!kafka || process.platform !== 'linux') return;
    const [brokerPid, registryPid] = kafka.stack.pids as [number, number];
    const broker = listening(brokerPid);
    expect(broker).toHaveLength(3);
    expect(broker).toEqual(expect.arrayContaining([kafka.bootstrapServers, kafka.saslBootstrapServers]));
    expect(broker.every((a) => a.startsWith('127.0.0.1:'))).toBe(true);
    expect(listening(registryPid)).toEqual([new URL(kafka.registryUrl).host]);
  });

  it('fetches the jars once: resolving the distribution again reuses the cache', async () => {
    if (!kafka) return;
    const tools = testJavaTools('Kafka')!;
    const again = await ensureKafkaDistribution({ cacheDir: TEST_KAFKA_CACHE, mvn: tools.mvn, log: createLogger('warn') });
    expect(again.fetched).toBe(false);
    expect(again.home).toBe(kafka.stack.broker.distribution.home);
    expect(existsSync(path.join(again.lib, `kafka_2.13-${KAFKA_VERSION}.jar`))).toBe(true);
    expect(kafka.stack.registry.distribution.version).toBe(REGISTRY_VERSION);
  });

  it('keeps its logs: the broker says it started, the registry that it uses in-memory storage', () => {
    if (!kafka) return;
    expect(readFileSync(path.join(kafka.logDirs.broker, 'kafka.log'), 'utf8')).toContain('Kafka Server started');
    expect(readFileSync(path.join(kafka.logDirs.registry, 'registry.out'), 'utf8')).toContain('Using In Memory (H2) SQL storage');
  });

  it('stops both processes, leaving none behind', async () => {
    if (!kafka) return;
    const pids = kafka.stack.pids;
    expect(pids).toHaveLength(2);
    expect(pids.every(isAlive)).toBe(true);
    await kafka.stop();
    expect(pids.filter(isAlive)).toEqual([]);
    expect(kafka.stack.running).toBe(false);
  }, 60_000);
});

/** Process ids whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('starting local Kafka when something is in the way', () => {
  it.each([
    ['broker', (options: Omit<LocalRegistryOptions, 'port'>, port: number) => LocalKafka.start({ ...options, ports: { plaintext: port } })],
    ['registry', (options: Omit<LocalRegistryOptions, 'port'>, port: number) => LocalRegistry.start({ ...options, port })],
  ])('reports a taken %s port as PortInUse, and leaves no process behind', async (_which, start) => {
    const tools = testJavaTools('Kafka');
    if (!tools) return;
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    const workDir = mkdtempSync(path.join(os.tmpdir(), 'drey-kafka-taken-'));
    try {
      await expect(start({ workDir, cacheDir: TEST_KAFKA_CACHE, tools, log: createLogger('error') }, port)).rejects.toBeInstanceOf(PortInUse);
      expect(processesMentioning(workDir)).toEqual([]);
    } finally {
      blocker.close();
    }
  }, 120_000);

  it('takes free ports instead of taken preferred ones, and says which', async () => {
    const tools = testJavaTools('Kafka');
    if (!tools) return;
    const blockers = [net.createServer(), net.createServer()];
    await Promise.all(blockers.map((b) => new Promise<void>((resolve) => b.listen(0, '127.0.0.1', resolve))));
    const [broker, registry] = blockers.map((b) => (b.address() as net.AddressInfo).port) as [number, number];
    const lines: string[] = [];
    const workDir = mkdtempSync(path.join(os.tmpdir(), 'drey-kafka-preferred-'));
    let stack: LocalKafkaStack | undefined;
    try {
      stack = await LocalKafkaStack.start({ workDir, cacheDir: TEST_KAFKA_CACHE, tools, log: createLogger('info', (l) => lines.push(l)), preferredPorts: { broker, registry } });
      expect(stack.bootstrapServers).not.toBe(`127.0.0.1:${broker}`);
      expect(new URL(stack.registryUrl).port).not.toBe(String(registry));
      expect(lines.join('')).toContain(`127.0.0.1:${broker} is taken: the local Kafka broker listens on ${stack.bootstrapServers} instead`);
      expect(lines.join('')).toContain(`127.0.0.1:${registry} is taken: the local schema registry listens on ${new URL(stack.registryUrl).host} instead`);
    } finally {
      await stack?.stop();
      blockers.forEach((b) => b.close());
    }
    expect(processesMentioning(workDir)).toEqual([]);
  }, 180_000);

  it('leaves nothing running when one half cannot start: the registry goes when the broker fails', async () => {
    const tools = testJavaTools('Kafka');
    if (!tools) return;
    const workDir = mkdtempSync(path.join(os.tmpdir(), 'drey-kafka-half-'));
    await expect(
      LocalKafkaStack.start({ workDir, cacheDir: TEST_KAFKA_CACHE, tools, log: createLogger('error'), sasl: { users: { 'no spaces allowed': 'x' } } }),
    ).rejects.toThrow("SASL user name 'no spaces allowed'");
    // the registry did start beside the broker, and was stopped
    expect(readFileSync(path.join(workDir, 'registry', 'log', 'registry.out'), 'utf8')).toContain('started in');
    expect(processesMentioning(workDir)).toEqual([]);
  }, 180_000);
});

describe('the broker configuration', () => {
  const ports = { plaintext: 19092, controller: 19093, sasl: 19094 };

  it('is one node that is broker and controller, on loopback, with topic defaults for one node', () => {
    const props = serverProperties({ dataDir: '/data', ports: { plaintext: 19092, controller: 19093 } });
    expect(props).toContain('process.roles=broker,controller\n');
    expect(props).toContain('controller.quorum.voters=1@127.0.0.1:19093\n');
    expect(props).toContain('listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093\n');
    expect(props).toContain('advertised.listeners=PLAINTEXT://127.0.0.1:19092\n');
    expect(props).toContain('inter.broker.listener.name=PLAINTEXT\n');
    for (const line of ['num.partitions=1', 'offsets.topic.replication.factor=1', 'group.initial.rebalance.delay.ms=0', 'auto.create.topics.enable=false']) {
      expect(props).toContain(`${line}\n`);
    }
    expect(props).not.toContain('SASL');
  });

  it('adds a SASL_PLAINTEXT listener with PLAIN users when asked', () => {
    const props = serverProperties({ dataDir: '/data', ports, sasl: { users: { alice: 'a-secret', bob: 'b-secret' } } });
    expect(props).toContain('listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093,SASL_PLAINTEXT://127.0.0.1:19094\n');
    expect(props).toContain('advertised.listeners=PLAINTEXT://127.0.0.1:19092,SASL_PLAINTEXT://127.0.0.1:19094\n');
    expect(props).toContain('listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT\n');
    expect(props).toContain('listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN\n');
    expect(props).toContain(
      'listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="a-secret" user_bob="b-secret";\n',
    );
  });

  it('writes what java.util.Properties reads back unchanged: backslashes and non-ASCII escaped', () => {
    const props = serverProperties({ dataDir: 'C:\\data\\kafka-ü', ports });
    expect(props).toContain('log.dirs=C:\\\\data\\\\kafka-\\u00fc\n');
  });

  it.each([
    ['a user name JAAS cannot carry', { 'al ice': 'x' }, "SASL user name 'al ice'"],
    ['a password with a quote', { alice: 'pa"ss' }, "the password of SASL user 'alice'"],
    ['no user at all', {}, 'names no user'],
  ])('refuses %s', (_what, users, message) => {
    expect(() => serverProperties({ dataDir: '/data', ports, sasl: { users } })).toThrow(message);
  });

  it('is fetched by a pom of the Kafka broker and log4j2, copied into lib/', () => {
    const pom = kafkaPom();
    expect(pom).toContain(`<groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version>`);
    expect(pom).toContain('<artifactId>log4j-slf4j-impl</artifactId>');
    expect(pom).toContain('<goal>copy-dependencies</goal>');
    expect(pom).not.toContain('kafka-tools');
  });

  it('binds the registry to loopback with nothing but its HTTP port', () => {
    const args = registryProperties({ port: 18085, tmpDir: '/tmp/x' });
    expect(args).toEqual(expect.arrayContaining(['-Dquarkus.http.host=127.0.0.1', '-Dquarkus.http.port=18085', '-Dquarkus.management.enabled=false']));
  });
});
