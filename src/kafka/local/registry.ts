import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Jvm, waitForJvms, type JavaTools } from '../../flink/local/jvm.js';
import { freePort } from '../../local/ports.js';
import type { Logger } from '../../log.js';
import { exitedBeforeAnswering, QUICK_START_JVM } from './broker.js';
import { ensureRegistryDistribution, type RegistryDistribution } from './distribution.js';

/**
 * A schema registry on this machine that speaks Confluent's REST API: Apicurio Registry, whose
 * `ccompat/v7` API is what Confluent clients, Flink's `avro-confluent` format and CMF's Kafka
 * catalogs use. It keeps its schemas in memory (an in-process H2 database), so every start begins
 * empty; it binds 127.0.0.1 only and its log is `workDir/log/registry.out`.
 */

/** How to start the local registry. */
export interface LocalRegistryOptions {
  /** Logs and temporary files. */
  workDir: string;
  /** Where the distribution is cached (shared by every start). */
  cacheDir: string;
  tools: JavaTools;
  log: Logger;
  /** The HTTP port; chosen free when not given. */
  port?: number;
  /** How long the registry may take to come up. */
  startTimeoutMs?: number;
}

/**
 * System properties for Apicurio Registry 2.6 (Quarkus 3.15). Its one listener is the HTTP port:
 * the management interface is off, TLS unconfigured, and the transaction manager (Narayana) takes
 * its process id from a UUID instead of its default, a server socket it binds on a free port at the
 * first write and keeps open; so no other port is bound. Storage is the
 * `app` distribution's default, an in-memory H2 database, named here so that it cannot be pointed
 * elsewhere.
 */
export function registryProperties(options: { port: number; tmpDir: string }): string[] {
  return [
    '-Dquarkus.http.host=127.0.0.1',
    `-Dquarkus.http.port=${options.port}`,
    '-Dquarkus.management.enabled=false',
    '-DCoreEnvironmentBean.processImplementationClassName=com.arjuna.ats.internal.arjuna.utils.UuidProcessId',
    '-Dquarkus.datasource.jdbc.url=jdbc:h2:mem:registry_db',
    '-Dquarkus.log.level=INFO',
    '-Dquarkus.banner.enabled=false',
    `-Djava.io.tmpdir=${options.tmpDir}`,
    `-Dvertx.cacheDirBase=${path.join(options.tmpDir, 'vertx')}`,
  ];
}

/** What the registry sees of drey's environment: just enough to run Java. */
const KEEP_ENV = new Set(['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'JAVA_HOME', 'TMPDIR']);

/**
 * Apicurio reads much of its configuration from environment variables (LOG_LEVEL, HTTP_PORT,
 * REGISTRY_DATASOURCE_URL, KAFKA_BOOTSTRAP_SERVERS, any QUARKUS_*), some of which drey's own
 * environment may set for other reasons: the registry runs without them.
 */
function registryEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.keys(process.env).filter((k) => !KEEP_ENV.has(k)).map((k) => [k, undefined]));
}

/** A running local schema registry. */
export class LocalRegistry {
  /** The Confluent-compatible API: `http://127.0.0.1:<port>/apis/ccompat/v7`. */
  readonly url: string;
  readonly distribution: RegistryDistribution;
  readonly logDir: string;
  /** How long the start took, from launching the JVM to the API answering. */
  readonly startedInMs: number;
  private readonly jvm: Jvm;

  private constructor(fields: { url: string; distribution: RegistryDistribution; logDir: string; startedInMs: number; jvm: Jvm }) {
    this.url = fields.url;
    this.distribution = fields.distribution;
    this.logDir = fields.logDir;
    this.startedInMs = fields.startedInMs;
    this.jvm = fields.jvm;
  }

  /** Fetches the distribution if needed, starts the registry and waits until its API answers. */
  static async start(options: LocalRegistryOptions): Promise<LocalRegistry> {
    const { tools, log } = options;
    const distribution = await ensureRegistryDistribution({ cacheDir: options.cacheDir, mvn: tools.mvn, log });
    const dirs = { log: path.join(options.workDir, 'log'), tmp: path.join(options.workDir, 'tmp') };
    for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
    const port = options.port ?? (await freePort());
    const url = `http://127.0.0.1:${port}/apis/ccompat/v7`;
    const started = Date.now();
    const jvm = Jvm.start({
      name: 'registry',
      java: tools.java,
      // the runner jar's manifest Class-Path brings in lib/
      classpath: distribution.runnerJar,
      mainClass: distribution.mainClass,
      jvmArgs: ['-Xmx256m', ...QUICK_START_JVM, ...registryProperties({ port, tmpDir: dirs.tmp })],
      args: [],
      logDir: dirs.log,
      env: registryEnv(),
    });
    try {
      const deadline = started + (options.startTimeoutMs ?? 90_000);
      await waitForJvms([jvm], deadline, async () => ((await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(2000) })).status === 200 ? true : undefined), {
        exited: (_, how) => exitedBeforeAnswering('the local schema registry', jvm, how),
        late: () => new Error(`the local schema registry did not answer on ${url} within ${Math.round((deadline - started) / 1000)} s; the last lines of ${dirs.log}:\n${jvm.tail()}`),
      });
    } catch (err) {
      await jvm.stop();
      throw err;
    }
    const registry = new LocalRegistry({ url, distribution, logDir: dirs.log, startedInMs: Date.now() - started, jvm });
    log.debug('local schema registry is up', { version: distribution.version, url, ms: registry.startedInMs });
    return registry;
  }

  /** Whether the registry is still running. */
  get running(): boolean {
    return this.jvm.running;
  }

  /** The registry's process id. */
  get pid(): number | undefined {
    return this.jvm.pid;
  }

  /** Stops the registry and waits until it has exited. */
  async stop(): Promise<void> {
    await this.jvm.stop();
  }
}
