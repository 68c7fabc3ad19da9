import { createHash } from 'node:crypto';
import type { JsonObject } from './json.js';
import type { ResourceRegistry, ResourceType } from './registry.js';

const param = (name: string, type = 'string'): JsonObject => ({ name, in: 'query', schema: { type }, uniqueItems: true });

/** Query parameters of writes; kubectl looks for `fieldValidation` on PATCH to choose server-side validation. */
const WRITE_PARAMS = [param('dryRun'), param('fieldManager'), param('fieldValidation')];

function gvk(type: ResourceType): JsonObject {
  return { group: type.group, version: type.version, kind: type.kind };
}

function schemaName(type: ResourceType): string {
  const reversed = type.group ? type.group.split('.').reverse().join('.') : 'io.k8s.api.core';
  return `${reversed}.${type.version}.${type.kind}`;
}

function content(types: string[], ref: string): JsonObject {
  return Object.fromEntries(types.map((t) => [t, { schema: { $ref: ref } }]));
}

function operation(type: ResourceType, action: string, extra: JsonObject = {}): JsonObject {
  return {
    operationId: `${action}${type.kind}`,
    responses: { '200': { description: 'OK' } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk(type),
    ...extra,
  };
}

function paths(type: ResourceType): JsonObject {
  const prefix = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  const collection = type.namespaced ? `${prefix}/namespaces/{namespace}/${type.plural}` : `${prefix}/${type.plural}`;
  const ref = `#/components/schemas/${schemaName(type)}`;
  // a strategic merge patch is only on offer for built-in kinds, which is how kubectl tells them apart
  const patchTypes = [
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/apply-patch+yaml',
    ...(type.builtin ? ['application/strategic-merge-patch+json'] : []),
  ];
  const item = {
    get: operation(type, 'get'),
    put: operation(type, 'put', { parameters: WRITE_PARAMS, requestBody: { content: content(['*/*'], ref) } }),
    patch: operation(type, 'patch', { parameters: [...WRITE_PARAMS, param('force', 'boolean')], requestBody: { content: content(patchTypes, ref) } }),
    delete: operation(type, 'delete', { parameters: [param('dryRun'), param('propagationPolicy')] }),
  };
  const out: JsonObject = {
    [collection]: { get: operation(type, 'list'), post: operation(type, 'post', { parameters: WRITE_PARAMS, requestBody: { content: content(['*/*'], ref) } }) },
    [`${collection}/{name}`]: item,
  };
  if (type.statusSubresource) {
    out[`${collection}/{name}/status`] = {
      get: operation(type, 'get'),
      put: item.put,
      patch: item.patch,
    };
  }
  return out;
}

/** OpenAPI v3 documents, one per group-version, carrying what kubectl reads from them: paths, patch types, parameters and schemas. */
export class OpenApi {
  private readonly docs = new Map<string, { text: string; hash: string }>();

  constructor(options: { registry: ResourceRegistry }) {
    const byGv = new Map<string, ResourceType[]>();
    for (const t of options.registry.all()) {
      const key = t.group ? `apis/${t.group}/${t.version}` : `api/${t.version}`;
      byGv.set(key, [...(byGv.get(key) ?? []), t]);
    }
    for (const [key, types] of byGv) {
      const doc = {
        openapi: '3.0.0',
        info: { title: 'Kubernetes', version: 'v1.32.0' },
        paths: Object.assign({}, ...types.map(paths)),
        components: {
          schemas: Object.fromEntries(
            types.map((t) => [schemaName(t), { ...(t.schema ?? { type: 'object' }), 'x-kubernetes-group-version-kind': [gvk(t)] }]),
          ),
        },
      };
      const text = JSON.stringify(doc);
      this.docs.set(key, { text, hash: createHash('sha512').update(text).digest('hex').toUpperCase() });
    }
  }

  /** `/openapi/v3`: where each group-version's document is. */
  root(): JsonObject {
    return {
      paths: Object.fromEntries([...this.docs].map(([key, d]) => [key, { serverRelativeURL: `/openapi/v3/${key}?hash=${d.hash}` }])),
    };
  }

  /** The document of `api/v1` or `apis/<group>/<version>`, as JSON text. */
  document(key: string): string | undefined {
    return this.docs.get(key)?.text;
  }
}
