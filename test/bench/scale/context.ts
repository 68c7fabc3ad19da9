/** What every phase of the scale benchmark shares: settings, the database, cleanup, progress lines. */
import path from 'node:path';
import type { ScaleConfig } from './config.js';
import type { Cleanup, Database, Drey } from './processes.js';
import { startDrey } from './processes.js';

/** The run's shared state, handed to each phase. */
export interface ScaleContext {
  config: ScaleConfig;
  cleanup: Cleanup;
  database: Database;
  /** The run's temporary directory: data dirs of every drey go under it. */
  root: string;
  /** Prints a progress line with the time since the run started. */
  progress(message: string): void;
}

/** The environment the benchmark's applications live in, and its namespace. */
export const ENVIRONMENT = 'scale';

/** A FlinkApplication as POSTed. */
export interface ApplicationBody {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
}

/** An application body in CMF's format; `config` goes to spec.flinkConfiguration (a spec change). */
export function applicationBody(name: string, config?: Record<string, string>): ApplicationBody {
  return {
    apiVersion: 'cmf.confluent.io/v1',
    kind: 'FlinkApplication',
    metadata: { name },
    spec: {
      image: 'flink:2.0',
      flinkVersion: 'v2_0',
      serviceAccount: 'flink',
      ...(config ? { flinkConfiguration: config } : {}),
      jobManager: { resource: { cpu: 1, memory: '1024m' } },
      taskManager: { resource: { cpu: 1, memory: '1024m' } },
      job: { jarURI: 'local:///opt/flink/examples/streaming/StateMachineExample.jar', state: 'running', parallelism: 1, upgradeMode: 'stateless' },
    },
  };
}

/** The URL of an environment's applications. */
export function applicationsUrl(drey: Drey, environment = ENVIRONMENT): string {
  return `${drey.url}/cmf/api/v1/environments/${environment}/applications`;
}

/** Starts a drey whose data directory is `<root>/<name>`. */
export function startNamedDrey(ctx: ScaleContext, name: string, databaseUrl: string, env: Record<string, string>): Promise<Drey> {
  return startDrey(ctx.cleanup, {
    name,
    dreyDir: ctx.config.dreyDir,
    dataDir: path.join(ctx.root, name),
    databaseUrl,
    env: { CMF_RESYNC_MS: String(ctx.config.resyncMs), ...env },
    crdCache: path.join(ctx.root, 'crd-cache'),
  });
}
