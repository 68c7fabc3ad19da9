import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import { kubeCall, KubeError } from './errors.js';
import { FLINK_DEPLOYMENT } from './flinkDeployments.js';

/** Options of the FlinkDeployment CRD check. */
export interface FlinkDeploymentCrdCheckOptions {
  kubeConfig: KubeConfig;
  log: Logger;
  /** How often it looks again while the CRD is missing or the answer unknown, so installing the operator later needs no restart. */
  missingEveryMs?: number;
  /** How often it looks again while the CRD is served, so an operator removed later is noticed. */
  servedEveryMs?: number;
  /** Deadline of one look. */
  timeoutMs?: number;
}

/** The CRD's full name, as `kubectl get crd` lists it. */
export const FLINK_DEPLOYMENT_CRD = `${FLINK_DEPLOYMENT.plural}.${FLINK_DEPLOYMENT.group}`;

/** What the last look found: served, missing (the API server said so), or unknown (it did not answer). */
type Found = { served: true } | { served: false; why: string } | { unknown: string };

/**
 * Checks that the cluster serves the FlinkDeployment CRD at the version drey writes, which means the
 * Apache Flink Kubernetes Operator is installed: without it drey's applications never run. It asks
 * API discovery (`/apis/flink.apache.org/v1beta1`), which every authenticated client may read, so
 * it needs no right beyond what drey has. Looks at start and then periodically; logs each change.
 */
export class FlinkDeploymentCrdCheck {
  private readonly api: CustomObjectsApi;
  /** The last look's finding. */
  private found: Found | undefined;
  /** Why the CRD is missing, from the last look the API server answered (undefined: served, or never answered). */
  private missing: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private looking: Promise<void> = Promise.resolve();

  constructor(private readonly options: FlinkDeploymentCrdCheckOptions) {
    this.api = options.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  /** Looks once (so the start log says it), then keeps looking. */
  async start(): Promise<void> {
    this.running = true;
    await this.look();
  }

  /** Stops looking. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.looking;
  }

  /**
   * `ok`, or why readiness fails: only an API server that answered that the CRD is not served fails
   * it. One that does not answer says nothing new of the operator (the last answer stands), and
   * must not take drey's API down.
   */
  status(): string {
    return this.missing ?? 'ok';
  }

  /** False once the API server answered that the CRD is not served, until it answers that it is. */
  served(): boolean {
    return this.missing === undefined;
  }

  private look(): Promise<void> {
    this.looking = this.ask().then((found) => {
      this.report(found);
      this.found = found;
      if ('served' in found) this.missing = found.served ? undefined : found.why;
      if (!this.running) return;
      const { missingEveryMs = 5_000, servedEveryMs = 60_000 } = this.options;
      this.timer = setTimeout(() => void this.look(), 'served' in found && found.served ? servedEveryMs : missingEveryMs);
      this.timer.unref();
    });
    return this.looking;
  }

  private async ask(): Promise<Found> {
    const { group, version, plural } = FLINK_DEPLOYMENT;
    const missing = (detail: string): Found => ({
      served: false,
      why: `the cluster does not serve ${FLINK_DEPLOYMENT_CRD} at ${group}/${version} (${detail}): install the Apache Flink Kubernetes Operator`,
    });
    try {
      const list = await kubeCall(`discover ${group}/${version}`, this.options.timeoutMs ?? 5_000, () => this.api.getAPIResources({ group, version }));
      return list.resources.some((r) => r.name === plural) ? { served: true } : missing(`${group}/${version} has no ${plural}`);
    } catch (err) {
      if (err instanceof KubeError && err.code === 404) return missing(`no API group version ${group}/${version}`);
      return { unknown: (err as Error).message };
    }
  }

  /** Logs a change of what was found (a first look that finds the CRD served is worth a line too). */
  private report(found: Found): void {
    const { log } = this.options;
    const before = this.found;
    if ('unknown' in found) {
      if (!before || !('unknown' in before)) log.warn('cannot tell whether the cluster serves the FlinkDeployment CRD; looking again', { crd: FLINK_DEPLOYMENT_CRD, error: found.unknown });
    } else if (found.served) {
      if (!before || !('served' in before) || !before.served) log.info('the cluster serves the FlinkDeployment CRD', { crd: FLINK_DEPLOYMENT_CRD });
    } else if (!before || !('served' in before) || before.served) {
      log.error(`${found.why}; applications and compute pools wait until it is served, and drey looks again every few seconds`, { crd: FLINK_DEPLOYMENT_CRD });
    }
  }
}
