import { eventually, expectSecondPassWritesNothing as secondPassWritesNothing, settled, startDrey, type TestDrey } from '../support/drey.js';
import { application, environment } from '../support/fixtures.js';

const ENVS = '/cmf/api/v1/environments';
const apps = `${ENVS}/faults/applications`;

let drey: TestDrey;

beforeAll(async () => {
  drey = await startDrey();
  expect((await drey.post(ENVS, environment('faults', 'flink-faults'))).status).toBe(201);
});
afterAll(async () => {
  await drey?.stop();
});

async function status(name: string): Promise<any> {
  return (await drey.get(`${apps}/${name}`)).body?.status;
}

/**
 * Waits until nothing moves for the application any more, then expects it RUNNING and STABLE: a
 * status that merely reads STABLE may still be the one from before the change being tested.
 */
async function stable(name: string): Promise<any> {
  const { status: s } = await settled(drey, `faults/${name}`);
  expect(s).toMatchObject({ lifecycleState: 'STABLE', jobStatus: { state: 'RUNNING' } });
  return s;
}

/** Exactly one FlinkDeployment for the application, and no drey FlinkDeployment without an application. */
async function expectOneDeployment(name: string): Promise<void> {
  const managed = await drey.kube.list('app.kubernetes.io/managed-by=drey');
  expect(managed.filter((d) => d.metadata.name === name)).toHaveLength(1);
  const names = (await drey.prisma.application.findMany({ select: { name: true } })).map((a) => a.name);
  expect(managed.map((d) => d.metadata.name).filter((n) => !names.includes(n))).toEqual([]);
}

/** Once the application has settled, reconciles twice by hand: the second pass must write nothing. */
async function expectSecondPassWritesNothing(name: string): Promise<void> {
  await secondPassWritesNothing(drey, `faults/${name}`, 'flink-faults');
}

describe('the application controller under faults', () => {
  it('converges through Kubernetes API 500s on apply', async () => {
    const sim = drey.drey.sim!;
    sim.apiServer.faults.add({ method: 'PATCH', resource: 'flinkdeployments', status: 500, times: 3 });
    const hits = sim.apiServer.faults.hits;
    await drey.post(apps, application('app-500'));
    await stable('app-500');
    expect(sim.apiServer.faults.hits - hits).toBe(3);
    expect(drey.logs.some((l) => l.includes('reconcile failed, retrying') && l.includes('faults/app-500'))).toBe(true);
    await expectOneDeployment('app-500');
    await expectSecondPassWritesNothing('app-500');
  });

  it('converges through 409 Conflicts on apply and 500s on the watch its reads come from', async () => {
    const sim = drey.drey.sim!;
    sim.apiServer.faults.add({ method: 'PATCH', resource: 'flinkdeployments', status: 409, times: 2 });
    // the controllers read from a list-then-watch cache: its watch breaks, and watching again fails twice
    sim.apiServer.faults.add({ method: 'GET', resource: 'flinkdeployments', status: 500, times: 2 });
    sim.apiServer.dropWatches();
    await drey.post(apps, application('app-409'));
    await stable('app-409');
    await expectOneDeployment('app-409');
    await expectSecondPassWritesNothing('app-409');
  });

  it('converges when the API server times out', async () => {
    const sim = drey.drey.sim!;
    sim.apiServer.faults.add({ method: 'PATCH', resource: 'flinkdeployments', name: 'app-slow', hang: true, times: 1 });
    await drey.post(apps, application('app-slow'));
    await eventually('app-slow to converge after a timeout', async () => ((await status('app-slow'))?.lifecycleState === 'STABLE' ? true : undefined), 40_000);
    await expectOneDeployment('app-slow');
    await expectSecondPassWritesNothing('app-slow');
  }, 60_000);

  it('converges when watches are dropped and the watch history is compacted (410 Gone)', async () => {
    const sim = drey.drey.sim!;
    await drey.post(apps, application('app-watch'));
    for (let i = 0; i < 5; i++) {
      sim.apiServer.dropWatches();
      sim.apiServer.compactHistory();
      await new Promise((r) => setTimeout(r, 30));
    }
    await stable('app-watch');
    await drey.post(`${apps}/app-watch/suspend`);
    sim.apiServer.dropWatches();
    await eventually('app-watch SUSPENDED', async () => ((await status('app-watch'))?.lifecycleState === 'SUSPENDED' ? true : undefined));
    await expectOneDeployment('app-watch');
    await expectSecondPassWritesNothing('app-watch');
  });

  it('puts back a FlinkDeployment deleted out of band, keeping its status history', async () => {
    await drey.post(apps, application('app-gone'));
    await stable('app-gone');
    const before = (await drey.kube.get('flink-faults', 'app-gone'))!;
    await drey.kube.delete('flink-faults', 'app-gone');
    const back = await eventually('a new FlinkDeployment', async () => {
      const d = await drey.kube.get('flink-faults', 'app-gone');
      return d && d.metadata.uid !== before.metadata.uid && !d.metadata.deletionTimestamp ? d : undefined;
    });
    expect(back.spec).toEqual(before.spec);
    await stable('app-gone');
    const events = (await drey.get(`/cmf/api/v1alpha1/environments/faults/applications/app-gone/events?size=100`)).body.items;
    expect(events.filter((e: any) => e.status.type === 'CMF_STATUS')).toHaveLength(1);
    await expectOneDeployment('app-gone');
    await expectSecondPassWritesNothing('app-gone');
  });

  it('puts back a FlinkDeployment spec edited out of band', async () => {
    await drey.post(apps, application('app-edited'));
    await stable('app-edited');
    await drey.kube.patch('flink-faults', 'app-edited', { spec: { job: { parallelism: 42 } }, metadata: { labels: { 'drey.dev/instance': 'tampered' } } });
    const back = await eventually('the spec put back', async () => {
      const d = await drey.kube.get('flink-faults', 'app-edited');
      return (d?.spec.job as any)?.parallelism === 3 && d?.metadata.labels?.['drey.dev/instance'] !== 'tampered' ? d : undefined;
    });
    expect(back.spec.job).toMatchObject({ parallelism: 3 });
    await stable('app-edited');
    await expectSecondPassWritesNothing('app-edited');
  });

  it('removes a labelled FlinkDeployment that has no application', async () => {
    const live = (await drey.kube.get('flink-faults', 'app-edited'))!;
    await drey.kube.apply(
      {
        apiVersion: live.apiVersion,
        kind: live.kind,
        metadata: {
          name: 'app-orphan',
          namespace: 'flink-faults',
          labels: { 'app.kubernetes.io/managed-by': 'drey', 'drey.dev/environment': 'faults', 'drey.dev/application': 'app-orphan' },
          annotations: { 'drey.dev/environment': 'faults', 'drey.dev/application': 'app-orphan' },
        },
        spec: live.spec,
      },
      'someone-else',
    );
    await eventually('the orphan to go', async () => ((await drey.kube.get('flink-faults', 'app-orphan')) ? undefined : true));
    await expectSecondPassWritesNothing('app-orphan');
    expect(await drey.kube.get('flink-faults', 'app-orphan')).toBeUndefined();
  });

  it('leaves alone a FlinkDeployment drey does not manage, and says so on the application', async () => {
    const live = (await drey.kube.get('flink-faults', 'app-edited'))!;
    await drey.kube.apply({ apiVersion: live.apiVersion, kind: live.kind, metadata: { name: 'app-taken', namespace: 'flink-faults' }, spec: live.spec }, 'someone-else');
    await drey.post(apps, application('app-taken'));
    const s = await eventually('an error on the status', async () => (await status('app-taken'))?.error);
    expect(s).toMatch(/exists and is not managed by drey/);
    const theirs = (await drey.kube.get('flink-faults', 'app-taken'))!;
    expect(theirs.metadata.labels?.['app.kubernetes.io/managed-by']).toBeUndefined();
    await drey.kube.delete('flink-faults', 'app-taken');
    await stable('app-taken');
    expect((await status('app-taken')).error).toBeUndefined();
    await expectSecondPassWritesNothing('app-taken');
  });

  it('records a failed job: FAILED, with a JOB_EXCEPTION event carrying the exception', async () => {
    await drey.post(apps, application('app-fails'));
    await stable('app-fails');
    drey.drey.sim!.operator.inject('flink-faults', 'app-fails', { kind: 'job-failed', exception: 'java.lang.ArithmeticException: / by zero' });
    const s = await eventually('FAILED', async () => {
      const st = await status('app-fails');
      return st?.jobStatus?.state === 'FAILED' ? st : undefined;
    });
    expect(s.lifecycleState).toBe('FAILED');
    expect(s.error).toContain('/ by zero');
    const events = (await drey.get(`/cmf/api/v1alpha1/environments/faults/applications/app-fails/events?size=100`)).body.items;
    const exception = events.find((e: any) => e.status.type === 'JOB_EXCEPTION');
    expect(exception.status.message).toBe('java.lang.ArithmeticException: / by zero');
    expect(exception.status.data.exceptionString).toContain('/ by zero');
    expect(events.filter((e: any) => e.status.type === 'JOB_STATUS' && e.status.data.newStatus === 'FAILED')).toHaveLength(1);
    await expectSecondPassWritesNothing('app-fails');
  });

  it('recovers from a lost JobManager', async () => {
    // the JobManager stays lost until the application has shown it: a shorter outage could pass
    // between two looks of the controller and leave nothing to see
    const operator = drey.drey.sim!.operator;
    operator.inject('flink-faults', 'app-500', { kind: 'jobmanager-lost', forMs: 10 * 60_000 });
    await eventually('the JobManager MISSING', async () => ((await status('app-500'))?.jobManagerDeploymentStatus === 'MISSING' ? true : undefined));
    operator.recover('flink-faults', 'app-500');
    await stable('app-500');
    expect((await status('app-500')).error).toBeUndefined();
    const events = (await drey.get(`/cmf/api/v1alpha1/environments/faults/applications/app-500/events?size=100`)).body.items;
    expect(events.map((e: any) => e.status.message)).toContain('Missing JobManager deployment');
    await expectSecondPassWritesNothing('app-500');
  });

  it('records a spec the cluster refuses on the status, and creates nothing', async () => {
    await drey.post(apps, application('app-invalid', { flinkVersion: 'v0_1' }));
    const error = await eventually('the refusal on the status', async () => (await status('app-invalid'))?.error);
    expect(error).toMatch(/flinkVersion/);
    expect(await drey.kube.get('flink-faults', 'app-invalid')).toBeUndefined();
    await expectSecondPassWritesNothing('app-invalid');
  });
});
