import { once } from 'node:events';
import type { Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from './api/app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createDomain } from './domain/index.js';
import { createLogger, type Logger } from './log.js';
import { createPrismaClient } from './store/client.js';
import { EmbeddedPostgres } from './store/embeddedPostgres.js';
import { createStore } from './store/index.js';
import { migrate, MIGRATIONS_DIR } from './store/migrate.js';

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

/** A running drey and the way to stop it. */
export interface Drey {
  url: string;
  stop(): Promise<void>;
}

/** Starts drey: database, migrations, API. The only owner of singletons. */
export async function start(config: Config, log: Logger): Promise<Drey> {
  let embedded: EmbeddedPostgres | undefined;
  let databaseUrl = config.databaseUrl;
  if (databaseUrl === undefined) {
    embedded = new EmbeddedPostgres({ dataDir: config.dataDir, log });
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
  const prisma = createPrismaClient(databaseUrl);
  const domain = createDomain(createStore(prisma));
  const app = createApp({ domain, log, info: { database: embedded ? 'embedded' : 'external' } });
  const server: Server = app.listen(config.port, config.host);
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  log.info('drey is listening', { url, api: `${url}/cmf/api/v1` });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('drey is stopping');
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      });
      await prisma.$disconnect();
      await embedded?.stop();
      log.info('drey stopped');
    })());
  return { url, stop };
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
  let drey: Drey;
  try {
    drey = await start(config, log);
  } catch (err) {
    log.error('drey could not start', { error: (err as Error).message });
    process.exit(1);
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      drey.stop().then(
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
