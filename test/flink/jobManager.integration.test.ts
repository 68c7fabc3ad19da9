import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { JobManagerClient, TERMINAL_JOB_STATES, describeStackTrace } from '../../src/flink/jobManager.js';
import { startTestFlink } from '../support/flink.js';
import { recordingFile, startRecorder } from '../support/flinkRecording.js';
import { FORST, MISSING_INPUT, NO_SUCH_CLASS, STATE_MACHINE, UNKNOWN_JOB, UNKNOWN_TRIGGER, WORD_COUNT, flinkFailure, until } from '../support/flinkScenarios.js';

// The client against a real Flink 2.3 session cluster, through a recording proxy: each scenario is
// saved (with DREY_RECORD_FLINK=1) to test/flink/recorded/jobmanager/<scenario>.json, which
// jobManager.test.ts replays. The inputs it shares with that test are in test/support/flinkScenarios.ts.

jest.setTimeout(90_000);

const flink = await startTestFlink();
if (!flink) console.warn('SKIPPED JobManager client integration tests: no local Flink (Java or the Flink jars are missing)');
const describeIf = flink ? describe : describe.skip;

const started: string[] = [];
const uploaded: string[] = [];

/** Runs one scenario through a recording proxy and saves the recording when it passed. */
async function scenario(name: string, body: (client: JobManagerClient) => Promise<void>): Promise<void> {
  const recorder = await startRecorder(flink!.restUrl);
  try {
    await body(new JobManagerClient({ baseUrl: recorder.url }));
    recorder.save(recordingFile('jobmanager', name));
  } finally {
    await recorder.close();
  }
}



async function upload(client: JobManagerClient): Promise<string> {
  const file = flink!.exampleJar('StateMachineExample');
  const jarId = await client.uploadJar(path.basename(file), readFileSync(file));
  uploaded.push(jarId);
  return jarId;
}

async function run(client: JobManagerClient, jarId: string, options: Parameters<JobManagerClient['runJar']>[1]): Promise<string> {
  const jobId = await client.runJar(jarId, options);
  started.push(jobId);
  return jobId;
}

afterAll(async () => {
  if (!flink) return;
  const client = new JobManagerClient({ baseUrl: flink.restUrl });
  for (const jobId of started) {
    const state = await client.jobStatus(jobId).catch(() => undefined);
    if (state && !TERMINAL_JOB_STATES.includes(state)) await client.cancel(jobId).catch(() => undefined);
  }
  const left = new Set((await client.listJars()).files.map((f) => f.id));
  for (const jarId of uploaded) if (left.has(jarId)) await client.deleteJar(jarId);
  await flink.stop();
});

describeIf('JobManager client against real Flink', () => {
  it('reads the cluster overview and the Flink version', async () => {
    await scenario('cluster', async (client) => {
      const config = await client.config();
      expect(config['flink-version']).toBe('2.3.0');
      const overview = await client.overview();
      expect(overview['flink-version']).toBe('2.3.0');
      expect(overview.taskmanagers).toBeGreaterThanOrEqual(1);
      expect(overview['slots-total']).toBeGreaterThanOrEqual(overview['slots-available']);
    });
  });

  it('an uploaded jar is listed under its id until it is deleted', async () => {
    await scenario('jars', async (client) => {
      const jarId = await upload(client);
      expect(jarId).toMatch(/_flink-examples-streaming-2\.3\.0\.jar$/);
      const listed = await client.listJars();
      expect(listed.files.find((f) => f.id === jarId)).toMatchObject({ name: 'flink-examples-streaming-2.3.0.jar' });
      await client.deleteJar(jarId);
      expect((await client.listJars()).files.map((f) => f.id)).not.toContain(jarId);
    });
  });

  it('a savepoint keeps the job running, stop-with-savepoint finishes it, and a new run resumes from that savepoint', async () => {
    await scenario('savepoint-and-resume', async (client) => {
      const jarId = await upload(client);
      const jobId = await run(client, jarId, { entryClass: STATE_MACHINE, flinkConfiguration: FORST });

      const overview = await until('the job listed RUNNING', () => client.jobsOverview(), (o) => o.jobs.some((j) => j.jid === jobId && j.state === 'RUNNING'));
      expect(overview.jobs.find((j) => j.jid === jobId)).toMatchObject({ name: 'State machine job', state: 'RUNNING' });
      const details = await until('every vertex RUNNING', () => client.job(jobId), (d) => d.vertices.every((v) => v.status === 'RUNNING'));
      expect(details).toMatchObject({ jid: jobId, state: 'RUNNING' });
      expect(details.vertices.map((v) => v.name)).toContain('Source: Events Generator Source');

      const trigger = await client.triggerSavepoint(jobId, { formatType: 'NATIVE' });
      const savepoint = await client.awaitSavepoint(jobId, trigger, { timeoutMs: 30_000, intervalMs: 250 });
      expect(savepoint).toMatch(/^file:.*\/savepoint-/);
      expect(await client.jobStatus(jobId)).toBe('RUNNING');

      const stop = await client.stopWithSavepoint(jobId, { formatType: 'NATIVE' });
      const final = await client.awaitSavepoint(jobId, stop, { timeoutMs: 30_000, intervalMs: 250 });
      expect(final).toMatch(/^file:.*\/savepoint-/);
      expect(final).not.toBe(savepoint);
      await until('the stopped job FINISHED', () => client.jobStatus(jobId), (s) => s === 'FINISHED');

      const resumed = await run(client, jarId, { entryClass: STATE_MACHINE, flinkConfiguration: FORST, savepointPath: final });
      expect(resumed).not.toBe(jobId);
      await until('the resumed job RUNNING', () => client.jobStatus(resumed), (s) => s === 'RUNNING');
      const stats = await until('a restored checkpoint', () => client.checkpoints(resumed), (c) => c.latest.restored !== null);
      expect(stats.latest.restored).toMatchObject({ is_savepoint: true, external_path: final });
      expect(stats.counts.restored).toBe(1);

      await client.cancel(resumed);
      await until('the resumed job CANCELED', () => client.jobStatus(resumed), (s) => s === 'CANCELED');
      await client.deleteJar(jarId);
    });
  });

  it("a job that fails shows Flink's reason in its exception history", async () => {
    await scenario('failing-job', async (client) => {
      const jarId = await upload(client);
      const jobId = await run(client, jarId, { entryClass: WORD_COUNT, programArgs: ['--input', MISSING_INPUT] });
      await until('the job FAILED', () => client.jobStatus(jobId), (s) => s === 'FAILED');
      const { exceptionHistory } = await until('an exception in the history', () => client.exceptions(jobId), (e) => e.exceptionHistory.entries.length > 0);
      const root = exceptionHistory.entries[0]!;
      expect(root.stacktrace).toContain(`java.io.FileNotFoundException: File ${MISSING_INPUT} does not exist`);
      expect(describeStackTrace(root.stacktrace)).toMatch(
        /^org\.apache\.flink\.runtime\.JobException: Recovery is suppressed by NoRestartBackoffTimeStrategy \(caused by java\.io\.FileNotFoundException: File \/nonexistent\/drey-wordcount-input\.txt does not exist/,
      );
      expect((await client.job(jobId)).state).toBe('FAILED');
      await client.deleteJar(jarId);
    });
  });

  it("errors keep Flink's status and reason", async () => {
    await scenario('errors', async (client) => {
      const jarId = await upload(client);
      const run = await flinkFailure(client.runJar(jarId, { entryClass: NO_SUCH_CLASS }));
      expect(run.status).toBe(500);
      expect(run.message).toContain(`entry point class '${NO_SUCH_CLASS}' was not found in the jar file`);
      expect(run.message).toContain(`ClassNotFoundException: ${NO_SUCH_CLASS}`);

      const unknownJob = [
        () => client.job(UNKNOWN_JOB),
        () => client.jobStatus(UNKNOWN_JOB),
        () => client.exceptions(UNKNOWN_JOB),
        () => client.checkpoints(UNKNOWN_JOB),
        () => client.cancel(UNKNOWN_JOB),
      ];
      for (const call of unknownJob) {
        const e = await flinkFailure(call());
        expect(e.status).toBe(404);
        expect(e.message).toContain(`Could not find Flink job (${UNKNOWN_JOB})`);
      }
      const unknownTrigger = await flinkFailure(client.savepointStatus(UNKNOWN_JOB, UNKNOWN_TRIGGER));
      expect(unknownTrigger.status).toBe(404);
      expect(unknownTrigger.message).toContain(`There is no savepoint operation with triggerId=${UNKNOWN_TRIGGER}`);

      // Flink accepts a savepoint of a job it does not know and reports the failure when asked.
      const trigger = await client.triggerSavepoint(UNKNOWN_JOB);
      const savepoint = await flinkFailure(client.awaitSavepoint(UNKNOWN_JOB, trigger, { timeoutMs: 10_000, intervalMs: 250 }));
      expect(savepoint.message).toContain(`Could not find Flink job (${UNKNOWN_JOB})`);

      await client.deleteJar(jarId);
      const again = await flinkFailure(client.deleteJar(jarId));
      expect(again.status).toBe(400);
      expect(again.message).toContain(`File ${jarId} does not exist`);
    });
  });
});
