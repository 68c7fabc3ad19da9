/**
 * Real Apache Flink for integration tests: a session cluster (JobManager + TaskManager) and a SQL
 * Gateway, started from Maven Central jars by drey's own launcher.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalFlink } from '../../src/flink/local/cluster.js';
import { findJavaTools, type JavaTools } from '../../src/flink/local/jvm.js';
import { createLogger } from '../../src/log.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The jar cache every test run shares: fetched by the first run on a machine, reused afterwards. */
export const TEST_FLINK_CACHE = process.env.DREY_TEST_FLINK_CACHE ?? path.join(ROOT, 'node_modules', '.cache', 'drey', 'flink');

/** A running local Flink. */
export interface TestFlink {
  /** JobManager REST (and web UI). */
  restUrl: string;
  /** SQL Gateway REST endpoint. */
  gatewayUrl: string;
  /** The local file of one of Flink's example jars, e.g. `exampleJar('StateMachineExample')`. */
  exampleJar(name: string): string;
  /** Where the JobManager, TaskManager and gateway logs are. */
  logDir: string;
  flink: LocalFlink;
  stop(): Promise<void>;
}

/**
 * Java and Maven for the tests of real `what` (Flink, Kafka), or undefined after saying loudly what is missing (a skip);
 * in CI a missing one is a failure instead.
 */
export function testJavaTools(what = 'Flink'): JavaTools | undefined {
  const tools = findJavaTools();
  if (!('missing' in tools)) return tools;
  const message = `real ${what} tests need ${tools.missing}; install a JDK 17 and Maven to run them`;
  if (process.env.CI) throw new Error(`${message} (CI must run them)`);
  console.warn(`SKIPPED: ${message}`);
  return undefined;
}

/**
 * Starts real Flink, or returns undefined (after saying loudly what is missing) when this machine
 * has no Java or Maven. In CI a missing Java is a failure, not a skip.
 */
export async function startTestFlink(): Promise<TestFlink | undefined> {
  const tools = testJavaTools();
  if (!tools) return undefined;
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'drey-flink-'));
  const flink = await LocalFlink.start({ workDir, cacheDir: TEST_FLINK_CACHE, tools, log: createLogger('warn') });
  return {
    restUrl: flink.restUrl,
    gatewayUrl: flink.gatewayUrl,
    exampleJar: () => flink.distribution.streamingExamplesJar,
    logDir: flink.logDir,
    flink,
    stop: () => flink.stop(),
  };
}
