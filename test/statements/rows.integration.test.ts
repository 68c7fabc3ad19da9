import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { SqlGatewayClient, type RowFormat } from '../../src/flink/sqlGateway.js';
import { startTestFlink } from '../support/flink.js';
import { recordingFile, startRecorder } from '../support/flinkRecording.js';
import { until } from '../support/flinkScenarios.js';
import { ALL_TYPES, BATCH, CHANGELOG, SESSION } from '../support/sqlTypes.js';

// Records, from a real Flink 2.3 SQL Gateway, what the CMF row encoding is checked against: one
// SELECT over every type root the Confluent CLI knows, and a changelog query, each fetched with the
// JSON row format (numbers as text) and with PLAIN_TEXT, in a session with a time zone of its own.
// With DREY_RECORD_FLINK=1 it is saved to test/flink/recorded/sql-gateway/all-types.json, which
// rows.test.ts replays (that test reads the statements from the recording).

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
