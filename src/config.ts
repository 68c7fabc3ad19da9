import path from 'node:path';
import { tlsSettings, type TlsSettings } from './api/tls.js';
import { CATALOG_CACHE_MS } from './catalogs/view.js';
import { ConfigError } from './configError.js';
import type { ClusterSetting } from './kube/connection.js';
import { namespaceScope, type NamespaceScope } from './kube/scope.js';
import { apiTokenSettings, type ApiTokenSettings } from './security/apiTokens.js';
import { BOOTSTRAP_USER } from './security/bootstrapToken.js';
import { oidcSettings, type IssuerSettings } from './security/jwt.js';
import { encryptionSettings, type EncryptionSettings } from './security/keyring.js';
import type { Subject } from './security/principal.js';

export { ConfigError };

/** Who may call drey, how it is recorded and limited. */
export interface SecuritySettings {
  /** `production` refuses to start without an authenticator, TLS, explicit encryption keys and an administrator. */
  mode: 'local' | 'production';
  /** Whether any authenticator is configured; without one drey serves loopback only, to anyone there. */
  authenticated: boolean;
  /** Serving a non-loopback address without an authenticator, knowingly (warned on every start). */
  acceptRisk: boolean;
  /** TLS of the API, and client certificates (mTLS) when its client auth is `want` or `need`. */
  tls: TlsSettings | undefined;
  /** Trusted OIDC issuers of bearer JWTs. */
  oidc: IssuerSettings[];
  apiTokens: ApiTokenSettings;
  /** A file holding a token that acts as the super user `bootstrap`, for installs without other administrators. */
  bootstrapTokenFile: string | undefined;
  /** Principals that may do everything, from configuration only. */
  superUsers: Subject[];
  /** Requests a minute per principal, in bursts of `burst`; failed authentications a minute per address; 0 is off. */
  rateLimit: { perMinute: number; burst: number; failuresPerMinute: number };
  /** Where audit events go. */
  audit: { db: boolean; stdout: boolean };
}

/** Every setting drey reads, validated once at start. */
export interface Config {
  /** HTTP port of the API. */
  port: number;
  /** Address the API binds to. */
  host: string;
  /** Port of the plain-HTTP ops server (`/livez`, `/readyz`, `/metrics`); `off` for none. */
  opsPort: number | 'off';
  /** Address the ops server binds to (the API's by default). */
  opsHost: string;
  /** How long a stopping drey answers not ready before it stops serving, so endpoints drain. */
  shutdownDelayMs: number;
  /** Directory for drey's own files (embedded PostgreSQL, kubeconfig, caches). */
  dataDir: string;
  /** External PostgreSQL; when absent drey runs an embedded one in `dataDir`. */
  databaseUrl: string | undefined;
  /** Lowest level written to the log. */
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Which Kubernetes to drive: `auto` picks in-cluster, then a kubeconfig, then the simulated cluster. */
  kube: ClusterSetting;
  /** The namespaces drey manages FlinkDeployments in (CMF_WATCH_NAMESPACES); environments elsewhere are refused. */
  watchNamespaces: NamespaceScope;
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
  security: SecuritySettings;
  /** The master keys Secrets are sealed with. */
  encryption: EncryptionSettings;
}

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
  const security = securitySettings(env);
  const encryption = encryptionSettings(env, dataDir);
  // credentials travel in clear without TLS: such a drey serves loopback unless told otherwise
  const host = env.HOST || (security.authenticated && security.tls ? '0.0.0.0' : '127.0.0.1');
  checkPosture(security, encryption, host);
  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host,
    opsPort: env.CMF_OPS_PORT === 'off' ? 'off' : integer(env, 'CMF_OPS_PORT', 8081, 0, 65535),
    opsHost: env.CMF_OPS_HOST || host,
    shutdownDelayMs: integer(env, 'CMF_SHUTDOWN_DELAY_MS', 5_000, 0, 600_000),
    dataDir,
    databaseUrl,
    logLevel: logLevel as Config['logLevel'],
    kube: kube as ClusterSetting,
    watchNamespaces: namespaceScope(env),
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
    security,
    encryption,
  };
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name] ?? '';
  if (!['', 'true', 'false'].includes(raw)) throw new ConfigError(`${name} must be true or false, not '${raw}'`);
  return raw === 'true';
}

/** Reads every security setting; the TLS, OIDC, token and key settings parse themselves. */
function securitySettings(env: NodeJS.ProcessEnv): SecuritySettings {
  const mode = env.CMF_MODE || 'local';
  if (!['local', 'production'].includes(mode)) throw new ConfigError(`CMF_MODE must be local or production, not '${mode}'`);
  const tls = tlsSettings(env);
  const oidc = oidcSettings(env);
  const bootstrapTokenFile = env.CMF_BOOTSTRAP_TOKEN_FILE ? path.resolve(env.CMF_BOOTSTRAP_TOKEN_FILE) : undefined;
  const superUsers = (env.CMF_SUPER_USERS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const s of superUsers) {
    if (!/^(User|Group):\S+$/.test(s)) throw new ConfigError(`CMF_SUPER_USERS entries must be User:<name> or Group:<name>, not '${s}'`);
  }
  const audit = (env.CMF_AUDIT ?? 'db,stdout').split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const sink of audit) if (!['db', 'stdout', 'none'].includes(sink)) throw new ConfigError(`CMF_AUDIT must list db, stdout or none, not '${sink}'`);
  return {
    mode: mode as SecuritySettings['mode'],
    authenticated: (tls !== undefined && tls.clientAuth !== 'none') || oidc.length > 0 || bootstrapTokenFile !== undefined,
    acceptRisk: flag(env, 'CMF_UNAUTHENTICATED_ACCEPT_RISK'),
    tls,
    oidc,
    apiTokens: apiTokenSettings(env),
    bootstrapTokenFile,
    superUsers: [...(superUsers as Subject[]), ...(bootstrapTokenFile ? ([`User:${BOOTSTRAP_USER}`] as const) : [])],
    rateLimit: {
      perMinute: integer(env, 'CMF_RATE_LIMIT_PER_MIN', 1200, 0, 1_000_000),
      burst: integer(env, 'CMF_RATE_LIMIT_BURST', 200, 1, 1_000_000),
      failuresPerMinute: integer(env, 'CMF_AUTH_FAILURES_PER_MIN', 30, 0, 1_000_000),
    },
    audit: { db: audit.includes('db'), stdout: audit.includes('stdout') },
  };
}

/** Addresses only this machine reaches. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Refuses the postures that would expose drey: anyone on the network doing anything, or production
 * without authentication, TLS, its own keys or an administrator.
 */
function checkPosture(security: SecuritySettings, encryption: EncryptionSettings, host: string): void {
  if (security.mode === 'production') {
    const missing = [
      ...(security.authenticated ? [] : ['an authenticator (CMF_TLS_CLIENT_AUTH=need|want, CMF_OIDC_ISSUER or CMF_BOOTSTRAP_TOKEN_FILE)']),
      ...(security.tls ? [] : ['TLS (CMF_TLS_CERT_FILE and CMF_TLS_KEY_FILE)']),
      ...(encryption.mode === 'keys' ? [] : ['encryption keys (CMF_ENCRYPTION_KEYS)']),
      ...(security.superUsers.length ? [] : ['an administrator (CMF_SUPER_USERS or CMF_BOOTSTRAP_TOKEN_FILE)']),
    ];
    if (missing.length) throw new ConfigError(`CMF_MODE=production needs ${missing.join(', ')}`);
    if (security.acceptRisk) throw new ConfigError('CMF_MODE=production does not allow CMF_UNAUTHENTICATED_ACCEPT_RISK');
  }
  if (!security.authenticated && !isLoopback(host) && !security.acceptRisk) {
    throw new ConfigError(
      `HOST=${host} would let anyone who reaches it do anything: no authenticator is configured. ` +
        'Configure one (CMF_TLS_CLIENT_AUTH, CMF_OIDC_ISSUER or CMF_BOOTSTRAP_TOKEN_FILE), serve loopback only (leave HOST unset), ' +
        'or accept the risk with CMF_UNAUTHENTICATED_ACCEPT_RISK=true',
    );
  }
}
