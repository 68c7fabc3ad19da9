import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';
import { kubeConfigFromString } from '../kube/connection.js';
import { FlinkDeployments } from '../kube/flinkDeployments.js';
import { SimApiServer } from './apiserver/index.js';
import { loadFlinkDeploymentCrd, permissiveFlinkDeploymentCrd } from './crd.js';
import { SimOperator } from './operator.js';
import type { LocalFlink } from '../flink/local/cluster.js';

/** Options of the simulated cluster. */
export interface SimClusterOptions {
  /** drey's data directory: the kubeconfig, the cluster's saved objects and the CRD cache go here. */
  dataDir: string;
  log: Logger;
  /** A FlinkDeployment CRD file to serve instead of the one fetched from Maven Central. */
  crdFile?: string;
  /** Time between two lifecycle steps of the simulated operator. */
  stepMs?: number;
  /** Port of the API server (0: any free one). */
  port?: number;
  /** Real Flink to run FlinkDeployments' jobs on; without it jobs are simulated. */
  flink?: LocalFlink;
}

/**
 * The simulated cluster `npm start` brings along: a Kubernetes API server on loopback, a
 * simulated Flink operator working through it, and a kubeconfig so `kubectl` can look inside.
 */
export class SimCluster {
  private constructor(
    readonly apiServer: SimApiServer,
    readonly operator: SimOperator,
    /** The kubeconfig file written for `kubectl` and for drey itself. */
    readonly kubeconfigPath: string,
    /** Where the CRD came from, or why there is none. */
    readonly crdSource: string,
  ) {}

  /** Starts the API server and the operator, and writes `<dataDir>/kubeconfig`. */
  static async start({ dataDir, log, crdFile, stepMs, port, flink }: SimClusterOptions): Promise<SimCluster> {
    await mkdir(dataDir, { recursive: true });
    const loaded = await loadFlinkDeploymentCrd({ file: crdFile, cacheDir: path.join(dataDir, 'cache'), log });
    const apiServer = await SimApiServer.start({
      log,
      crds: [loaded?.crd ?? permissiveFlinkDeploymentCrd()],
      port,
      stateFile: path.join(dataDir, 'cluster', 'objects.json'),
    });
    const kubeconfigPath = path.join(dataDir, 'kubeconfig');
    const kubeconfig = apiServer.kubeconfig();
    await writeFile(kubeconfigPath, kubeconfig, { mode: 0o600 });
    await chmod(kubeconfigPath, 0o600);
    const operator = new SimOperator({ deployments: new FlinkDeployments({ kubeConfig: kubeConfigFromString(kubeconfig, 'sim-operator') }), log, stepMs, flink });
    operator.start();
    return new SimCluster(apiServer, operator, kubeconfigPath, loaded?.source ?? 'none (FlinkDeployments are not checked against a schema)');
  }

  /** The kubeconfig text for clients in this process. */
  kubeconfig(): string {
    return this.apiServer.kubeconfig();
  }

  /** Stops the operator, then the API server (which saves its objects). */
  async stop(): Promise<void> {
    await this.operator.stop();
    await this.apiServer.close();
  }
}
