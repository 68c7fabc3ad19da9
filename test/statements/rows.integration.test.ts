import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { SqlGatewayClient, type RowFormat } from '../../src/flink/sqlGateway.js';
import { startTestFlink } from '../support/flink.js';
import { recordingFile, startRecorder } from '../support/flinkRecording.js';
import { until } from '../support/flinkScenarios.js';

// Records, from a real Flink 2.3 SQL Gateway, what the CMF row encoding is checked against: one
// SELECT over every type root the Confluent CLI knows, and a changelog query, each fetched with the
// JSON row format (numbers as text) and with PLAIN_TEXT, in a session with a time zone of its own.
// With DREY_RECORD_FLINK=1 it is saved to test/flink/recorded/sql-gateway/all-types.json, which
// rows.test.ts replays (that test reads the statements from the recording).

/** A zone with daylight saving time, so that TIMESTAMP_LTZ values show which offset was applied. */
const SESSION = { 'table.local-time-zone': 'America/New_York', 'parallelism.default': '1' };
/** COLLECT is the only way to a MULTISET; in batch mode it gives one row instead of a changelog. */
const BATCH = { 'execution.runtime-mode': 'batch' };
// Flink SQL has no way to a column of the NULL type (`NULL` alone is "Illegal use of 'NULL'", and
// `CAST(x AS NULL)` does not parse), and a MAP or MULTISET with other than string keys cannot be
// fetched as JSON: neither is here.
const ALL_TYPES = `SELECT CAST('ab' AS CHAR(3)) AS c, '' AS e, CAST('héllo, "wörld"' AS VARCHAR(20)) AS vc, CAST('s' AS STRING) AS s,
  TRUE AS b, FALSE AS bf, x'0102ff' AS bin, CAST(x'cafe' AS VARBINARY(10)) AS vbin,
  CAST('100.00' AS DECIMAL(5,2)) AS dec1, CAST('-0.000123' AS DECIMAL(10,6)) AS dec2,
  CAST('1234567890123456789012345678.9012345678' AS DECIMAL(38,10)) AS dwide,
  CAST('-12345678901234567890.123456789012345678' AS DECIMAL(38,18)) AS dneg, CAST(0 AS DECIMAL(38,18)) AS dzero,
  CAST(1e10 AS DECIMAL(20,2)) AS d1e10,
  CAST(-128 AS TINYINT) AS ti, CAST(32767 AS SMALLINT) AS si, -2147483648 AS i,
  CAST(9223372036854775807 AS BIGINT) AS bmax, CAST(-9007199254740993 AS BIGINT) AS bneg,
  CAST(1.5 AS FLOAT) AS f, CAST(1e20 AS FLOAT) AS fbig, CAST(0.1 AS FLOAT) AS f01,
  CAST(2.25 AS DOUBLE) AS d, CAST(1e20 AS DOUBLE) AS dbig, CAST(1e-5 AS DOUBLE) AS dsmall,
  CAST(0.1 AS DOUBLE) + CAST(0.2 AS DOUBLE) AS dsum, CAST('NaN' AS DOUBLE) AS dnan, CAST('-Infinity' AS DOUBLE) AS dninf,
  DATE '2024-01-02' AS dt, DATE '0099-12-31' AS dold,
  TIME '12:34:56.789' AS tm, TIME '12:34:56' AS tm0, CAST(TIME '12:34:56.100' AS TIME(3)) AS tm1,
  CAST(TIME '00:00:00' AS TIME(3)) AS tmz,
  TIMESTAMP '2024-01-02 03:04:05.123456' AS ts6, TIMESTAMP '2024-01-02 03:04:05.100' AS ts3,
  CAST(TIMESTAMP '2024-01-02 03:04:05' AS TIMESTAMP(0)) AS ts0,
  CAST(TIMESTAMP '2024-01-02 03:04:05.123456789' AS TIMESTAMP(9)) AS ts9,
  CAST(TIMESTAMP '2024-01-02 03:04:00' AS TIMESTAMP(6)) AS tsw,
  TO_TIMESTAMP_LTZ(1704164645123, 3) AS ltz3,
  CAST(TO_TIMESTAMP_LTZ(1704164645000, 3) AS TIMESTAMP_LTZ(6)) AS ltz6,
  CAST(TO_TIMESTAMP_LTZ(1720000000000, 3) AS TIMESTAMP_LTZ(0)) AS ltz0,
  INTERVAL '10-2' YEAR TO MONTH AS iym, INTERVAL '3' MONTH AS imon, INTERVAL '-1-2' YEAR TO MONTH AS iymneg,
  INTERVAL '2' DAY AS iday, INTERVAL '1 02:03:04.5' DAY TO SECOND AS ids,
  INTERVAL '-1 02:03:04.005' DAY TO SECOND AS idsneg,
  CAST(NULL AS INT) AS nint, CAST(NULL AS STRING) AS nstr,
  ARRAY[1, CAST(NULL AS INT)] AS arr, ARRAY['a', CAST(NULL AS STRING), ''] AS arrs,
  ARRAY[ARRAY[1, 2], CAST(NULL AS ARRAY<INT>)] AS arrnest,
  ARRAY[CAST(9007199254740993 AS BIGINT), CAST(9223372036854775807 AS BIGINT)] AS arrbig,
  ARRAY[CAST('12345678901234567890.123456789' AS DECIMAL(38,9)), CAST(NULL AS DECIMAL(38,9))] AS arrdec,
  ROW(TIMESTAMP '2024-01-02 03:04:05.100', CAST(1.5 AS DECIMAL(5,2)), x'01ff', TRUE, INTERVAL '2' DAY,
    INTERVAL '3' MONTH, TO_TIMESTAMP_LTZ(1704164645123, 3), CAST(1e20 AS DOUBLE), TIME '12:00:00.100',
    DATE '2024-01-02', CAST(NULL AS INT)) AS atoms,
  MAP['a', 1, 'b', CAST(NULL AS INT)] AS mp,
  MAP['k', ARRAY[CAST(1.5 AS DOUBLE)], 'n', CAST(NULL AS ARRAY<DOUBLE>)] AS mpnest,
  CAST(ROW(1, 'x', ROW(TRUE), CAST(NULL AS DOUBLE)) AS ROW<id INT, name STRING, sub ROW<flag BOOLEAN>, missing DOUBLE>) AS rw,
  CAST(NULL AS ROW<a INT>) AS rwnull,
  ROW(ARRAY[ROW(1, 'a')], MAP['m', ROW(CAST(2 AS BIGINT))]) AS rwdeep,
  ARRAY[TO_TIMESTAMP_LTZ(1704164645123, 3), TO_TIMESTAMP_LTZ(1720000000000, 3)] AS ltzs,
  ROW(ARRAY[TO_TIMESTAMP_LTZ(1720000000000, 3)], MAP['k', CAST(TO_TIMESTAMP_LTZ(1704164645000, 3) AS TIMESTAMP_LTZ(6))]) AS rwltz,
  bag
FROM (SELECT COLLECT(v) AS bag FROM (VALUES ('a'), ('a'), ('b')) AS t(v))`;
/** a→1, a→2, b→1, c→1 counted by count: +I(1,1) -D(1,1) +I(2,1) +I(1,1) -U(1,1) +U(1,2). */
const CHANGELOG = "SELECT n, COUNT(*) AS keys_ FROM (SELECT v, COUNT(*) AS n FROM (VALUES ('a'), ('a'), ('b'), ('c')) AS t(v) GROUP BY v) GROUP BY n";

jest.setTimeout(120_000);

const flink = await startTestFlink();
if (!flink) console.warn('SKIPPED the all-types recording: no local Flink (Java or the Flink jars are missing)');
const describeIf = flink ? describe : describe.skip;

afterAll(async () => {
  await flink?.stop();
});

/** How many jobs the JobManager has finished (asked directly, not through the recorder). */
async function finishedJobs(): Promise<number> {
  const response = await fetch(`${flink!.restUrl}/jobs/overview`);
  const { jobs } = (await response.json()) as { jobs: { state: string }[] };
  return jobs.filter((j) => j.state === 'FINISHED').length;
}

describeIf('result rows of every type from Flink 2.3', () => {
  it('every type root comes back as JSON (numbers as text) and as PLAIN_TEXT, and a changelog with all four row kinds', async () => {
    const recorder = await startRecorder(flink!.gatewayUrl);
    try {
      const client = new SqlGatewayClient({ baseUrl: recorder.url });
      const session = await client.openSession({ properties: SESSION });
      let jobs = await finishedJobs();
      const run = async (statement: string, rowFormat: RowFormat, executionConfig?: Record<string, string>) => {
        const operation = await client.executeStatement(session, statement, { executionConfig });
        // the rows wait at the gateway once the job is over: fetching only then keeps the recording to a few pages
        jobs += 1;
        await until('the statement’s job to finish', finishedJobs, (n) => n >= jobs, 60_000);
        return client.fetchAllResults(session, operation, { rowFormat, numbers: 'text', pollMs: 100 });
      };

      const json = await run(ALL_TYPES, 'JSON', BATCH);
      const text = await run(ALL_TYPES, 'PLAIN_TEXT', BATCH);
      expect(json.rows).toHaveLength(1);
      expect(text.rows).toHaveLength(1);
      expect(json.columns).toEqual(text.columns);
      expect(json.rows[0]!.fields[json.columns.findIndex((c) => c.name === 'bmax')]).toBe('9223372036854775807');

      const changes = await run(CHANGELOG, 'JSON');
      const changeText = await run(CHANGELOG, 'PLAIN_TEXT');
      const kinds = ['INSERT', 'DELETE', 'INSERT', 'INSERT', 'UPDATE_BEFORE', 'UPDATE_AFTER'];
      expect(changes.rows.map((r) => r.kind)).toEqual(kinds);
      expect(changeText.rows.map((r) => r.kind)).toEqual(kinds);
      await client.closeSession(session);
      recorder.save(recordingFile('sql-gateway', 'all-types'));
    } finally {
      await recorder.close();
    }
  });
});
