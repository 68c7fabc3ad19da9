/** One RBAC rule, as a Role or ClusterRole lists it. */
export interface RbacRule {
  apiGroups: readonly string[];
  resources: readonly string[];
  verbs: readonly string[];
}

/**
 * The Kubernetes rights drey uses in a namespace it manages: FlinkDeployments listed and watched by
 * the cache (which answers every read, so no `get`), written by server-side apply (`patch`, and
 * `create` when new) and merge patch, and deleted. The chart's Roles and ClusterRole grant exactly
 * these (test/chart checks), and the simulated cluster gives drey no more, so a call beyond them
 * fails in the tests as it would in a cluster.
 */
export const NAMESPACED_RULES: readonly RbacRule[] = [
  { apiGroups: ['flink.apache.org'], resources: ['flinkdeployments'], verbs: ['list', 'watch', 'create', 'patch', 'delete'] },
];

/** The rights of a drey managing every namespace: also an environment's Namespace, read and made when missing. */
export const CLUSTER_RULES: readonly RbacRule[] = [...NAMESPACED_RULES, { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'create'] }];
