import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import AdmZip from 'adm-zip';
import { cachedFolder, DEPENDENCY_PLUGIN, lastLines, libraryPom, run } from '../../local/maven.js';
import type { Logger } from '../../log.js';

/**
 * Apache Kafka and a Confluent-compatible schema registry from Maven Central. Kafka publishes no
 * tarball there, but its broker module with its runtime dependencies is a whole broker: drey writes
 * a pom naming it and lets `copy-dependencies` fill a cached `lib/`, as for Flink. The registry is
 * Apicurio Registry, whose runnable distribution is on Maven Central as an attached `tar.gz`.
 */

/** The pinned Kafka version (KRaft only; Kafka 4 brokers need Java 17). */
export const KAFKA_VERSION = '4.1.1';

/**
 * The pinned Apicurio Registry. 2.6.13.Final is the newest release that runs on Java 17, drey's
 * baseline: 3.x is compiled for Java 21 and fails on 17 with UnsupportedClassVersionError.
 */
export const REGISTRY_VERSION = '2.6.13.Final';

const LOG4J_VERSION = '2.24.3';

/**
 * What goes into the broker's `lib/`. `kafka_2.13` brings the broker, the controller and the storage
 * tool; kafka-clients brings slf4j-api 1.7, hence the slf4j 1.x binding of log4j2. The console tools
 * (`kafka-tools`) are left out: they pull in Connect, Jersey and Jetty (twice the jars).
 */
const KAFKA_LIB = [
  `org.apache.kafka:kafka_2.13:${KAFKA_VERSION}`,
  `org.apache.logging.log4j:log4j-slf4j-impl:${LOG4J_VERSION}`,
  `org.apache.logging.log4j:log4j-core:${LOG4J_VERSION}`,
];

/** The registry's distribution: `apicurio-registry-app`'s attached assembly, classifier `all`. */
const REGISTRY_ARTIFACT = `io.apicurio:apicurio-registry-app:${REGISTRY_VERSION}:tar.gz:all`;

/** Where a resolved Kafka lives. */
export interface KafkaDistribution {
  version: string;
  home: string;
  lib: string;
  /** Whether this call fetched the jars (false when the cache already had them). */
  fetched: boolean;
}

/** Where a resolved registry lives and how to run it. */
export interface RegistryDistribution {
  version: string;
  home: string;
  /** The Quarkus runner jar; its manifest's Class-Path names the jars in `lib/` next to it. */
  runnerJar: string;
  /** The runner jar's Main-Class. */
  mainClass: string;
  fetched: boolean;
}

/** The pom whose `generate-resources` phase fills the broker's `lib/`. */
export function kafkaPom(): string {
  return libraryPom({ artifactId: 'local-kafka', version: KAFKA_VERSION, title: `a local Apache Kafka ${KAFKA_VERSION}`, coordinates: KAFKA_LIB });
}

/** Returns the cached Kafka jars, fetching them with Maven the first time (keyed by the pom's hash). */
export async function ensureKafkaDistribution(options: { cacheDir: string; mvn: string; log: Logger }): Promise<KafkaDistribution> {
  const pom = kafkaPom();
  const { home, fetched } = await cachedFolder({
    cacheDir: options.cacheDir,
    name: `kafka-${KAFKA_VERSION}`,
    key: pom,
    fill: async (home) => {
      writeFileSync(path.join(home, 'pom.xml'), pom);
      options.log.info('fetching Apache Kafka jars from Maven Central (once; later starts reuse the cache)', { version: KAFKA_VERSION, cache: home });
      const started = Date.now();
      const { code, output } = await run(options.mvn, ['-B', '-q', 'generate-resources'], home);
      if (code !== 0) throw new Error(`mvn could not fetch Apache Kafka ${KAFKA_VERSION} (exit ${code}):\n${lastLines(output)}`);
      const jars = readdirSync(path.join(home, 'lib')).length;
      options.log.info('fetched Apache Kafka jars', { jars, ms: Date.now() - started });
    },
  });
  return { version: KAFKA_VERSION, home, lib: path.join(home, 'lib'), fetched };
}

/** The runner jar of an unpacked distribution: at its top or one folder down. */
function findRunnerJar(home: string): string | undefined {
  const within = (dir: string) => readdirSync(dir).find((f) => f.endsWith('-runner.jar'));
  const top = within(home);
  if (top) return path.join(home, top);
  for (const entry of readdirSync(home)) {
    const dir = path.join(home, entry);
    if (!statSync(dir).isDirectory()) continue;
    const jar = within(dir);
    if (jar) return path.join(dir, jar);
  }
  return undefined;
}

function mainClassOf(jar: string): string {
  const manifest = new AdmZip(jar).readAsText('META-INF/MANIFEST.MF');
  const mainClass = /^Main-Class:\s*(\S+)/m.exec(manifest)?.[1];
  if (!mainClass) throw new Error(`${jar} names no Main-Class in its manifest`);
  return mainClass;
}

/**
 * Returns the cached Apicurio Registry, fetching it the first time: Maven resolves the `tar.gz`
 * (through the local repository, like any artifact) and copies it into the cache, where `tar`
 * unpacks it. The copy goal is used rather than `dependency:get` because it puts the file in a
 * known place; where Maven's local repository is depends on settings drey should not parse.
 */
export async function ensureRegistryDistribution(options: { cacheDir: string; mvn: string; log: Logger }): Promise<RegistryDistribution> {
  const { home, fetched } = await cachedFolder({
    cacheDir: options.cacheDir,
    name: `apicurio-registry-${REGISTRY_VERSION}`,
    key: REGISTRY_ARTIFACT,
    fill: async (home) => {
      options.log.info('fetching Apicurio Registry from Maven Central (once; later starts reuse the cache)', { version: REGISTRY_VERSION, cache: home });
      const started = Date.now();
      const download = path.join(home, 'download');
      const copy = await run(
        options.mvn,
        ['-B', '-q', `${DEPENDENCY_PLUGIN}:copy`, `-Dartifact=${REGISTRY_ARTIFACT}`, `-DoutputDirectory=${download}`, '-Dmdep.overWriteReleases=true'],
        home,
      );
      if (copy.code !== 0) throw new Error(`mvn could not fetch Apicurio Registry ${REGISTRY_VERSION} (exit ${copy.code}):\n${lastLines(copy.output)}`);
      const tarball = readdirSync(download).find((f) => f.endsWith('.tar.gz'));
      if (!tarball) throw new Error(`mvn fetched no tar.gz of Apicurio Registry ${REGISTRY_VERSION} into ${download}`);
      const untar = await run('tar', ['-xzf', path.join(download, tarball), '-C', home], home);
      if (untar.code !== 0) throw new Error(`tar could not unpack Apicurio Registry ${REGISTRY_VERSION} (exit ${untar.code}):\n${lastLines(untar.output)}`);
      rmSync(download, { recursive: true, force: true });
      const runner = findRunnerJar(home);
      if (!runner) throw new Error(`Apicurio Registry ${REGISTRY_VERSION} unpacked without a -runner.jar in ${home}`);
      mainClassOf(runner);
      options.log.info('fetched Apicurio Registry', { ms: Date.now() - started });
    },
  });
  const runnerJar = findRunnerJar(home);
  if (!runnerJar || !existsSync(runnerJar)) throw new Error(`the cached Apicurio Registry in ${home} has no -runner.jar; delete the folder to fetch it again`);
  return { version: REGISTRY_VERSION, home, runnerJar, mainClass: mainClassOf(runnerJar), fetched };
}
