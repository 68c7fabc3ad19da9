import type { Logger } from '../log.js';
import { DeploymentCache } from '../kube/cache.js';
import type { FlinkDeployment, FlinkDeployments } from '../kube/flinkDeployments.js';
import { BY_APPLICATION, keyOf } from './applicationDeployment.js';
import { BY_SESSION_OWNER, ownerOf, sessionOwnerKey } from './sessionCluster.js';

/** The one FlinkDeployment cache the controllers read from, indexed by owner. */
export function createDeploymentCache(options: { deployments: FlinkDeployments; log: Logger; onChange?: (deployment: FlinkDeployment) => void }): DeploymentCache {
  return new DeploymentCache({
    ...options,
    indexes: {
      [BY_APPLICATION]: (d) => keyOf(d),
      [BY_SESSION_OWNER]: (d) => {
        const owner = ownerOf(d);
        return owner && sessionOwnerKey(owner);
      },
    },
  });
}
