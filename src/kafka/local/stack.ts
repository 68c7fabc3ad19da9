import path from 'node:path';
import type { JavaTools } from '../../flink/local/jvm.js';
import { freePort, PortInUse, preferredPort } from '../../local/ports.js';
import type { Logger } from '../../log.js';
import { LocalKafka, type SaslUsers } from './broker.js';
import { LocalRegistry } from './registry.js';

/**
 * Local Kafka for KafkaCatalogs: a single-node broker and a Confluent-compatible schema registry,
 * started together and stopped together.
 */

/** How to start the stack. */
export interface LocalKafkaStackOptions {
  /** Holds `broker/` and `registry/`: configuration, data and logs. */
  workDir: string;
  /** Where the jars and the registry are cached (shared by every start). */
  cacheDir: string;
  tools: JavaTools;
  log: Logger;
  /** Adds a SASL_PLAINTEXT listener (mechanism PLAIN) to the broker with these users. */
  sasl?: SaslUsers;
  /**
   * Well-known ports to take when they are free (e.g. 9092 and 8085 for `npm start`); when one is
   * taken a free port is used instead, and an INFO line says which. Without them every port is free-chosen.
   */
  preferredPorts?: { broker?: number; registry?: number };
}

/**
 * Starts `start` on `preferred` when it is free, otherwise (or when someone takes it between the
 * check and the bind) on a free port, saying so.
 */
async function onPreferredPort<T>(what: string, preferred: number | undefined, log: Logger, start: (port: number | undefined) => Promise<T>): Promise<T> {
  if (preferred === undefined) return start(undefined);
  const fallBack = async () => {
    const port = await freePort();
    log.info(`127.0.0.1:${preferred} is taken: ${what} listens on 127.0.0.1:${port} instead`);
    return start(port);
  };
  const chosen = await preferredPort(preferred);
  if (!chosen.preferred) return fallBack();
  try {
    return await start(chosen.port);
  } catch (err) {
    if (!(err instanceof PortInUse)) throw err;
    return fallBack();
  }
}

/** A running broker and schema registry. */
export class LocalKafkaStack {
  readonly broker: LocalKafka;
  readonly registry: LocalRegistry;

  private constructor(broker: LocalKafka, registry: LocalRegistry) {
    this.broker = broker;
    this.registry = registry;
  }

  /** Starts the broker and the registry concurrently; when either fails, neither is left running. */
  static async start(options: LocalKafkaStackOptions): Promise<LocalKafkaStack> {
    const { log, tools, cacheDir } = options;
    const started = Date.now();
    const [broker, registry] = await Promise.allSettled([
      onPreferredPort('the local Kafka broker', options.preferredPorts?.broker, log, (port) =>
        LocalKafka.start({
          workDir: path.join(options.workDir, 'broker'),
          cacheDir,
          tools,
          log,
          ...(port === undefined ? {} : { ports: { plaintext: port } }),
          ...(options.sasl ? { sasl: options.sasl } : {}),
        }),
      ),
      onPreferredPort('the local schema registry', options.preferredPorts?.registry, log, (port) =>
        LocalRegistry.start({ workDir: path.join(options.workDir, 'registry'), cacheDir, tools, log, ...(port === undefined ? {} : { port }) }),
      ),
    ]);
    if (broker.status === 'rejected' || registry.status === 'rejected') {
      await Promise.all([broker, registry].map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
      const errors = [broker, registry].flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
      if (errors.length === 1) throw errors[0];
      throw new Error(errors.map((e) => e.message).join('\n'));
    }
    const stack = new LocalKafkaStack(broker.value, registry.value);
    log.info('local Kafka is up', {
      version: broker.value.distribution.version,
      bootstrapServers: stack.bootstrapServers,
      ...(stack.saslBootstrapServers ? { saslBootstrapServers: stack.saslBootstrapServers } : {}),
      schemaRegistry: stack.registryUrl,
      registry: `Apicurio Registry ${registry.value.distribution.version}`,
      ms: Date.now() - started,
      logs: options.workDir,
    });
    return stack;
  }

  /** The broker's PLAINTEXT listener, `127.0.0.1:<port>`. */
  get bootstrapServers(): string {
    return this.broker.bootstrapServers;
  }

  /** The broker's SASL_PLAINTEXT listener, when one was asked for. */
  get saslBootstrapServers(): string | undefined {
    return this.broker.saslBootstrapServers;
  }

  /** The registry's Confluent-compatible API. */
  get registryUrl(): string {
    return this.registry.url;
  }

  /** Whether both processes are still running. */
  get running(): boolean {
    return this.broker.running && this.registry.running;
  }

  /** Process ids of the broker and the registry. */
  get pids(): number[] {
    return [this.broker.pid, this.registry.pid].filter((p): p is number => p !== undefined);
  }

  /** Stops both and waits until each has exited. */
  async stop(): Promise<void> {
    await Promise.all([this.broker.stop(), this.registry.stop()]);
  }
}
