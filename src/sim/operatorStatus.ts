import type { FlinkDeployment, FlinkDeploymentStatus } from '../kube/flinkDeployments.js';

/* How the simulated operator writes what the real one records in a FlinkDeployment status. */

/** The last reconciled spec as the real operator records it: the spec plus `resource_metadata`. */
export function reconciledSpecJson(deployment: FlinkDeployment): string {
  return JSON.stringify({
    ...deployment.spec,
    resource_metadata: { apiVersion: deployment.apiVersion, metadata: { generation: deployment.metadata.generation ?? 1 } },
  });
}

export function lastReconciledSpec(status: FlinkDeploymentStatus): unknown {
  const text = status.reconciliationStatus?.lastReconciledSpec;
  if (!text) return undefined;
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    delete parsed.resource_metadata;
    return parsed;
  } catch {
    return undefined;
  }
}

/** An exception as the real operator serialises one into `status.error`. */
export function operatorError(type: string, message: string): string {
  return JSON.stringify({ type, message, additionalMetadata: {}, throwableList: [] });
}

/** A status as it is written: fields set to undefined (cleared) are left out, as JSON leaves them. */
export function writableStatus(status: FlinkDeploymentStatus): FlinkDeploymentStatus {
  return JSON.parse(JSON.stringify(status)) as FlinkDeploymentStatus;
}
