import yaml from 'js-yaml';

/** The name of the simulated cluster's context (and of its cluster and user entries). */
export const CONTEXT_NAME = 'drey-simulated';

/** A kubeconfig for the simulated API server: one cluster trusting its CA, one token user, one current context. */
export function kubeconfigYaml(options: { server: string; token: string; caPem: string }): string {
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{ name: CONTEXT_NAME, cluster: { server: options.server, 'certificate-authority-data': Buffer.from(options.caPem).toString('base64') } }],
    users: [{ name: CONTEXT_NAME, user: { token: options.token } }],
    contexts: [{ name: CONTEXT_NAME, context: { cluster: CONTEXT_NAME, user: CONTEXT_NAME, namespace: 'default' } }],
    'current-context': CONTEXT_NAME,
  });
}
