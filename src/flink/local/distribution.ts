import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cachedFolder, lastLines, libraryPom, run } from '../../local/maven.js';
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
  // Kafka tables for KafkaCatalogs. The connector has no build for Flink 2.3; the one for 2.2 works
  // on 2.3. Both are the shaded `flink-sql-*` jars: the plain flink-avro-confluent-registry needs
  // Confluent's schema registry client, which is not on Maven Central, and flink-sql-avro must not be
  // added next to them (it registers the `avro` format a second time).
  'org.apache.flink:flink-sql-connector-kafka:5.0.0-2.2',
  `org.apache.flink:flink-sql-avro-confluent-registry:${FLINK_VERSION}`,
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
  return libraryPom({ artifactId: 'local-flink', version: FLINK_VERSION, title: `a local Apache Flink ${FLINK_VERSION}`, coordinates: LIB });
}

/**
 * Returns the cached distribution, fetching it with Maven the first time. The cache is keyed by the
 * pom's hash, so a change of version or module list fetches again instead of reusing stale jars.
 */
export async function ensureDistribution(options: { cacheDir: string; mvn: string; log: Logger }): Promise<FlinkDistribution> {
  const pom = distributionPom();
  const examplesJar = (home: string) => path.join(home, 'examples', `flink-examples-streaming-${FLINK_VERSION}.jar`);
  const { home, fetched } = await cachedFolder({
    cacheDir: options.cacheDir,
    name: `flink-${FLINK_VERSION}`,
    key: pom,
    fill: async (home) => {
      writeFileSync(path.join(home, 'pom.xml'), pom);
      options.log.info('fetching Apache Flink jars from Maven Central (once; later starts reuse the cache)', {
        version: FLINK_VERSION,
        cache: home,
      });
      const started = Date.now();
      const { code, output } = await run(options.mvn, ['-B', '-q', 'generate-resources'], home);
      if (code !== 0) throw new Error(`mvn could not fetch Apache Flink ${FLINK_VERSION} (exit ${code}):\n${lastLines(output)}`);
      await fetchFromCentral(EXAMPLES_PATH, examplesJar(home));
      const jars = readdirSync(path.join(home, 'lib')).length;
      options.log.info('fetched Apache Flink jars', { jars, ms: Date.now() - started });
    },
  });
  return { version: FLINK_VERSION, home, lib: path.join(home, 'lib'), streamingExamplesJar: examplesJar(home), fetched };
}
