import { StatusError, conflict, notFound } from './errors.js';
import { clone, isObject, timestamp, type JsonObject, type KubeObject } from './json.js';
import { present, storageKey, type ResourceRegistry, type ResourceType } from './registry.js';
import type { ObjectStore } from './store.js';

/** How dependents are treated when their owner goes: kept without the reference, or deleted. */
export type Propagation = 'Orphan' | 'Background' | 'Foreground';

/** What a DELETE asks for beyond the object's identity. */
export interface DeleteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: Propagation;
  dryRun: boolean;
}

/** A DELETE's answer: the object while finalizers hold it, else a Status Success. */
export interface DeleteResult {
  code: number;
  body: JsonObject;
}

/**
 * Deletion as kube-apiserver and the controllers behind it do it: finalizers hold an object with a
 * deletionTimestamp; once gone, its dependents are deleted (or orphaned) as the garbage collector
 * would; a namespace goes once everything in it has gone.
 */
export class Deleter {
  constructor(private readonly options: { store: ObjectStore; registry: ResourceRegistry }) {}

  /** Deletes one object, or marks it deleting when it has finalizers. */
  delete(type: ResourceType, namespace: string | undefined, name: string, opts: DeleteOptions): DeleteResult {
    const { store } = this.options;
    const obj = store.get(storageKey(type), namespace, name);
    if (!obj) throw notFound(type.plural, type.group, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== obj.metadata.uid) {
      throw conflict(type.plural, type.group, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid ?? ''}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== obj.metadata.resourceVersion) {
      throw conflict(
        type.plural,
        type.group,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion ?? ''}`,
      );
    }
    if (isNamespace(type)) return this.deleteNamespace(type, obj, opts);
    const finalizers = obj.metadata.finalizers ?? [];
    if (finalizers.length > 0) {
      if (obj.metadata.deletionTimestamp || opts.dryRun) return { code: 200, body: present(type, withDeletion(obj)) };
      return { code: 200, body: present(type, store.put(storageKey(type), withDeletion(obj))) };
    }
    if (!opts.dryRun) this.removeNow(type, obj, opts.propagationPolicy ?? 'Background');
    return { code: 200, body: success(type, obj) };
  }

  /** Removes an object whose finalizers are done, then its dependents and, if it was the last, its terminating namespace. */
  removeNow(type: ResourceType, obj: KubeObject, propagation: Propagation): KubeObject | undefined {
    const { store } = this.options;
    const gone = store.remove(storageKey(type), obj);
    if (!gone) return undefined;
    if (obj.metadata.uid) this.cascade(obj.metadata.uid, propagation);
    if (type.namespaced && obj.metadata.namespace) this.finishNamespaceIfEmpty(obj.metadata.namespace);
    return gone;
  }

  private resources(): ResourceType[] {
    const seen = new Set<string>();
    return this.options.registry.all().filter((t) => {
      const key = storageKey(t);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  private cascade(ownerUid: string, propagation: Propagation): void {
    const { store } = this.options;
    for (const type of this.resources()) {
      const owned = (o: KubeObject): boolean => (o.metadata.ownerReferences ?? []).some((r) => r.uid === ownerUid);
      for (const dependent of store.list(storageKey(type), { filter: owned })) {
        const refs = dependent.metadata.ownerReferences ?? [];
        const remaining = refs.filter((r) => r.uid !== ownerUid);
        if (propagation === 'Orphan' || remaining.length > 0) {
          const updated = clone(dependent);
          if (remaining.length > 0) updated.metadata.ownerReferences = remaining;
          else delete updated.metadata.ownerReferences;
          store.put(storageKey(type), updated);
        } else {
          this.deleteLoaded(type, dependent);
        }
      }
    }
  }

  /** Deletes an object already read, honouring its finalizers, as the garbage and namespace controllers do. */
  private deleteLoaded(type: ResourceType, obj: KubeObject): void {
    if ((obj.metadata.finalizers ?? []).length > 0) {
      if (!obj.metadata.deletionTimestamp) this.options.store.put(storageKey(type), withDeletion(obj));
    } else this.removeNow(type, obj, 'Background');
  }

  private deleteNamespace(type: ResourceType, ns: KubeObject, opts: DeleteOptions): DeleteResult {
    const name = ns.metadata.name!;
    if (name === 'default') {
      throw new StatusError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
    }
    const terminating = withDeletion(ns);
    terminating.status = { ...(isObject(ns.status) ? ns.status : {}), phase: 'Terminating' };
    if (opts.dryRun) return { code: 200, body: present(type, terminating) };
    if (!ns.metadata.deletionTimestamp) {
      const stored = this.options.store.put(storageKey(type), terminating);
      for (const t of this.resources().filter((r) => r.namespaced)) {
        for (const obj of this.options.store.list(storageKey(t), { namespace: name })) this.deleteLoaded(t, obj);
      }
      this.finishNamespaceIfEmpty(name);
      return { code: 200, body: present(type, stored) };
    }
    return { code: 200, body: present(type, ns) };
  }

  /** Removes a terminating namespace once nothing is left in it and no finalizer holds it. */
  finishNamespaceIfEmpty(namespace: string): void {
    const { store, registry } = this.options;
    const nsType = registry.find('', 'v1', 'namespaces')!;
    const ns = store.get(storageKey(nsType), undefined, namespace);
    if (!ns?.metadata.deletionTimestamp || (ns.metadata.finalizers ?? []).length > 0) return;
    const empty = this.resources()
      .filter((r) => r.namespaced)
      .every((t) => store.count(storageKey(t), namespace) === 0);
    if (empty) store.remove(storageKey(nsType), ns);
  }
}

function isNamespace(type: ResourceType): boolean {
  return type.group === '' && type.plural === 'namespaces';
}

function withDeletion(obj: KubeObject): KubeObject {
  const out = clone(obj);
  out.metadata.deletionTimestamp ??= timestamp();
  out.metadata.deletionGracePeriodSeconds ??= 0;
  return out;
}

function success(type: ResourceType, obj: KubeObject): JsonObject {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name: obj.metadata.name, ...(type.group ? { group: type.group } : {}), kind: type.plural, uid: obj.metadata.uid },
  };
}
