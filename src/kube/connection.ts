import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CallObserver } from '../metrics.js';
import { PooledKubeConfig } from './pool.js';

/** Where drey's Kubernetes comes from. */
export type ClusterSource = 'in-cluster' | 'kubeconfig' | 'simulated';

/** The `CMF_KUBE` setting: a source, or `auto` to pick the first that is present. */
export type ClusterSetting = ClusterSource | 'auto';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** The kubeconfig file a workstation would use: `KUBECONFIG`'s first entry, else `~/.kube/config`, if it exists. */
export function kubeconfigFile(env: NodeJS.ProcessEnv): string | undefined {
  const first = env.KUBECONFIG?.split(path.delimiter).find((f) => f !== '');
  if (first) return first;
  const home = path.join(os.homedir(), '.kube', 'config');
  return existsSync(home) ? home : undefined;
}

/**
 * Picks the cluster: inside a pod its service account, on a workstation its kubeconfig,
 * otherwise (or when asked) the simulated cluster drey brings along.
 */
export function chooseCluster(setting: ClusterSetting, env: NodeJS.ProcessEnv): ClusterSource {
  if (setting !== 'auto') return setting;
  if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) return 'in-cluster';
  if (kubeconfigFile(env)) return 'kubeconfig';
  return 'simulated';
}

/** A client configuration for a real cluster; `component` names the client in its User-Agent; `observe` hears its calls. */
export function loadKubeConfig(source: Exclude<ClusterSource, 'simulated'>, component = 'controllers', observe?: CallObserver): PooledKubeConfig {
  const kc = new PooledKubeConfig(component, observe);
  if (source === 'in-cluster') kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

/** A client configuration from kubeconfig text (the simulated cluster writes one); `component` names the client in its User-Agent; `observe` hears its calls. */
export function kubeConfigFromString(text: string, component = 'controllers', observe?: CallObserver): PooledKubeConfig {
  const kc = new PooledKubeConfig(component, observe);
  kc.loadFromString(text);
  return kc;
}
