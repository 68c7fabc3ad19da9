import { applicationStatus, hashOf, labelValue, needsApply, statusEvents } from '../../src/controllers/applicationDeployment.js';
import { nextStatus, validateSpec } from '../../src/sim/operator.js';
import type { FlinkDeployment } from '../../src/kube/flinkDeployments.js';
import { application } from '../support/fixtures.js';

function deployment(status?: FlinkDeployment['status'], generation = 1, spec = application().spec as Record<string, unknown>): FlinkDeployment {
  return { apiVersion: 'flink.apache.org/v1beta1', kind: 'FlinkDeployment', metadata: { name: 'app', namespace: 'ns', generation, labels: { 'drey.dev/instance': 'i-1' } }, spec, ...(status ? { status } : {}) };
}

describe('building and reading FlinkDeployments', () => {
  it('keeps label values within 63 characters, distinct for distinct long names', () => {
    expect(labelValue('short-name')).toBe('short-name');
    const a = labelValue(`${'a'.repeat(70)}-one`);
    const b = labelValue(`${'a'.repeat(70)}-two`);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    expect(a).not.toBe(b);
  });

  it('applies only when the FlinkDeployment is missing, its desired state changed, or it was edited', () => {
    const desired = deployment();
    desired.metadata.annotations = { 'drey.dev/spec-hash': 'h1' };
    expect(needsApply(desired, undefined, null)).toBe(true);
    const live = structuredClone(desired);
    expect(needsApply(desired, live, hashOf(live.spec))).toBe(false);
    live.metadata.annotations = { 'drey.dev/spec-hash': 'h0' };
    expect(needsApply(desired, live, hashOf(live.spec))).toBe(true);
    const edited = structuredClone(desired);
    (edited.spec.job as Record<string, unknown>).parallelism = 9;
    expect(needsApply(desired, edited, hashOf(desired.spec))).toBe(true);
  });

  it('names the deployed instance only once the operator has observed the generation', () => {
    expect(applicationStatus(deployment({ lifecycleState: 'DEPLOYED', observedGeneration: 1 }, 2), null)).not.toHaveProperty('currentDeployedInstanceName');
    expect(applicationStatus(deployment({ lifecycleState: 'DEPLOYED', observedGeneration: 2 }, 2), null)).toMatchObject({ currentDeployedInstanceName: 'i-1' });
    expect(applicationStatus(deployment({ observedGeneration: 1 }, 2), { currentDeployedInstanceName: 'i-0' })).toMatchObject({ currentDeployedInstanceName: 'i-0' });
  });

  it('records events only for real changes', () => {
    const s1 = { lifecycleState: 'DEPLOYED', jobStatus: { state: 'RUNNING' } };
    expect(statusEvents(s1, s1, 'i')).toEqual([]);
    const events = statusEvents(s1, { lifecycleState: 'STABLE', jobStatus: { state: 'RUNNING' } }, 'i');
    expect(events.map((e) => [e.type, e.message, e.data])).toEqual([['CLUSTER_STATUS', 'Flink cluster status changed to STABLE', { newStatus: 'STABLE' }]]);
    const failed = statusEvents(s1, { ...s1, jobStatus: { state: 'FAILED' }, error: '{"type":"x","message":"boom\\nat line"}' }, 'i');
    expect(failed.map((e) => [e.type, e.message])).toEqual([
      ['JOB_STATUS', 'Flink job status changed to FAILED'],
      ['JOB_EXCEPTION', 'boom'],
    ]);
  });
});

describe('the simulated operator\'s lifecycle', () => {
  it('walks CREATED → DEPLOYED → STABLE, DEPLOYING → READY, RECONCILING → CREATED → RUNNING', () => {
    let d = deployment();
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) {
      const next = nextStatus(d, undefined, new Date());
      if (!next) break;
      d = { ...d, status: JSON.parse(JSON.stringify(next)) };
      seen.push(`${next.lifecycleState}/${next.jobManagerDeploymentStatus}/${next.jobStatus?.state}`);
    }
    expect(seen).toEqual([
      'CREATED/DEPLOYING/RECONCILING',
      'DEPLOYED/DEPLOYING/RECONCILING',
      'DEPLOYED/READY/CREATED',
      'DEPLOYED/READY/RUNNING',
      'STABLE/READY/RUNNING',
    ]);
    expect(d.status!.observedGeneration).toBe(1);
    expect(JSON.parse(d.status!.reconciliationStatus!.lastReconciledSpec!)).toMatchObject({ resource_metadata: { metadata: { generation: 1 } } });

    const suspended = deployment(d.status, 2, { ...d.spec, job: { ...(d.spec.job as object), state: 'suspended', upgradeMode: 'stateless' } });
    const upgrading = nextStatus(suspended, undefined, new Date())!;
    expect(upgrading.lifecycleState).toBe('UPGRADING');
    const done = nextStatus({ ...suspended, status: JSON.parse(JSON.stringify(upgrading)) }, undefined, new Date())!;
    expect(done).toMatchObject({ lifecycleState: 'SUSPENDED', jobManagerDeploymentStatus: 'MISSING', observedGeneration: 2, jobStatus: { state: 'SUSPENDED' } });
    expect(nextStatus({ ...suspended, status: JSON.parse(JSON.stringify(done)) }, undefined, new Date())).toBeUndefined();
  });

  it('refuses specs the real operator refuses, with its messages', () => {
    const spec = application().spec as Record<string, any>;
    expect(validateSpec(spec)).toBeUndefined();
    expect(validateSpec({ ...spec, flinkVersion: undefined })).toBe('Flink Version must be defined.');
    expect(validateSpec({ ...spec, job: { ...spec.job, jarURI: undefined } })).toBe('Jar URI must be defined');
    expect(validateSpec({ ...spec, job: { ...spec.job, parallelism: 0 } })).toBe('Job parallelism must be larger than 0');
    expect(validateSpec({ ...spec, job: { ...spec.job, upgradeMode: 'last-state' } })).toMatch(/HA disabled/);
    const bad = nextStatus(deployment(undefined, 1, { ...spec, job: { ...spec.job, jarURI: undefined } }), undefined, new Date())!;
    expect(JSON.parse(bad.error!)).toMatchObject({ type: 'org.apache.flink.kubernetes.operator.exception.ValidationException', message: 'Jar URI must be defined' });
  });
});
