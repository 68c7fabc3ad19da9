import path from 'node:path';
import { CATALOG_CACHE_MS } from './catalogs/view.js';
import type { ClusterSetting } from './kube/connection.js';

/** Every setting drey reads, validated once at start. */
export interface Config {
  /** HTTP port of the API. */
  port: number;
  /** Address the API binds to. */
  host: string;
  /** Directory for drey's own files (embedded PostgreSQL, kubeconfig, caches). */
  dataDir: string;
  /** External PostgreSQL; when absent drey runs an embedded one in `dataDir`. */
  databaseUrl: string | undefined;
  /** Lowest level written to the log. */
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Which Kubernetes to drive: `auto` picks in-cluster, then a kubeconfig, then the simulated cluster. */
  kube: ClusterSetting;
  /** A FlinkDeployment CRD file for the simulated cluster instead of the one fetched from Maven Central. */
  simCrdFile: string | undefined;
  /** Milliseconds between two lifecycle steps of the simulated Flink operator. */
  simStepMs: number;
  /** How long the controllers' leader lease lasts unrenewed: a dead leader is replaced within about this. */
  leaderLeaseMs: number;
  /** How often every application is reconciled even when nothing was heard. */
  resyncMs: number;
  /** `on`: this process may lead and run the controllers; `off`: it serves the API only and never leads. */
  controllers: 'on' | 'off';
  /**
   * Real Apache Flink on this machine for the simulated cluster: `auto` starts it when Java and Maven
   * are present, `on` refuses to start without it, `off` keeps simulating jobs.
   */
  localFlink: 'auto' | 'on' | 'off';
  /** Where local Flink's jars are cached (fetched from Maven Central on first use). */
  flinkCacheDir: string;
  /**
   * A real Kafka broker and schema registry on this machine for KafkaCatalogs: `auto` starts them
   * with local Flink when Java and Maven are present, `on` refuses to start without them (even with
   * local Flink off), `off` never starts them.
   */
  localKafka: 'auto' | 'on' | 'off';
  /** Where local Kafka's jars and the schema registry are cached (fetched from Maven Central on first use). */
  kafkaCacheDir: string;
  /** How long a Kafka catalog's listing of topics and subjects is reused by later statements. */
  catalogCacheMs: number;
  /** The Flink SQL Gateway statements run through; local Flink's own when unset. */
  sqlGatewayUrl: string | undefined;
}

/** Thrown for a setting that cannot be used; drey prints it and exits. */
export class ConfigError extends Error {}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, not '${raw}'`);
  }
  return value;
}

/** Reads the configuration from environment variables. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be debug, info, warn or error, not '${logLevel}'`);
  }
  const databaseUrl = env.DATABASE_URL === '' ? undefined : env.DATABASE_URL;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must be a postgresql:// connection string');
  }
  const kube = env.CMF_KUBE || 'auto';
  if (!['auto', 'simulated', 'kubeconfig', 'in-cluster'].includes(kube)) {
    throw new ConfigError(`CMF_KUBE must be auto, simulated, kubeconfig or in-cluster, not '${kube}'`);
  }
  const localFlink = env.CMF_LOCAL_FLINK || 'auto';
  if (!['auto', 'on', 'off'].includes(localFlink)) {
    throw new ConfigError(`CMF_LOCAL_FLINK must be auto, on or off, not '${localFlink}'`);
  }
  const localKafka = env.CMF_LOCAL_KAFKA || 'auto';
  if (!['auto', 'on', 'off'].includes(localKafka)) {
    throw new ConfigError(`CMF_LOCAL_KAFKA must be auto, on or off, not '${localKafka}'`);
  }
  const sqlGatewayUrl = env.CMF_SQL_GATEWAY_URL || undefined;
  if (sqlGatewayUrl !== undefined && !/^https?:\/\/[^/]+/.test(sqlGatewayUrl)) {
    throw new ConfigError(`CMF_SQL_GATEWAY_URL must be an http:// or https:// URL, not '${sqlGatewayUrl}'`);
  }
  const controllers = env.CMF_CONTROLLERS || 'on';
  if (!['on', 'off'].includes(controllers)) {
    throw new ConfigError(`CMF_CONTROLLERS must be on or off, not '${controllers}'`);
  }
  const dataDir = path.resolve(env.CMF_DATA_DIR ?? '.drey');
  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: env.HOST ?? '0.0.0.0',
    dataDir,
    databaseUrl,
    logLevel: logLevel as Config['logLevel'],
    kube: kube as ClusterSetting,
    simCrdFile: env.CMF_SIM_CRD ? path.resolve(env.CMF_SIM_CRD) : undefined,
    simStepMs: integer(env, 'CMF_SIM_STEP_MS', 500, 1, 600_000),
    leaderLeaseMs: integer(env, 'CMF_LEADER_LEASE_MS', 10_000, 1_000, 600_000),
    resyncMs: integer(env, 'CMF_RESYNC_MS', 30_000, 100, 3_600_000),
    controllers: controllers as Config['controllers'],
    localFlink: localFlink as Config['localFlink'],
    flinkCacheDir: env.CMF_FLINK_CACHE ? path.resolve(env.CMF_FLINK_CACHE) : path.join(dataDir, 'cache', 'flink'),
    localKafka: localKafka as Config['localKafka'],
    catalogCacheMs: integer(env, 'CMF_CATALOG_CACHE_MS', CATALOG_CACHE_MS, 0, 3_600_000),
    kafkaCacheDir: env.CMF_KAFKA_CACHE ? path.resolve(env.CMF_KAFKA_CACHE) : path.join(dataDir, 'cache', 'kafka'),
    sqlGatewayUrl: sqlGatewayUrl?.replace(/\/+$/, ''),
  };
}
