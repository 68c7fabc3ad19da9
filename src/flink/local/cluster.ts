import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../../log.js';
import { ensureDistribution, type FlinkDistribution } from './distribution.js';
import { FLINK_JVM_OPENS, Jvm, waitForJvms, type JavaTools } from './jvm.js';

/**
 * Real Apache Flink on this machine: a standalone session cluster (one JobManager with its REST API
 * and web UI, and TaskManagers) plus a SQL Gateway pointed at it, started from the cached Maven
 * Central jars. Everything binds to 127.0.0.1 on ports chosen free; configuration, logs, savepoints
 * and checkpoints live under `workDir`, and the logs stay there after it stops.
 */

/** How to start local Flink. */
export interface LocalFlinkOptions {
  /** Configuration, logs, savepoints, checkpoints and temporary files. */
  workDir: string;
  /** Where the jars are cached (shared by every start). */
  cacheDir: string;
  tools: JavaTools;
  log: Logger;
  taskManagers?: number;
  slotsPerTaskManager?: number;
  /** How long the cluster may take to come up. */
  startTimeoutMs?: number;
}

const LOG4J = `rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
logger.pekko.name = org.apache.pekko
logger.pekko.level = WARN
logger.netty.name = org.apache.flink.shaded.netty4
logger.netty.level = WARN
appender.main.name = MainAppender
appender.main.type = File
appender.main.append = true
appender.main.fileName = \${sys:log.file}
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
`;

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Flink's config.yaml, flat keys (Flink 2 reads them as YAML keys). */
function configYaml(values: Record<string, string | number | boolean>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? JSON.stringify(v) : v}`)
    .join('\n')
    .concat('\n');
}

/**
 * Asks Flink how to size a process, as its start scripts do: BashJavaUtils prints the JVM memory
 * flags and the derived memory settings for the JobManager or a TaskManager.
 */
function resourceParams(tools: JavaTools, classpath: string, confDir: string, which: 'JM' | 'TM'): { jvmArgs: string[]; dynamic: string[] } {
  const r = spawnSync(
    tools.java,
    ['-cp', classpath, 'org.apache.flink.runtime.util.bash.BashJavaUtils', `GET_${which}_RESOURCE_PARAMS`, '--configDir', confDir],
    { encoding: 'utf8', timeout: 60_000 },
  );
  const results = `${r.stdout}`
    .split('\n')
    .filter((l) => l.startsWith('BASH_JAVA_UTILS_EXEC_RESULT:'))
    .map((l) => l.slice('BASH_JAVA_UTILS_EXEC_RESULT:'.length).trim());
  if (r.status !== 0 || results.length < 2) {
    throw new Error(`Flink could not size its ${which === 'JM' ? 'JobManager' : 'TaskManager'}: ${`${r.stderr}${r.stdout}`.trim().split('\n').slice(-5).join('\n')}`);
  }
  const [jvmArgs = '', dynamic = ''] = results;
  return { jvmArgs: jvmArgs.split(/\s+/).filter(Boolean), dynamic: dynamic.split(/\s+/).filter(Boolean) };
}

function poll<T>(what: string, deadline: number, jvms: Jvm[], probe: () => Promise<T | undefined>): Promise<T> {
  return waitForJvms(jvms, deadline, probe, {
    exited: (dead, how) => new Error(`local Flink's ${dead.name} exited (${how}) while waiting for ${what}:\n${dead.tail()}`),
    late: () => new Error(`local Flink: ${what} did not come up in time; logs are in ${path.dirname(jvms[0]?.logFile ?? '.')}`),
  });
}

async function json(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return res.ok ? res.json() : undefined;
}

/** A running local Flink. */
export class LocalFlink {
  /** JobManager REST API and web UI. */
  readonly restUrl: string;
  /** SQL Gateway REST endpoint. */
  readonly gatewayUrl: string;
  readonly distribution: FlinkDistribution;
  readonly logDir: string;
  readonly savepointDir: string;
  /** How long the start took, from launching the JVMs to every endpoint answering. */
  readonly startedInMs: number;
  private readonly jvms: Jvm[];

  private constructor(fields: {
    restUrl: string;
    gatewayUrl: string;
    distribution: FlinkDistribution;
    logDir: string;
    savepointDir: string;
    startedInMs: number;
    jvms: Jvm[];
  }) {
    this.restUrl = fields.restUrl;
    this.gatewayUrl = fields.gatewayUrl;
    this.distribution = fields.distribution;
    this.logDir = fields.logDir;
    this.savepointDir = fields.savepointDir;
    this.startedInMs = fields.startedInMs;
    this.jvms = fields.jvms;
  }

  /** Fetches the jars if needed, then starts the cluster and the gateway and waits for both. */
  static async start(options: LocalFlinkOptions): Promise<LocalFlink> {
    const { tools, log } = options;
    const taskManagers = options.taskManagers ?? 1;
    const slots = options.slotsPerTaskManager ?? 4;
    const distribution = await ensureDistribution({ cacheDir: options.cacheDir, mvn: tools.mvn, log });
    const dirs = Object.fromEntries(
      ['conf', 'log', 'savepoints', 'checkpoints', 'tmp', 'plugins'].map((d) => [d, path.join(options.workDir, d)]),
    ) as Record<'conf' | 'log' | 'savepoints' | 'checkpoints' | 'tmp' | 'plugins', string>;
    for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
    const [rpcPort, restPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
    writeFileSync(
      path.join(dirs.conf, 'config.yaml'),
      configYaml({
        'jobmanager.rpc.address': '127.0.0.1',
        'jobmanager.rpc.port': rpcPort,
        'jobmanager.bind-host': '127.0.0.1',
        'jobmanager.memory.process.size': '1024m',
        'taskmanager.host': '127.0.0.1',
        'taskmanager.bind-host': '127.0.0.1',
        'taskmanager.numberOfTaskSlots': slots,
        'taskmanager.memory.process.size': '1536m',
        'rest.address': '127.0.0.1',
        'rest.bind-address': '127.0.0.1',
        'rest.port': restPort,
        'parallelism.default': 1,
        'execution.target': 'remote',
        'execution.checkpointing.dir': `file://${dirs.checkpoints}`,
        'execution.checkpointing.savepoint-dir': `file://${dirs.savepoints}`,
        'io.tmp.dirs': dirs.tmp,
        'web.tmpdir': dirs.tmp,
        'web.upload.dir': dirs.tmp,
        'blob.storage.directory': dirs.tmp,
        'sql-gateway.endpoint.rest.address': '127.0.0.1',
        'sql-gateway.endpoint.rest.bind-address': '127.0.0.1',
        'sql-gateway.endpoint.rest.port': gatewayPort,
      }),
    );
    writeFileSync(path.join(dirs.conf, 'log4j.properties'), LOG4J);
    const classpath = path.join(distribution.lib, '*');
    const jm = resourceParams(tools, classpath, dirs.conf, 'JM');
    const tm = resourceParams(tools, classpath, dirs.conf, 'TM');
    const common = {
      java: tools.java,
      classpath,
      logDir: dirs.log,
      env: { FLINK_CONF_DIR: dirs.conf, FLINK_PLUGINS_DIR: dirs.plugins, FLINK_LIB_DIR: distribution.lib },
    };
    const log4j = `-Dlog4j.configurationFile=file:${path.join(dirs.conf, 'log4j.properties')}`;
    const started = Date.now();
    const jvms: Jvm[] = [];
    const stopAll = async () => {
      await Promise.all(jvms.map((j) => j.stop()));
    };
    try {
      jvms.push(
        Jvm.start({
          ...common,
          name: 'jobmanager',
          mainClass: 'org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint',
          jvmArgs: [...FLINK_JVM_OPENS, ...jm.jvmArgs, log4j],
          args: ['--configDir', dirs.conf, ...jm.dynamic],
        }),
      );
      for (let i = 0; i < taskManagers; i++) {
        jvms.push(
          Jvm.start({
            ...common,
            name: `taskmanager-${i}`,
            mainClass: 'org.apache.flink.runtime.taskexecutor.TaskManagerRunner',
            jvmArgs: [...FLINK_JVM_OPENS, ...tm.jvmArgs, log4j],
            args: ['--configDir', dirs.conf, ...tm.dynamic, '-D', `taskmanager.resource-id=local-taskmanager-${i}`],
          }),
        );
      }
      jvms.push(
        Jvm.start({
          ...common,
          name: 'sql-gateway',
          mainClass: 'org.apache.flink.table.gateway.SqlGateway',
          jvmArgs: [...FLINK_JVM_OPENS, '-Xmx768m', log4j],
          args: [],
        }),
      );
      const restUrl = `http://127.0.0.1:${restPort}`;
      const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
      const deadline = started + (options.startTimeoutMs ?? 120_000);
      await Promise.all([
        poll('the JobManager and the slots of its TaskManagers', deadline, jvms, async () => {
          // a TaskManager is listed a moment before its slots are: ready means the slots are there
          const overview = (await json(`${restUrl}/overview`)) as { taskmanagers?: number; 'slots-total'?: number } | undefined;
          return (overview?.taskmanagers ?? 0) >= taskManagers && (overview?.['slots-total'] ?? 0) >= taskManagers * slots ? overview : undefined;
        }),
        poll('the SQL Gateway', deadline, jvms, () => json(`${gatewayUrl}/v1/info`)),
      ]);
      const flink = new LocalFlink({
        restUrl,
        gatewayUrl,
        distribution,
        logDir: dirs.log,
        savepointDir: dirs.savepoints,
        startedInMs: Date.now() - started,
        jvms,
      });
      log.info('local Flink is up', {
        version: distribution.version,
        rest: restUrl,
        sqlGateway: gatewayUrl,
        taskManagers,
        ms: flink.startedInMs,
        logs: dirs.log,
      });
      return flink;
    } catch (err) {
      await stopAll();
      throw err;
    }
  }

  /** Whether every Flink process is still running. */
  get running(): boolean {
    return this.jvms.every((j) => j.running);
  }

  /** Process ids of the JobManager, TaskManagers and SQL Gateway. */
  get pids(): number[] {
    return this.jvms.map((j) => j.pid).filter((p): p is number => p !== undefined);
  }

  /** Stops every Flink process and waits until each has exited. */
  async stop(): Promise<void> {
    await Promise.all(this.jvms.map((j) => j.stop()));
  }
}
