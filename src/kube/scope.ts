import { ConfigError } from '../configError.js';

/** A namespace name as Kubernetes takes it (RFC 1123 label). */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The namespaces drey manages FlinkDeployments in: every one, or only those listed in
 * `CMF_WATCH_NAMESPACES` (the Flink operator's `watchNamespaces`). A scoped drey holds a Role in
 * each listed namespace and no cluster-wide right, so it lists and watches per namespace and never
 * reads or creates Namespace objects: the namespaces exist, since its Roles live in them.
 */
export class NamespaceScope {
  /** Every namespace (a ClusterRole). */
  static readonly ALL = new NamespaceScope([]);

  /** `namespaces`: the listed ones; empty: every namespace. */
  constructor(readonly namespaces: readonly string[]) {}

  /** Whether drey may manage every namespace. */
  get all(): boolean {
    return this.namespaces.length === 0;
  }

  /** Whether drey manages FlinkDeployments in `namespace`. */
  includes(namespace: string): boolean {
    return this.all || this.namespaces.includes(namespace);
  }

  /** Why drey refuses to manage anything in `namespace`; undefined when it may. */
  refusal(namespace: string): string | undefined {
    if (this.includes(namespace)) return undefined;
    return `namespace '${namespace}' is not one drey manages (CMF_WATCH_NAMESPACES: ${this.namespaces.join(', ')})`;
  }
}

/** Reads `CMF_WATCH_NAMESPACES`, a comma-separated list of namespace names; empty or unset: every namespace. */
export function namespaceScope(env: NodeJS.ProcessEnv): NamespaceScope {
  const names = (env.CMF_WATCH_NAMESPACES ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  for (const name of names) {
    if (name.length > 63 || !NAMESPACE.test(name)) {
      throw new ConfigError(`CMF_WATCH_NAMESPACES must list namespace names (lower case, digits and '-', at most 63), not '${name}'`);
    }
  }
  return new NamespaceScope([...new Set(names)]);
}
