import type { FlinkDeploymentStatus, JobStatus } from '../../src/kube/flinkDeployments.js';
import { flinkDeploymentValidator } from '../support/crd.js';

const validate = flinkDeploymentValidator();
const maybe = validate ? it : it.skip;
if (!validate) console.warn('SKIPPED: ../shared/reference/flinkdeployments.flink.apache.org-v1.yml is missing, so drey\'s FlinkDeployment types are not checked against the CRD');

describe('drey\'s FlinkDeployment types', () => {
  maybe('name only fields the CRD has (every optional field filled in, unknown fields refused)', () => {
    const jobStatus: Required<JobStatus> = {
      jobId: 'a',
      jobName: 'b',
      state: 'RUNNING',
      startTime: '1',
      updateTime: '2',
      upgradeSavepointPath: 'file:///tmp/sp',
    };
    const status: Required<FlinkDeploymentStatus> = {
      jobStatus,
      lifecycleState: 'STABLE',
      jobManagerDeploymentStatus: 'READY',
      error: 'e',
      observedGeneration: 1,
      clusterInfo: { 'flink-version': 'v1_19' },
      reconciliationStatus: { state: 'DEPLOYED', lastReconciledSpec: '{}', lastStableSpec: '{}', reconciliationTimestamp: 1 },
    };
    const object = { apiVersion: 'flink.apache.org/v1beta1', kind: 'FlinkDeployment', metadata: { name: 'x' }, spec: {}, status };
    expect(validate!(object) ? [] : validate!.errors).toEqual([]);
    expect(validate!({ ...object, status: { ...status, notAField: 1 } })).toBe(false);
  });
});
