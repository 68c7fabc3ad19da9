import path from 'node:path';

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
  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: env.HOST ?? '0.0.0.0',
    dataDir: path.resolve(env.CMF_DATA_DIR ?? '.drey'),
    databaseUrl,
    logLevel: logLevel as Config['logLevel'],
  };
}
