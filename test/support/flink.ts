/**
 * Real Apache Flink for integration tests: a session cluster (JobManager + TaskManager) and a SQL
 * Gateway, started from Maven Central jars by drey's own launcher.
 */

/** A running local Flink. */
export interface TestFlink {
  /** JobManager REST (and web UI). */
  restUrl: string;
  /** SQL Gateway REST endpoint. */
  gatewayUrl: string;
  /** The local file of one of Flink's example jars, e.g. `exampleJar('StateMachineExample')`. */
  exampleJar(name: string): string;
  stop(): Promise<void>;
}

/**
 * Starts real Flink, or returns undefined (after saying loudly what is missing) when this machine
 * has no Java or Maven. In CI a missing Java is a failure, not a skip.
 */
export async function startTestFlink(): Promise<TestFlink | undefined> {
  // Placeholder until the launcher lands: a cluster started by hand.
  return {
    restUrl: process.env.DREY_TEST_FLINK_REST ?? 'http://localhost:18081',
    gatewayUrl: process.env.DREY_TEST_FLINK_GATEWAY ?? 'http://localhost:18083',
    exampleJar: () => '/tmp/fx/flink-examples-streaming-2.3.0.jar',
    stop: async () => {},
  };
}
