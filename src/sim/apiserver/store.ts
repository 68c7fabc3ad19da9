import { clone, deepFreeze, type KubeObject } from './json.js';

/** One change as a watch sees it; `previous` lets a selector-filtered watch turn it into ADDED or DELETED. */
export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resourceVersion: number;
  /** `group/plural`, the storage key of the resource. */
  resource: string;
  /** Frozen, and the very object stored (or, for DELETED, last stored): watchers only read and serialise it. */
  object: KubeObject;
  previous?: KubeObject;
}

/** What a state file holds. */
export interface StoreSnapshot {
  resourceVersion: number;
  objects: Record<string, KubeObject[]>;
}

/** Events after a resourceVersion, or `expired` when history no longer reaches back that far. */
export type EventsSince = { expired: false; events: StoreEvent[] } | { expired: true; oldest: number };

/** Which objects of a resource a list wants. */
export interface ListOptions {
  /** Only this namespace; the namespace index means other namespaces are not even looked at. */
  namespace?: string;
  /** Only objects this accepts (label and field selectors). */
  filter?: (obj: KubeObject) => boolean;
}

/** `namespace/name`, as etcd's key ends. */
export function objectKey(obj: { metadata: { namespace?: string; name?: string } }): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

/** One stored object under its key; sorted arrays hold these, so a change of the object is one assignment. */
interface Entry {
  readonly key: string;
  obj: KubeObject;
}

/** Where `key` is, or belongs, in sorted entries (compared by UTF-16 code units, as etcd compares key bytes for these ASCII names). */
function position(sorted: Entry[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function removeSorted(sorted: Entry[], key: string): void {
  const at = position(sorted, key);
  if (sorted[at]?.key === key) sorted.splice(at, 1);
}

const byKey = (a: Entry, b: Entry): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** The objects of one resource, kept sorted by key overall and per namespace. */
class Bucket {
  private readonly entries = new Map<string, Entry>();
  /** Every entry, sorted like etcd keys. */
  private readonly sorted: Entry[] = [];
  /** Entries per namespace ('' for cluster-scoped objects), sorted. */
  private readonly byNamespace = new Map<string, Entry[]>();

  get size(): number {
    return this.entries.size;
  }

  get(key: string): KubeObject | undefined {
    return this.entries.get(key)?.obj;
  }

  set(key: string, namespace: string, obj: KubeObject): void {
    this.put(key, namespace, obj, (list, entry) => list.splice(position(list, entry.key), 0, entry));
  }

  /** Replaces the object at `key`, or adds an entry for it, placed in the sorted lists by `insert`. */
  private put(key: string, namespace: string, obj: KubeObject, insert: (list: Entry[], entry: Entry) => void): void {
    const known = this.entries.get(key);
    if (known) {
      known.obj = obj;
      return;
    }
    const entry: Entry = { key, obj };
    this.entries.set(key, entry);
    insert(this.sorted, entry);
    let inNamespace = this.byNamespace.get(namespace);
    if (!inNamespace) this.byNamespace.set(namespace, (inNamespace = []));
    insert(inNamespace, entry);
  }

  delete(key: string, namespace: string): void {
    if (!this.entries.delete(key)) return;
    removeSorted(this.sorted, key);
    const inNamespace = this.byNamespace.get(namespace);
    if (!inNamespace) return;
    removeSorted(inNamespace, key);
    if (inNamespace.length === 0) this.byNamespace.delete(namespace);
  }

  /** A bucket of many objects at once: one sort instead of an insertion each; a repeated key keeps the last object. */
  static of(objects: KubeObject[]): Bucket {
    const bucket = new Bucket();
    for (const obj of objects) bucket.put(objectKey(obj), obj.metadata.namespace ?? '', obj, (list, entry) => list.push(entry));
    bucket.sorted.sort(byKey);
    for (const inNamespace of bucket.byNamespace.values()) inNamespace.sort(byKey);
    return bucket;
  }

  /** Entries in key order: one namespace's, or all. */
  ordered(namespace: string | undefined): readonly Entry[] {
    return namespace === undefined ? this.sorted : (this.byNamespace.get(namespace) ?? []);
  }

  /** Every object, in no particular order. */
  objects(): KubeObject[] {
    return [...this.entries.values()].map((e) => e.obj);
  }
}

/**
 * Objects of every resource under one global resourceVersion counter (as etcd's revision), with a
 * bounded history of changes for watches resuming from an older version.
 *
 * Stored objects are deep-frozen: `get` and `list` hand them out without copying, and no caller can
 * change what is stored except through `put` and `remove`. A caller that wants to change an object
 * clones it first.
 */
export class ObjectStore {
  private readonly objects = new Map<string, Bucket>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private counter = 1;
  /** Every change after this version is still in `history`. */
  private historyStart = 1;

  constructor(private readonly options: { historyLimit: number }) {}

  /** The current resourceVersion, as list responses report it. */
  get resourceVersion(): number {
    return this.counter;
  }

  /** One stored object (frozen), if any. */
  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(resource)?.get(`${namespace ?? ''}/${name}`);
  }

  /**
   * Stored objects (frozen) of a resource, in one namespace or all, that `filter` accepts, sorted by
   * namespace/name like etcd keys. Costs what it returns plus one filter call per object in scope.
   */
  list(resource: string, options: ListOptions = {}): KubeObject[] {
    const bucket = this.objects.get(resource);
    if (!bucket) return [];
    const out: KubeObject[] = [];
    const { filter } = options;
    for (const { obj } of bucket.ordered(options.namespace)) if (!filter || filter(obj)) out.push(obj);
    return out;
  }

  /** How many objects a resource has (in one namespace, or all). */
  count(resource: string, namespace?: string): number {
    return this.objects.get(resource)?.ordered(namespace).length ?? 0;
  }

  /** Stores a copy of a new or changed object under the next resourceVersion, tells the watchers, and returns the stored (frozen) object. */
  put(resource: string, obj: KubeObject): KubeObject {
    const key = objectKey(obj);
    let bucket = this.objects.get(resource);
    if (!bucket) this.objects.set(resource, (bucket = new Bucket()));
    const previous = bucket.get(key);
    const stored = clone(obj);
    stored.metadata.resourceVersion = String(++this.counter);
    deepFreeze(stored);
    bucket.set(key, stored.metadata.namespace ?? '', stored);
    this.record({ type: previous ? 'MODIFIED' : 'ADDED', resourceVersion: this.counter, resource, object: stored, ...(previous ? { previous } : {}) });
    return stored;
  }

  /** Removes an object; the DELETED event carries it under a new resourceVersion, as etcd's delete revision. */
  remove(resource: string, obj: KubeObject): KubeObject | undefined {
    const bucket = this.objects.get(resource);
    const key = objectKey(obj);
    const previous = bucket?.get(key);
    if (!bucket || !previous) return undefined;
    bucket.delete(key, previous.metadata.namespace ?? '');
    // only metadata changes, so the rest stays shared with the (frozen) last stored version
    const gone = deepFreeze({ ...previous, metadata: { ...previous.metadata, resourceVersion: String(++this.counter) } });
    this.record({ type: 'DELETED', resourceVersion: this.counter, resource, object: gone, previous });
    return gone;
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    while (this.history.length > this.options.historyLimit) this.historyStart = this.history.shift()!.resourceVersion;
    for (const listener of this.listeners) listener(event);
  }

  /** Changes after `resourceVersion`, oldest first. */
  eventsSince(resourceVersion: number): EventsSince {
    if (resourceVersion < this.historyStart) return { expired: true, oldest: this.historyStart };
    return { expired: false, events: this.history.filter((e) => e.resourceVersion > resourceVersion) };
  }

  /** Forgets the history: only watches from the current version on can resume. */
  compact(): void {
    this.history.length = 0;
    this.historyStart = this.counter;
  }

  /** Calls `listener` for every change until the returned function is called. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Everything stored (frozen, not copied), for the state file. */
  snapshot(): StoreSnapshot {
    const objects: Record<string, KubeObject[]> = {};
    for (const [resource, bucket] of this.objects) if (bucket.size > 0) objects[resource] = bucket.objects();
    return { resourceVersion: this.counter, objects };
  }

  /** Replaces everything with a snapshot, taking its objects over (they are frozen); the history starts afresh at its version. */
  restore(snapshot: StoreSnapshot): void {
    this.objects.clear();
    for (const [resource, list] of Object.entries(snapshot.objects)) {
      this.objects.set(resource, Bucket.of(list.map(deepFreeze)));
    }
    this.counter = snapshot.resourceVersion;
    this.compact();
  }
}
