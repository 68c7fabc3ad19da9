import type { Logger } from '../log.js';
import { DeploymentCache } from '../kube/cache.js';
import type { FlinkDeployment, FlinkDeployments } from '../kube/flinkDeployments.js';
import { BY_APPLICATION, keyOf } from './applicationDeployment.js';
import { BY_SESSION_OWNER, ownerOf, sessionOwnerKey } from './sessionCluster.js';

/**
 * What the controllers keep of a FlinkDeployment: all but its managed fields and the operator's
 * copies of past specs (`lastReconciledSpec`, `lastStableSpec`), which they never read and which
 * are over half of an object (the fields client-go users drop with an informer transform).
 */
export function controllerView(deployment: FlinkDeployment): FlinkDeployment {
  const { managedFields: _fields, ...metadata } = deployment.metadata as FlinkDeployment['metadata'] & { managedFields?: unknown };
  const reconciliation = deployment.status?.reconciliationStatus;
  if (!reconciliation) return { ...deployment, metadata };
  const { lastReconciledSpec: _reconciled, lastStableSpec: _stable, ...kept } = reconciliation;
  return { ...deployment, metadata, status: { ...deployment.status, reconciliationStatus: kept } };
}

/** The one FlinkDeployment cache the controllers read from, indexed by owner. */
export function createDeploymentCache(options: { deployments: FlinkDeployments; log: Logger; onChange?: (deployment: FlinkDeployment) => void }): DeploymentCache {
  return new DeploymentCache({
    ...options,
    transform: controllerView,
    indexes: {
      [BY_APPLICATION]: (d) => keyOf(d),
      [BY_SESSION_OWNER]: (d) => {
        const owner = ownerOf(d);
        return owner && sessionOwnerKey(owner);
      },
    },
  });
}
