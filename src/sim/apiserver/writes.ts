import { randomUUID } from 'node:crypto';
import yaml from 'js-yaml';
import { generateName, type Admission, type FieldValidation } from './admission.js';
import type { Deleter } from './deletion.js';
import { StatusError, alreadyExists, badRequest, conflict, invalid, methodNotAllowed, notFound } from './errors.js';
import { applyConfiguration, trackUpdate, type FieldScope, type FieldWriter } from './fields.js';
import { clone, deepEqual, isObject, timestamp, type JsonObject, type KubeObject, type ManagedFieldsEntry } from './json.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { groupVersion, present, storageKey, type ResourceRegistry, type ResourceType } from './registry.js';
import type { ObjectStore } from './store.js';

/** Where a write goes and how the client asked for it. */
export interface WriteTarget {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  dryRun: boolean;
  fieldValidation: FieldValidation;
  fieldManager?: string;
  userAgent?: string;
}

/** A write's answer: the object as stored (or as it would be, under dryRun), and warnings for the `Warning` header. */
export interface WriteResult {
  code: number;
  object: KubeObject;
  warnings: string[];
}

/** The media types PATCH accepts, as kube-apiserver names them. */
export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

/** The manager of an Update without `fieldManager`: the User-Agent up to its first `/`, as kube-apiserver derives it. */
function managerFrom(target: WriteTarget): string {
  if (target.fieldManager) return target.fieldManager;
  const agent = target.userAgent?.split('/')[0]?.trim();
  return agent ? agent.slice(0, 128) : 'unknown';
}

function scopeOf(target: WriteTarget): FieldScope {
  if (target.subresource === 'status') return 'status';
  return target.type.statusSubresource ? 'main' : 'all';
}

/** The parts of an object whose change bumps `metadata.generation`. */
function specPart(type: ResourceType, obj: KubeObject): JsonObject {
  const { metadata: _m, status, apiVersion: _a, kind: _k, ...rest } = obj;
  return type.statusSubresource ? rest : { ...rest, ...(status === undefined ? {} : { status }) };
}

/** The object minus what changes on every write, to tell a no-op write from a real one. */
function comparable(obj: KubeObject): unknown {
  const { managedFields: _mf, resourceVersion: _rv, ...meta } = obj.metadata;
  return { ...obj, apiVersion: undefined, kind: undefined, metadata: meta };
}

function parseBody(text: string, yamlAllowed: boolean): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    if (!yamlAllowed) throw badRequest(`error decoding patch: ${(err as Error).message}`);
  }
  try {
    return yaml.load(text, { schema: yaml.CORE_SCHEMA });
  } catch (err) {
    throw badRequest(`error decoding YAML: ${(err as { reason?: string }).reason ?? 'malformed YAML'}`);
  }
}

/** Kind-specific defaults the real registry applies: a Secret's stringData, a Namespace's phase and name label. */
function normalize(type: ResourceType, obj: KubeObject, creating: boolean): void {
  if (!type.builtin) return;
  if (type.kind === 'Secret') {
    if (isObject(obj.stringData)) {
      const data = isObject(obj.data) ? obj.data : {};
      for (const [k, v] of Object.entries(obj.stringData)) data[k] = Buffer.from(String(v)).toString('base64');
      obj.data = data;
    }
    delete obj.stringData;
    obj.type ??= 'Opaque';
  }
  if (type.kind === 'Namespace') {
    obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name! };
    if (creating) {
      obj.spec = { finalizers: ['kubernetes'] };
      obj.status = { phase: 'Active' };
    }
  }
}

/**
 * Creates, updates and patches objects with the semantics of kube-apiserver's generic registry.
 * Request bodies are taken over (changed in place), not copied: each is parsed afresh per request.
 */
export class Writer {
  constructor(private readonly options: { store: ObjectStore; registry: ResourceRegistry; admission: Admission; deleter: Deleter }) {}

  private namespaceMustAccept(type: ResourceType, namespace: string | undefined, name: string): void {
    if (!type.namespaced || namespace === undefined) return;
    const nsType = this.options.registry.find('', 'v1', 'namespaces')!;
    const ns = this.options.store.get(storageKey(nsType), undefined, namespace);
    if (!ns) throw notFound('namespaces', '', namespace);
    if (ns.metadata.deletionTimestamp) {
      throw new StatusError(403, 'Forbidden', `${type.plural}${type.group ? `.${type.group}` : ''} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, {
        name,
        ...(type.group ? { group: type.group } : {}),
        kind: type.plural,
        causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
      });
    }
  }

  private checkIdentity(target: WriteTarget, obj: JsonObject): KubeObject {
    const { type } = target;
    if (!isObject(obj.metadata)) obj.metadata = {};
    const meta = obj.metadata as JsonObject;
    if (obj.apiVersion !== undefined && obj.apiVersion !== groupVersion(type)) {
      throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${groupVersion(type)})`);
    }
    if (obj.kind !== undefined && obj.kind !== type.kind) {
      throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${type.kind})`);
    }
    if (type.namespaced) {
      if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== target.namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = target.namespace;
    } else delete meta.namespace;
    if (target.name !== undefined && meta.name !== undefined && meta.name !== target.name) {
      throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${target.name})`);
    }
    if (target.name !== undefined) meta.name = target.name;
    obj.apiVersion = groupVersion(type);
    obj.kind = type.kind;
    return obj as KubeObject;
  }

  /** POST: a new object, named by `metadata.name` or `generateName`. */
  create(target: WriteTarget, body: unknown): WriteResult {
    const { type } = target;
    if (target.subresource) throw methodNotAllowed();
    if (!isObject(body)) throw badRequest('the body of the request must be an object');
    const obj = this.checkIdentity(target, body);
    if (!obj.metadata.name) {
      if (obj.metadata.generateName) obj.metadata.name = generateName(obj.metadata.generateName);
      else {
        throw invalid(type.kind, type.group, '', [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
      }
    }
    const warnings = this.options.admission.prune(type, obj, target.fieldValidation);
    return this.insert(target, obj, warnings, (o) => trackUpdate(undefined, o, [], this.writer(target)));
  }

  private writer(target: WriteTarget): FieldWriter {
    return {
      manager: managerFrom(target),
      apiVersion: groupVersion(target.type),
      ...(target.subresource ? { subresource: target.subresource } : {}),
      scope: scopeOf(target),
    };
  }

  private insert(target: WriteTarget, obj: KubeObject, warnings: string[], managed: (o: KubeObject) => ManagedFieldsEntry[]): WriteResult {
    const { type } = target;
    const { store } = this.options;
    const name = obj.metadata.name!;
    normalize(type, obj, true);
    if (type.statusSubresource && type.kind !== 'Namespace') delete obj.status;
    const meta = obj.metadata;
    meta.uid = randomUUID();
    meta.creationTimestamp = timestamp();
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (type.builtin) delete meta.generation;
    else meta.generation = 1;
    this.options.admission.validate(type, obj);
    this.namespaceMustAccept(type, meta.namespace, name);
    if (store.get(storageKey(type), meta.namespace, name)) throw alreadyExists(type.plural, type.group, name);
    meta.managedFields = managed(obj);
    if (target.dryRun) return { code: 201, object: present(type, obj), warnings };
    return { code: 201, object: present(type, store.put(storageKey(type), obj)), warnings };
  }

  private existing(target: WriteTarget): KubeObject {
    const { type } = target;
    const old = this.options.store.get(storageKey(type), target.namespace, target.name!);
    if (!old) throw notFound(type.plural, type.group, target.name!);
    return old;
  }

  private subresourceAllowed(target: WriteTarget): void {
    if (target.subresource !== undefined && !(target.subresource === 'status' && target.type.statusSubresource)) throw methodNotAllowed();
  }

  /** PUT: replaces the object (or its status), refusing a stale `metadata.resourceVersion`. */
  update(target: WriteTarget, body: unknown): WriteResult {
    this.subresourceAllowed(target);
    if (!isObject(body)) throw badRequest('the body of the request must be an object');
    const obj = this.checkIdentity(target, body);
    const old = this.existing(target);
    const { type } = target;
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== old.metadata.resourceVersion) throw conflict(type.plural, type.group, target.name!);
    const warnings = this.options.admission.prune(type, obj, target.fieldValidation);
    return this.replace(target, old, obj, warnings, (o) => trackUpdate(old, o, old.metadata.managedFields ?? [], this.writer(target)));
  }

  /** PATCH: JSON patch, merge patch, strategic merge patch (built-in kinds only) or server-side apply. */
  patch(target: WriteTarget, contentType: string, text: string): WriteResult {
    this.subresourceAllowed(target);
    const { type } = target;
    if (contentType === PATCH_TYPES.apply) return this.apply(target, text);
    if (contentType === PATCH_TYPES.strategic && !type.builtin) {
      throw new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.json}, ${PATCH_TYPES.merge}, ${PATCH_TYPES.apply}`);
    }
    const patch = parseBody(text, false);
    const old = this.existing(target);
    const base = present(type, old);
    let patched: unknown;
    if (contentType === PATCH_TYPES.json) patched = jsonPatch(base, patch);
    else if (!isObject(patch)) throw badRequest('error decoding patch: the patch must be a JSON object');
    else patched = contentType === PATCH_TYPES.merge ? mergePatch(base, patch) : strategicMergePatch(base, patch);
    if (!isObject(patched)) throw new StatusError(422, 'Invalid', 'the patch must leave an object');
    const obj = this.checkIdentity(target, patched);
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== old.metadata.resourceVersion) throw conflict(type.plural, type.group, target.name!);
    const warnings = this.options.admission.prune(type, obj, target.fieldValidation);
    return this.replace(target, old, obj, warnings, (o) => trackUpdate(old, o, old.metadata.managedFields ?? [], this.writer(target)));
  }

  /** Server-side apply; `force` makes no difference because every apply is forced (see applyConfiguration). */
  private apply(target: WriteTarget, text: string): WriteResult {
    const { type } = target;
    if (!target.fieldManager) {
      throw new StatusError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', {
        group: 'meta.k8s.io',
        kind: 'PatchOptions',
        causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }],
      });
    }
    const config = parseBody(text, true);
    if (!isObject(config)) throw badRequest('error decoding YAML: the configuration must be an object');
    if (config.apiVersion === undefined || config.kind === undefined) throw badRequest(`Object 'Kind' is missing in '${text.slice(0, 200)}'`);
    const cfg = this.checkIdentity(target, config);
    const warnings = this.options.admission.prune(type, cfg, target.fieldValidation);
    const writer = this.writer(target);
    const old = this.options.store.get(storageKey(type), target.namespace, target.name!);
    if (!old) {
      if (target.subresource) throw notFound(type.plural, type.group, target.name!);
      const fresh: KubeObject = { apiVersion: groupVersion(type), kind: type.kind, metadata: { name: target.name!, ...(type.namespaced ? { namespace: target.namespace } : {}) } };
      const { object, managedFields } = applyConfiguration(fresh, cfg, [], writer);
      return this.insert(target, object as KubeObject, warnings, () => managedFields);
    }
    const rv = cfg.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== old.metadata.resourceVersion) throw conflict(type.plural, type.group, target.name!);
    const { object, managedFields } = applyConfiguration(present(type, old), cfg, old.metadata.managedFields ?? [], writer);
    return this.replace(target, old, object as KubeObject, warnings, () => managedFields);
  }

  /** The shared end of update, patch and apply: subresource rules, immutable metadata, validation, generation, finalizers. */
  private replace(target: WriteTarget, old: KubeObject, incoming: KubeObject, warnings: string[], managed: (o: KubeObject) => ManagedFieldsEntry[]): WriteResult {
    const { type } = target;
    let obj = incoming;
    if (target.subresource === 'status') {
      obj = clone(old);
      if (incoming.status === undefined) delete obj.status;
      else obj.status = incoming.status;
    } else {
      normalize(type, obj, false);
      if (type.statusSubresource) {
        if (old.status === undefined) delete obj.status;
        else obj.status = clone(old.status);
      }
    }
    const meta = obj.metadata;
    meta.uid = old.metadata.uid;
    meta.creationTimestamp = old.metadata.creationTimestamp;
    meta.resourceVersion = old.metadata.resourceVersion;
    if (old.metadata.generation === undefined) delete meta.generation;
    else meta.generation = old.metadata.generation;
    if (old.metadata.deletionTimestamp) {
      meta.deletionTimestamp = old.metadata.deletionTimestamp;
      meta.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds ?? 0;
      const added = (meta.finalizers ?? []).filter((f) => !(old.metadata.finalizers ?? []).includes(f));
      if (added.length > 0) {
        throw invalid(type.kind, type.group, old.metadata.name!, [
          {
            reason: 'FieldValueForbidden',
            field: 'metadata.finalizers',
            message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`,
          },
        ]);
      }
    } else {
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
    }
    if (Array.isArray(meta.finalizers) && meta.finalizers.length === 0) delete meta.finalizers;
    this.options.admission.validate(type, obj);
    if (meta.generation !== undefined && !deepEqual(specPart(type, old), specPart(type, obj))) meta.generation += 1;
    if (deepEqual(comparable(old), comparable(obj))) return { code: 200, object: present(type, old), warnings };
    meta.managedFields = managed(obj);
    if (target.dryRun) return { code: 200, object: present(type, obj), warnings };
    if (meta.deletionTimestamp && (meta.finalizers ?? []).length === 0) {
      this.options.store.put(storageKey(type), obj);
      const gone = this.options.deleter.removeNow(type, obj, 'Background');
      return { code: 200, object: present(type, gone ?? obj), warnings };
    }
    return { code: 200, object: present(type, this.options.store.put(storageKey(type), obj)), warnings };
  }
}
