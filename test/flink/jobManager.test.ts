import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { JobManagerClient, describeStackTrace } from '../../src/flink/jobManager.js';
import { loadRecording, recordingFile, startReplay, type Exchange, type Replay } from '../support/flinkRecording.js';
import { FORST, MISSING_INPUT, NO_SUCH_CLASS, STATE_MACHINE, UNKNOWN_JOB, UNKNOWN_TRIGGER, WORD_COUNT, flinkFailure } from '../support/flinkScenarios.js';

// The JobManager client against the exchanges jobManager.integration.test.ts recorded from real
// Flink 2.3.0. Every Flink answer here is one of those recorded answers; the client is driven through
// the same flows, and a small proxy in front of the replay keeps what the client sent, so each test
// also checks that the client sent exactly the requests real Flink received.

const JAR_NAME = 'flink-examples-streaming-2.3.0.jar';
/** The upload's content does not matter to a replay; its name does (it is in the recorded request). */
const JAR_BYTES = new Uint8Array([0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const JAR_ID = /^[0-9a-f-]{36}_flink-examples-streaming-2\.3\.0\.jar$/;

/** A request as it reached the replay, described like the recorder describes one. */
interface Sent {
  method: string;
  path: string;
  request?: unknown;
}

/** A proxy in front of a replay that keeps what passed, and can cut the connection of chosen requests instead. */
interface Proxy {
  url: string;
  sent: Sent[];
  /** Requests for which this answers true have their connection reset and never reach the replay. */
  drop: (method: string, path: string) => boolean;
  close(): Promise<void>;
}

async function startProxy(target: string): Promise<Proxy> {
  const proxy: Proxy = { url: '', sent: [], drop: () => false, close: async () => undefined };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (proxy.drop(req.method!, req.url!)) {
      req.socket.destroy();
      return;
    }
    proxy.sent.push({ method: req.method!, path: req.url!, request: describeBody(req.headers['content-type'], body) });
    const upstream = await fetch(target + req.url, { method: req.method, body: body.length > 0 ? body : undefined });
    const type = upstream.headers.get('content-type');
    res.writeHead(upstream.status, type ? { 'content-type': type } : {}).end(await upstream.text());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return proxy;

  function describeBody(type: string | undefined, body: Buffer): unknown {
    if (body.length === 0) return undefined;
    if (type?.startsWith('multipart/')) return { multipart: /filename="([^"]*)"/.exec(body.toString('latin1'))?.[1] };
    return JSON.parse(body.toString('utf8'));
  }
}

/** What the recording says the client sent (an upload's byte count is the real jar's, so it is left out). */
function recordedRequests(exchanges: Exchange[]): Sent[] {
  return exchanges.map((e) => {
    const request = e.request as { multipart?: string } | undefined;
    return { method: e.method, path: e.path, request: request?.multipart ? { multipart: request.multipart } : e.request };
  });
}

const open: Array<Replay | Proxy> = [];
afterEach(async () => {
  for (const server of open.splice(0)) await server.close();
});

interface Setup {
  exchanges: Exchange[];
  replay: Replay;
  proxy: Proxy;
  client: JobManagerClient;
}

async function replaying(scenario: string, keep: (e: Exchange) => boolean = () => true): Promise<Setup> {
  const exchanges = loadRecording(recordingFile('jobmanager', scenario));
  const replay = await startReplay(exchanges.filter(keep));
  const proxy = await startProxy(replay.url);
  open.push(proxy, replay);
  return { exchanges, replay, proxy, client: new JobManagerClient({ baseUrl: proxy.url, retryDelayMs: 5 }) };
}

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await probe();
    if (done(value)) return value;
  }
  throw new Error(`the recording never reached the awaited state`);
}


/** Every request matched the recording, in the order real Flink received them. */
function expectSameRequests(setup: Setup): void {
  expect(setup.replay.unmatched).toEqual([]);
  expect(setup.proxy.sent).toEqual(recordedRequests(setup.exchanges));
}

describe('JobManager client on recorded Flink 2.3.0 answers', () => {
  it('reads the Flink version from the config and the slots from the overview', async () => {
    const setup = await replaying('cluster');
    const config = await setup.client.config();
    expect(config).toMatchObject({ 'flink-version': '2.3.0', features: { 'web-submit': true } });
    const overview = await setup.client.overview();
    expect(overview).toMatchObject({ 'flink-version': '2.3.0', taskmanagers: 1 });
    expect(overview['slots-total']).toBeGreaterThanOrEqual(overview['slots-available']);
    expectSameRequests(setup);
  });

  it('an upload returns the jar id the list and the delete use', async () => {
    const setup = await replaying('jars');
    const { client } = setup;
    const jarId = await client.uploadJar(JAR_NAME, JAR_BYTES);
    expect(jarId).toMatch(JAR_ID);
    const listed = await client.listJars();
    expect(listed.files).toEqual([expect.objectContaining({ id: jarId, name: JAR_NAME, entry: expect.any(Array) })]);
    await client.deleteJar(jarId);
    expect((await client.listJars()).files).toEqual([]);
    expectSameRequests(setup);
  });

  it('a savepoint keeps the job running, stop-with-savepoint finishes it, and the next run restores from that savepoint', async () => {
    const setup = await replaying('savepoint-and-resume');
    const { client } = setup;
    const jarId = await client.uploadJar(JAR_NAME, JAR_BYTES);
    const jobId = await client.runJar(jarId, { entryClass: STATE_MACHINE, flinkConfiguration: FORST });
    expect(jobId).toMatch(/^[0-9a-f]{32}$/);

    const overview = await until(() => client.jobsOverview(), (o) => o.jobs.some((j) => j.jid === jobId && j.state === 'RUNNING'));
    expect(overview.jobs.find((j) => j.jid === jobId)).toMatchObject({ name: 'State machine job', 'end-time': -1, tasks: { total: 2 } });
    const details = await until(() => client.job(jobId), (d) => d.vertices.every((v) => v.status === 'RUNNING'));
    expect(details).toMatchObject({ jid: jobId, state: 'RUNNING', 'application-id': jobId });
    expect(details.vertices.map((v) => [v.name, v.parallelism])).toEqual([
      ['Source: Events Generator Source', 1],
      ['Flat Map -> Sink: Print to Std. Out', 1],
    ]);

    const trigger = await client.triggerSavepoint(jobId, { formatType: 'NATIVE' });
    expect(await client.savepointStatus(jobId, trigger)).toEqual({ status: 'IN_PROGRESS' });
    const savepoint = await client.awaitSavepoint(jobId, trigger, { timeoutMs: 5000, intervalMs: 1 });
    expect(savepoint).toMatch(/^file:\/.*\/savepoint-[0-9a-f]{6}-[0-9a-f]{12}$/);
    expect(await client.jobStatus(jobId)).toBe('RUNNING');

    const stop = await client.stopWithSavepoint(jobId, { formatType: 'NATIVE' });
    const final = await client.awaitSavepoint(jobId, stop, { timeoutMs: 5000, intervalMs: 1 });
    expect(final).toMatch(/^file:\/.*\/savepoint-/);
    expect(final).not.toBe(savepoint);
    expect(await until(() => client.jobStatus(jobId), (s) => s === 'FINISHED')).toBe('FINISHED');

    const resumed = await client.runJar(jarId, { entryClass: STATE_MACHINE, flinkConfiguration: FORST, savepointPath: final });
    expect(resumed).not.toBe(jobId);
    await until(() => client.jobStatus(resumed), (s) => s === 'RUNNING');
    const stats = await until(() => client.checkpoints(resumed), (c) => c.latest.restored !== null);
    expect(stats.latest.restored).toMatchObject({ is_savepoint: true, external_path: final });
    expect(stats.counts.restored).toBe(1);

    await client.cancel(resumed);
    expect(await until(() => client.jobStatus(resumed), (s) => s === 'CANCELED')).toBe('CANCELED');
    await client.deleteJar(jarId);
    expectSameRequests(setup);
  });

  it('a savepoint request names its format, and a stop does too without draining', async () => {
    const setup = await replaying('savepoint-and-resume');
    const { client } = setup;
    const jarId = await client.uploadJar(JAR_NAME, JAR_BYTES);
    const jobId = await client.runJar(jarId, { entryClass: STATE_MACHINE, flinkConfiguration: FORST });
    await client.triggerSavepoint(jobId, { formatType: 'NATIVE' });
    await client.stopWithSavepoint(jobId, { formatType: 'NATIVE' });
    expect(setup.proxy.sent.filter((s) => s.method === 'POST').map((s) => s.request)).toEqual([
      { multipart: JAR_NAME },
      { entryClass: STATE_MACHINE, flinkConfiguration: FORST },
      { 'cancel-job': false, formatType: 'NATIVE' },
      { drain: false, formatType: 'NATIVE' },
    ]);
  });

  it("a failed job's exception history carries Flink's root cause", async () => {
    const setup = await replaying('failing-job');
    const { client } = setup;
    const jarId = await client.uploadJar(JAR_NAME, JAR_BYTES);
    const jobId = await client.runJar(jarId, { entryClass: WORD_COUNT, programArgs: ['--input', MISSING_INPUT] });
    expect(await until(() => client.jobStatus(jobId), (s) => s === 'FAILED')).toBe('FAILED');
    const { exceptionHistory } = await until(() => client.exceptions(jobId), (e) => e.exceptionHistory.entries.length > 0);
    expect(exceptionHistory.truncated).toBe(false);
    const root = exceptionHistory.entries[0]!;
    expect(root).toMatchObject({ exceptionName: 'org.apache.flink.runtime.JobException', concurrentExceptions: [] });
    expect(describeStackTrace(root.stacktrace)).toBe(
      'org.apache.flink.runtime.JobException: Recovery is suppressed by NoRestartBackoffTimeStrategy' +
        ` (caused by java.io.FileNotFoundException: File ${MISSING_INPUT} does not exist or the user running Flink ('root') has insufficient permissions to access it.)`,
    );
    const job = await client.job(jobId);
    expect(job).toMatchObject({ name: 'WordCount', state: 'FAILED' });
    expect(job['end-time']).toBeGreaterThan(0);
    await client.deleteJar(jarId);
    expect(setup.proxy.sent[1]!.request).toEqual({ entryClass: WORD_COUNT, programArgsList: ['--input', MISSING_INPUT] });
    expectSameRequests(setup);
  });

  it("a run with a wrong entry class fails with Flink's reason, not a bare 500", async () => {
    const setup = await replaying('errors');
    const jarId = await setup.client.uploadJar(JAR_NAME, JAR_BYTES);
    const e = await flinkFailure(setup.client.runJar(jarId, { entryClass: NO_SUCH_CLASS }));
    expect(e.status).toBe(500);
    expect(e.message).toBe(
      `flink run of jar ${jarId}: java.util.concurrent.CompletionException: org.apache.flink.client.program.ProgramInvocationException:` +
        ` The program's entry point class '${NO_SUCH_CLASS}' was not found in the jar file. (caused by java.lang.ClassNotFoundException: ${NO_SUCH_CLASS})`,
    );
    expect(e.errors[0]).toBe('Internal server error.');
  });

  it.each([
    ['job details', (c: JobManagerClient) => c.job(UNKNOWN_JOB), 'Job 0123456789abcdef0123456789abcdef not found'],
    ['job status (a 500 from Flink)', (c: JobManagerClient) => c.jobStatus(UNKNOWN_JOB), 'FlinkJobNotFoundException: Could not find Flink job'],
    ['exceptions', (c: JobManagerClient) => c.exceptions(UNKNOWN_JOB), 'Job 0123456789abcdef0123456789abcdef not found'],
    ['checkpoints', (c: JobManagerClient) => c.checkpoints(UNKNOWN_JOB), 'Job 0123456789abcdef0123456789abcdef not found'],
    ['cancel', (c: JobManagerClient) => c.cancel(UNKNOWN_JOB), 'Job could not be found.'],
    ['savepoint status', (c: JobManagerClient) => c.savepointStatus(UNKNOWN_JOB, UNKNOWN_TRIGGER), `no savepoint operation with triggerId=${UNKNOWN_TRIGGER}`],
  ])('%s of an unknown job is a FlinkError 404 with Flink message', async (_what, call, message) => {
    const setup = await replaying('errors');
    const e = await flinkFailure(call(setup.client));
    expect(e.status).toBe(404);
    expect(e.message).toContain(message);
    expect(e.message).not.toContain('\tat ');
  });

  it("awaiting a savepoint that failed throws Flink's reason and keeps the stack trace", async () => {
    const setup = await replaying('errors');
    const trigger = await setup.client.triggerSavepoint(UNKNOWN_JOB);
    const status = await setup.client.savepointStatus(UNKNOWN_JOB, trigger);
    expect(status).toMatchObject({ status: 'FAILED', failureCause: { class: 'java.util.concurrent.CompletionException' } });
    const e = await flinkFailure(setup.client.awaitSavepoint(UNKNOWN_JOB, trigger, { timeoutMs: 5000, intervalMs: 1 }));
    expect(e.message).toBe(
      `flink savepoint of job ${UNKNOWN_JOB} failed: java.util.concurrent.CompletionException:` +
        ` org.apache.flink.runtime.messages.FlinkJobNotFoundException: Could not find Flink job (${UNKNOWN_JOB})`,
    );
    expect(e.errors[0]).toContain('\tat org.apache.flink.runtime.dispatcher.');
  });

  it('awaiting a savepoint still in progress at the deadline throws a FlinkError with status 0', async () => {
    // the recording without its COMPLETED answer: the savepoint stays IN_PROGRESS
    const setup = await replaying('savepoint-and-resume', (e) => !(e.path.includes('/savepoints/') && e.response.includes('COMPLETED')));
    const jarId = await setup.client.uploadJar(JAR_NAME, JAR_BYTES);
    const jobId = await setup.client.runJar(jarId, { entryClass: STATE_MACHINE, flinkConfiguration: FORST });
    const trigger = await setup.client.triggerSavepoint(jobId, { formatType: 'NATIVE' });
    const e = await flinkFailure(setup.client.awaitSavepoint(jobId, trigger, { timeoutMs: 50, intervalMs: 10 }));
    expect(e.status).toBe(0);
    expect(e.message).toContain('not completed within 50 ms');
  });

  it('deleting a jar twice is a 400 naming the missing file', async () => {
    const setup = await replaying('errors');
    const jarId = await setup.client.uploadJar(JAR_NAME, JAR_BYTES);
    await setup.client.deleteJar(jarId);
    const e = await flinkFailure(setup.client.deleteJar(jarId));
    expect(e.status).toBe(400);
    expect(e.message).toContain(`File ${jarId} does not exist`);
  });
});

describe('JobManager client retries', () => {
  it('a read whose connection was reset is sent again and answers', async () => {
    const setup = await replaying('cluster');
    let resets = 0;
    setup.proxy.drop = (method, path) => method === 'GET' && path === '/overview' && resets++ === 0;
    const overview = await setup.client.overview();
    expect(overview['flink-version']).toBe('2.3.0');
    expect(setup.proxy.sent).toEqual([{ method: 'GET', path: '/overview' }]);
  });

  const writes: Array<[string, string, (c: JobManagerClient, ids: { jarId: string; jobId: string }) => Promise<unknown>]> = [
    ['a jar run', '/run', (c, { jarId }) => c.runJar(jarId, { entryClass: STATE_MACHINE })],
    ['a savepoint trigger', '/savepoints', (c, { jobId }) => c.triggerSavepoint(jobId, { formatType: 'NATIVE' })],
    ['a stop-with-savepoint', '/stop', (c, { jobId }) => c.stopWithSavepoint(jobId, { formatType: 'NATIVE' })],
    ['a cancel', '?mode=cancel', (c, { jobId }) => c.cancel(jobId)],
  ];
  it.each(writes)('%s whose connection was reset fails without being sent again', async (_what, marker, call) => {
    const setup = await replaying('savepoint-and-resume');
    const jarId = await setup.client.uploadJar(JAR_NAME, JAR_BYTES);
    const jobId = await setup.client.runJar(jarId, { entryClass: STATE_MACHINE, flinkConfiguration: FORST });
    const before = setup.proxy.sent.length;
    let resets = 0;
    setup.proxy.drop = (method, path) => method !== 'GET' && path.endsWith(marker) && resets++ === 0;
    const e = await flinkFailure(call(setup.client, { jarId, jobId }));
    expect(e.status).toBe(0);
    expect(setup.proxy.sent.slice(before)).toEqual([]);
  });
});
