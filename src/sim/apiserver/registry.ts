import { BUILTIN_SCHEMAS } from './builtinSchemas.js';
import { isObject, valueAt, type JsonObject, type KubeObject } from './json.js';

/** One column of the server-side `Table` a resource is printed as. */
export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description: string;
  priority: number;
  /** A CRD's simple JSONPath (`.status.jobStatus.state`); ignored when `cell` is given. */
  jsonPath?: string;
  cell?: (obj: KubeObject) => unknown;
}

/** Everything the server needs to serve one resource at one version, built-in or from a CRD. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** With a status subresource, main writes ignore `status` and `/status` writes ignore the rest. */
  statusSubresource: boolean;
  printerColumns: PrinterColumn[];
  /** The CRD version's `openAPIV3Schema`; built-in kinds have none. */
  schema?: JsonObject;
  builtin: boolean;
}

/** `group/version`, or just `version` for the core group, as `apiVersion` spells it. */
export function groupVersion(type: { group: string; version: string }): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** The key objects of one resource are stored under, whatever version they are written at. */
export function storageKey(type: { group: string; plural: string }): string {
  return `${type.group}/${type.plural}`;
}

function dataCount(obj: KubeObject): number {
  const data = isObject(obj.data) ? Object.keys(obj.data).length : 0;
  const binary = isObject(obj.binaryData) ? Object.keys(obj.binaryData).length : 0;
  return data + binary;
}

const NAME_COLUMN: PrinterColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
  cell: (o) => o.metadata.name,
};
const AGE_COLUMN: PrinterColumn = {
  name: 'Age',
  type: 'date',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  jsonPath: '.metadata.creationTimestamp',
};

function builtins(): ResourceType[] {
  const base = { version: 'v1', categories: [], statusSubresource: false, builtin: true };
  const types: Omit<ResourceType, 'schema'>[] = [
    {
      ...base,
      group: '',
      plural: 'namespaces',
      singular: 'namespace',
      kind: 'Namespace',
      listKind: 'NamespaceList',
      namespaced: false,
      shortNames: ['ns'],
      statusSubresource: true,
      printerColumns: [NAME_COLUMN, { name: 'Status', type: 'string', description: 'The status of the namespace', priority: 0, jsonPath: '.status.phase' }, AGE_COLUMN],
    },
    {
      ...base,
      group: '',
      plural: 'secrets',
      singular: 'secret',
      kind: 'Secret',
      listKind: 'SecretList',
      namespaced: true,
      shortNames: [],
      printerColumns: [
        NAME_COLUMN,
        { name: 'Type', type: 'string', description: 'The type of the secret', priority: 0, jsonPath: '.type' },
        { name: 'Data', type: 'string', description: 'The number of entries in the secret', priority: 0, cell: dataCount },
        AGE_COLUMN,
      ],
    },
    {
      ...base,
      group: '',
      plural: 'configmaps',
      singular: 'configmap',
      kind: 'ConfigMap',
      listKind: 'ConfigMapList',
      namespaced: true,
      shortNames: ['cm'],
      printerColumns: [NAME_COLUMN, { name: 'Data', type: 'string', description: 'The number of entries', priority: 0, cell: dataCount }, AGE_COLUMN],
    },
    {
      ...base,
      group: '',
      plural: 'events',
      singular: 'event',
      kind: 'Event',
      listKind: 'EventList',
      namespaced: true,
      shortNames: ['ev'],
      printerColumns: [
        { name: 'Last Seen', type: 'string', description: 'When the event was last seen', priority: 0, jsonPath: '.lastTimestamp' },
        { name: 'Type', type: 'string', description: 'Normal or Warning', priority: 0, jsonPath: '.type' },
        { name: 'Reason', type: 'string', description: 'Why the event happened', priority: 0, jsonPath: '.reason' },
        {
          name: 'Object',
          type: 'string',
          description: 'The object the event is about',
          priority: 0,
          cell: (o) => `${String(valueAt(o, ['involvedObject', 'kind']) ?? '').toLowerCase()}/${String(valueAt(o, ['involvedObject', 'name']) ?? '')}`,
        },
        { name: 'Message', type: 'string', description: 'What happened', priority: 0, jsonPath: '.message' },
      ],
    },
    {
      ...base,
      group: 'coordination.k8s.io',
      plural: 'leases',
      singular: 'lease',
      kind: 'Lease',
      listKind: 'LeaseList',
      namespaced: true,
      shortNames: [],
      printerColumns: [NAME_COLUMN, { name: 'Holder', type: 'string', description: 'The holder of the lease', priority: 0, jsonPath: '.spec.holderIdentity' }, AGE_COLUMN],
    },
  ];
  return types.map((t) => ({ ...t, schema: BUILTIN_SCHEMAS[t.kind] }));
}

function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw new Error(`CustomResourceDefinition ${what} must be a non-empty string`);
  return value;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** The resource types one apiextensions.k8s.io/v1 CustomResourceDefinition serves, one per served version. */
export function typesFromCrd(crd: unknown): ResourceType[] {
  if (!isObject(crd) || !isObject(crd.spec)) throw new Error('CustomResourceDefinition without spec');
  const spec = crd.spec;
  const group = requireString(spec.group, 'spec.group');
  const names = isObject(spec.names) ? spec.names : {};
  const plural = requireString(names.plural, 'spec.names.plural');
  const kind = requireString(names.kind, 'spec.names.kind');
  const versions = Array.isArray(spec.versions) ? spec.versions.filter(isObject) : [];
  return versions
    .filter((v) => v.served !== false)
    .map((v) => {
      const columns = Array.isArray(v.additionalPrinterColumns) ? v.additionalPrinterColumns.filter(isObject) : [];
      const subresources = isObject(v.subresources) ? v.subresources : {};
      const schema = isObject(v.schema) && isObject(v.schema.openAPIV3Schema) ? v.schema.openAPIV3Schema : undefined;
      return {
        group,
        version: requireString(v.name, 'spec.versions[].name'),
        plural,
        singular: typeof names.singular === 'string' ? names.singular : kind.toLowerCase(),
        kind,
        listKind: typeof names.listKind === 'string' ? names.listKind : `${kind}List`,
        namespaced: spec.scope !== 'Cluster',
        shortNames: stringList(names.shortNames),
        categories: stringList(names.categories),
        statusSubresource: isObject(subresources.status),
        printerColumns: [
          NAME_COLUMN,
          ...columns.map((c) => ({
            name: requireString(c.name, 'additionalPrinterColumns[].name'),
            type: typeof c.type === 'string' ? c.type : 'string',
            ...(typeof c.format === 'string' ? { format: c.format } : {}),
            description: typeof c.description === 'string' ? c.description : '',
            priority: typeof c.priority === 'number' ? c.priority : 0,
            jsonPath: requireString(c.jsonPath, 'additionalPrinterColumns[].jsonPath'),
          })),
          // as in kube-apiserver, Age is the default column only when the CRD declares none
          ...(columns.length === 0 ? [AGE_COLUMN] : []),
        ],
        ...(schema ? { schema } : {}),
        builtin: false,
      };
    });
}

/** The kinds the server knows: the built-in ones drey touches plus every CRD it was given. */
export class ResourceRegistry {
  private readonly types: ResourceType[];

  constructor(options: { crds: unknown[] }) {
    this.types = [...builtins(), ...options.crds.flatMap(typesFromCrd)];
  }

  /** Every served (group, version, resource). */
  all(): readonly ResourceType[] {
    return this.types;
  }

  /** The type served at `group/version/plural`, if any. */
  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.version === version && t.plural === plural);
  }

  /** Any served version of a resource, for cascading work that does not care which. */
  anyVersion(group: string, plural: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.plural === plural);
  }

  /** Groups with their versions in the order first seen (the preferred version first). */
  groups(): { name: string; versions: string[] }[] {
    const out: { name: string; versions: string[] }[] = [];
    for (const t of this.types) {
      let g = out.find((x) => x.name === t.group);
      if (!g) out.push((g = { name: t.group, versions: [] }));
      if (!g.versions.includes(t.version)) g.versions.push(t.version);
    }
    return out;
  }
}

/** An object as served at a type's version: `apiVersion` and `kind` first, stored fields after. */
export function present(type: ResourceType, obj: KubeObject): KubeObject {
  const { apiVersion: _apiVersion, kind: _kind, metadata, ...rest } = obj;
  return { apiVersion: groupVersion(type), kind: type.kind, metadata, ...rest };
}
