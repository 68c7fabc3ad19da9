import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { SqlGatewayClient, decodeJsonField, type FetchResultsResponseBody } from '../../src/flink/sqlGateway.js';
import { FlinkRest } from '../../src/flink/rest.js';
import { loadRecording, recordingFile, startReplay, type Exchange } from '../support/flinkRecording.js';
import { JOB_ID, LITERAL_VALUES, SESSION_PROPERTIES, flinkFailure } from '../support/flinkScenarios.js';

// The client against the SQL Gateway answers recorded by sqlGateway.integration.test.ts from real
// Flink 2.3. The replay answers each request with the next recorded answer for that method and path,
// so every test makes the calls of its scenario in the recorded order (the statement texts do not
// matter to the replay; the integration test has them).

const FAST = { pollMs: 1 };

const closing: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const server of closing.splice(0)) await server.close();
});

function recording(scenario: string): Exchange[] {
  return loadRecording(recordingFile('sql-gateway', scenario));
}

/** A replay of one scenario and a client of it that retries quickly. */
async function replay(scenario: string) {
  const server = await startReplay(recording(scenario));
  closing.push(server);
  const client = new SqlGatewayClient({ rest: new FlinkRest({ baseUrl: server.url, retryDelayMs: 5 }) });
  return { server, client };
}


/**
 * A proxy that drops the connection of the first request `drop` picks (no answer at all, as when a
 * gateway dies mid-request) and forwards everything else; `seen` lists every request it received.
 */
async function startDroppingProxy(target: string, drop: (method: string, path: string) => boolean) {
  const seen: string[] = [];
  let armed = true;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    seen.push(`${req.method} ${req.url}`);
    if (armed && drop(req.method!, req.url!)) {
      armed = false;
      req.socket.destroy();
      return;
    }
    const upstream = await fetch(target + req.url, {
      method: req.method,
      headers: req.headers['content-type'] ? { 'content-type': req.headers['content-type'] } : {},
      body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
    });
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
    res.end(await upstream.text());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  closing.push(proxy);
  return proxy;
}

/** The recorded result page of `scenario` holding rows (the first PAYLOAD with data). */
function recordedRows(scenario: string, index = 0): FetchResultsResponseBody {
  const pages = recording(scenario)
    .filter((e) => e.status === 200 && e.path.includes('/result/'))
    .map((e) => JSON.parse(e.response) as FetchResultsResponseBody)
    .filter((p) => (p.results?.data.length ?? 0) > 0);
  return pages[index]!;
}

describe('sessions (replayed from Flink 2.3)', () => {
  it('info names Apache Flink 2.3.0 and the gateway serves API versions V1 to V4', async () => {
    const { server } = await replay('session');
    const client = new SqlGatewayClient({ baseUrl: server.url });
    expect(await client.info()).toEqual({ productName: 'Apache Flink', version: '2.3.0' });
    expect(await client.apiVersions()).toEqual(['V1', 'V2', 'V3', 'V4']);
    expect(server.unmatched).toEqual([]);
  });

  it('a session opened with properties reads them back merged into the gateway’s settings', async () => {
    const { server, client } = await replay('session');
    const session = await client.openSession({ name: 'drey-session', properties: SESSION_PROPERTIES });
    expect(session).toMatch(/^[0-9a-f-]{36}$/);
    const config = await client.sessionConfig(session);
    expect(config).toMatchObject(SESSION_PROPERTIES);
    expect(config['execution.target']).toBe('remote');
    expect(server.unmatched).toEqual([]);
  });

  it('a closed session answers CLOSED, and reading or using it afterwards fails with 500 naming the session', async () => {
    const { server, client } = await replay('session');
    const session = await client.openSession({ name: 'drey-session', properties: SESSION_PROPERTIES });
    await client.sessionConfig(session);
    await client.heartbeat(session);
    expect(await client.closeSession(session)).toBe('CLOSED');

    const read = await flinkFailure(client.sessionConfig(session));
    expect(read.status).toBe(500);
    expect(read.message).toMatch(new RegExp(`^configuration of SQL session ${session}: .*Session '${session}' does not exist\\.`));
    expect(read.errors[0]).toContain('Failed to getSessionConfig.');
    const submit = await flinkFailure(client.executeStatement(session, 'SELECT 1'));
    expect(submit.status).toBe(500);
    expect(submit.message).toContain(`Session '${session}' does not exist.`);
    expect(server.unmatched).toEqual([]);
  });
});

describe('result pages (replayed from Flink 2.3)', () => {
  it('a page fetched before the job runs is NOT_READY, points at the same token and has no columns or rows', async () => {
    const { client } = await replay('select-one');
    const session = await client.openSession({ properties: { 'table.local-time-zone': 'UTC' } });
    const operation = await client.executeStatement(session, 'SELECT 1');
    const page = await client.fetchResults(session, operation, 0, { rowFormat: 'JSON' });
    expect(page).toEqual({
      resultType: 'NOT_READY',
      columns: [],
      rows: [],
      nextResultUri: `/v2/sessions/${session}/operations/${operation}/result/0?rowFormat=JSON`,
      nextToken: 0,
      isQueryResult: undefined,
      jobID: undefined,
      resultKind: undefined,
    });
  });

  it('while its job runs a query answers empty PAYLOAD pages that advance the token; its row comes with the job, kind and typed columns; EOS has no next token', async () => {
    const { server, client } = await replay('select-one');
    const session = await client.openSession({});
    const operation = await client.executeStatement(session, 'SELECT 1');
    const fetch = (token: number) => client.fetchResults(session, operation, token, { rowFormat: 'JSON' });
    let page = await fetch(0);
    while (page.resultType === 'NOT_READY') page = await fetch(page.nextToken!);
    const empty: number[] = [];
    for (let token = 0; page.rows.length === 0; token = page.nextToken!, page = await fetch(token)) {
      expect(page).toMatchObject({ resultType: 'PAYLOAD', nextToken: token + 1, columns: [{ name: 'EXPR$0' }] });
      empty.push(token);
    }
    expect(empty.length).toBeGreaterThan(0);

    expect(page).toMatchObject({
      resultType: 'PAYLOAD',
      isQueryResult: true,
      resultKind: 'SUCCESS_WITH_CONTENT',
      columns: [{ name: 'EXPR$0', logicalType: { type: 'INTEGER', nullable: false }, comment: null }],
      rows: [{ kind: 'INSERT', fields: [1] }],
      nextToken: empty.length + 1,
    });
    expect(page.jobID).toMatch(JOB_ID);
    for (let token = page.nextToken!; page.resultType !== 'EOS'; token = page.nextToken!) page = await fetch(token);
    expect(page).toMatchObject({ resultType: 'EOS', rows: [], nextResultUri: undefined, nextToken: undefined });
    expect(server.unmatched).toEqual([]);
  });

  it('fetching every page to EOS collects the row, the columns and the job id; the operation is then FINISHED and closes', async () => {
    const { server, client } = await replay('select-one');
    const session = await client.openSession({});
    const operation = await client.executeStatement(session, 'SELECT 1');
    const result = await client.fetchAllResults(session, operation, FAST);
    expect(result).toEqual({
      columns: [{ name: 'EXPR$0', logicalType: { type: 'INTEGER', nullable: false }, comment: null }],
      rows: [{ kind: 'INSERT', fields: [1] }],
      jobId: expect.stringMatching(JOB_ID),
      resultKind: 'SUCCESS_WITH_CONTENT',
      isQueryResult: true,
    });
    expect(await client.operationStatus(session, operation)).toBe('FINISHED');
    expect(await client.closeOperation(session, operation)).toBe('CLOSED');
    expect(await client.closeSession(session)).toBe('CLOSED');
    expect(server.unmatched).toEqual([]);
  });

  it('fetching waits pollMs after every NOT_READY or empty page instead of asking again at once', async () => {
    const idle = recording('select-one').filter((e) => /"resultType":"NOT_READY"|"resultType":"PAYLOAD".*"data":\[\]/.test(e.response)).length;
    const { client } = await replay('select-one');
    const session = await client.openSession({});
    const operation = await client.executeStatement(session, 'SELECT 1');
    const started = Date.now();
    await client.fetchAllResults(session, operation, { pollMs: 10 });
    expect(idle).toBeGreaterThan(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(idle * 10 * 0.9);
  });

  it('fetching gives up at its deadline with a FlinkError saying so when EOS has not come', async () => {
    const { client } = await replay('select-one');
    const session = await client.openSession({});
    const operation = await client.executeStatement(session, 'SELECT 1');
    const late = await flinkFailure(client.fetchAllResults(session, operation, { pollMs: 5, deadlineMs: 0 }));
    expect(late.status).toBe(0);
    expect(late.message).toBe(`results of operation ${operation}: no end of results within 0 ms (0 rows so far)`);
  });
});

describe('data types of the JSON row format (replayed from Flink 2.3)', () => {

  it('a literal of every type decodes to the TypeScript value of its logical type', async () => {
    const { server, client } = await replay('literal-types');
    const session = await client.openSession({});
    const result = await client.fetchAllResults(session, await client.executeStatement(session, 'literals'), FAST);
    expect(result.rows).toHaveLength(1);
    expect(Object.fromEntries(result.columns.map((c, i) => [c.name, result.rows[0]!.fields[i]]))).toEqual(LITERAL_VALUES);
    expect(Object.fromEntries(result.columns.map((c) => [c.name, c.logicalType.type]))).toEqual({
      ti: 'TINYINT', si: 'SMALLINT', i: 'INTEGER', bi: 'BIGINT', f: 'FLOAT', d: 'DOUBLE', dnan: 'DOUBLE', dinf: 'DOUBLE',
      dec1: 'DECIMAL', dec2: 'DECIMAL', b: 'BOOLEAN', c: 'CHAR', vc: 'VARCHAR', s: 'VARCHAR', bin: 'BINARY', vbin: 'VARBINARY',
      dt: 'DATE', tm: 'TIME_WITHOUT_TIME_ZONE', ts: 'TIMESTAMP_WITHOUT_TIME_ZONE', ltz: 'TIMESTAMP_WITH_LOCAL_TIME_ZONE',
      iday: 'INTERVAL_DAY_TIME', imon: 'INTERVAL_YEAR_MONTH', arr: 'ARRAY', mp: 'MAP', rw: 'ROW', arows: 'ARRAY', n: 'INTEGER', nrow: 'ROW',
    });
    expect(result.columns.find((c) => c.name === 'n')!.logicalType.nullable).toBe(true);
    expect(server.unmatched).toEqual([]);
  });

  it('DECIMAL keeps its scale although Flink strips trailing zeros and sends 100.00 as 1E+2', () => {
    const page = recordedRows('literal-types');
    const raw = recording('literal-types').find((e) => e.response.includes('"rowFormat":"JSON","data":[{'))!.response;
    expect(raw).toContain(',1E+2,-0.000123,');
    const columns = page.results!.columns;
    const at = (name: string) => columns.findIndex((c) => c.name === name);
    const fields = page.results!.data[0]!.fields;
    expect(decodeJsonField(fields[at('dec1')], columns[at('dec1')]!.logicalType)).toBe('100.00');
    expect(decodeJsonField(fields[at('dec2')], columns[at('dec2')]!.logicalType)).toBe('-0.000123');
  });

  it('a field whose JSON does not fit its column type is refused, naming the column', () => {
    const page = recordedRows('literal-types');
    const columns = page.results!.columns;
    const fields = page.results!.data[0]!.fields;
    const at = (name: string) => columns.findIndex((c) => c.name === name);
    expect(() => decodeJsonField(fields[at('vc')], columns[at('b')]!.logicalType, 'b')).toThrow('b: a BOOLEAN field cannot be "héllo"');
    expect(() => decodeJsonField(fields[at('arr')], columns[at('rw')]!.logicalType, 'rw')).toThrow('rw: a ROW field cannot be [1,null]');
  });

  it('BIGINT and DECIMAL beyond a double keep every digit, in the JSON row format as in PLAIN_TEXT', async () => {
    const { server, client } = await replay('literal-types');
    const session = await client.openSession({});
    await client.fetchAllResults(session, await client.executeStatement(session, 'literals'), FAST);
    const json = await client.fetchAllResults(session, await client.executeStatement(session, 'big numbers'), FAST);
    expect(json.rows[0]!.fields).toEqual(['9007199254740993', '12345678901234567890.123456789']);
    const text = await client.fetchAllResults(session, await client.executeStatement(session, 'big numbers'), {
      ...FAST,
      rowFormat: 'PLAIN_TEXT',
    });
    expect(text.columns.map((c) => c.logicalType.type)).toEqual(['BIGINT', 'DECIMAL']);
    expect(text.rows[0]!.fields).toEqual(['9007199254740993', '12345678901234567890.123456789']);
    expect(server.unmatched).toEqual([]);
  });

  it('a changelog query’s rows carry their kinds and a MULTISET decodes to element counts', async () => {
    const { server, client } = await replay('literal-types');
    const session = await client.openSession({});
    for (const statement of ['literals', 'big numbers']) await client.fetchAllResults(session, await client.executeStatement(session, statement), FAST);
    await client.fetchAllResults(session, await client.executeStatement(session, 'big numbers'), { ...FAST, rowFormat: 'PLAIN_TEXT' });
    const changelog = await client.fetchAllResults(session, await client.executeStatement(session, 'changelog'), FAST);
    expect(changelog.rows).toEqual([
      { kind: 'INSERT', fields: [new Map([['a', 1]])] },
      { kind: 'UPDATE_BEFORE', fields: [new Map([['a', 1]])] },
      { kind: 'UPDATE_AFTER', fields: [new Map([['a', 2]])] },
      { kind: 'UPDATE_BEFORE', fields: [new Map([['a', 2]])] },
      {
        kind: 'UPDATE_AFTER',
        fields: [
          new Map([
            ['a', 2],
            ['b', 1],
          ]),
        ],
      },
    ]);
    expect(await client.closeSession(session)).toBe('CLOSED');
    expect(server.unmatched).toEqual([]);
  });

  it('a datagen table’s DDL answers one OK row and no job; its bounded SELECT decodes every column by type', async () => {
    const { server, client } = await replay('datagen');
    const session = await client.openSession({});
    const created = await client.fetchAllResults(session, await client.executeStatement(session, 'create'), FAST);
    expect(created).toEqual({
      columns: [{ name: 'result', logicalType: { type: 'VARCHAR', nullable: true, length: 2147483647 }, comment: null }],
      rows: [{ kind: 'INSERT', fields: ['OK'] }],
      jobId: undefined,
      resultKind: 'SUCCESS',
      isQueryResult: false,
    });
    const result = await client.fetchAllResults(session, await client.executeStatement(session, 'select'), FAST);
    expect(result.jobId).toMatch(JOB_ID);
    expect(result.rows.map((r) => r.fields[0])).toEqual([1, 2, 3, 4, 5]);
    const raw = recordedRows('datagen', 1).results!;
    for (const [r, { kind, fields }] of result.rows.entries()) {
      expect(kind).toBe('INSERT');
      const [, tiny, small, big, f, d, price, flag, code, name, payload, day, atTime, atTs, atLtz, tags, attrs, point, bag] = fields;
      expect(Number.isInteger(tiny) && Number.isInteger(small)).toBe(true);
      expect(big).toMatch(/^-?\d+$/);
      expect([typeof f, typeof d, typeof flag]).toEqual(['number', 'number', 'boolean']);
      expect(price).toMatch(/^-?\d+\.\d{2}$/);
      expect([code, name]).toEqual([expect.stringMatching(/^.{4}$/), expect.stringMatching(/^.{12}$/)]);
      expect(Buffer.isBuffer(payload) && payload.length).toBe(4);
      expect([day, atTime, atTs, atLtz]).toEqual([
        expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
        expect.stringMatching(/^\d{2}:\d{2}:\d{2}/),
        expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/),
        expect.stringMatching(/^\d{4}-\d{2}-\d{2}T.*Z$/),
      ]);
      expect(Array.isArray(tags) && tags.every(Number.isInteger)).toBe(true);
      expect(attrs).toBeInstanceOf(Map);
      expect(Object.keys(point as object)).toEqual(['x', 'y']);
      expect(bag).toBeInstanceOf(Map);
      if (r === 0) expect(payload).toEqual(Buffer.from(raw.data[0]!.fields[10] as string, 'base64'));
    }
    expect(server.unmatched).toEqual([]);
  });
});

describe('statements and operations (replayed from Flink 2.3)', () => {
  it('INSERT INTO answers the id of its job, as jobId and as its only row', async () => {
    const { server, client } = await replay('insert-job');
    const session = await client.openSession({});
    await client.fetchAllResults(session, await client.executeStatement(session, 'create sink'), FAST);
    const result = await client.fetchAllResults(session, await client.executeStatement(session, 'insert'), FAST);
    expect(result).toMatchObject({ resultKind: 'SUCCESS_WITH_CONTENT', isQueryResult: false, columns: [{ name: 'job id' }] });
    expect(result.jobId).toMatch(JOB_ID);
    expect(result.rows).toEqual([{ kind: 'INSERT', fields: [result.jobId] }]);
    expect(server.unmatched).toEqual([]);
  });

  it('statement errors are FlinkErrors with Flink’s reason: parser, validator, a refused timeout, unmappable MAP keys', async () => {
    const { server, client } = await replay('errors');
    const session = await client.openSession({});
    const syntax = await client.executeStatement(session, 'SELECT * FROM WHERE');
    const parse = await flinkFailure(client.fetchAllResults(session, syntax, FAST));
    expect(parse.status).toBe(500);
    expect(parse.message).toMatch(
      new RegExp(`^results of operation ${syntax}: .*Incorrect syntax near the keyword 'WHERE' at line 1, column 15\\.`),
    );
    expect(parse.errors[0]).toBe('Internal server error.');
    expect(await client.operationStatus(session, syntax)).toBe('ERROR');

    const unknown = await flinkFailure(client.fetchAllResults(session, await client.executeStatement(session, 'unknown table'), FAST));
    expect(unknown.message).toContain("SqlValidatorException: Object 'no_such_table' not found");

    const timeout = await flinkFailure(client.executeStatement(session, 'SELECT 1', { executionTimeoutMs: 1000 }));
    expect(timeout.status).toBe(500);
    expect(timeout.message).toContain("SqlGatewayService doesn't support timeout mechanism now.");

    const intKeys = await flinkFailure(client.fetchAllResults(session, await client.executeStatement(session, 'int-keyed map'), FAST));
    expect(intKeys.status).toBe(500);
    expect(intKeys.message).toContain('Could not map response to JSON.');
    expect(await client.closeSession(session)).toBe('CLOSED');
    expect(server.unmatched).toEqual([]);
  });

  it('a running INSERT cancels to CANCELED and closes; a running query refuses cancel but closes; a closed operation is gone', async () => {
    const { server, client } = await replay('cancel-close');
    const session = await client.openSession({});
    await client.fetchAllResults(session, await client.executeStatement(session, 'create sink'), FAST);
    await client.fetchAllResults(session, await client.executeStatement(session, 'create endless'), FAST);

    const insert = await client.executeStatement(session, 'insert endless', { executionConfig: { 'table.dml-sync': 'true' } });
    expect(await client.operationStatus(session, insert)).toBe('RUNNING');
    expect(await client.cancelOperation(session, insert)).toBe('CANCELED');
    expect(await client.operationStatus(session, insert)).toBe('CANCELED');
    expect(await client.closeOperation(session, insert)).toBe('CLOSED');
    const gone = await flinkFailure(client.operationStatus(session, insert));
    expect(gone.status).toBe(500);
    expect(gone.message).toContain(`Can not find the submitted operation in the OperationManager with the ${insert}.`);

    const query = await client.executeStatement(session, 'select endless');
    let page = await client.fetchResults(session, query, 0, { rowFormat: 'JSON' });
    while (!page.jobID) page = await client.fetchResults(session, query, page.nextToken!, { rowFormat: 'JSON' });
    expect(page.jobID).toMatch(JOB_ID);
    expect(await client.operationStatus(session, query)).toBe('FINISHED');
    const refused = await flinkFailure(client.cancelOperation(session, query));
    expect(refused.status).toBe(500);
    expect(refused.message).toContain(`Failed to convert the Operation Status from FINISHED to CANCELED for ${query}.`);
    expect(await client.closeOperation(session, query)).toBe('CLOSED');
    expect(await client.closeSession(session)).toBe('CLOSED');
    expect(server.unmatched).toEqual([]);
  });
});

describe('retries', () => {
  it('a status read whose connection drops is asked again and returns the gateway’s answer', async () => {
    const { server } = await replay('select-one');
    const proxy = await startDroppingProxy(server.url, (method, path) => method === 'GET' && path.endsWith('/status'));
    const client = new SqlGatewayClient({ rest: new FlinkRest({ baseUrl: proxy.url, retryDelayMs: 5 }) });
    const session = await client.openSession({});
    const operation = await client.executeStatement(session, 'SELECT 1');
    expect(await client.operationStatus(session, operation)).toBe('FINISHED');
    expect(proxy.seen.filter((r) => r.endsWith('/status'))).toHaveLength(2);
  });

  it('a statement whose connection drops is not submitted again: the caller gets status 0 and the gateway saw it once', async () => {
    const { server } = await replay('select-one');
    const proxy = await startDroppingProxy(server.url, (method, path) => method === 'POST' && path.endsWith('/statements'));
    const client = new SqlGatewayClient({ rest: new FlinkRest({ baseUrl: proxy.url, retryDelayMs: 5 }) });
    const session = await client.openSession({});
    const lost = await flinkFailure(client.executeStatement(session, 'SELECT 1'));
    expect(lost.status).toBe(0);
    expect(lost.message).toMatch(new RegExp(`^execute statement in SQL session ${session}: `));
    expect(proxy.seen.filter((r) => r.endsWith('/statements'))).toHaveLength(1);
    // the recorded submission is still unanswered: the dropped request never reached the gateway
    const recorded = JSON.parse(recording('select-one').find((e) => e.path.endsWith('/statements'))!.response) as { operationHandle: string };
    expect(await client.executeStatement(session, 'SELECT 1')).toBe(recorded.operationHandle);
  });
});
