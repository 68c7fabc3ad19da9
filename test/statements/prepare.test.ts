import { afterEach, describe, expect, it } from '@jest/globals';
import { FlinkError, FlinkRest } from '../../src/flink/rest.js';
import { SqlGatewayClient } from '../../src/flink/sqlGateway.js';
import { createLogger } from '../../src/log.js';
import { appendOnlyFromPlan, StatementPreparer, type Prepared } from '../../src/statements/prepare.js';
import { isGone, refusal, sessionProperties, SqlRefused, SqlSessions, sqlErrorMessage } from '../../src/statements/sessions.js';
import { loadRecording, recordingFile, startRecorder, startReplay, type Exchange } from '../support/flinkRecording.js';
import { flinkFailure } from '../support/flinkScenarios.js';
import { logEntries } from '../support/logLines.js';
import { AT, expectSetPrepared, CLICKS, CONTEXT_ENTRIES, DEFAULTS, DROPPED, EVENTS, ITEMS, LAKE, RECENT, SCENARIOS, SET_SESSION, SET_SPEC, SHOP, completed, environment, sentStatements, spec, type Scenario } from '../support/prepareScenarios.js';

// Statement preparation against the SQL Gateway answers prepare.integration.test.ts recorded from
// real Flink 2.3 (test/flink/recorded/sql-gateway/prepare-<scenario>.json). Each scenario prepares
// its statement against a replay of its recording, through a tap that keeps what drey sends: the
// requests must be exactly the recorded ones (so the inputs below, repeated from the integration
// test, cannot drift from it), and the outcome exactly what Flink's answers mean. The plans and
// error bodies in those recordings are also the inputs of the pure functions' tests.

function recording(name: string): Exchange[] {
  return loadRecording(recordingFile('sql-gateway', `prepare-${name}`));
}

/** What drey sent, as the recorder keeps it. */
function requests(exchanges: Exchange[]) {
  return exchanges.map(({ method, path, request }) => ({ method, path, request }));
}

const closing: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const server of closing.splice(0)) await server.close();
});

/**
 * Prepares a statement against the replay of a recording, through a tap; fails unless drey sent
 * exactly the recorded requests, in the recorded order.
 */
async function replayPrepare(name: string, s: Pick<Scenario, 'spec' | 'entries' | 'statementDefaults'>): Promise<{ prepared: Prepared; warnings: string[] }> {
  const recorded = recording(name);
  const replay = await startReplay(recorded);
  closing.push(replay);
  const tap = await startRecorder(replay.url);
  closing.push(tap);
  const warnings: string[] = [];
  const gateway = new SqlGatewayClient({ rest: new FlinkRest({ baseUrl: tap.url, retryDelayMs: 5 }) });
  const preparer = new StatementPreparer(new SqlSessions({ gateway, log: createLogger('warn', (line) => warnings.push(line)) }));
  const prepared = await preparer.prepare(environment(s.statementDefaults), s.spec, s.entries ?? [], AT);
  expect(replay.unmatched).toEqual([]);
  expect(requests(tap.exchanges)).toEqual(requests(recorded));
  return { prepared, warnings };
}

describe('preparing statements (replayed from Flink 2.3)', () => {
  it.each(SCENARIOS)('$name: prepares to the recorded status, result and catalog entry', async (scenario) => {
    const { prepared } = await replayPrepare(scenario.name, scenario);
    expect(prepared).toEqual(scenario.expected);
  });

  it('metadata and DDL answer inline with their rows; only DDL that changes the catalog is kept, with the catalog and database it ran in', async () => {
    const show = await replayPrepare('show-catalogs', SCENARIOS[0]!);
    expect(show.prepared.catalogEntry).toBeUndefined();
    const inDatabase = SCENARIOS.find((s) => s.name === 'create-table-in-database')!;
    const created = await replayPrepare(inDatabase.name, inDatabase);
    expect(created.prepared.catalogEntry).toEqual({ statement: ITEMS, catalog: 'default_catalog', database: 'shop' });
    expect(sentStatements(recording(inDatabase.name))).toEqual([SHOP, 'USE `shop`', ITEMS]);
  });

  it('SET shows the session opened with the statement’s configuration, its properties (Confluent names translated), the environment’s defaults and its parallelism, each stronger than the one before', async () => {
    const { prepared } = await replayPrepare('set-properties', { spec: SET_SPEC, statementDefaults: DEFAULTS });
    const recorded = recording('set-properties');
    expect(recorded[0]!.request).toEqual({ properties: SET_SESSION });
    expect(sessionProperties(environment(DEFAULTS), SET_SPEC, 'detached')).toEqual(SET_SESSION);
    expect(sentStatements(recorded)).toEqual(['SET']);
    expectSetPrepared(prepared);
  });

  it('the environment’s catalog entries are replayed in order, each in its catalog; one that no longer runs is skipped with a warning naming it', async () => {
    const scenario = SCENARIOS.find((s) => s.name === 'entries-show-tables')!;
    const { prepared, warnings } = await replayPrepare(scenario.name, scenario);
    expect(prepared).toEqual(scenario.expected);
    expect(sentStatements(recording(scenario.name))).toEqual([
      CLICKS, LAKE, 'USE CATALOG `lake`', EVENTS, 'USE CATALOG `default_catalog`', 'USE `default_database`', DROPPED,
      'USE CATALOG `default_catalog`', 'USE `default_database`', RECENT, 'SHOW TABLES',
    ]);
    expect(warnings).toHaveLength(1);
    expect(logEntries(warnings)[0]).toMatchObject({
      msg: 'environment catalog: an entry no longer runs; skipped',
      statement: 'entry-4',
      error: expect.stringContaining("Table with identifier 'default_catalog.default_database.dropped_since' does not exist."),
    });
  });

  it('a catalog that does not exist fails the statement with Flink’s message before the statement is sent', async () => {
    const scenario = SCENARIOS.find((s) => s.name === 'missing-catalog')!;
    const { prepared } = await replayPrepare(scenario.name, scenario);
    expect(prepared).toEqual(scenario.expected);
    expect(sentStatements(recording(scenario.name))).toEqual(['USE CATALOG `nowhere`']);
    // the session is closed all the same
    expect(recording(scenario.name).at(-1)).toMatchObject({ method: 'DELETE', status: 200 });
  });

  it('queries and INSERTs are compiled, never run: the gateway sees EXPLAIN CHANGELOG_MODE, and EXPLAIN in batch mode for boundedness', async () => {
    for (const [name, query] of [
      ['bounded-select', 'SELECT id, name FROM ten WHERE id > 5'],
      ['group-by', 'SELECT name, COUNT(*) AS n FROM clicks GROUP BY name'],
      ['insert', 'INSERT INTO sink SELECT id, name FROM clicks'],
      ['dry-run', 'SELECT id, name FROM ten'],
    ] as const) {
      const explains = recording(name).filter((e) => e.method === 'POST' && /^EXPLAIN /.test((e.request as { statement: string }).statement));
      expect(explains.map((e) => e.request)).toEqual([
        { statement: `EXPLAIN CHANGELOG_MODE\n${query}` },
        { statement: `EXPLAIN ${query}`, executionConfig: { 'execution.runtime-mode': 'batch' } },
      ]);
      expect(sentStatements(recording(name)).filter((s) => !s.startsWith('EXPLAIN ') && !s.startsWith('CREATE '))).toEqual([]);
    }
  });

  it('a refused script is FAILED without a session: its recording is empty and the replay is never asked', async () => {
    expect(recording('refused-script')).toEqual([]);
    const { prepared } = await replayPrepare('refused-script', { spec: spec('SELECT 1; SELECT 2') });
    expect(prepared.status.phase).toBe('FAILED');
  });

  it('after an entry run in another database, a statement that names none runs in the default database', async () => {
    const { prepared } = await replayPrepare('entries-database-context', { spec: spec('SHOW TABLES'), entries: CONTEXT_ENTRIES });
    expect(prepared).toEqual(completed('SHOW_TABLES', 'table name', [['clicks']]));
  });


  it('a compile error points at the column of the statement’s own text', async () => {
    const { prepared } = await replayPrepare('compile-error', { spec: spec('SELECT * FROM missing') });
    expect(prepared.status.detail).toContain('From line 1, column 15 to line 1, column 21');
  });
});

/** The EXPLAIN statements of a recording with the plan text each answered. */
function plans(name: string): { statement: string; plan: string }[] {
  const exchanges = recording(name);
  const out: { statement: string; plan: string }[] = [];
  for (const e of exchanges.filter((x) => x.method === 'POST' && x.path.endsWith('/statements') && x.status === 200)) {
    const { statement } = e.request as { statement: string };
    if (!statement.startsWith('EXPLAIN ')) continue;
    const { operationHandle } = JSON.parse(e.response) as { operationHandle: string };
    const rows = exchanges
      .filter((x) => x.status === 200 && x.path.includes(`/operations/${operationHandle}/result/`))
      .flatMap((x) => (JSON.parse(x.response) as { results?: { data: { fields: unknown[] }[] } }).results?.data ?? []);
    if (rows.length > 0) out.push({ statement, plan: rows.map((r) => String(r.fields[0])).join('\n') });
  }
  return out;
}

function changelogPlan(name: string): string {
  return plans(name).find((p) => /^EXPLAIN CHANGELOG_MODE\s/.test(p.statement))!.plan;
}

describe('appendOnlyFromPlan on the plans Flink 2.3 printed', () => {
  it.each([
    ['bounded-select', 'a filtered scan', true],
    ['unbounded-select', 'an unbounded scan', true],
    ['group-by', 'a GROUP BY (its top node is [I,UA])', false],
    ['insert', 'an INSERT (the sink’s own [NONE] is not the result’s mode)', true],
  ])('%s: %s is append-only: %s', (name, _what, appendOnly) => {
    const plan = changelogPlan(name);
    expect(plan).toContain('== Optimized Physical Plan ==');
    expect(appendOnlyFromPlan(plan)).toBe(appendOnly);
  });

  it('the recorded plans are what the answers are read from: the top node of the physical plan below the sink', () => {
    expect(changelogPlan('group-by')).toContain('GroupAggregate(groupBy=[name], select=[name, COUNT(*) AS n], changelogMode=[I,UA])');
    expect(changelogPlan('insert')).toMatch(/^Sink\(table=\[default_catalog\.default_database\.sink\].*changelogMode=\[NONE\]\)$/m);
  });

  it('a plan without changelog modes (EXPLAIN in batch mode) says nothing', () => {
    const batch = plans('bounded-select').find((p) => !p.statement.startsWith('EXPLAIN CHANGELOG_MODE'))!;
    expect(batch.plan).toContain('== Optimized Physical Plan ==');
    expect(appendOnlyFromPlan(batch.plan)).toBeUndefined();
  });

  it('a plan cut before its physical section, or no plan, says nothing', () => {
    const plan = changelogPlan('group-by');
    expect(appendOnlyFromPlan(plan.slice(0, plan.indexOf('== Optimized Physical Plan ==')))).toBeUndefined();
    expect(appendOnlyFromPlan('')).toBeUndefined();
  });

  it('only the physical plan is read: the execution plan after it has no modes, and the syntax tree before it none either', () => {
    const plan = changelogPlan('group-by');
    const [before, after] = plan.split('== Optimized Physical Plan ==') as [string, string];
    expect(before).not.toContain('changelogMode=');
    expect(after.split('== Optimized Execution Plan ==')[1]).not.toContain('changelogMode=');
  });
});

/** The FlinkError drey's client makes of a recorded error answer (served alone by a replay). */
async function recordedError(exchange: Exchange): Promise<FlinkError> {
  const server = await startReplay([exchange]);
  closing.push(server);
  const client = new SqlGatewayClient({ rest: new FlinkRest({ baseUrl: server.url, retryDelayMs: 5 }) });
  const result = /^\/v2\/sessions\/([^/]+)\/operations\/([^/]+)\/result\/(\d+)/.exec(exchange.path);
  if (result) return flinkFailure(client.fetchResults(result[1]!, result[2]!, Number(result[3]), { rowFormat: 'JSON', numbers: 'text' }));
  const statements = /^\/v2\/sessions\/([^/]+)\/statements$/.exec(exchange.path);
  if (statements && exchange.method === 'POST') return flinkFailure(client.executeStatement(statements[1]!, 'SELECT 1'));
  throw new Error(`no client call for ${exchange.method} ${exchange.path}`);
}

/** The first error answer of a recording. */
function errorOf(file: string): Exchange {
  return loadRecording(recordingFile('sql-gateway', file)).find((e) => e.status >= 400)!;
}

/** A Java class name, as in `org.apache.flink.table.api.ValidationException`. */
const CLASS_NAME = /\b(?:[a-zA-Z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)\b/;

const ERRORS: [file: string, what: string, message: string][] = [
  // (as Flink said it of `EXPLAIN CHANGELOG_MODE\n<statement>`: the preparer takes one off the line)
  ['prepare-compile-error', 'an object not found (Flink repeats “SQL validation failed.”)', "SQL validation failed. From line 2, column 15 to line 2, column 21: Object 'missing' not found"],
  ['prepare-parse-error', 'a query that does not parse', "SQL parse failed. Incorrect syntax near the keyword 'WHERE' at line 2, column 15."],
  ['prepare-ddl-parse-error', 'DDL that does not parse', 'SQL parse failed. Encountered ")" at line 1, column 29.'],
  [
    'prepare-create-existing-table',
    'a table that exists already (the cause says why)',
    'Could not execute CreateTable in path `default_catalog`.`default_database`.`clicks` (caused by Table (or view) default_database.clicks already exists in Catalog default_catalog.)',
  ],
  ['prepare-missing-catalog', 'a catalog that does not exist', 'A catalog with name [nowhere] does not exist.'],
  ['prepare-missing-database', 'a database that does not exist', 'A database with name [nowhere] does not exist in the catalog: [default_catalog].'],
  ['prepare-entries-show-tables', 'a table dropped that does not exist', "Table with identifier 'default_catalog.default_database.dropped_since' does not exist."],
  [
    'prepare-unbounded-select',
    'an unbounded source in batch mode',
    "Querying an unbounded table 'default_catalog.default_database.clicks' in batch mode is not allowed. The table source is unbounded.",
  ],
];

describe('sqlErrorMessage on the error bodies Flink 2.3 sent', () => {
  it.each(ERRORS)('%s: %s', async (file, _what, message) => {
    const err = await recordedError(errorOf(file));
    expect(err.errors.join('\n')).toMatch(CLASS_NAME);
    expect(err.errors.join('\n')).toContain('SqlGatewayException: Failed to fetchResults.');
    expect(sqlErrorMessage(err)).toBe(message);
  });

  it.each(ERRORS)('%s: one line, without class names, the gateway’s wrappers or a repeated first sentence', async (file) => {
    const err = await recordedError(errorOf(file));
    const message = sqlErrorMessage(err);
    expect(message).not.toContain('\n');
    expect(message).not.toMatch(CLASS_NAME);
    expect(message).not.toMatch(/Caused by|Exception on server side|Failed to (fetchResults|execute)|Internal server error/);
    expect(message).not.toMatch(/^(.+?\. )\1/);
  });

  it.each(ERRORS)('%s: says what the deepest cause says', async (file) => {
    const err = await recordedError(errorOf(file));
    const causes = err.errors.join('\n').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('Caused by: '));
    const deepest = causes.at(-1)!.replace(/^Caused by: (?:[\w$]+\.)+[\w$]+: /, '');
    expect(sqlErrorMessage(err)).toContain(deepest);
  });

  it('a body without a stack trace keeps the client’s message', async () => {
    const unmappable = loadRecording(recordingFile('sql-gateway', 'errors')).find((e) => e.response.includes('Could not map response to JSON.'))!;
    const err = await recordedError(unmappable);
    expect(sqlErrorMessage(err)).toBe(err.message);
    expect(err.message).toContain('Could not map response to JSON.');
  });

  it('a refusal of the SQL becomes a SqlRefused with that message; a session the gateway no longer has stays the gateway’s error', async () => {
    const refused = await recordedError(errorOf('prepare-compile-error'));
    expect(isGone(refused)).toBe(false);
    const sql = refusal(refused);
    expect(sql).toBeInstanceOf(SqlRefused);
    expect((sql as SqlRefused).message).toBe(sqlErrorMessage(refused));

    const closed = loadRecording(recordingFile('sql-gateway', 'session')).find((e) => e.method === 'POST' && e.path.endsWith('/statements') && e.status >= 400)!;
    const gone = await recordedError(closed);
    expect(isGone(gone)).toBe(true);
    expect(refusal(gone)).toBe(gone);
  });
});

describe('sessionProperties', () => {
  const KEY = 'table.exec.state.ttl';
  const env = (mode: 'interactive' | 'detached', value: string) => environment({ [mode]: { flinkConfiguration: { [KEY]: value } } });

  it.each([
    ['the statement’s flinkConfiguration alone', environment(), spec('SELECT 1', { flinkConfiguration: { [KEY]: '1 min' } }), '1 min'],
    [
      'its properties over its flinkConfiguration (by Confluent’s name)',
      environment(),
      spec('SELECT 1', { flinkConfiguration: { [KEY]: '1 min' }, properties: { 'sql.state-ttl': '2 min' } }),
      '2 min',
    ],
    [
      'its properties over its flinkConfiguration (by Flink’s name)',
      environment(),
      spec('SELECT 1', { flinkConfiguration: { [KEY]: '1 min' }, properties: { [KEY]: '2 min' } }),
      '2 min',
    ],
    [
      'the environment’s defaults for the statement’s mode over both',
      env('interactive', '3 min'),
      spec('SELECT 1', { flinkConfiguration: { [KEY]: '1 min' }, properties: { 'sql.state-ttl': '2 min' } }),
      '3 min',
    ],
    [
      'not the environment’s defaults for the other mode',
      env('detached', '3 min'),
      spec('SELECT 1', { flinkConfiguration: { [KEY]: '1 min' }, properties: { 'sql.state-ttl': '2 min' } }),
      '2 min',
    ],
  ])('%s', (_what, environmentOf, specOf, expected) => {
    expect(sessionProperties(environmentOf, specOf, 'interactive')[KEY]).toBe(expected);
  });

  it('spec.parallelism is parallelism.default over every other level, and what drey owns is over everything', () => {
    const everywhere = (value: string) => ({ 'parallelism.default': value, 'rest.address': value, 'pipeline.name': value });
    const s = spec('INSERT INTO t SELECT 1', { flinkConfiguration: everywhere('f'), properties: everywhere('p'), parallelism: 3 });
    const e = environment({ detached: { flinkConfiguration: everywhere('e') } });
    expect(sessionProperties(e, s, 'detached')).toEqual({ 'parallelism.default': '3', 'rest.address': 'e', 'pipeline.name': 'e' });
    const owned = { 'rest.address': '10.0.0.7', 'pipeline.name': 'statement-x', 'parallelism.default': '5' };
    expect(sessionProperties(e, s, 'detached', owned)).toEqual(owned);
  });

  it('Confluent’s property names become Flink’s; the current catalog and database and client.* settings are not session properties', () => {
    const s = spec('SELECT 1', {
      properties: {
        'sql.local-time-zone': 'Asia/Tokyo',
        'sql.state-ttl': '1 h',
        'sql.tables.scan.idle-timeout': '5 s',
        'sql.current-catalog': 'lake',
        'sql.current-database': 'sales',
        'client.statement-name': 'x',
        'client.results-timeout': '30 s',
        'sql.dry-run': 'true',
        'pipeline.name': 'mine',
      },
    });
    expect(sessionProperties(environment(), s, 'interactive')).toEqual({
      'table.local-time-zone': 'Asia/Tokyo',
      'table.exec.state.ttl': '1 h',
      'table.exec.source.idle-timeout': '5 s',
      'sql.dry-run': 'true',
      'pipeline.name': 'mine',
    });
  });

  it('an environment without statement defaults, or with defaults of another shape, adds nothing', () => {
    const s = spec('SELECT 1', { flinkConfiguration: { [KEY]: '1 min' } });
    for (const defaults of [null, {}, { interactive: null }, { interactive: { flinkConfiguration: 'x' } }, [1, 2]]) {
      expect(sessionProperties(environment(defaults), s, 'interactive')).toEqual({ [KEY]: '1 min' });
    }
  });
});
