import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { JobManagerClient } from '../../src/flink/jobManager.js';
import type { FlinkDeployment } from '../../src/kube/flinkDeployments.js';
import { eventually, startDrey, type TestDrey } from '../support/drey.js';
import { application, environment } from '../support/fixtures.js';
import { testJavaTools, TEST_FLINK_CACHE } from '../support/flink.js';

/**
 * End to end on real Flink: applications posted through drey's API become FlinkDeployments in the
 * simulated cluster, whose operator runs their jobs on drey's local Flink.
 */

const ENV = 'real-flink';
const NS = 'real-flink-ns';

/** The StateMachineExample as the README's example posts it: ForSt state, NATIVE savepoints. */
function stateMachine(name: string, spec: Record<string, unknown> = {}) {
  return application(name, {
    flinkVersion: 'v2_2',
    flinkConfiguration: {
      'taskmanager.numberOfTaskSlots': '1',
      // the operator insists on a savepoint directory for upgradeMode savepoint
      'execution.checkpointing.savepoint-dir': `file://${drey!.dataDir}/savepoints`,
      // the example keeps its state with the async state API, which only ForSt can snapshot,
      // and ForSt takes savepoints in its NATIVE format
      'state.backend.type': 'forst',
      'kubernetes.operator.savepoint.format.type': 'NATIVE',
    },
    job: {
      jarURI: 'local:///opt/flink/examples/streaming/StateMachineExample.jar',
      state: 'running',
      parallelism: 1,
      upgradeMode: 'savepoint',
    },
    ...spec,
  });
}

let drey: TestDrey | undefined;
let jm: JobManagerClient;

beforeAll(async () => {
  if (!testJavaTools()) return;
  drey = await startDrey({ CMF_LOCAL_FLINK: 'on', CMF_FLINK_CACHE: TEST_FLINK_CACHE, CMF_SIM_STEP_MS: '100' });
  jm = new JobManagerClient({ baseUrl: drey.drey.flink!.restUrl });
  expect((await drey.post('/cmf/api/v1/environments', environment(ENV, NS))).status).toBe(201);
}, 300_000);

afterAll(async () => {
  await drey?.stop();
}, 120_000);

async function deployment(name: string): Promise<FlinkDeployment | undefined> {
  return drey!.kube.get(NS, name);
}

const app = (name: string) => `/cmf/api/v1/environments/${ENV}/applications/${name}`;

describe('applications on local Flink', () => {
  it('runs the StateMachineExample as a real job, suspends it with a savepoint and resumes from it', async () => {
    if (!drey) return;
    expect((await drey.post(`/cmf/api/v1/environments/${ENV}/applications`, stateMachine('state-machine'))).status).toBe(201);

    // running: a real job id, seen RUNNING by the JobManager, through the web UI proxy too
    const first = await eventually(
      'the job to run',
      async () => {
        const d = await deployment('state-machine');
        return d?.status?.lifecycleState === 'STABLE' && d.status.jobStatus?.state === 'RUNNING' ? d.status.jobStatus.jobId : undefined;
      },
      120_000,
    );
    expect(first).toMatch(/^[0-9a-f]{32}$/);
    expect(await jm.jobStatus(first!)).toBe('RUNNING');
    // (the proxy is not part of the CMF contract, so it is called without the contract check)
    const overview = await fetch(`${drey.url}${app('state-machine')}/flink-web-ui/jobs/overview`);
    expect(overview.status).toBe(200);
    const jobs = ((await overview.json()) as { jobs: { jid: string; state: string; name: string }[] }).jobs;
    expect(jobs).toContainEqual(expect.objectContaining({ jid: first, state: 'RUNNING', name: 'State machine job' }));
    const ui = await fetch(`${drey.url}${app('state-machine')}/flink-web-ui/`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('<title>Apache Flink Web Dashboard</title>');
    // the application's status follows the FlinkDeployment's, a watch event later
    const jobStatus = await eventually(
      "the application's status to show the running job",
      async () => {
        const shown = ((await drey!.get(app('state-machine'))).body as { status?: { jobStatus?: { jobId?: string; state?: string } } }).status?.jobStatus;
        return shown?.state === 'RUNNING' ? shown : undefined;
      },
      30_000,
    );
    expect(jobStatus).toMatchObject({ jobId: first, state: 'RUNNING' });

    // suspended: stopped with a real savepoint, which is on disk
    expect((await drey.post(`${app('state-machine')}/suspend`, {})).status).toBe(200);
    const savepoint = await eventually(
      'the job to be suspended with a savepoint',
      async () => {
        const d = await deployment('state-machine');
        return d?.status?.lifecycleState === 'SUSPENDED' ? d.status.jobStatus?.upgradeSavepointPath : undefined;
      },
      120_000,
    );
    expect(savepoint).toMatch(/^file:.*savepoint-/);
    expect(existsSync(new URL(savepoint!).pathname)).toBe(true);
    expect(await jm.jobStatus(first!)).toBe('FINISHED');

    // started again: a new job, restored from that savepoint
    expect((await drey.post(`${app('state-machine')}/start`, {})).status).toBe(200);
    const second = await eventually(
      'the job to run again',
      async () => {
        const d = await deployment('state-machine');
        const jobId = d?.status?.jobStatus?.jobId;
        return jobId && jobId !== first && d.status?.jobStatus?.state === 'RUNNING' ? jobId : undefined;
      },
      120_000,
    );
    const restored = await eventually('the restore to be reported', async () => (await jm.checkpoints(second!)).latest?.restored ?? undefined, 30_000);
    expect(restored).toMatchObject({ is_savepoint: true, external_path: savepoint });
  }, 400_000);

  it('leaves an application whose jarURI it cannot run in an honest error, and runs nothing', async () => {
    if (!drey) return;
    const before = (await jm.jobsOverview()).jobs.length;
    const spec = stateMachine('own-jar').spec;
    const body = stateMachine('own-jar', { job: { ...(spec.job as object), jarURI: 'local:///opt/flink/usrlib/my-job.jar' } });
    expect((await drey.post(`/cmf/api/v1/environments/${ENV}/applications`, body)).status).toBe(201);
    const error = await eventually('the error', async () => (await deployment('own-jar'))?.status?.error ?? undefined, 60_000);
    expect((JSON.parse(error) as { message: string }).message).toContain("jarURI 'local:///opt/flink/usrlib/my-job.jar' cannot be run by drey's local Flink");
    const appStatus = await eventually(
      'the application to show it',
      async () => ((await drey!.get(app('own-jar'))).body as { status?: { error?: string } }).status?.error,
      30_000,
    );
    expect(appStatus).toContain('cannot be run');
    expect((await jm.jobsOverview()).jobs.length).toBe(before);
  }, 120_000);

  it('cancels the job when the application is deleted', async () => {
    if (!drey) return;
    const running = (await deployment('state-machine'))?.status?.jobStatus?.jobId;
    expect(running).toBeDefined();
    expect((await drey.delete(app('state-machine'))).status).toBe(200);
    await eventually('the application to go', async () => ((await drey!.get(app('state-machine'))).status === 404 ? true : undefined), 60_000);
    expect(await eventually('the job to be cancelled', async () => ((await jm.jobStatus(running!)) === 'CANCELED' ? true : undefined), 30_000)).toBe(true);
  }, 120_000);
});
