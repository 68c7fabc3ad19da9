import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { SqlGatewayClient } from '../../src/flink/sqlGateway.js';
import { createLogger } from '../../src/log.js';
import { DETAIL, StatementPreparer, type Prepared } from '../../src/statements/prepare.js';
import { SqlSessions } from '../../src/statements/sessions.js';
import type { StatementSpec } from '../../src/schemas/statement.js';
import type { EnvironmentCatalogEntry } from '../../src/store/catalogEntries.js';
import type { Environment } from '../../src/store/environments.js';
import { startTestFlink } from '../support/flink.js';
import { recordingFile, startRecorder, type Exchange } from '../support/flinkRecording.js';

// Statement preparation (StatementPreparer.prepare, wired as src/statements/engine.ts wires it) against
// a real Flink 2.3 SQL Gateway, through a recording proxy: each scenario prepares one statement in a
// session of its own and is saved (with DREY_RECORD_FLINK=1) to
// test/flink/recorded/sql-gateway/prepare-<scenario>.json, which prepare.test.ts replays. The inputs
// below are repeated there; the replay checks that drey sends exactly the recorded requests, so the
// two copies cannot drift apart unnoticed.

jest.setTimeout(120_000);

const flink = await startTestFlink();
if (!flink) console.warn('SKIPPED the statement preparation recordings: no local Flink (Java or the Flink jars are missing)');
const describeIf = flink ? describe : describe.skip;

afterAll(async () => {
  await flink?.stop();
});

const AT = new Date('2025-06-01T12:00:00.000Z');
const ENV_ID = '0b5f3c1e-8f43-4d1c-9a57-3f2f7f1d2a10';

const CLICKS = "CREATE TABLE clicks (id INT, name STRING) WITH ('connector' = 'datagen', 'rows-per-second' = '5')";
const TEN =
  "CREATE TABLE ten (id INT, name STRING) WITH ('connector' = 'datagen', 'number-of-rows' = '10', " +
  "'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '10')";
const SINK = "CREATE TABLE sink (id INT, name STRING) WITH ('connector' = 'blackhole')";
const LAKE = "CREATE CATALOG lake WITH ('type' = 'generic_in_memory')";
const EVENTS = "CREATE TABLE events (id INT) WITH ('connector' = 'datagen')";
const RECENT = 'CREATE VIEW recent AS SELECT id, name FROM clicks';
const DROPPED = 'DROP TABLE dropped_since';
const SHOP = 'CREATE DATABASE shop';
const ITEMS = "CREATE TABLE items (id INT) WITH ('connector' = 'datagen')";

/** The environment's statement defaults: the same key for both modes, so that the mode shows. */
const DEFAULTS = {
  interactive: { flinkConfiguration: { 'table.exec.state.ttl': '2 h' } },
  detached: { flinkConfiguration: { 'table.exec.state.ttl': '1 h' } },
};

function environment(statementDefaults: unknown = null): Environment {
  return {
    id: ENV_ID,
    name: 'prepare-env',
    kubernetesNamespace: 'prepare-ns',
    flinkApplicationDefaults: null,
    computePoolDefaults: null,
    statementDefaults: statementDefaults as Environment['statementDefaults'],
    version: 1,
    createdAt: AT,
    updatedAt: AT,
  };
}

/** Environment catalog entries as the store lists them, oldest first. */
function entries(...list: [statement: string, catalog?: string | null, database?: string | null][]): EnvironmentCatalogEntry[] {
  return list.map(([statement, catalog = null, database = null], i) => ({
    id: `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
    seq: BigInt(i + 1),
    environmentId: ENV_ID,
    statementName: `entry-${i + 1}`,
    statement,
    catalog,
    database,
    createdAt: AT,
  }));
}

function spec(statement: string, more: Partial<StatementSpec> = {}): StatementSpec {
  return { statement, computePoolName: 'pool', ...more };
}

const STRING = { type: 'VARCHAR', nullable: true, length: 2147483647 };

/** A statement answered at creation with one string column. */
function completed(sqlKind: string, column: string, rows: string[][], catalogEntry?: Prepared['catalogEntry']): Prepared {
  return {
    status: {
      phase: 'COMPLETED',
      detail: DETAIL.completed,
      traits: { sqlKind, isBounded: true, isAppendOnly: true, schema: { columns: [{ name: column, type: STRING }] } },
    },
    result: {
      apiVersion: 'cmf.confluent.io/v1',
      kind: 'StatementResult',
      metadata: { creationTimestamp: AT.toISOString(), annotations: {} },
      results: { data: rows.map((row) => ({ op: 0, row })) },
    },
    ...(catalogEntry ? { catalogEntry } : {}),
  };
}

function failed(sqlKind: string, detail: string): Prepared {
  return { status: { phase: 'FAILED', detail, traits: { sqlKind } } };
}

function compiled(sqlKind: string, isBounded: boolean, isAppendOnly: boolean, phase = 'PENDING', detail: string = DETAIL.pending): Prepared {
  return { status: { phase, detail, traits: { sqlKind, isBounded, isAppendOnly } } };
}

/** One statement prepared in a fresh session, and what preparing it must decide. */
interface Scenario {
  name: string;
  spec: StatementSpec;
  entries?: EnvironmentCatalogEntry[];
  statementDefaults?: unknown;
  expected: Prepared;
}

const SCENARIOS: Scenario[] = [
  { name: 'show-catalogs', spec: spec('SHOW CATALOGS'), expected: completed('SHOW_CATALOGS', 'catalog name', [['default_catalog']]) },
  {
    name: 'create-table',
    spec: spec(`${CLICKS};`),
    expected: completed('CREATE_TABLE', 'result', [['OK']], { statement: CLICKS, catalog: null, database: null }),
  },
  {
    name: 'create-table-in-database',
    spec: spec(ITEMS, { properties: { 'sql.current-catalog': 'default_catalog', 'sql.current-database': 'shop' } }),
    entries: entries([SHOP]),
    expected: completed('CREATE_TABLE', 'result', [['OK']], { statement: ITEMS, catalog: 'default_catalog', database: 'shop' }),
  },
  {
    name: 'create-existing-table',
    spec: spec(CLICKS),
    entries: entries([CLICKS]),
    expected: failed(
      'CREATE_TABLE',
      'Could not execute CreateTable in path `default_catalog`.`default_database`.`clicks` (caused by Table (or view) default_database.clicks already exists in Catalog default_catalog.)',
    ),
  },
  {
    name: 'entries-show-tables',
    spec: spec('SHOW TABLES'),
    entries: entries([CLICKS], [LAKE], [EVENTS, 'lake'], [DROPPED], [RECENT]),
    expected: completed('SHOW_TABLES', 'table name', [['clicks'], ['recent']]),
  },
  {
    name: 'current-catalog',
    spec: spec('SHOW TABLES', { properties: { 'sql.current-catalog': 'lake' } }),
    entries: entries([LAKE], [EVENTS, 'lake'], [CLICKS]),
    expected: completed('SHOW_TABLES', 'table name', [['events']]),
  },
  {
    name: 'current-database',
    spec: spec('SHOW CURRENT DATABASE', { properties: { 'sql.current-database': 'shop' } }),
    entries: entries([SHOP]),
    expected: completed('SHOW_CURRENT_DATABASE', 'current database name', [['shop']]),
  },
  {
    name: 'missing-catalog',
    spec: spec('SHOW TABLES', { properties: { 'sql.current-catalog': 'nowhere' } }),
    expected: failed('SHOW_TABLES', 'A catalog with name [nowhere] does not exist.'),
  },
  {
    name: 'missing-database',
    spec: spec('SHOW TABLES', { properties: { 'sql.current-database': 'nowhere' } }),
    expected: failed('SHOW_TABLES', 'A database with name [nowhere] does not exist in the catalog: [default_catalog].'),
  },
  {
    name: 'compile-error',
    spec: spec('SELECT * FROM missing'),
    expected: failed('SELECT', "SQL validation failed. From line 1, column 15 to line 1, column 21: Object 'missing' not found"),
  },
  {
    name: 'parse-error',
    spec: spec('SELECT * FROM WHERE'),
    expected: failed('SELECT', "SQL parse failed. Incorrect syntax near the keyword 'WHERE' at line 1, column 15."),
  },
  {
    name: 'ddl-parse-error',
    spec: spec("CREATE TABLE broken (id INT,) WITH ('connector' = 'datagen')"),
    expected: failed('CREATE_TABLE', 'SQL parse failed. Encountered ")" at line 1, column 29.'),
  },
  { name: 'bounded-select', spec: spec('SELECT id, name FROM ten WHERE id > 5'), entries: entries([TEN]), expected: compiled('SELECT', true, true) },
  { name: 'unbounded-select', spec: spec('SELECT * FROM clicks'), entries: entries([CLICKS]), expected: compiled('SELECT', false, true) },
  {
    name: 'group-by',
    spec: spec('SELECT name, COUNT(*) AS n FROM clicks GROUP BY name'),
    entries: entries([CLICKS]),
    expected: compiled('SELECT', false, false),
  },
  {
    name: 'insert',
    spec: spec('INSERT INTO sink SELECT id, name FROM clicks'),
    entries: entries([CLICKS], [SINK]),
    expected: compiled('INSERT_INTO', false, true),
  },
  {
    name: 'dry-run',
    spec: spec('SELECT id, name FROM ten', { properties: { 'sql.dry-run': 'true' } }),
    entries: entries([TEN]),
    expected: compiled('SELECT', true, true, 'COMPLETED', DETAIL.dryRun),
  },
  {
    name: 'refused-script',
    spec: spec('SELECT 1; SELECT 2'),
    expected: failed('SELECT', 'Only one SQL statement is allowed per statement; found 2: submit each as its own statement'),
  },
];

/** The SET scenario: every level of session properties sets a key a stronger level overrides. */
const SET_SPEC = spec('SET', {
  flinkConfiguration: {
    'table.local-time-zone': 'Europe/Berlin',
    'table.exec.state.ttl': '10 min',
    'parallelism.default': '7',
    'pipeline.max-parallelism': '64',
  },
  properties: {
    'sql.local-time-zone': 'Asia/Tokyo',
    'sql.state-ttl': '20 min',
    'sql.tables.scan.idle-timeout': '5 s',
    'client.statement-name': 'cli-statement',
    'sql.current-catalog': 'default_catalog',
    'sql.current-database': 'default_database',
  },
  parallelism: 3,
});
/** What the session of the SET scenario must be opened with. */
const SET_SESSION = {
  'table.local-time-zone': 'Asia/Tokyo',
  'table.exec.state.ttl': '1 h',
  'table.exec.source.idle-timeout': '5 s',
  'parallelism.default': '3',
  'pipeline.max-parallelism': '64',
};

/** The entries scenario whose last entry leaves the session in another database (a bug, see the test). */
const CONTEXT_ENTRIES = entries([CLICKS], [SHOP], [ITEMS, null, 'shop']);

/** Prepares one statement through a recording proxy; `save` keeps the recording (with DREY_RECORD_FLINK=1). */
async function prepareRecorded(
  s: Pick<Scenario, 'spec' | 'entries' | 'statementDefaults'>,
): Promise<{ prepared: Prepared; exchanges: Exchange[]; warnings: string[]; save(name: string): void }> {
  const recorder = await startRecorder(flink!.gatewayUrl);
  const warnings: string[] = [];
  try {
    const gateway = new SqlGatewayClient({ baseUrl: recorder.url, timeoutMs: 60_000, retries: 2 });
    const preparer = new StatementPreparer(new SqlSessions({ gateway, log: createLogger('warn', (line) => warnings.push(line)) }));
    const prepared = await preparer.prepare(environment(s.statementDefaults), s.spec, s.entries ?? [], AT);
    return { prepared, exchanges: recorder.exchanges, warnings, save: (name) => recorder.save(recordingFile('sql-gateway', `prepare-${name}`)) };
  } finally {
    await recorder.close();
  }
}

/** The SQL drey sent to the gateway, in order. */
function sentStatements(exchanges: Exchange[]): string[] {
  return exchanges.filter((e) => e.method === 'POST' && e.path.endsWith('/statements')).map((e) => (e.request as { statement: string }).statement);
}

/** How many jobs the JobManager knows (asked directly, not through the recorder). */
async function jobCount(): Promise<number> {
  const response = await fetch(`${flink!.restUrl}/jobs/overview`);
  return ((await response.json()) as { jobs: unknown[] }).jobs.length;
}

describeIf('statement preparation on Flink 2.3 (recorded)', () => {
  beforeAll(async () => {
    // the first compilations load the planner, which takes seconds: done here, unrecorded, the
    // recordings hold a few NOT_READY pages instead of dozens
    const gateway = new SqlGatewayClient({ baseUrl: flink!.gatewayUrl, timeoutMs: 60_000 });
    const preparer = new StatementPreparer(new SqlSessions({ gateway, log: createLogger('error') }));
    await preparer.prepare(environment(), spec('SELECT name, COUNT(*) FROM ten GROUP BY name'), entries([TEN]), AT);
  });

  it.each(SCENARIOS)('$name: prepares to the expected status, result and catalog entry', async (scenario) => {
    const jobs = await jobCount();
    const { prepared, exchanges, save } = await prepareRecorded(scenario);
    expect(prepared).toEqual(scenario.expected);
    // preparing compiles and answers; it never starts a job
    expect(await jobCount()).toBe(jobs);
    if (exchanges.length > 0) {
      // every session opened is closed again
      expect(exchanges.filter((e) => e.method === 'POST' && e.path === '/v2/sessions')).toHaveLength(1);
      expect(exchanges.at(-1)).toMatchObject({ method: 'DELETE', status: 200 });
    }
    save(scenario.name);
  });

  it('SET shows the session opened with the statement’s configuration, its properties (Confluent names translated), the environment’s defaults and its parallelism, each stronger than the one before', async () => {
    const { prepared, exchanges, save } = await prepareRecorded({ spec: SET_SPEC, statementDefaults: DEFAULTS });
    expect(exchanges[0]!.request).toEqual({ properties: SET_SESSION });
    expect(sentStatements(exchanges)).toEqual(['SET']);
    expect(prepared.status).toEqual({
      phase: 'COMPLETED',
      detail: DETAIL.completed,
      traits: {
        sqlKind: 'SET',
        isBounded: true,
        isAppendOnly: true,
        schema: { columns: [{ name: 'key', type: STRING }, { name: 'value', type: STRING }] },
      },
    });
    const rows = prepared.result!.results.data.map((r) => r.row as string[]);
    expect(rows).toEqual(expect.arrayContaining(Object.entries(SET_SESSION)));
    const keys = rows.map(([key]) => key);
    for (const dropped of ['sql.local-time-zone', 'sql.state-ttl', 'client.statement-name', 'sql.current-catalog', 'sql.current-database']) {
      expect(keys).not.toContain(dropped);
    }
    expect(prepared.catalogEntry).toBeUndefined();
    save('set-properties');
  });

  it('an entry that no longer runs is skipped with a warning naming it, and the entries after it still run', async () => {
    const scenario = SCENARIOS.find((s) => s.name === 'entries-show-tables')!;
    const { prepared, exchanges, warnings } = await prepareRecorded(scenario);
    expect(prepared).toEqual(scenario.expected);
    expect(sentStatements(exchanges)).toEqual([
      CLICKS, LAKE, 'USE CATALOG `lake`', EVENTS, 'USE CATALOG `default_catalog`', 'USE `default_database`', DROPPED,
      // where the failed entry left the session is not known: the next one says where it runs
      'USE CATALOG `default_catalog`', 'USE `default_database`', RECENT, 'SHOW TABLES',
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('environment catalog: an entry no longer runs; skipped statement=entry-4');
    expect(warnings[0]).toContain("Table with identifier 'default_catalog.default_database.dropped_since' does not exist.");
  });

  it('a refused script never reaches Flink', async () => {
    const { exchanges } = await prepareRecorded({ spec: spec('SELECT 1; SELECT 2') });
    expect(exchanges).toEqual([]);
  });

  it('a dry run only compiles: the gateway sees nothing but EXPLAINs', async () => {
    const scenario = SCENARIOS.find((s) => s.name === 'dry-run')!;
    const { exchanges } = await prepareRecorded(scenario);
    expect(sentStatements(exchanges)).toEqual([TEN, 'EXPLAIN CHANGELOG_MODE\nSELECT id, name FROM ten', 'EXPLAIN SELECT id, name FROM ten']);
  });

  // Known bug (see prepare.test.ts): SqlSessions.open leaves the session in the database of the last
  // entry when the statement names none, because `USE CATALOG` of the current catalog keeps Flink's
  // current database.
  it('after an entry run in another database, a statement that names none runs in the default database', async () => {
    const { prepared, save } = await prepareRecorded({ spec: spec('SHOW TABLES'), entries: CONTEXT_ENTRIES });
    save('entries-database-context');
    expect(prepared).toEqual(completed('SHOW_TABLES', 'table name', [['clicks']]));
  });

  // Known bug (see prepare.test.ts): the position in a query's error is that of the EXPLAIN drey wraps it in.
  it('a compile error points at the column of the statement’s own text', async () => {
    const { prepared } = await prepareRecorded({ spec: spec('SELECT * FROM missing') });
    expect(prepared.status.detail).toContain('From line 1, column 15 to line 1, column 21');
  });
});
