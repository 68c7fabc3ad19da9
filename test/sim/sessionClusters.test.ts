import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { JobManagerClient } from '../../src/flink/jobManager.js';
import { kubeConfigFromString } from '../../src/kube/connection.js';
import { FlinkDeployments, OPERATOR_FINALIZER, type FlinkDeployment } from '../../src/kube/flinkDeployments.js';
import { createLogger } from '../../src/log.js';
import { SimCluster } from '../../src/sim/cluster.js';
import { flinkDeploymentValidator, sharedCrdFile } from '../support/crd.js';
import { startTestFlink, type TestFlink } from '../support/flink.js';
import { eventually } from '../support/eventually.js';

/**
 * Session-mode FlinkDeployments (no `spec.job`), the clusters drey runs SQL statements on, through
 * the simulated API server and operator: the statuses the real operator 1.15 writes for them.
 */

const NS = 'sessions';
const validate = flinkDeploymentValidator();
if (!validate) console.warn('SKIPPED PART: ../shared/reference is missing, so session statuses are not checked against the 1.15 CRD here');

function session(name: string, spec: Record<string, unknown> = {}): FlinkDeployment {
  return {
    apiVersion: 'flink.apache.org/v1beta1',
    kind: 'FlinkDeployment',
    metadata: { name, namespace: NS },
    spec: {
      image: 'confluentinc/cp-flink-sql:1.19-cp1',
      flinkVersion: 'v2_2',
      flinkConfiguration: { 'taskmanager.numberOfTaskSlots': '2' },
      serviceAccount: 'flink',
      jobManager: { resource: { cpu: 1, memory: '1024m' } },
      taskManager: { resource: { cpu: 1, memory: '1024m' } },
      ...spec,
    },
  };
}

/** Polls `probe` until it returns something, or fails after `timeoutMs` saying what it waited for. */

function describeStatus(d: FlinkDeployment): string {
  return `${d.status?.lifecycleState ?? '-'}/${d.status?.jobManagerDeploymentStatus ?? '-'}`;
}

/** Every status a FlinkDeployment passes through from now on, as a watch delivers its writes (repeats folded). */
async function recordStatuses(kube: FlinkDeployments, name: string): Promise<{ seen: string[]; stop: () => Promise<void> }> {
  const seen: string[] = [];
  const informer = kube.informer();
  const record = (obj: unknown) => {
    const d = obj as FlinkDeployment;
    if (d.metadata.namespace !== NS || d.metadata.name !== name) return;
    if (seen.at(-1) !== describeStatus(d)) seen.push(describeStatus(d));
  };
  informer.on('add', record);
  informer.on('update', record);
  await informer.start(); // listed and watching: no later write is missed
  return { seen, stop: () => informer.stop() };
}

async function until(kube: FlinkDeployments, name: string, what: string, check: (d: FlinkDeployment) => boolean, timeoutMs?: number): Promise<FlinkDeployment> {
  return eventually(
    `${name} ${what}`,
    async () => {
      const d = await kube.get(NS, name);
      return d && check(d) ? d : undefined;
    },
    timeoutMs,
  );
}

/** When the `Running` condition last changed. */
function runningSince(d: FlinkDeployment): string | undefined {
  return (d.status as { conditions?: { type: string; lastTransitionTime: string }[] }).conditions?.find((c) => c.type === 'Running')?.lastTransitionTime;
}

const stableAndReady = (d: FlinkDeployment) => d.status?.lifecycleState === 'STABLE' && d.status.jobManagerDeploymentStatus === 'READY';

function expectValidAgainstCrd(d: FlinkDeployment): void {
  if (!validate) return;
  const { apiVersion, kind, metadata, spec, status } = d;
  expect(validate({ apiVersion, kind, metadata, spec, status }) ? [] : validate.errors).toEqual([]);
}

async function startCluster(dir: string, options: { flink?: TestFlink } = {}): Promise<{ cluster: SimCluster; kube: FlinkDeployments }> {
  const cluster = await SimCluster.start({ dataDir: dir, log: createLogger('warn', () => undefined), crdFile: sharedCrdFile(), stepMs: 25, flink: options.flink?.flink });
  const kube = new FlinkDeployments({ kubeConfig: kubeConfigFromString(cluster.kubeconfig()) });
  await kube.ensureNamespace(NS, {});
  return { cluster, kube };
}

describe('session FlinkDeployments on the simulated operator', () => {
  let dir: string;
  let cluster: SimCluster;
  let kube: FlinkDeployments;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'drey-sessions-'));
    ({ cluster, kube } = await startCluster(dir));
  });
  afterAll(async () => {
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a session deployment goes CREATED, UPGRADING, DEPLOYED, then READY and STABLE with clusterInfo and no job fields', async () => {
    const recording = await recordStatuses(kube, 'pool-a');
    try {
      await kube.apply(session('pool-a'), 'test');
      const d = await until(kube, 'pool-a', 'READY and STABLE', stableAndReady);
      expect(recording.seen).toEqual(['-/-', 'CREATED/MISSING', 'UPGRADING/MISSING', 'DEPLOYED/DEPLOYING', 'DEPLOYED/DEPLOYED_NOT_READY', 'STABLE/READY']);
      expect(d.metadata.finalizers).toEqual([OPERATOR_FINALIZER]);
      const reconciled = d.status!.reconciliationStatus!.lastReconciledSpec!;
      expect(d.status).toEqual({
        lifecycleState: 'STABLE',
        jobManagerDeploymentStatus: 'READY',
        jobStatus: {},
        clusterInfo: { 'flink-version': 'v2_2', 'flink-revision': 'simulated', 'total-cpu': '1.0', 'total-memory': '2147483648' },
        reconciliationStatus: { state: 'DEPLOYED', lastReconciledSpec: reconciled, lastStableSpec: reconciled, reconciliationTimestamp: expect.any(Number) },
        observedGeneration: 1,
        conditions: [{ type: 'Running', status: 'True', reason: 'JobManagerReady', message: 'JobManager is running and ready to receive REST API calls', lastTransitionTime: expect.any(String) }],
      });
      expect(JSON.parse(reconciled)).toMatchObject({ ...session('pool-a').spec, resource_metadata: { metadata: { generation: 1 } } });
      expectValidAgainstCrd(d);
    } finally {
      await recording.stop();
    }
  });

  it('a settled session deployment reconciled twice writes nothing', async () => {
    const before = await until(kube, 'pool-a', 'READY and STABLE', stableAndReady);
    // the first pass that finds no step to take (rather than one waiting for its step time)
    await eventually('a reconcile with nothing to do', async () => ((await cluster.operator.reconcile(`${NS}/pool-a`)) === undefined ? true : undefined));
    expect((await kube.get(NS, 'pool-a'))!.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(await cluster.operator.reconcile(`${NS}/pool-a`)).toBeUndefined();
    expect((await kube.get(NS, 'pool-a'))!.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('a spec change redeploys the session cluster: UPGRADING, then DEPLOYED and STABLE again on the new spec', async () => {
    const before = await until(kube, 'pool-a', 'READY and STABLE', stableAndReady);
    const recording = await recordStatuses(kube, 'pool-a');
    try {
      await kube.patch(NS, 'pool-a', { spec: { flinkConfiguration: { 'taskmanager.numberOfTaskSlots': '4' } } });
      const d = await until(kube, 'pool-a', 'STABLE on generation 2', (x) => stableAndReady(x) && x.status?.observedGeneration === 2);
      expect(recording.seen).toEqual(['STABLE/READY', 'UPGRADING/READY', 'DEPLOYED/DEPLOYING', 'DEPLOYED/DEPLOYED_NOT_READY', 'STABLE/READY']);
      const reconciled = JSON.parse(d.status!.reconciliationStatus!.lastReconciledSpec!);
      expect(reconciled).toMatchObject({ flinkConfiguration: { 'taskmanager.numberOfTaskSlots': '4' }, resource_metadata: { metadata: { generation: 2 } } });
      expect(d.status!.reconciliationStatus!.lastStableSpec).toBe(d.status!.reconciliationStatus!.lastReconciledSpec);
      expect(d.status!.jobStatus).toEqual({});
      // the cluster went down and came up again: its Running condition changed twice since
      expect(runningSince(d)).not.toBe(runningSince(before));
      expectValidAgainstCrd(d);
    } finally {
      await recording.stop();
    }
  });

  it('deleting a session deployment removes it', async () => {
    await until(kube, 'pool-a', 'READY and STABLE', stableAndReady);
    await kube.delete(NS, 'pool-a');
    await eventually('pool-a to be gone', async () => ((await kube.get(NS, 'pool-a')) ? undefined : true));
  });

  it.each([
    ['without a jobManager', { jobManager: undefined }, 'JobManager spec should not be null'],
    ['without a taskManager', { taskManager: undefined }, 'TaskManager spec should not be null'],
  ])('a session deployment %s fails validation with the real operator message', async (_, spec, message) => {
    const name = `bad-${message.slice(0, 3).toLowerCase()}`;
    await kube.apply(session(name, spec), 'test');
    const d = await until(kube, name, 'FAILED', (x) => x.status?.lifecycleState === 'FAILED');
    expect(d.status).toMatchObject({ jobManagerDeploymentStatus: 'MISSING', reconciliationStatus: { state: 'UPGRADING' } });
    expect(d.status!.reconciliationStatus!.lastReconciledSpec).toBeUndefined();
    expect(JSON.parse(d.status!.error!)).toMatchObject({ type: 'org.apache.flink.kubernetes.operator.exception.ValidationException', message });
    expectValidAgainstCrd(d);
    await kube.delete(NS, name);
    await eventually(`${name} to be gone`, async () => ((await kube.get(NS, name)) ? undefined : true));
  });
});

describe('session FlinkDeployments with local Flink', () => {
  let flink: TestFlink | undefined;
  let dir: string;
  let cluster: SimCluster | undefined;
  let kube: FlinkDeployments;

  beforeAll(async () => {
    flink = await startTestFlink(); // says loudly that it skips when Java is missing (and fails in CI)
    if (!flink) return;
    dir = await mkdtemp(path.join(os.tmpdir(), 'drey-sessions-flink-'));
    ({ cluster, kube } = await startCluster(dir, { flink }));
  }, 300_000);
  afterAll(async () => {
    await cluster?.stop();
    await flink?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('a session deployment stands for the local session cluster: READY and STABLE with its Flink version, nothing submitted', async () => {
    if (!flink) return;
    const jm = new JobManagerClient({ baseUrl: flink.restUrl });
    const jobsBefore = (await jm.jobsOverview()).jobs.length;
    await kube.apply(session('local-pool'), 'test');
    const d = await until(kube, 'local-pool', 'READY and STABLE', stableAndReady, 60_000);
    const overview = await jm.overview();
    expect(d.status!.clusterInfo).toEqual({ 'flink-version': '2.3.0', 'flink-revision': overview['flink-commit'] });
    expect(d.status!.jobStatus).toEqual({});
    expectValidAgainstCrd(d);
    expect((await jm.jobsOverview()).jobs.length).toBe(jobsBefore);

    await kube.delete(NS, 'local-pool');
    await eventually('local-pool to be gone', async () => ((await kube.get(NS, 'local-pool')) ? undefined : true));
    expect((await jm.overview())['flink-version']).toBe('2.3.0'); // the local cluster stays up
  }, 120_000);
});
