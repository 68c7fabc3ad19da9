import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { SqlGatewayClient, type ResultPage } from '../../src/flink/sqlGateway.js';
import { startTestFlink } from '../support/flink.js';
import { recordingFile, startRecorder } from '../support/flinkRecording.js';
import { JOB_ID, LITERAL_VALUES, SESSION_PROPERTIES, flinkFailure, until } from '../support/flinkScenarios.js';

// The client against a real Flink 2.3 SQL Gateway, through a recording proxy: each scenario opens
// its own session and is saved (with DREY_RECORD_FLINK=1) to
// test/flink/recorded/sql-gateway/<scenario>.json, which sqlGateway.test.ts replays with the same
// calls in the same order. The statements below are repeated there and must stay the same.

const UTC = { 'table.local-time-zone': 'UTC' };
const LITERALS =
  "SELECT CAST(1 AS TINYINT) AS ti, CAST(-2 AS SMALLINT) AS si, 3 AS i, CAST(4000000000 AS BIGINT) AS bi, " +
  "CAST(1.5 AS FLOAT) AS f, CAST(2.25 AS DOUBLE) AS d, CAST('NaN' AS DOUBLE) AS dnan, CAST('Infinity' AS DOUBLE) AS dinf, " +
  "CAST('100.00' AS DECIMAL(5,2)) AS dec1, CAST('-0.000123' AS DECIMAL(10,6)) AS dec2, TRUE AS b, " +
  "CAST('ab' AS CHAR(3)) AS c, CAST('héllo' AS VARCHAR(10)) AS vc, CAST('s' AS STRING) AS s, " +
  "x'0102ff' AS bin, CAST(x'0102' AS VARBINARY(10)) AS vbin, DATE '2024-01-02' AS dt, TIME '12:34:56.789' AS tm, " +
  "TIMESTAMP '2024-01-02 03:04:05.123456' AS ts, CAST(TIMESTAMP '2024-01-02 03:04:05.123' AS TIMESTAMP_LTZ(3)) AS ltz, " +
  "INTERVAL '2' DAY AS iday, INTERVAL '3' MONTH AS imon, ARRAY[1, CAST(NULL AS INT)] AS arr, MAP['a', 1, 'b', 2] AS mp, " +
  "CAST(ROW(1, 'x', ROW(TRUE)) AS ROW<id INT, name STRING, sub ROW<flag BOOLEAN>>) AS rw, ARRAY[ROW(1, 'a')] AS arows, " +
  'CAST(NULL AS INT) AS n, CAST(NULL AS ROW<a INT>) AS nrow';
const BIG_NUMBERS = "SELECT CAST(9007199254740993 AS BIGINT) AS big, CAST('12345678901234567890.123456789' AS DECIMAL(38,9)) AS wide";
const CHANGELOG = "SELECT COLLECT(v) AS bag FROM (VALUES ('a'), ('a'), ('b')) AS t(v)";
const CREATE_GEN =
  'CREATE TEMPORARY TABLE gen_types (id INT, tiny TINYINT, small SMALLINT, big BIGINT, f FLOAT, d DOUBLE, ' +
  'price DECIMAL(10, 2), flag BOOLEAN, code CHAR(4), name VARCHAR(12), payload BYTES, day_ DATE, at_time TIME(0), ' +
  'at_ts TIMESTAMP(3), at_ltz TIMESTAMP_LTZ(3), tags ARRAY<INT>, attrs MAP<STRING, INT>, point ROW<x INT, y DOUBLE>, ' +
  "bag MULTISET<STRING>) WITH ('connector' = 'datagen', 'number-of-rows' = '10', 'fields.id.kind' = 'sequence', " +
  "'fields.id.start' = '1', 'fields.id.end' = '10', 'fields.name.length' = '12', 'fields.payload.length' = '4')";
const SELECT_GEN = 'SELECT * FROM gen_types LIMIT 5';
const CREATE_SINK = "CREATE TEMPORARY TABLE sink (id INT, name STRING) WITH ('connector' = 'blackhole')";
const INSERT_SINK = "INSERT INTO sink VALUES (1, 'a'), (2, 'b')";
const SYNTAX_ERROR = 'SELECT * FROM WHERE';
const UNKNOWN_TABLE = 'SELECT * FROM no_such_table';
const INT_KEYED_MAP = "SELECT MAP[1, 'a'] AS m";
const CREATE_ENDLESS = "CREATE TEMPORARY TABLE endless (id INT, name STRING) WITH ('connector' = 'datagen', 'rows-per-second' = '5')";
const INSERT_ENDLESS = 'INSERT INTO sink SELECT * FROM endless';
const INSERT_ENDLESS_CONFIG = { 'table.dml-sync': 'true', 'pipeline.name': 'drey-sql-gateway-cancel' };
const SELECT_ENDLESS = 'SELECT * FROM endless';

jest.setTimeout(90_000);

const flink = await startTestFlink();
if (!flink) console.warn('SKIPPED SQL Gateway client integration tests: no local Flink (Java or the Flink jars are missing)');
const describeIf = flink ? describe : describe.skip;

afterAll(async () => {
  await flink?.stop();
});

/** Runs one scenario through a recording proxy and saves the recording when it passed. */
async function scenario(name: string, body: (client: SqlGatewayClient) => Promise<void>): Promise<void> {
  const recorder = await startRecorder(flink!.gatewayUrl);
  try {
    await body(new SqlGatewayClient({ baseUrl: recorder.url }));
    recorder.save(recordingFile('sql-gateway', name));
  } finally {
    await recorder.close();
  }
}



/** A job's state straight from the JobManager (not through the recorder). */
async function jobState(jobId: string): Promise<string> {
  const response = await fetch(`${flink!.restUrl}/jobs/${jobId}`);
  if (!response.ok) return `HTTP ${response.status}`;
  return ((await response.json()) as { state: string }).state;
}

/** The JobManager's jobs of that name. */
async function jobsNamed(name: string): Promise<{ jid: string; state: string }[]> {
  const response = await fetch(`${flink!.restUrl}/jobs/overview`);
  const { jobs } = (await response.json()) as { jobs: { jid: string; name: string; state: string }[] };
  return jobs.filter((j) => j.name === name);
}

/**
 * A proxy in front of the JobManager's REST endpoint, for a session whose `rest.address` and
 * `rest.port` point at it: it keeps the method and path of every request the gateway sends for that
 * session's jobs, and holds those that `hold` picks until `release()`.
 */
interface JobManagerProxy {
  /** Session properties that send the session's jobs through this proxy. */
  properties: Record<string, string>;
  seen: string[];
  hold(pick: (request: string) => boolean): void;
  release(): void;
  close(): Promise<void>;
}

async function startJobManagerProxy(target: string): Promise<JobManagerProxy> {
  const seen: string[] = [];
  let pick: (request: string) => boolean = () => false;
  const held: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    const request = `${req.method} ${req.url}`;
    seen.push(request);
    const forward = () => {
      const upstream = http.request(new URL(req.url!, target), { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    };
    if (pick(request)) held.push(forward);
    else forward();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    properties: { 'rest.address': '127.0.0.1', 'rest.port': String((server.address() as AddressInfo).port) },
    seen,
    hold: (p) => {
      pick = p;
    },
    release: () => {
      pick = () => false;
      for (const forward of held.splice(0)) forward();
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Runs `body` with a JobManager proxy of its own, closed afterwards. */
async function withJobManagerProxy(body: (jobManager: JobManagerProxy) => Promise<void>): Promise<void> {
  const jobManager = await startJobManagerProxy(flink!.restUrl);
  try {
    await body(jobManager);
  } finally {
    await jobManager.close();
  }
}

/** Result pages of a running query until one names its job. */
async function firstPageWithJob(client: SqlGatewayClient, session: string, operation: string): Promise<ResultPage> {
  for (let token = 0; ; ) {
    const page = await client.fetchResults(session, operation, token, { rowFormat: 'JSON' });
    if (page.jobID) return page;
    token = page.nextToken!;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeIf('SQL Gateway client against Flink 2.3', () => {
  it('opens a session with properties, reads them back, and a closed session fails with Flink’s reason', async () => {
    await scenario('session', async (client) => {
      expect(await client.info()).toEqual({ productName: 'Apache Flink', version: '2.3.0' });
      expect(await client.apiVersions()).toEqual(expect.arrayContaining(['V1', 'V2']));

      const session = await client.openSession({ name: 'drey-session', properties: SESSION_PROPERTIES });
      expect(await client.sessionConfig(session)).toMatchObject(SESSION_PROPERTIES);
      await client.heartbeat(session);
      expect(await client.closeSession(session)).toBe('CLOSED');

      const read = await flinkFailure(client.sessionConfig(session));
      expect(read.status).toBe(500);
      expect(read.message).toContain(`Session '${session}' does not exist.`);
      const submit = await flinkFailure(client.executeStatement(session, 'SELECT 1'));
      expect(submit.status).toBe(500);
      expect(submit.message).toContain(`Session '${session}' does not exist.`);
    });
  });

  it('SELECT 1 is NOT_READY at first, then one INSERT row of 1 and EOS', async () => {
    // the operation is not ready until its job is submitted: the job's submission waits at a proxy
    // until the first page has been fetched, however fast the gateway would have been
    await withJobManagerProxy(async (jobManager) => scenario('select-one', async (client) => {
      const session = await client.openSession({ properties: { ...UTC, ...jobManager.properties } });
      jobManager.hold((request) => request === 'POST /v1/jobs');
      const operation = await client.executeStatement(session, 'SELECT 1');
      const first = await client.fetchResults(session, operation, 0, { rowFormat: 'JSON' });
      expect(first).toMatchObject({ resultType: 'NOT_READY', nextToken: 0, columns: [], rows: [] });
      jobManager.release();

      const result = await client.fetchAllResults(session, operation, { pollMs: 100 });
      expect(result).toMatchObject({
        columns: [{ name: 'EXPR$0', logicalType: { type: 'INTEGER', nullable: false } }],
        rows: [{ kind: 'INSERT', fields: [1] }],
        resultKind: 'SUCCESS_WITH_CONTENT',
        isQueryResult: true,
      });
      expect(result.jobId).toMatch(JOB_ID);
      expect(await client.operationStatus(session, operation)).toBe('FINISHED');
      expect(await client.closeOperation(session, operation)).toBe('CLOSED');
      await client.closeSession(session);
    }));
  });

  it('literals of every type come back as the TypeScript values of their logical types', async () => {
    await scenario('literal-types', async (client) => {
      const session = await client.openSession({ properties: UTC });
      const result = await client.fetchAllResults(session, await client.executeStatement(session, LITERALS), { pollMs: 100 });
      expect(result.rows).toHaveLength(1);
      const values = Object.fromEntries(result.columns.map((c, i) => [c.name, result.rows[0]!.fields[i]]));
      expect(values).toEqual(LITERAL_VALUES);
      const types = Object.fromEntries(result.columns.map((c) => [c.name, c.logicalType.type]));
      expect(types).toMatchObject({ tm: 'TIME_WITHOUT_TIME_ZONE', ts: 'TIMESTAMP_WITHOUT_TIME_ZONE', ltz: 'TIMESTAMP_WITH_LOCAL_TIME_ZONE' });

      // numbers a double cannot hold keep every digit, in JSON as in PLAIN_TEXT
      const json = await client.fetchAllResults(session, await client.executeStatement(session, BIG_NUMBERS), { pollMs: 100 });
      expect(json.rows[0]!.fields).toEqual(['9007199254740993', '12345678901234567890.123456789']);
      const text = await client.fetchAllResults(session, await client.executeStatement(session, BIG_NUMBERS), {
        pollMs: 100,
        rowFormat: 'PLAIN_TEXT',
      });
      expect(text.rows[0]!.fields).toEqual(['9007199254740993', '12345678901234567890.123456789']);

      const changelog = await client.fetchAllResults(session, await client.executeStatement(session, CHANGELOG), { pollMs: 100 });
      expect(changelog.columns[0]!.logicalType.type).toBe('MULTISET');
      expect(changelog.rows.map((r) => r.kind)).toEqual(['INSERT', 'UPDATE_BEFORE', 'UPDATE_AFTER', 'UPDATE_BEFORE', 'UPDATE_AFTER']);
      expect(changelog.rows.at(-1)!.fields).toEqual([
        new Map([
          ['a', 2],
          ['b', 1],
        ]),
      ]);
      await client.closeSession(session);
    });
  });

  it('a bounded SELECT over a datagen table of many types is fetched to EOS with each column decoded', async () => {
    await scenario('datagen', async (client) => {
      const session = await client.openSession({ properties: UTC });
      const created = await client.fetchAllResults(session, await client.executeStatement(session, CREATE_GEN), { pollMs: 100 });
      expect(created).toMatchObject({ resultKind: 'SUCCESS', isQueryResult: false, rows: [{ kind: 'INSERT', fields: ['OK'] }] });
      expect(created.jobId).toBeUndefined();

      const result = await client.fetchAllResults(session, await client.executeStatement(session, SELECT_GEN), { pollMs: 100 });
      expect(result.jobId).toMatch(JOB_ID);
      expect(result.columns.map((c) => c.name)).toEqual([
        'id', 'tiny', 'small', 'big', 'f', 'd', 'price', 'flag', 'code', 'name', 'payload', 'day_', 'at_time', 'at_ts',
        'at_ltz', 'tags', 'attrs', 'point', 'bag',
      ]);
      expect(result.rows.map((r) => r.fields[0])).toEqual([1, 2, 3, 4, 5]);
      for (const { kind, fields } of result.rows) {
        const [, tiny, small, big, f, d, price, flag, code, name, payload, day, atTime, atTs, atLtz, tags, attrs, point, bag] = fields;
        expect(kind).toBe('INSERT');
        expect(Number.isInteger(tiny) && Number.isInteger(small)).toBe(true);
        expect(big).toMatch(/^-?\d+$/);
        expect([typeof f, typeof d]).toEqual(['number', 'number']);
        expect(price).toMatch(/^-?\d+\.\d{2}$/);
        expect(typeof flag).toBe('boolean');
        expect(code).toMatch(/^.{4}$/);
        expect(name).toMatch(/^.{12}$/);
        expect(Buffer.isBuffer(payload) && payload.length).toBe(4);
        expect(day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        expect(atTime).toMatch(/^\d{2}:\d{2}:\d{2}/);
        expect(atTs).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);
        expect(atLtz).toMatch(/Z$/);
        expect(Array.isArray(tags) && tags.every(Number.isInteger)).toBe(true);
        expect(attrs).toBeInstanceOf(Map);
        expect(Object.keys(point as object)).toEqual(['x', 'y']);
        expect(bag).toBeInstanceOf(Map);
      }
      await client.closeSession(session);
    });
  });

  it('INSERT INTO a blackhole table returns the id of a job the JobManager knows', async () => {
    await scenario('insert-job', async (client) => {
      const session = await client.openSession({ properties: UTC });
      await client.fetchAllResults(session, await client.executeStatement(session, CREATE_SINK), { pollMs: 100 });
      const result = await client.fetchAllResults(session, await client.executeStatement(session, INSERT_SINK), { pollMs: 100 });
      expect(result).toMatchObject({ resultKind: 'SUCCESS_WITH_CONTENT', isQueryResult: false, columns: [{ name: 'job id' }] });
      expect(result.jobId).toMatch(JOB_ID);
      expect(result.rows).toEqual([{ kind: 'INSERT', fields: [result.jobId] }]);
      const response = await fetch(`${flink!.restUrl}/jobs/${result.jobId}`);
      expect(response.status).toBe(200);
      await client.closeSession(session);
    });
  });

  it('statement errors surface as FlinkErrors carrying Flink’s own message', async () => {
    await scenario('errors', async (client) => {
      const session = await client.openSession({ properties: UTC });
      const syntax = await client.executeStatement(session, SYNTAX_ERROR);
      const parse = await flinkFailure(client.fetchAllResults(session, syntax, { pollMs: 100 }));
      expect(parse.status).toBe(500);
      expect(parse.message).toContain("Incorrect syntax near the keyword 'WHERE' at line 1, column 15.");
      expect(await client.operationStatus(session, syntax)).toBe('ERROR');

      const unknown = await flinkFailure(client.fetchAllResults(session, await client.executeStatement(session, UNKNOWN_TABLE), { pollMs: 100 }));
      expect(unknown.message).toContain("Object 'no_such_table' not found");

      const timeout = await flinkFailure(client.executeStatement(session, 'SELECT 1', { executionTimeoutMs: 1000 }));
      expect(timeout.status).toBe(500);
      expect(timeout.message).toContain("SqlGatewayService doesn't support timeout mechanism now.");

      const intKeys = await flinkFailure(client.fetchAllResults(session, await client.executeStatement(session, INT_KEYED_MAP), { pollMs: 100 }));
      expect(intKeys.status).toBe(500);
      expect(intKeys.message).toContain('Could not map response to JSON.');
      await client.closeSession(session);
    });
  });

  it('cancelling a running INSERT cancels its job; closing a running query cancels its job; a closed operation is gone', async () => {
    // The session's jobs are submitted through a proxy to the JobManager, so the test sees what the
    // gateway asks of it. With table.dml-sync the gateway submits the INSERT's job and waits until its
    // initialisation is over, and only then waits for the job's result, which it asks the JobManager
    // for (GET /jobs/<id>/execution-result) and nothing else does. A cancel while it still submits
    // interrupts the submission and leaves the job running; a cancel while it waits for the result
    // cancels the job. So the test cancels once that request has been seen, not once the job runs.
    await withJobManagerProxy(async (jobManager) => {
      await scenario('cancel-close', async (client) => {
        const session = await client.openSession({ properties: { ...UTC, ...jobManager.properties } });
        await client.fetchAllResults(session, await client.executeStatement(session, CREATE_SINK), { pollMs: 100 });
        await client.fetchAllResults(session, await client.executeStatement(session, CREATE_ENDLESS), { pollMs: 100 });

        // with table.dml-sync the INSERT's operation runs as long as its job does
        const insert = await client.executeStatement(session, INSERT_ENDLESS, { executionConfig: INSERT_ENDLESS_CONFIG });
        const [job] = await until('the INSERT job to run', () => jobsNamed(INSERT_ENDLESS_CONFIG['pipeline.name']), (jobs) => jobs.some((j) => j.state === 'RUNNING'));
        expect(jobManager.seen).toContain('POST /v1/jobs');
        await until('the gateway to wait for the INSERT job\'s result', async () => jobManager.seen, (seen) => seen.some((r) => r.endsWith(`/jobs/${job!.jid}/execution-result`)));
        expect(await client.operationStatus(session, insert)).toBe('RUNNING');
        expect(await client.cancelOperation(session, insert)).toBe('CANCELED');
        expect(await client.operationStatus(session, insert)).toBe('CANCELED');
        await until('the INSERT job to be cancelled', () => jobState(job!.jid), (s) => s === 'CANCELED');
        expect(await client.closeOperation(session, insert)).toBe('CLOSED');
        const gone = await flinkFailure(client.operationStatus(session, insert));
        expect(gone.status).toBe(500);
        expect(gone.message).toContain(`Can not find the submitted operation in the OperationManager with the ${insert}.`);

        // a query's operation is FINISHED once its job is submitted: it cannot be cancelled, only closed
        const query = await client.executeStatement(session, SELECT_ENDLESS);
        const page = await firstPageWithJob(client, session, query);
        expect(page.jobID).toMatch(JOB_ID);
        expect(await client.operationStatus(session, query)).toBe('FINISHED');
        const refused = await flinkFailure(client.cancelOperation(session, query));
        expect(refused.status).toBe(500);
        expect(refused.message).toContain('from FINISHED to CANCELED');
        expect(await client.closeOperation(session, query)).toBe('CLOSED');
        await until('the query job to be cancelled', () => jobState(page.jobID!), (s) => s === 'CANCELED');
        await client.closeSession(session);
      });
    });
  });
});
