/**
 * What a request acts on, in the vocabulary of CMF's role bindings. `FlinkEnvironment` and
 * `FlinkApplication` are CMF's names; CMF documents none for the others, so these are drey's.
 */
export const ENVIRONMENT_KINDS = ['FlinkApplication', 'FlinkStatement', 'FlinkComputePool', 'FlinkSecretMapping'] as const;
/** Kinds that live at the scope of the whole installation (CMF's `--cmf` scope). */
export const CMF_KINDS = ['FlinkEnvironment', 'FlinkCatalog', 'FlinkSecret', 'RoleBinding', 'ApiToken', 'AuditEvent', 'Encryption'] as const;

export type EnvironmentKind = (typeof ENVIRONMENT_KINDS)[number];
export type CmfKind = (typeof CMF_KINDS)[number];
export type Kind = EnvironmentKind | CmfKind;

/** `view` covers get and list; `bind` is managing role bindings. */
export const VERBS = ['view', 'create', 'update', 'delete', 'bind'] as const;
export type Verb = (typeof VERBS)[number];

/** One object (with `name`) or all objects of a kind (without) in a scope. */
export type ResourceRef =
  | { kind: EnvironmentKind; environment: string; name?: string }
  | { kind: CmfKind; name?: string };

export function isEnvironmentKind(kind: string): kind is EnvironmentKind {
  return (ENVIRONMENT_KINDS as readonly string[]).includes(kind);
}
