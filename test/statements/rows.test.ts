import { describe, expect, it } from '@jest/globals';
import { FlinkRest } from '../../src/flink/rest.js';
import { SqlGatewayClient, type ColumnInfo, type FetchResultsResponseBody, type RowFormat, type StatementResult } from '../../src/flink/sqlGateway.js';
import { cmfRow, resultSchema, type CmfRow, type CmfValue } from '../../src/statements/rows.js';
import { cliRender, type CliSchema } from '../support/cliDecoder.js';
import { loadRecording, recordingFile, startReplay } from '../support/flinkRecording.js';

// The CMF row encoding against what real Flink 2.3 printed: rows.integration.test.ts recorded one
// SELECT of every type root and a changelog query, each fetched as JSON and as PLAIN_TEXT; this
// replays the recording through the client (numbers as text) and checks the encoded rows against
// Flink's PLAIN_TEXT and against the Confluent CLI's rules (test/support/cliDecoder.ts).

const exchanges = loadRecording(recordingFile('sql-gateway', 'all-types'));
const recorded = exchanges.filter((e) => e.method === 'POST' && e.path.endsWith('/statements'));
const sessionOpened = exchanges.find((e) => e.method === 'POST' && e.path === '/v2/sessions')!;
const timeZone = (sessionOpened.request as { properties: Record<string, string> }).properties['table.local-time-zone']!;

/** The recorded statements' results, fetched in the recorded order with the recorded row formats. */
async function replayed(): Promise<StatementResult[]> {
  const server = await startReplay(exchanges);
  try {
    const client = new SqlGatewayClient({ rest: new FlinkRest({ baseUrl: server.url, retryDelayMs: 5 }) });
    const session = await client.openSession();
    const results: StatementResult[] = [];
    for (const { request } of recorded) {
      const { statement } = request as { statement: string };
      const operation = await client.executeStatement(session, statement);
      const rowFormat = /rowFormat=(\w+)/.exec(exchanges.find((e) => e.path.includes(`/operations/${operation}/result/`))!.path)![1] as RowFormat;
      results.push(await client.fetchAllResults(session, operation, { rowFormat, numbers: 'text', pollMs: 1 }));
    }
    await client.closeSession(session);
    if (server.unmatched.length > 0) throw new Error(`requests not in the recording: ${server.unmatched.join(', ')}`);
    return results;
  } finally {
    await server.close();
  }
}

const [allTypes, allTypesText, changelog, changelogText] = (await replayed()) as [StatementResult, StatementResult, StatementResult, StatementResult];
const columns = allTypes.columns;
const [encoded] = allTypes.rows.map((r) => cmfRow(r, columns, timeZone)) as [CmfRow];
const plain = allTypesText.rows[0]!.fields as (string | null)[];
const schema: CliSchema = resultSchema(columns);
const [rendered] = cliRender({ results: { data: [encoded] } }, schema);

const NESTED = new Set(['ARRAY', 'MAP', 'MULTISET', 'ROW']);
const atomic = columns.filter((c) => !NESTED.has(c.logicalType.type)).map((c) => c.name);
const nested = columns.filter((c) => NESTED.has(c.logicalType.type)).map((c) => c.name);

function valueOf(name: string): CmfValue {
  return encoded.row[columns.findIndex((c) => c.name === name)]!;
}

/** The entries of a top-level `{k=v, ...}` as Flink or the CLI prints a MAP, in sorted order. */
function sortedEntries(text: string): string[] {
  const entries: string[] = [];
  let depth = 0;
  let start = 1;
  for (let i = 1; i < text.length - 1; i++) {
    if ('[{('.includes(text[i]!)) depth++;
    if (')}]'.includes(text[i]!)) depth--;
    if (depth === 0 && text.startsWith(', ', i)) {
      entries.push(text.slice(start, i));
      start = i + 2;
    }
  }
  return [...entries, text.slice(start, -1)].sort();
}

/** MAP and MULTISET entries in sorted order (their order is the JSON object's, not Flink's PLAIN_TEXT's). */
function sorted(entries: CmfValue): CmfValue {
  return Array.isArray(entries) ? [...entries].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) : entries;
}

describe('CMF result rows from Flink 2.3 result rows (replayed)', () => {
  it('the recording covers every type root the Confluent CLI knows that Flink SQL can produce (not NULL, TIMESTAMP WITH TIME ZONE)', () => {
    const roots = new Set<string>();
    const visit = (t: ColumnInfo['logicalType']): void => {
      roots.add(t.type);
      [t.elementType, t.keyType, t.valueType, ...(t.fields ?? []).map((f) => f.fieldType)].forEach((child) => child && visit(child));
    };
    columns.forEach((c) => visit(c.logicalType));
    expect([...roots].sort()).toEqual([
      'ARRAY', 'BIGINT', 'BINARY', 'BOOLEAN', 'CHAR', 'DATE', 'DECIMAL', 'DOUBLE', 'FLOAT', 'INTEGER', 'INTERVAL_DAY_TIME',
      'INTERVAL_YEAR_MONTH', 'MAP', 'MULTISET', 'ROW', 'SMALLINT', 'TIMESTAMP_WITHOUT_TIME_ZONE',
      'TIMESTAMP_WITH_LOCAL_TIME_ZONE', 'TIME_WITHOUT_TIME_ZONE', 'TINYINT', 'VARBINARY', 'VARCHAR',
    ]);
    expect(timeZone).toBe('America/New_York');
  });

  it('every row decodes by the Confluent CLI’s rules, and has as many values as there are columns', () => {
    expect(allTypes.rows).toHaveLength(1);
    expect(encoded.row).toHaveLength(columns.length);
    expect(rendered!.cells).toHaveLength(columns.length);
    const changes = changelog.rows.map((r) => cmfRow(r, changelog.columns, timeZone));
    for (const change of changes) expect(change.row).toHaveLength(changelog.columns.length);
    expect(cliRender({ results: { data: changes } }, resultSchema(changelog.columns))).toHaveLength(6);
  });

  it.each(atomic)('top-level atomic column %s is the string Flink’s PLAIN_TEXT has', (name) => {
    const i = columns.findIndex((c) => c.name === name);
    expect(encoded.row[i]).toBe(plain[i]);
    expect(rendered!.cells[i]).toBe(plain[i] ?? 'NULL');
  });

  it.each(nested)('nested column %s shows in the CLI as Flink’s PLAIN_TEXT prints it (MAP entries in any order)', (name) => {
    const i = columns.findIndex((c) => c.name === name);
    const [cli, flink] = [rendered!.cells[i]!, plain[i] ?? 'NULL'];
    if (['MAP', 'MULTISET'].includes(columns[i]!.logicalType.type)) expect(sortedEntries(cli)).toEqual(sortedEntries(flink));
    else expect(cli).toBe(flink);
  });

  it('nested values are arrays: ARRAY of elements, MAP of [key, value], MULTISET of [element, count], ROW of field values', () => {
    expect(valueOf('arr')).toEqual(['1', null]);
    expect(valueOf('arrs')).toEqual(['a', null, '']);
    expect(valueOf('arrnest')).toEqual([['1', '2'], null]);
    expect(sorted(valueOf('mp'))).toEqual([['a', '1'], ['b', null]]);
    expect(sorted(valueOf('mpnest'))).toEqual([['k', ['1.5']], ['n', null]]);
    expect(sorted(valueOf('bag'))).toEqual([['a', '2'], ['b', '1']]);
    expect(valueOf('rw')).toEqual(['1', 'x', ['TRUE'], null]);
    expect(valueOf('rwnull')).toBeNull();
    expect(valueOf('rwdeep')).toEqual([[['1', 'a']], [['m', ['2']]]]);
    expect(valueOf('atoms')).toEqual([
      '2024-01-02 03:04:05.100', '1.50', "x'01ff'", 'TRUE', '+2 00:00:00.000', '+0-03', '2024-01-01 22:04:05.123', '1.0E20',
      '12:00:00.1', '2024-01-02', null,
    ]);
  });

  it('TIMESTAMP_LTZ is in the session’s time zone everywhere, also under a ROW where the gateway sends UTC', () => {
    expect(valueOf('ltz3')).toBe('2024-01-01 22:04:05.123');
    expect(valueOf('ltz0')).toBe('2024-07-03 05:46:40');
    expect(valueOf('ltzs')).toEqual(['2024-01-01 22:04:05.123', '2024-07-03 05:46:40.000']);
    expect(valueOf('rwltz')).toEqual([['2024-07-03 05:46:40.000'], [['k', '2024-01-01 22:04:05.000000']]]);
    const page = JSON.parse(exchanges.find((e) => e.response.includes('"rowFormat":"JSON","data":[{'))!.response) as FetchResultsResponseBody;
    const sent = page.results!.data[0]!.fields[columns.findIndex((c) => c.name === 'rwltz')];
    expect(sent).toEqual({ EXPR$0: ['2024-07-03T09:46:40Z'], EXPR$1: { k: '2024-01-02T03:04:05Z' } });
  });

  it('BIGINT and DECIMAL keep every digit, beyond what a double holds', () => {
    expect(valueOf('bmax')).toBe('9223372036854775807');
    expect(valueOf('bneg')).toBe('-9007199254740993');
    expect(valueOf('arrbig')).toEqual(['9007199254740993', '9223372036854775807']);
    expect(valueOf('dwide')).toBe('1234567890123456789012345678.9012345678');
    expect(valueOf('dneg')).toBe('-12345678901234567890.123456789012345678');
    expect(valueOf('arrdec')).toEqual(['12345678901234567890.123456789', null]);
    expect(valueOf('dzero')).toBe('0.000000000000000000');
    expect(valueOf('d1e10')).toBe('10000000000.00');
    // they came as JSON numbers, which JSON.parse would have rounded
    expect(exchanges.some((e) => e.response.includes(',9223372036854775807,-9007199254740993,'))).toBe(true);
  });

  it('a changelog keeps its row kinds as op 0..3 and its values as PLAIN_TEXT prints them', () => {
    const changes = changelog.rows.map((r) => cmfRow(r, changelog.columns, timeZone));
    expect(changes.map((c) => c.op)).toEqual([0, 3, 0, 0, 1, 2]);
    const shown = cliRender({ results: { data: changes } }, resultSchema(changelog.columns));
    expect(shown.map((r) => r.op)).toEqual(['+I', '-D', '+I', '+I', '-U', '+U']);
    expect(shown.map((r) => r.cells)).toEqual(changelogText.rows.map((r) => r.fields));
  });

  it('the result schema is the gateway’s column types exactly', () => {
    const page = JSON.parse(exchanges.find((e) => e.response.includes('"rowFormat":"JSON","data":[{'))!.response) as FetchResultsResponseBody;
    expect(resultSchema(columns)).toEqual({ columns: page.results!.columns.map((c) => ({ name: c.name, type: c.logicalType })) });
  });
});

describe('cmfRow on rows the gateway could not have sent', () => {
  const int: ColumnInfo = { name: 'n', logicalType: { type: 'INTEGER', nullable: true }, comment: null };

  it('a NULL-typed column is null, which the CLI shows as NULL', () => {
    const column: ColumnInfo = { name: 'z', logicalType: { type: 'NULL', nullable: true }, comment: null };
    const row = cmfRow({ kind: 'INSERT', fields: [null] }, [column]);
    expect(row).toEqual({ op: 0, row: [null] });
    expect(cliRender({ results: { data: [row] } }, resultSchema([column]))[0]!.cells).toEqual(['NULL']);
  });

  it.each([
    ['a number not kept as text', { kind: 'INSERT', fields: [1] }, /n: a INTEGER field cannot be 1/],
    ['an unknown row kind', { kind: 'UPSERT', fields: ['1'] }, /unknown kind "UPSERT"/],
    ['more fields than columns', { kind: 'INSERT', fields: ['1', '2'] }, /2 fields for 1 columns/],
  ])('%s is a TypeError', (_, row, message) => {
    expect(() => cmfRow(row as never, [int])).toThrow(message);
  });
});

describe('the CLI decoder refuses what the CLI could not show', () => {
  const col = (name: string, type: ColumnInfo['logicalType']) => ({ name, type });
  const int = { type: 'INTEGER', nullable: true };
  it.each([
    ['a non-string atomic value', [col('n', int)], { op: 0, row: [1] }, /row 0 column n: the CLI shows NULL for INTEGER value 1 \(not a string\)/],
    ['an ARRAY that is not an array', [col('a', { type: 'ARRAY', nullable: true, elementType: int })], { op: 0, row: ['[1]'] }, /column a: .*not an array/],
    ['a MAP entry that is not a pair', [col('m', { type: 'MAP', nullable: true, keyType: int, valueType: int })], { op: 0, row: [[['1']]] }, /column m: .*entry 0 is not a \[key, value\] pair/],
    ['a MULTISET that is an object', [col('b', { type: 'MULTISET', nullable: true, elementType: int })], { op: 0, row: [{ a: '1' }] }, /column b: .*not an array of entries/],
    ['a MULTISET count that is a number', [col('b', { type: 'MULTISET', nullable: true, elementType: int })], { op: 0, row: [[['1', 2]]] }, /column b value 0: .*not a string/],
    ['a ROW of the wrong length', [col('r', { type: 'ROW', nullable: true, fields: [{ name: 'x', fieldType: int }] })], { op: 0, row: [['1', '2']] }, /column r: .*not an array of 1 field values/],
    ['a row of the wrong length', [col('n', int)], { op: 0, row: [] }, /row 0: \[\] does not have 1 values/],
    ['an unknown type root', [col('v', { type: 'VARIANT', nullable: true })], { op: 0, row: ['{}'] }, /column v: type root VARIANT is unknown/],
    ['an op beyond 3', [col('n', int)], { op: 4, row: ['1'] }, /row 0: op 4 is not one of 0..3/],
    ['no op', [col('n', int)], { row: ['1'] }, /row 0: op undefined is not one of 0..3/],
  ])('%s', (_, columns, entry, message) => {
    expect(() => cliRender({ results: { data: [entry] } }, { columns })).toThrow(message);
  });
});
