import type { ServerResponse } from 'node:http';
import { StatusError } from './errors.js';
import type { JsonObject, KubeObject } from './json.js';
import type { ApiServerMetrics, WatchLabels } from './metrics.js';
import { groupVersion, present, storageKey, type ResourceType } from './registry.js';
import type { Selector } from './selectors.js';
import type { ObjectStore, StoreEvent } from './store.js';
import { toTable, type IncludeObject } from './table.js';

/** One watch request, parsed. */
export interface WatchRequest {
  type: ResourceType;
  namespace?: string;
  labels: Selector;
  fields: Selector;
  /** Absent, "" or "0": start with ADDED for every current object. */
  resourceVersion?: string;
  allowBookmarks: boolean;
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
  /** Set when the client asked for Table rows instead of objects. */
  table?: IncludeObject;
}

type WatchType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** Open watch streams: each follows the store's changes, filtered and converted, until the client, a timeout or the server ends it. */
export class WatchHub {
  private readonly open = new Set<{ res: ServerResponse; labels: WatchLabels; stop: () => void; follows: (resource: string, o: KubeObject) => boolean }>();

  constructor(private readonly options: { store: ObjectStore; metrics: ApiServerMetrics; bookmarkIntervalMs?: number }) {}

  /** Checks a watch's resourceVersion before the 200 is sent (a malformed one is a 400). */
  static parseResourceVersion(value: string | undefined): number | undefined {
    if (value === undefined || value === '' || value === '0') return undefined;
    if (!/^\d+$/.test(value)) throw new StatusError(400, 'BadRequest', `resourceVersion: Invalid value: "${value}": strconv.ParseUint: parsing "${value}": invalid syntax`);
    return Number(value);
  }

  /** Streams events as newline-delimited JSON until the stream ends. */
  serve(res: ServerResponse, w: WatchRequest): void {
    const { store } = this.options;
    const from = WatchHub.parseResourceVersion(w.resourceVersion);
    const resource = storageKey(w.type);
    const inScope = (o: KubeObject): boolean => w.namespace === undefined || o.metadata.namespace === w.namespace;
    const matches = (o: KubeObject | undefined): boolean => !!o && inScope(o) && w.labels(o) && w.fields(o);
    const render = (o: KubeObject): JsonObject => {
      const shown = present(w.type, o);
      return w.table ? toTable(w.type, [shown], { include: w.table }) : shown;
    };
    const send = (type: WatchType, object: JsonObject): void => {
      res.write(`${JSON.stringify({ type, object })}\n`);
      this.options.metrics.watchEvent(w.type.group, w.type.version, w.type.kind);
    };
    const bookmark = (annotations?: Record<string, string>): void => {
      send('BOOKMARK', {
        kind: w.type.kind,
        apiVersion: groupVersion(w.type),
        metadata: { resourceVersion: String(store.resourceVersion), ...(annotations ? { annotations } : {}) },
      });
    };
    const forward = (e: StoreEvent): void => {
      if (e.resource !== resource) return;
      const now = e.type !== 'DELETED' && matches(e.object);
      const before = e.type !== 'ADDED' && matches(e.previous);
      if (e.type === 'DELETED') {
        if (before) send('DELETED', render(e.object));
      } else if (now && before) send('MODIFIED', render(e.object));
      else if (now) send('ADDED', render(e.object));
      else if (before) send('DELETED', render(e.object));
    };

    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();

    if (from !== undefined) {
      const since = store.eventsSince(from);
      if (since.expired) {
        const gone = new StatusError(410, 'Expired', `too old resource version: ${from} (${since.oldest})`);
        send('ERROR', gone.toStatus());
        res.end();
        return;
      }
      since.events.forEach(forward);
    } else if (w.sendInitialEvents !== false) {
      for (const o of store.list(resource, { namespace: w.namespace, filter: matches })) send('ADDED', render(o));
      if (w.sendInitialEvents && w.allowBookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
    }

    const unsubscribe = store.subscribe(forward);
    const timers: NodeJS.Timeout[] = [];
    if (w.allowBookmarks) timers.push(setInterval(() => bookmark(), this.options.bookmarkIntervalMs ?? 5000));
    if (w.timeoutSeconds !== undefined) timers.push(setTimeout(() => res.end(), w.timeoutSeconds * 1000));
    const entry = {
      res,
      labels: { group: w.type.group, version: w.type.version, resource: w.type.plural, scope: w.namespace === undefined ? 'cluster' : 'namespace' },
      follows: (r: string, o: KubeObject): boolean => r === resource && matches(o),
      stop: (): void => {
        unsubscribe();
        timers.forEach((t) => clearTimeout(t));
        this.open.delete(entry);
      },
    };
    this.open.add(entry);
    res.on('close', entry.stop);
  }

  /** How many open streams would report a change to this object of this storage resource. */
  following(resource: string, o: KubeObject): number {
    return [...this.open].filter((w) => w.follows(resource, o)).length;
  }

  /** The streams open now, for the long-running requests gauge. */
  openWatches(): WatchLabels[] {
    return [...this.open].map((w) => w.labels);
  }

  /** Ends every stream abruptly, as a restarting API server or a proxy timing out would. */
  dropAll(): void {
    for (const w of [...this.open]) {
      w.stop();
      w.res.destroy();
    }
  }

  /** Ends every stream cleanly, for shutdown. */
  endAll(): void {
    for (const w of [...this.open]) {
      w.stop();
      w.res.end();
    }
  }
}
