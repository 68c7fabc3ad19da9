import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Store } from '../../src/store/index.js';
import { migrate, MIGRATIONS_DIR } from '../../src/store/migrate.js';

/** The run's PostgreSQL, started by globalSetup. */
export function adminUrl(): string {
  const url = process.env.DREY_TEST_ADMIN_URL;
  if (!url) throw new Error('DREY_TEST_ADMIN_URL is not set: run the tests through jest (npm test)');
  return url;
}

/** The same server, another database. */
export function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates an empty database of its own and returns its URL. */
export async function emptyDatabase(): Promise<string> {
  const name = `drey_${randomBytes(8).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return databaseUrl(name);
}

/** A new database with drey's migrations applied. */
export async function freshDatabase(): Promise<string> {
  const url = await emptyDatabase();
  await migrate(url, MIGRATIONS_DIR);
  return url;
}

/**
 * A new database migrated up to, not including, `migration`: the state an older drey left, for
 * tests that insert old rows and then check what that migration makes of them.
 */
export async function databaseBefore(migration: string): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'drey-migrations-'));
  try {
    for (const name of readdirSync(MIGRATIONS_DIR).filter((n) => n < migration)) {
      cpSync(path.join(MIGRATIONS_DIR, name), path.join(dir, name), { recursive: true });
    }
    const url = await emptyDatabase();
    await migrate(url, dir);
    return url;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs one SQL query against a database and returns its rows. */
export async function query<T extends pg.QueryResultRow = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Stores an environment named `name` (namespace `ns-<name>`) through `store`, with no defaults unless given; its id. */
export async function storedEnvironment(store: Store, name: string, flinkApplicationDefaults: unknown = null): Promise<string> {
  const id = randomUUID();
  await store.environments.create({
    id,
    name,
    at: new Date('2026-03-04T05:06:07.089Z'),
    kubernetesNamespace: `ns-${name}`,
    flinkApplicationDefaults,
    computePoolDefaults: null,
    statementDefaults: null,
  });
  return id;
}
