import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import kafkajs from 'kafkajs';
import { Jvm, waitForJvms, type JavaTools } from '../../flink/local/jvm.js';
import { lastLines, run } from '../../local/maven.js';
import { failedToBind, freePort, PortInUse } from '../../local/ports.js';
import type { Logger } from '../../log.js';
import { ensureKafkaDistribution, type KafkaDistribution } from './distribution.js';

/**
 * A real single-node Apache Kafka on this machine: one KRaft process that is both broker and
 * controller, bound to 127.0.0.1, started from the cached Maven Central jars. Its storage is
 * formatted afresh at every start (the registry next to it keeps schemas in memory, so records kept
 * across a restart would name schema ids that no longer exist); its logs stay in `workDir/log`.
 */

/** SASL/PLAIN users of the extra SASL_PLAINTEXT listener, name → password. */
export interface SaslUsers {
  users: Record<string, string>;
}

/** How to start local Kafka. */
export interface LocalKafkaOptions {
  /** Configuration, data and logs. */
  workDir: string;
  /** Where the jars are cached (shared by every start). */
  cacheDir: string;
  tools: JavaTools;
  log: Logger;
  /** Ports to listen on; those not given are chosen free. */
  ports?: { plaintext?: number; sasl?: number; controller?: number };
  /** Adds a SASL_PLAINTEXT listener (mechanism PLAIN) that accepts these users. */
  sasl?: SaslUsers;
  /** How long the broker may take to come up. */
  startTimeoutMs?: number;
}

/** What server.properties is made of. */
export interface BrokerSettings {
  dataDir: string;
  ports: { plaintext: number; controller: number; sasl?: number };
  sasl?: SaslUsers;
}

const NODE_ID = 1;

/**
 * JVM options of the broker and the registry, for a quick start on a small machine: the C1
 * compiler only, which takes about half the CPU time to get them ready (it matters on two cores
 * while Flink's three JVMs start at the same moment) at a throughput no local test notices; and an
 * exit rather than a limp on OutOfMemoryError.
 */
export const QUICK_START_JVM = ['-XX:TieredStopAtLevel=1', '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true'];

/**
 * log4j2 for the broker: one file, and from the chattiest loggers only warnings; the broker's
 * lifecycle (STARTING, RECOVERY, RUNNING, "Kafka Server started") stays in.
 */
const LOG4J2 = `status = warn
appender.file.type = File
appender.file.name = file
appender.file.append = true
appender.file.fileName = \${sys:log.file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-40c{1.} - %m%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
${[
  ['org.apache.kafka', 'WARN'],
  ['kafka', 'WARN'],
  ['state.change.logger', 'WARN'],
  ['kafka.server.KafkaRaftServer', 'INFO'],
  ['kafka.server.BrokerLifecycleManager', 'INFO'],
]
  .map(([name, level], i) => `logger.l${i}.name = ${name}\nlogger.l${i}.level = ${level}`)
  .join('\n')}
`;

/** A value as java.util.Properties reads it (Latin-1 with escapes): backslashes doubled, the rest of Unicode as \\uXXXX. */
function propertyValue(value: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`a Kafka setting cannot span lines: ${JSON.stringify(value)}`);
  return value.replace(/\\/g, '\\\\').replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The JAAS line of the SASL listener; refuses what JAAS's quoting could not carry. */
function plainJaas(users: Record<string, string>): string {
  const entries = Object.entries(users);
  if (entries.length === 0) throw new Error('local Kafka: sasl.users names no user');
  const options = entries.map(([name, password]) => {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`local Kafka: SASL user name '${name}' must be letters, digits, '.', '_' or '-'`);
    if (/["\\]/.test(password)) throw new Error(`local Kafka: the password of SASL user '${name}' cannot contain '"' or '\\'`);
    return `user_${name}="${password}"`;
  });
  return `org.apache.kafka.common.security.plain.PlainLoginModule required ${options.join(' ')};`;
}

/**
 * The broker's server.properties: a single node that is broker and controller (static voters), a
 * PLAINTEXT listener for clients and the broker itself, and optionally a SASL_PLAINTEXT one. Topic
 * defaults suit one node and tests: one partition, replication factor 1, no rebalance delay, and no
 * topic created behind a client's back.
 */
export function serverProperties(settings: BrokerSettings): string {
  const { ports } = settings;
  const sasl = settings.sasl && ports.sasl !== undefined ? { port: ports.sasl, users: settings.sasl.users } : undefined;
  const listeners = [`PLAINTEXT://127.0.0.1:${ports.plaintext}`, `CONTROLLER://127.0.0.1:${ports.controller}`];
  const advertised = [`PLAINTEXT://127.0.0.1:${ports.plaintext}`];
  const protocols = ['CONTROLLER:PLAINTEXT', 'PLAINTEXT:PLAINTEXT'];
  if (sasl) {
    listeners.push(`SASL_PLAINTEXT://127.0.0.1:${sasl.port}`);
    advertised.push(`SASL_PLAINTEXT://127.0.0.1:${sasl.port}`);
    protocols.push('SASL_PLAINTEXT:SASL_PLAINTEXT');
  }
  const values: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': NODE_ID,
    'controller.quorum.voters': `${NODE_ID}@127.0.0.1:${ports.controller}`,
    listeners: listeners.join(','),
    'advertised.listeners': advertised.join(','),
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': protocols.join(','),
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': settings.dataDir,
    'num.partitions': 1,
    'default.replication.factor': 1,
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': false,
  };
  if (sasl) {
    values['listener.name.sasl_plaintext.sasl.enabled.mechanisms'] = 'PLAIN';
    values['listener.name.sasl_plaintext.plain.sasl.jaas.config'] = plainJaas(sasl.users);
  }
  return `# Written by drey: a local single-node Apache Kafka\n${Object.entries(values)
    .map(([k, v]) => `${k}=${propertyValue(String(v))}`)
    .join('\n')}\n`;
}

/**
 * A new cluster id as `kafka-storage random-uuid` prints it: 16 random bytes in URL-safe base64.
 * Kafka reserves ids starting with '-'.
 */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Whether the broker answers a metadata request and lists itself. */
async function answers(bootstrap: string): Promise<boolean> {
  const client = new kafkajs.Kafka({
    clientId: 'drey-readiness',
    brokers: [bootstrap],
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = client.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.some((b) => b.nodeId === NODE_ID);
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** A JVM that exited before it answered: PortInUse when its log says a port it wanted was taken. */
export function exitedBeforeAnswering(what: string, jvm: Jvm, how: string): Error {
  const why = `${what} exited (${how}) before it answered:\n${jvm.tail()}`;
  return failedToBind(jvm.tail(200)) ? new PortInUse(why) : new Error(why);
}

/** A running local Kafka. */
export class LocalKafka {
  /** The PLAINTEXT listener, `127.0.0.1:<port>`. */
  readonly bootstrapServers: string;
  /** The SASL_PLAINTEXT listener (mechanism PLAIN), when one was asked for. */
  readonly saslBootstrapServers: string | undefined;
  readonly distribution: KafkaDistribution;
  readonly clusterId: string;
  readonly logDir: string;
  /** How long the start took, from launching the broker to it answering. */
  readonly startedInMs: number;
  private readonly jvm: Jvm;

  private constructor(fields: {
    bootstrapServers: string;
    saslBootstrapServers: string | undefined;
    distribution: KafkaDistribution;
    clusterId: string;
    logDir: string;
    startedInMs: number;
    jvm: Jvm;
  }) {
    this.bootstrapServers = fields.bootstrapServers;
    this.saslBootstrapServers = fields.saslBootstrapServers;
    this.distribution = fields.distribution;
    this.clusterId = fields.clusterId;
    this.logDir = fields.logDir;
    this.startedInMs = fields.startedInMs;
    this.jvm = fields.jvm;
  }

  /** Fetches the jars if needed, formats fresh storage, starts the broker and waits until it answers. */
  static async start(options: LocalKafkaOptions): Promise<LocalKafka> {
    const { tools, log } = options;
    const distribution = await ensureKafkaDistribution({ cacheDir: options.cacheDir, mvn: tools.mvn, log });
    const dirs = { conf: path.join(options.workDir, 'conf'), data: path.join(options.workDir, 'data'), log: path.join(options.workDir, 'log') };
    rmSync(dirs.data, { recursive: true, force: true });
    for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
    const ports = {
      plaintext: options.ports?.plaintext ?? (await freePort()),
      controller: options.ports?.controller ?? (await freePort()),
      ...(options.sasl ? { sasl: options.ports?.sasl ?? (await freePort()) } : {}),
    };
    const propertiesFile = path.join(dirs.conf, 'server.properties');
    writeFileSync(propertiesFile, serverProperties({ dataDir: dirs.data, ports, ...(options.sasl ? { sasl: options.sasl } : {}) }), { mode: 0o600 });
    const log4j2File = path.join(dirs.conf, 'log4j2.properties');
    writeFileSync(log4j2File, LOG4J2);
    const classpath = path.join(distribution.lib, '*');
    const log4j2 = `-Dlog4j2.configurationFile=${log4j2File}`;

    const id = clusterId();
    const format = await run(
      tools.java,
      ['-Xmx256m', '-XX:TieredStopAtLevel=1', log4j2, `-Dlog.file=${path.join(dirs.log, 'storage-format.log')}`, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', id, '-c', propertiesFile],
      options.workDir,
    );
    if (format.code !== 0) throw new Error(`local Kafka: formatting its storage failed (exit ${format.code}):\n${lastLines(format.output)}`);

    const started = Date.now();
    const jvm = Jvm.start({
      name: 'kafka',
      java: tools.java,
      classpath,
      mainClass: 'kafka.Kafka',
      jvmArgs: ['-Xms256m', '-Xmx512m', ...QUICK_START_JVM, log4j2],
      args: [propertiesFile],
      logDir: dirs.log,
    });
    const bootstrapServers = `127.0.0.1:${ports.plaintext}`;
    try {
      const deadline = started + (options.startTimeoutMs ?? 90_000);
      await waitForJvms([jvm], deadline, async () => (await answers(bootstrapServers)) || undefined, {
        exited: (_, how) => exitedBeforeAnswering('local Kafka', jvm, how),
        late: () => new Error(`local Kafka did not answer on ${bootstrapServers} within ${Math.round((deadline - started) / 1000)} s; the last lines of ${dirs.log}:\n${jvm.tail()}`),
      });
    } catch (err) {
      await jvm.stop();
      throw err;
    }
    const kafka = new LocalKafka({
      bootstrapServers,
      saslBootstrapServers: ports.sasl === undefined ? undefined : `127.0.0.1:${ports.sasl}`,
      distribution,
      clusterId: id,
      logDir: dirs.log,
      startedInMs: Date.now() - started,
      jvm,
    });
    log.debug('local Kafka is up', { version: distribution.version, bootstrap: bootstrapServers, sasl: kafka.saslBootstrapServers, ms: kafka.startedInMs });
    return kafka;
  }

  /** Whether the broker is still running. */
  get running(): boolean {
    return this.jvm.running;
  }

  /** The broker's process id. */
  get pid(): number | undefined {
    return this.jvm.pid;
  }

  /** Stops the broker and waits until it has exited. */
  async stop(): Promise<void> {
    await this.jvm.stop();
  }
}
