import type { Logger } from '../log.js';
import { KubeError } from './errors.js';
import type { FlinkDeployment, FlinkDeployments, WatchEventType } from './flinkDeployments.js';

/** Options of a FlinkDeployment cache. */
export interface DeploymentCacheOptions {
  deployments: FlinkDeployments;
  log: Logger;
  /** Named indexes: each maps an object to the value it is found under (none: not indexed). */
  indexes?: Record<string, (deployment: FlinkDeployment) => string | undefined>;
  /**
   * What of each object is kept (client-go's informer transform): a reader that needs less than
   * the whole object keeps less of it. It may return the object itself, changed.
   */
  transform?: (deployment: FlinkDeployment) => FlinkDeployment;
  /** Called for every object that appeared, changed or went (with its last state). */
  onChange?: (deployment: FlinkDeployment) => void;
  /** Longest wait before watching again after a failure. */
  maxDelayMs?: number;
}

function keyOf(d: { metadata: { namespace?: string; name?: string } }): string {
  return `${d.metadata.namespace ?? ''}/${d.metadata.name ?? ''}`;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Resource versions are opaque, but every API server (etcd's revision) issues increasing integers. */
function newer(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return a !== b;
  return BigInt(a) > BigInt(b);
}

/**
 * One list-then-watch over a namespace, or over the whole cluster (client-go's reflector): it lists,
 * watches from the list's version, resumes a watch that ends from the last version seen, and lists
 * again when that version is too old (410 Gone).
 */
class Reflector {
  private resourceVersion = '';
  private hasListed = false;
  /** The failure last warned about, so a lasting one is warned about once. */
  private lastError: string | undefined;
  private running = true;
  private stopWatch: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  readonly loop: Promise<void>;

  constructor(
    private readonly namespace: string | undefined,
    private readonly options: DeploymentCacheOptions,
    private readonly sink: {
      replace(items: FlinkDeployment[], namespace: string | undefined): void;
      event(type: WatchEventType, object: FlinkDeployment): void;
      listed(): void;
    },
  ) {
    this.loop = this.run();
  }

  stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.wake?.();
    this.stopWatch?.();
    return this.loop;
  }

  private async run(): Promise<void> {
    const { deployments } = this.options;
    let failures = 0;
    while (this.running) {
      try {
        if (!this.resourceVersion) {
          const list = await deployments.listAll(this.namespace);
          if (!this.running) return;
          this.sink.replace(list.items, this.namespace);
          this.resourceVersion = list.resourceVersion;
          this.lastError = undefined;
          if (!this.hasListed) this.sink.listed();
          this.hasListed = true;
        }
        const started = Date.now();
        let heard = false;
        const watch = deployments.watch(
          this.resourceVersion,
          (type, object) => {
            heard = true;
            failures = 0;
            this.sink.event(type, object);
            if (object.metadata?.resourceVersion) this.resourceVersion = object.metadata.resourceVersion;
          },
          this.namespace,
        );
        this.stopWatch = watch.stop;
        await watch.ended;
        // a server that closes every watch at once is not asked again at full speed
        if (!heard && Date.now() - started < 1_000) await this.pause(failures++, 'FlinkDeployment watch ended at once');
      } catch (err) {
        if (!this.running) return;
        if (err instanceof KubeError && err.code === 410) {
          this.resourceVersion = '';
          continue;
        }
        await this.pause(failures++, 'FlinkDeployment watch failed', err);
      }
    }
  }

  /** Waits with exponential backoff and jitter before watching again; stopping wakes it. */
  private async pause(failures: number, why: string, err?: unknown): Promise<void> {
    if (!this.running) return;
    const delay = Math.round(Math.min(this.options.maxDelayMs ?? 30_000, 250 * 2 ** failures) * (0.5 + Math.random()));
    // a failure worth a warning once (a namespace without its Role keeps every reconcile waiting), not on every retry
    const message = err ? (err as Error).message : undefined;
    const level = message !== undefined && message !== this.lastError ? 'warn' : 'debug';
    this.lastError = message ?? this.lastError;
    this.options.log[level](`${why}, watching again`, {
      ...(this.namespace ? { namespace: this.namespace } : {}),
      inMs: delay,
      ...(err ? { error: (err as Error).message } : {}),
    });
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, delay);
      this.timer.unref();
    });
    this.wake = undefined;
  }
}

/**
 * Every FlinkDeployment drey manages, kept by list-then-watch (client-go's reflector and indexer):
 * one over the cluster, or one per namespace when drey is scoped to some (a scoped drey may not
 * list cluster-wide). Reads are served from memory, indexed by owner, so a reconcile costs the API
 * server nothing. A re-list replaces what that list covers, telling `onChange` exactly what
 * differed. Objects handed out are frozen: they are the cache's own.
 */
export class DeploymentCache {
  private readonly objects = new Map<string, FlinkDeployment>();
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private reflectors: Reflector[] = [];
  private running = false;
  private unlisted = 0;
  private waiting: { resolve: () => void; reject: (err: Error) => void }[] = [];

  constructor(private readonly options: DeploymentCacheOptions) {
    for (const name of Object.keys(options.indexes ?? {})) this.indexes.set(name, new Map());
  }

  /**
   * Starts listing and watching. A cache started again forgets what it held and lists afresh: that
   * went stale while it was stopped (a process that leads again must not act on what it saw before).
   */
  start(): void {
    if (this.running) return;
    this.objects.clear();
    for (const index of this.indexes.values()) index.clear();
    this.running = true;
    const { scope } = this.options.deployments;
    const namespaces = scope.all ? [undefined] : scope.namespaces;
    this.unlisted = namespaces.length;
    const sink = {
      replace: (items: FlinkDeployment[], namespace: string | undefined) => this.replace(items, namespace),
      event: (type: WatchEventType, object: FlinkDeployment) => this.onEvent(type, object),
      listed: () => this.listed(),
    };
    this.reflectors = namespaces.map((namespace) => new Reflector(namespace, this.options, sink));
  }

  /** Stops watching (reads still answer what it last held); whoever waits for the first list is told the cache stopped. */
  async stop(): Promise<void> {
    this.running = false;
    for (const w of this.waiting.splice(0)) w.reject(new Error('the FlinkDeployment cache stopped'));
    await Promise.all(this.reflectors.map((r) => r.stop()));
  }

  /** Resolves once every namespace's first list is in (rejects if the cache stops first). */
  synced(): Promise<void> {
    if (this.running && this.unlisted === 0) return Promise.resolve();
    if (!this.running) return Promise.reject(new Error('the FlinkDeployment cache is not running'));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** The FlinkDeployment `namespace/name`, if the cluster has it. */
  get(namespace: string, name: string): FlinkDeployment | undefined {
    return this.objects.get(`${namespace}/${name}`);
  }

  /** The FlinkDeployments an index files under `value`. */
  byIndex(index: string, value: string): FlinkDeployment[] {
    const keys = this.indexOf(index).get(value);
    return keys ? [...keys].map((k) => this.objects.get(k)!) : [];
  }

  /** Every value an index holds objects under. */
  indexValues(index: string): string[] {
    return [...this.indexOf(index).keys()];
  }

  /**
   * Takes in an object a write of ours returned, unless the watch already brought a newer one: the
   * next reconcile then sees its own write even before the watch event arrives. It is a change
   * like one the watch brings (`onChange` hears of it, and the watch event itself is then none).
   */
  observe(deployment: FlinkDeployment): void {
    const current = this.objects.get(keyOf(deployment));
    if (current && !newer(deployment.metadata.resourceVersion, current.metadata.resourceVersion)) return;
    this.put(structuredClone(deployment));
  }

  private indexOf(index: string): Map<string, Set<string>> {
    const found = this.indexes.get(index);
    if (!found) throw new Error(`no FlinkDeployment index '${index}'`);
    return found;
  }

  private file(key: string, deployment: FlinkDeployment, add: boolean): void {
    for (const [name, indexer] of Object.entries(this.options.indexes ?? {})) {
      const value = indexer(deployment);
      if (value === undefined) continue;
      const index = this.indexes.get(name)!;
      let keys = index.get(value);
      if (add) {
        if (!keys) index.set(value, (keys = new Set()));
        keys.add(key);
      } else if (keys) {
        keys.delete(key);
        if (keys.size === 0) index.delete(value);
      }
    }
  }

  private put(deployment: FlinkDeployment): void {
    const key = keyOf(deployment);
    const previous = this.objects.get(key);
    const version = previous?.metadata.resourceVersion;
    if (version !== undefined && version === deployment.metadata.resourceVersion) return;
    if (previous) this.file(key, previous, false);
    const kept = deepFreeze(this.options.transform ? this.options.transform(deployment) : deployment);
    this.objects.set(key, kept);
    this.file(key, kept, true);
    this.options.onChange?.(kept);
  }

  private remove(deployment: FlinkDeployment): void {
    const key = keyOf(deployment);
    const previous = this.objects.get(key);
    if (!previous) return;
    this.file(key, previous, false);
    this.objects.delete(key);
    this.options.onChange?.(previous);
  }

  /** One reflector's first list is in; the cache is synced once every reflector's is. */
  private listed(): void {
    if (--this.unlisted > 0) return;
    for (const w of this.waiting.splice(0)) w.resolve();
  }

  /** Replaces what a list of `namespace` (every namespace when undefined) covers, telling `onChange` about each difference. */
  private replace(items: FlinkDeployment[], namespace: string | undefined): void {
    const listed = new Set(items.map(keyOf));
    for (const previous of [...this.objects.values()]) {
      if (namespace !== undefined && previous.metadata.namespace !== namespace) continue;
      if (!listed.has(keyOf(previous))) this.remove(previous);
    }
    for (const item of items) this.put(item);
  }

  private onEvent(type: WatchEventType, object: FlinkDeployment): void {
    if (type === 'DELETED') this.remove(object);
    else if (type !== 'BOOKMARK') this.put(object);
  }
}
