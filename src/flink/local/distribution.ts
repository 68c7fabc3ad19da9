import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../log.js';

/**
 * Apache Flink assembled from its module jars on Maven Central: a `lib/` classpath for the session
 * cluster and the SQL Gateway, and the example jars. There is no flink-dist bundle for 2.x on Maven
 * Central, so drey writes a pom that names the modules a distribution's `lib/` holds and lets
 * `mvn dependency:copy-dependencies` resolve them, once, into a cache.
 */

/**
 * The pinned Flink version. 2.3.0 is the only 2.x release whose example jars
 * (`flink-examples-streaming`) are on Maven Central, and the examples are what local FlinkDeployments run.
 */
export const FLINK_VERSION = '2.3.0';

const LOG4J_VERSION = '2.24.3';

/** Maven coordinates (groupId:artifactId:version) of what goes into the cluster's `lib/`. */
const LIB = [
  ...[
    'flink-runtime',
    'flink-runtime-web',
    'flink-clients',
    'flink-streaming-java',
    'flink-table-api-java-bridge',
    'flink-table-runtime',
    'flink-table-planner-loader',
    'flink-sql-gateway',
    'flink-connector-datagen',
    'flink-connector-files',
    'flink-json',
    'flink-csv',
    'flink-statebackend-forst',
  ].map((a) => `org.apache.flink:${a}:${FLINK_VERSION}`),
  ...['log4j-slf4j-impl', 'log4j-core', 'log4j-api', 'log4j-1.2-api'].map((a) => `org.apache.logging.log4j:${a}:${LOG4J_VERSION}`),
];

/**
 * The streaming examples jar, fetched straight from Maven Central and checked against the SHA-1 the
 * repository publishes. Maven cannot resolve it: its parent pom (flink-examples 2.3.0) was never
 * published, so every Maven goal fails reading the artifact's descriptor.
 */
const MAVEN_CENTRAL = 'https://repo.maven.apache.org/maven2';
const EXAMPLES_PATH = `org/apache/flink/flink-examples-streaming/${FLINK_VERSION}/flink-examples-streaming-${FLINK_VERSION}.jar`;

/**
 * The jars of a distribution's `examples/streaming/` folder and the class each one runs. In flink-dist
 * each is a shaded slice of flink-examples-streaming; here all of them are that one artifact, run with
 * the entry class the slice's manifest names.
 */
export const STREAMING_EXAMPLES: Record<string, string> = {
  'AsyncIO.jar': 'org.apache.flink.streaming.examples.async.AsyncIOExample',
  'SessionWindowing.jar': 'org.apache.flink.streaming.examples.windowing.SessionWindowing',
  'SocketWindowWordCount.jar': 'org.apache.flink.streaming.examples.socket.SocketWindowWordCount',
  'StateMachineExample.jar': 'org.apache.flink.streaming.examples.statemachine.StateMachineExample',
  'TopSpeedWindowing.jar': 'org.apache.flink.streaming.examples.windowing.TopSpeedWindowing',
  'WindowJoin.jar': 'org.apache.flink.streaming.examples.join.WindowJoin',
  'WordCount.jar': 'org.apache.flink.streaming.examples.wordcount.WordCount',
};

/** Where a resolved distribution lives. */
export interface FlinkDistribution {
  version: string;
  home: string;
  lib: string;
  /** The file of flink-examples-streaming. */
  streamingExamplesJar: string;
  /** Whether this call fetched the jars (false when the cache already had them). */
  fetched: boolean;
}

function dependency(coordinates: string, indent: string): string {
  const [groupId, artifactId, version] = coordinates.split(':');
  return `${indent}<dependency><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${version}</version></dependency>`;
}

/** Downloads one file of Maven Central and checks it against the repository's `.sha1`. */
async function fetchFromCentral(relative: string, dest: string): Promise<void> {
  const get = async (url: string) => {
    const res = await fetch(url, { signal: AbortSignal.timeout(120_000) });
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  };
  const [bytes, sha1] = await Promise.all([get(`${MAVEN_CENTRAL}/${relative}`), get(`${MAVEN_CENTRAL}/${relative}.sha1`)]);
  const expected = sha1.toString('utf8').trim().split(/\s+/)[0];
  const actual = createHash('sha1').update(bytes).digest('hex');
  if (actual !== expected) throw new Error(`${relative}: SHA-1 ${actual} does not match Maven Central's ${expected}`);
  mkdirSync(path.dirname(dest), { recursive: true });
  writeFileSync(dest, bytes);
}

/** The pom whose `generate-resources` phase fills `lib/`. */
export function distributionPom(): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by drey: the jars of a local Apache Flink ${FLINK_VERSION}. Run: mvn -B generate-resources -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.drey</groupId>
  <artifactId>local-flink</artifactId>
  <version>${FLINK_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
${LIB.map((c) => dependency(c, '    ')).join('\n')}
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>3.8.1</version>
        <executions>
          <execution>
            <id>lib</id>
            <phase>generate-resources</phase>
            <goals><goal>copy-dependencies</goal></goals>
            <configuration>
              <outputDirectory>\${project.basedir}/lib</outputDirectory>
              <includeScope>runtime</includeScope>
            </configuration>
          </execution>
        </executions>
      </plugin>
    </plugins>
  </build>
</project>
`;
}

function run(command: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Holds `<dir>.lock` while `work` runs, so that concurrent drey processes fetch the jars once. */
async function withLock<T>(lock: string, work: () => Promise<T>, isDone: () => boolean): Promise<T | undefined> {
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      let holder = NaN;
      try {
        holder = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
      } catch {
        // the holder has not written its pid yet
      }
      if (Number.isFinite(holder) && !alive(holder)) rmSync(lock, { recursive: true, force: true });
      else await sleep(500);
      if (isDone()) return undefined;
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Returns the cached distribution, fetching it with Maven the first time. The cache is keyed by the
 * pom's hash, so a change of version or module list fetches again instead of reusing stale jars.
 */
export async function ensureDistribution(options: { cacheDir: string; mvn: string; log: Logger }): Promise<FlinkDistribution> {
  const pom = distributionPom();
  const key = createHash('sha256').update(pom).digest('hex').slice(0, 12);
  const home = path.join(options.cacheDir, `flink-${FLINK_VERSION}-${key}`);
  const marker = path.join(home, '.complete');
  const result = (fetched: boolean): FlinkDistribution => ({
    version: FLINK_VERSION,
    home,
    lib: path.join(home, 'lib'),
    streamingExamplesJar: path.join(home, 'examples', `flink-examples-streaming-${FLINK_VERSION}.jar`),
    fetched,
  });
  if (existsSync(marker)) return result(false);
  mkdirSync(options.cacheDir, { recursive: true });
  const fetched = await withLock(
    `${home}.lock`,
    async () => {
      if (existsSync(marker)) return false;
      rmSync(home, { recursive: true, force: true });
      mkdirSync(home, { recursive: true });
      writeFileSync(path.join(home, 'pom.xml'), pom);
      options.log.info('fetching Apache Flink jars from Maven Central (once; later starts reuse the cache)', {
        version: FLINK_VERSION,
        cache: home,
      });
      const started = Date.now();
      const { code, output } = await run(options.mvn, ['-B', '-q', 'generate-resources'], home);
      if (code !== 0) {
        const tail = output.trim().split('\n').slice(-8).join('\n');
        throw new Error(`mvn could not fetch Apache Flink ${FLINK_VERSION} (exit ${code}):\n${tail}`);
      }
      await fetchFromCentral(EXAMPLES_PATH, result(true).streamingExamplesJar);
      const jars = readdirSync(path.join(home, 'lib')).length;
      writeFileSync(marker, `${new Date().toISOString()}\n`);
      options.log.info('fetched Apache Flink jars', { jars, ms: Date.now() - started });
      return true;
    },
    () => existsSync(marker),
  );
  return result(fetched ?? false);
}
