import { clone, type KubeObject } from './json.js';

/** One change as a watch sees it; `previous` lets a selector-filtered watch turn it into ADDED or DELETED. */
export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resourceVersion: number;
  /** `group/plural`, the storage key of the resource. */
  resource: string;
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

function objectKey(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

/**
 * Objects of every resource under one global resourceVersion counter (as etcd's revision), with a
 * bounded history of changes for watches resuming from an older version.
 */
export class ObjectStore {
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private counter = 1;
  /** Every change after this version is still in `history`. */
  private historyStart = 1;

  constructor(private readonly options: { historyLimit: number; onChange?: () => void }) {}

  /** The current resourceVersion, as list responses report it. */
  get resourceVersion(): number {
    return this.counter;
  }

  /** A copy of one object, if stored. */
  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.objects.get(resource)?.get(`${namespace ?? ''}/${name}`);
    return obj ? clone(obj) : undefined;
  }

  /** Copies of a resource's objects (in one namespace, or all), sorted by namespace and name like etcd keys. */
  list(resource: string, namespace?: string): KubeObject[] {
    const all = [...(this.objects.get(resource)?.values() ?? [])];
    return all
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .sort((a, b) => objectKey(a).localeCompare(objectKey(b)))
      .map((o) => clone(o));
  }

  /** Stores a new or changed object under the next resourceVersion and tells the watchers. */
  put(resource: string, obj: KubeObject): KubeObject {
    const key = objectKey(obj);
    let bucket = this.objects.get(resource);
    if (!bucket) this.objects.set(resource, (bucket = new Map()));
    const previous = bucket.get(key);
    const stored = clone(obj);
    stored.metadata.resourceVersion = String(++this.counter);
    bucket.set(key, stored);
    this.record({ type: previous ? 'MODIFIED' : 'ADDED', resourceVersion: this.counter, resource, object: clone(stored), ...(previous ? { previous } : {}) });
    return clone(stored);
  }

  /** Removes an object; the DELETED event carries it under a new resourceVersion, as etcd's delete revision. */
  remove(resource: string, obj: KubeObject): KubeObject | undefined {
    const bucket = this.objects.get(resource);
    const key = objectKey(obj);
    const previous = bucket?.get(key);
    if (!bucket || !previous) return undefined;
    bucket.delete(key);
    const gone = clone(previous);
    gone.metadata.resourceVersion = String(++this.counter);
    this.record({ type: 'DELETED', resourceVersion: this.counter, resource, object: clone(gone), previous });
    return gone;
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    while (this.history.length > this.options.historyLimit) this.historyStart = this.history.shift()!.resourceVersion;
    for (const listener of this.listeners) listener(event);
    this.options.onChange?.();
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

  /** Everything stored, for the state file. */
  snapshot(): StoreSnapshot {
    const objects: Record<string, KubeObject[]> = {};
    for (const [resource, bucket] of this.objects) if (bucket.size > 0) objects[resource] = [...bucket.values()];
    return { resourceVersion: this.counter, objects };
  }

  /** Replaces everything with a snapshot; the history starts afresh at its version. */
  restore(snapshot: StoreSnapshot): void {
    this.objects.clear();
    for (const [resource, list] of Object.entries(snapshot.objects)) {
      this.objects.set(resource, new Map(list.map((o) => [objectKey(o), clone(o)])));
    }
    this.counter = snapshot.resourceVersion;
    this.compact();
  }
}
