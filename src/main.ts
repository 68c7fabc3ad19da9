import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp, type AppSecurity } from './api/app.js';
import type { Authenticators } from './api/authenticate.js';
import type { SecurityParts } from './api/securityRoutes.js';
import { serveOps } from './api/ops.js';
import { serve } from './api/server.js';
import { tlsOptions, watchTls } from './api/tls.js';
import { LeaderElection } from './controllers/leader.js';
import { ControllerManager } from './controllers/manager.js';
import { chooseCluster, kubeConfigFromString, loadKubeConfig } from './kube/connection.js';
import { FlinkDeployments } from './kube/flinkDeployments.js';
import { CLUSTER_RULES, NAMESPACED_RULES } from './kube/rbac.js';
import { FlinkDeploymentCrdCheck } from './kube/crdCheck.js';
import { SimCluster } from './sim/cluster.js';
import type { JobManagerLocator } from './api/webUi.js';
import { LocalFlink } from './flink/local/cluster.js';
import { findJavaTools, type JavaTools } from './flink/local/jvm.js';
import { LocalKafkaStack } from './kafka/local/stack.js';
import { ConfigError, isLoopback, loadConfig, type Config } from './config.js';
import { createDomain } from './domain/index.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import type { ClusterLocator } from './controllers/statements.js';
import { StatementEngine, type GatewaySetting } from './statements/engine.js';
import { ApiTokenAuthenticator } from './security/apiTokens.js';
import { AuditTrail } from './security/audit.js';
import { Authorizer } from './security/authorizer.js';
import { RoleBindingSnapshot } from './security/bindings.js';
import { loadBootstrapToken } from './security/bootstrapToken.js';
import { JwtAuthenticator } from './security/jwt.js';
import { loadKeyring, type Keyring } from './security/keyring.js';
import type { Principal } from './security/principal.js';
import { RateLimiter } from './security/rateLimit.js';
import { Encryption, sealPlaintextRows, verifyKeyring } from './security/sealing.js';
import { createPrismaClient, poolOf } from './store/client.js';
import { KafkaCatalogs } from './catalogs/view.js';
import { EmbeddedPostgres } from './store/embeddedPostgres.js';
import { DatabaseProbe, type DatabaseHealth } from './store/health.js';
import { createStore } from './store/index.js';
import { migrate, MIGRATIONS_DIR } from './store/migrate.js';
import { phaseCounts } from './store/phaseCounts.js';

/** A connection string with its password hidden, for the log. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

/** Java and Maven, looked for once however many local services ask. */
type FindJavaTools = () => JavaTools | { missing: string };

/** One local service drey may start beside the simulated cluster, and what it says of it. */
interface LocalService<T> {
  /** e.g. `local Flink` */
  name: string;
  setting: 'auto' | 'on' | 'off';
  /** The environment variable of the setting. */
  variable: string;
  /** Said after why Java is missing: what drey does instead, and how to get it. */
  withoutJava: string;
  /** Said after why it did not start: what drey does instead. */
  withoutIt: string;
  start(tools: JavaTools): Promise<T>;
}

/**
 * Starts a local service when its setting and the machine allow it. Returns it, or why there is
 * none; with its setting `on`, a missing Java or a failed start is fatal.
 */
async function startLocal<T>(service: LocalService<T>, javaTools: FindJavaTools, log: Logger): Promise<{ running?: T; none?: string }> {
  if (service.setting === 'off') return { none: `${service.name} is turned off (${service.variable}=off)` };
  const tools = javaTools();
  if ('missing' in tools) {
    if (service.setting === 'on') throw new ConfigError(`${service.variable}=on needs ${tools.missing}`);
    const none = `no ${service.name}: this machine lacks ${tools.missing}`;
    log.warn(`${none}${service.withoutJava}`);
    return { none };
  }
  try {
    return { running: await service.start(tools) };
  } catch (err) {
    if (service.setting === 'on') throw err;
    const none = `${service.name} did not start: ${(err as Error).message.split('\n')[0]}`;
    log.error(`${none}; ${service.withoutIt}`, { error: (err as Error).message });
    return { none };
  }
}

/** Real Flink for the simulated cluster, or why jobs stay simulated. */
function startLocalFlink(config: Config, javaTools: FindJavaTools, log: Logger): Promise<{ running?: LocalFlink; none?: string }> {
  return startLocal(
    {
      name: 'local Flink',
      setting: config.localFlink,
      variable: 'CMF_LOCAL_FLINK',
      withoutJava: '; the simulated cluster simulates jobs (install a JDK 17 and Maven to run them on real Flink)',
      withoutIt: 'the simulated cluster simulates jobs',
      start: (tools) => LocalFlink.start({ workDir: path.join(config.dataDir, 'flink'), cacheDir: config.flinkCacheDir, tools, log }),
    },
    javaTools,
    log,
  );
}

/** The user drey's controllers act as on the simulated cluster: the chart's service account. */
const SERVICE_ACCOUNT = 'system:serviceaccount:drey:drey';

/** The well-known loopback ports local Kafka takes when they are free (the README's example catalog uses them). */
const KAFKA_PORTS = { broker: 9092, registry: 8085 };

/** A real Kafka broker and schema registry next to local Flink, or why there are none. */
async function startLocalKafka(config: Config, javaTools: FindJavaTools, log: Logger): Promise<{ running?: LocalKafkaStack; none?: string }> {
  if (config.localKafka === 'auto' && config.localFlink === 'off') {
    return { none: 'local Kafka starts with local Flink, which is turned off (CMF_LOCAL_FLINK=off); CMF_LOCAL_KAFKA=on starts it anyway' };
  }
  return startLocal(
    {
      name: 'local Kafka',
      setting: config.localKafka,
      variable: 'CMF_LOCAL_KAFKA',
      withoutJava: ' (install a JDK 17 and Maven to run a Kafka broker and a schema registry here)',
      withoutIt: 'drey goes on without it',
      start: (tools) => LocalKafkaStack.start({ workDir: path.join(config.dataDir, 'kafka'), cacheDir: config.kafkaCacheDir, tools, log, preferredPorts: KAFKA_PORTS }),
    },
    javaTools,
    log,
  );
}

/** A running drey and the way to stop it. */
export interface Drey {
  url: string;
  /** The ops server (`/livez`, `/readyz`, `/metrics`), unless CMF_OPS_PORT=off. */
  opsUrl: string | undefined;
  metrics: Metrics;
  /** The simulated cluster, when drey brought its own. */
  sim: SimCluster | undefined;
  /** Real Flink behind the simulated cluster, when it runs. */
  flink: LocalFlink | undefined;
  /** A real Kafka broker and schema registry next to local Flink, when they run. */
  kafka: LocalKafkaStack | undefined;
  /** The controllers (running only while this process leads). */
  controllers: ControllerManager;
  leader: LeaderElection;
  /** Stops at once (not ready, then the stop sequence). */
  stop(): Promise<void>;
  /** Stops as on SIGTERM: not ready at once, CMF_SHUTDOWN_DELAY_MS for endpoints to drain, then `stop`. */
  shutdown(): Promise<void>;
}

/** What `start` tells its caller beyond the Drey it returns. */
export interface StartHooks {
  /**
   * drey cannot go on (its embedded PostgreSQL died and would not come back): the process should
   * exit non-zero so that whatever supervises it starts it afresh.
   */
  onFatal?: (err: Error) => void;
  /** Hears every SQL statement drey sends (tests count them per request and per reconcile). */
  onQuery?: (sql: string) => void;
}

/** Starts drey: database, migrations, API. The only owner of singletons. */
export async function start(config: Config, log: Logger, hooks: StartHooks = {}): Promise<Drey> {
  let embedded: EmbeddedPostgres | undefined;
  let databaseUrl = config.databaseUrl;
  if (databaseUrl === undefined) {
    embedded = new EmbeddedPostgres({ dataDir: config.dataDir, log, ...(hooks.onFatal ? { onGiveUp: hooks.onFatal } : {}) });
    databaseUrl = await embedded.start();
    log.info('database: embedded PostgreSQL', { dataDir: path.join(config.dataDir, 'postgres'), url: redact(databaseUrl) });
  } else {
    log.info('database: external PostgreSQL', { url: redact(databaseUrl) });
  }
  try {
    const report = await migrate(databaseUrl, MIGRATIONS_DIR);
    log.info('migrations applied', { applied: report.applied.length ? report.applied.join(',') : 'none', alreadyApplied: report.alreadyApplied });
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
  const prisma = createPrismaClient(databaseUrl, hooks.onQuery ? { onQuery: hooks.onQuery } : {});
  let keyring: Keyring;
  try {
    // before serving: a missing or wrong key stops drey here, and no secret stays in plaintext
    keyring = await loadKeyring(config.encryption);
    await verifyKeyring({ pool: poolOf(prisma), keyring });
    await sealPlaintextRows({ pool: poolOf(prisma), keyring, log });
  } catch (err) {
    await prisma.$disconnect();
    await embedded?.stop();
    throw err;
  }
  const store = createStore(prisma, { keyring });
  const metrics = new Metrics({ pool: poolOf(prisma), phases: phaseCounts(poolOf(prisma)) });
  const probe = new DatabaseProbe({ databaseUrl, ...(hooks.onQuery ? { onQuery: hooks.onQuery } : {}) });

  const source = chooseCluster(config.kube, process.env);
  let sim: SimCluster | undefined;
  let flink: LocalFlink | undefined;
  let kafka: LocalKafkaStack | undefined;
  let simulatedWhy: string | undefined;
  let flinkInfo: Record<string, unknown>;
  let kafkaInfo: Record<string, unknown>;
  let locateJobManager: JobManagerLocator;
  let locateCluster: ClusterLocator;
  let gateway: GatewaySetting;
  let cluster: Record<string, unknown>;
  let kubeConfig;
  if (source === 'simulated') {
    let kafkaNone: string | undefined;
    try {
      let found: ReturnType<FindJavaTools> | undefined;
      const javaTools = () => (found ??= findJavaTools());
      // Flink and Kafka start side by side; when either cannot start at all, neither is kept
      const [localFlink, localKafka] = await Promise.allSettled([startLocalFlink(config, javaTools, log), startLocalKafka(config, javaTools, log)]);
      if (localFlink.status === 'fulfilled') {
        flink = localFlink.value.running;
        simulatedWhy = localFlink.value.none;
      }
      if (localKafka.status === 'fulfilled') {
        kafka = localKafka.value.running;
        kafkaNone = localKafka.value.none;
      }
      if (localFlink.status === 'rejected') throw localFlink.reason;
      if (localKafka.status === 'rejected') throw localKafka.reason;
      sim = await SimCluster.start({ dataDir: config.dataDir, log, crdFile: config.simCrdFile, stepMs: config.simStepMs, flink });
    } catch (err) {
      await flink?.stop();
      await kafka?.stop();
      await prisma.$disconnect();
      await embedded?.stop();
      throw err;
    }
    const running = flink;
    flinkInfo = running
      ? { jobs: 'local Flink', version: running.distribution.version, rest: running.restUrl, sqlGateway: running.gatewayUrl, logs: running.logDir }
      : { jobs: 'simulated', why: simulatedWhy };
    const broker = kafka;
    kafkaInfo = broker
      ? {
          // read when served: a broker or registry that died says so
          get local() {
            return broker.running ? 'running' : 'exited (see its logs)';
          },
          version: broker.broker.distribution.version,
          bootstrapServers: broker.bootstrapServers,
          schemaRegistry: broker.registryUrl,
          registry: `Apicurio Registry ${broker.registry.distribution.version}`,
          logs: { broker: broker.broker.logDir, registry: broker.registry.logDir },
        }
      : { local: 'none', why: kafkaNone };
    locateJobManager = running ? () => ({ url: running.restUrl }) : () => ({ unavailable: `the simulated cluster runs no real Flink (${simulatedWhy})` });
    // every session cluster of the simulated cluster is local Flink's one session cluster
    const rest = running && new URL(running.restUrl);
    locateCluster = rest
      ? () => ({ restUrl: running.restUrl, address: rest.hostname, port: Number(rest.port) })
      : () => ({ unavailable: `Waiting for real Flink: the simulated cluster runs none (${simulatedWhy}).` });
    gateway = config.sqlGatewayUrl ? { url: config.sqlGatewayUrl } : running ? { url: running.gatewayUrl } : { unavailable: `${simulatedWhy}; set CMF_SQL_GATEWAY_URL or install a JDK 17 and Maven for local Flink` };
    // drey gets what the chart's RBAC gives it (a ClusterRole, or Roles in the watched namespaces), so a right it lacks fails here as in a cluster
    const scope = config.watchNamespaces;
    const grant = scope.all ? { user: SERVICE_ACCOUNT, rules: CLUSTER_RULES } : { user: SERVICE_ACCOUNT, rules: NAMESPACED_RULES, namespaces: scope.namespaces };
    kubeConfig = kubeConfigFromString(sim.apiServer.kubeconfigFor(grant), 'controllers', metrics.kubeCall);
    cluster = { source, server: sim.apiServer.url, kubeconfig: sim.kubeconfigPath, crd: sim.crdSource };
    log.info('cluster: simulated', { ...cluster, try: `KUBECONFIG=${sim.kubeconfigPath} kubectl get flinkdeployments -A` });
  } else {
    kubeConfig = loadKubeConfig(source, 'controllers', metrics.kubeCall);
    cluster = { source, server: kubeConfig.getCurrentCluster()?.server, context: kubeConfig.getCurrentContext() };
    log.info(`cluster: ${source}`, cluster);
    flinkInfo = { jobs: 'the Flink Kubernetes Operator', sqlGateway: config.sqlGatewayUrl ?? 'none (set CMF_SQL_GATEWAY_URL)' };
    kafkaInfo = { local: 'none', why: 'local Kafka runs only with the simulated cluster' };
    gateway = config.sqlGatewayUrl ? { url: config.sqlGatewayUrl } : { unavailable: 'CMF_SQL_GATEWAY_URL is not set' };
    // the operator exposes each JobManager as the service `<name>-rest` on port 8081
    locateCluster =
      source === 'in-cluster'
        ? ({ namespace, name }) => ({ restUrl: `http://${name}-rest.${namespace}.svc:8081`, address: `${name}-rest.${namespace}.svc`, port: 8081 })
        : ({ namespace, name }) => ({
            unavailable: `drey runs outside the cluster and cannot watch the job on ${name}-rest.${namespace}.svc:8081; run drey in the cluster to run statements`,
          });
    locateJobManager =
      source === 'in-cluster'
        ? ({ namespace, name }) => ({ url: `http://${name}-rest.${namespace}.svc:8081` })
        : ({ namespace, name }) => ({
            unavailable: `drey runs outside the cluster, where the service ${name}-rest in namespace ${namespace} cannot be reached; use kubectl port-forward svc/${name}-rest 8081 -n ${namespace}`,
          });
  }
  const deployments = new FlinkDeployments({ kubeConfig, scope: config.watchNamespaces });
  // a real cluster without the Flink operator: said at start, in /readyz's warnings and in a metric
  const crdCheck = source === 'simulated' ? undefined : new FlinkDeploymentCrdCheck({ kubeConfig, log });
  await crdCheck?.start();
  if (crdCheck) metrics.flinkDeploymentCrd(() => crdCheck.served());
  if (!config.watchNamespaces.all) log.info('namespaces: only those listed', { watchNamespaces: config.watchNamespaces.namespaces.join(',') });
  const engine = new StatementEngine(gateway, log, new KafkaCatalogs({ store, log, ttlMs: config.catalogCacheMs }), metrics.flinkCall('sqlgateway'));
  log.info('statements', 'unavailable' in gateway ? { sqlGateway: 'none', why: gateway.unavailable } : { sqlGateway: gateway.url });
  const authorizer = new Authorizer({ superUsers: config.security.superUsers, load: () => store.roleBindings.all() });
  const bindings = new RoleBindingSnapshot({ authorizer, log });
  await bindings.start(databaseUrl);
  const domain = createDomain(store, engine, authorizer, config.security.apiTokens, config.watchNamespaces);
  const parts: SecurityParts = {
    encryption: new Encryption({ pool: poolOf(prisma), keyring, log }),
    ...(config.security.audit.db || config.security.audit.stdout
      ? {
          audit: {
            trail: new AuditTrail({ store: config.security.audit.db ? store.auditEvents : null, log, ...(config.security.audit.stdout ? {} : { write: null }) }),
            events: store.auditEvents,
          },
        }
      : {}),
  };
  const security = await appSecurity(config, store, log);
  // after a key rotation (a new first key), secrets sealed under older keys are rewrapped in the background
  const sealed = await parts.encryption!.status();
  if (sealed.plaintext > 0 || sealed.keys.some((k) => k.id !== sealed.primaryKey && k.secrets > 0)) parts.encryption!.startRewrap();
  const controllers = new ControllerManager({ store, deployments, databaseUrl, log, engine, locateCluster, resyncMs: config.resyncMs, metrics });
  const identity = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const leader = new LeaderElection({
    store,
    log,
    identity,
    ttlMs: config.leaderLeaseMs,
    // several renewals fit in the renew deadline (two thirds of the lease), so one late timer or slow query is not a step-down
    renewMs: Math.max(250, Math.floor(config.leaderLeaseMs / 6)),
    retryMs: Math.max(500, Math.floor(config.leaderLeaseMs / 5)),
    onStartedLeading: () => controllers.start(),
    onStoppedLeading: () => controllers.stop(),
    metrics,
  });
  if (config.controllers === 'on') leader.start();
  else log.info('controllers: off (CMF_CONTROLLERS=off): this drey serves the API and never leads');

  const database = async (): Promise<DatabaseHealth> => {
    const health = await probe.check();
    const why = embedded?.lastFailure;
    return !health.up && why ? { up: false, error: `the embedded PostgreSQL is being restarted (${why})` } : health;
  };
  const app = createApp({
    domain,
    log,
    info: () => ({ database: embedded ? 'embedded' : 'external', cluster, flink: flinkInfo, kafka: kafkaInfo, controllers: { identity, enabled: config.controllers === 'on', leader: leader.isLeader } }),
    database,
    locateJobManager,
    ...(security ? { security } : {}),
    parts,
    metrics,
  });
  const tls = config.security.tls;
  const server: Server = await serve(app, { port: config.port, host: config.host, log, ...(tls ? { tls: tlsOptions(tls) } : {}) });
  const stopWatchingTls = tls ? watchTls(server as https.Server, tls, log) : () => undefined;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `${tls ? 'https' : 'http'}://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  log.info('drey is listening', { url, api: `${url}/cmf/api/v1` });
  describePosture(config, url, log);

  let ops: Server | undefined;
  let draining = false;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      draining = true;
      log.info('drey is stopping');
      await leader.stop();
      stopWatchingTls();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      });
      await new Promise<void>((resolve) => {
        if (!ops) return resolve();
        ops.close(() => resolve());
        ops.closeAllConnections();
      });
      await crdCheck?.stop();
      await sim?.stop();
      await flink?.stop();
      await kafka?.stop();
      await parts.encryption?.close();
      await parts.audit?.trail.close();
      await bindings.stop();
      await probe.close();
      await prisma.$disconnect();
      await embedded?.stop();
      log.info('drey stopped');
    })());
  let shuttingDown: Promise<void> | undefined;
  const shutdown = () =>
    (shuttingDown ??= (async () => {
      draining = true;
      log.info('drey is shutting down: not ready from now on', { delayMs: config.shutdownDelayMs });
      await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
      await stop();
    })());
  let opsUrl: string | undefined;
  if (config.opsPort !== 'off') {
    try {
      ops = await serveOps({
        port: config.opsPort,
        host: config.opsHost,
        log,
        metrics,
        database,
        stopping: () => draining,
        ...(crdCheck ? { flinkDeploymentCrd: () => crdCheck.status() } : {}),
        wedged: () => {
          const why = leader.wedged();
          return why ? { leaderElection: why } : {};
        },
      });
    } catch (err) {
      await stop();
      throw err;
    }
    const opsAddress = ops.address();
    const opsHost = config.opsHost === '0.0.0.0' ? 'localhost' : config.opsHost;
    opsUrl = `http://${opsHost.includes(':') ? `[${opsHost}]` : opsHost}:${typeof opsAddress === 'object' && opsAddress ? opsAddress.port : config.opsPort}`;
    log.info('ops server is listening', { url: opsUrl, livez: `${opsUrl}/livez`, readyz: `${opsUrl}/readyz`, metrics: `${opsUrl}/metrics` });
  }
  return { url, opsUrl, metrics, sim, flink, kafka, controllers, leader, stop, shutdown };
}

/** The authenticators and limits of a drey that has any; none is the local posture. */
async function appSecurity(config: Config, store: ReturnType<typeof createStore>, log: Logger): Promise<AppSecurity | undefined> {
  const { security } = config;
  if (!security.authenticated) return undefined;
  const tokens = new ApiTokenAuthenticator({ store, log });
  const bootstrap = security.bootstrapTokenFile ? await loadBootstrapToken(security.bootstrapTokenFile) : undefined;
  const authenticators: Authenticators = {
    ...(security.tls && security.tls.clientAuth !== 'none' ? { mtls: { rules: security.tls.principalMappingRules } } : {}),
    ...(security.oidc.length ? { jwt: new JwtAuthenticator({ issuers: security.oidc, log }) } : {}),
    apiTokens: { verify: async (token: string): Promise<Principal> => bootstrap?.(token) ?? tokens.verify(token) },
  };
  const { perMinute, burst, failuresPerMinute } = security.rateLimit;
  return {
    authenticators,
    limits: {
      ...(perMinute > 0 ? { principal: new RateLimiter(perMinute, burst) } : {}),
      ...(failuresPerMinute > 0 ? { failures: new RateLimiter(failuresPerMinute, failuresPerMinute) } : {}),
    },
  };
}

/** Says on every start who can reach drey and how they prove who they are. */
function describePosture(config: Config, url: string, log: Logger): void {
  const { security } = config;
  if (!security.authenticated) {
    if (security.acceptRisk) {
      log.warn('no authenticator configured and CMF_UNAUTHENTICATED_ACCEPT_RISK=true: anyone who reaches this address can do anything', { url });
    } else {
      log.info('no authenticator configured: serving this machine only (loopback); anyone on it can use the API', { url });
    }
    return;
  }
  const tls = security.tls;
  if (!tls && !isLoopback(config.host)) {
    log.warn('authentication is on without TLS: credentials travel in clear unless a TLS-terminating proxy is in front (CMF_TLS_CERT_FILE, CMF_TLS_KEY_FILE)', { url });
  }
  log.info('authentication on', {
    mode: security.mode,
    mtls: tls && tls.clientAuth !== 'none' ? tls.clientAuth : 'off',
    oidcIssuers: security.oidc.map((i) => i.issuer).join(',') || 'none',
    apiTokens: 'on',
    bootstrapToken: security.bootstrapTokenFile ? 'on' : 'off',
    superUsers: security.superUsers.join(',') || 'none',
  });
}

/** `drey migrate`: applies the migrations to DATABASE_URL and exits, for an init container. */
async function migrateAndExit(config: Config, log: Logger): Promise<never> {
  if (config.databaseUrl === undefined) {
    process.stderr.write('drey: migrate needs DATABASE_URL (a postgresql:// connection string)\n');
    process.exit(2);
  }
  try {
    const report = await migrate(config.databaseUrl, MIGRATIONS_DIR);
    log.info('migrations applied', { url: redact(config.databaseUrl), applied: report.applied.length ? report.applied.join(',') : 'none', alreadyApplied: report.alreadyApplied });
    process.exit(0);
  } catch (err) {
    log.error('migrations failed', { url: redact(config.databaseUrl), error: (err as Error).message });
    process.exit(1);
  }
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`drey: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  if (process.argv[2] === 'migrate') return migrateAndExit(config, log);
  let drey: Drey | undefined;
  const fatal = (err: Error): void => {
    log.error('drey cannot go on; exiting so that it is started afresh', { error: err.message });
    void (drey?.stop() ?? Promise.resolve()).finally(() => process.exit(1));
  };
  try {
    drey = await start(config, log, { onFatal: fatal });
  } catch (err) {
    log.error('drey could not start', { error: (err as Error).message });
    process.exit(1);
  }
  const running = drey;
  // SIGTERM (Kubernetes) drains first; SIGINT (Ctrl-C at a terminal) stops at once
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      (signal === 'SIGTERM' ? running.shutdown() : running.stop()).then(
        () => process.exit(0),
        (err: unknown) => {
          log.error('drey did not stop cleanly', { error: (err as Error).message });
          process.exit(1);
        },
      );
    });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
