import { existsSync, mkdirSync, readFileSync, renameSync, statSync, truncateSync } from 'node:fs';
import { appendFile, mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../log.js';
import { isObject, type KubeObject } from './json.js';
import { objectKey, type StoreEvent, type StoreSnapshot } from './store.js';

/** One line of the journal: a change after the snapshot, replayed on load when newer than the snapshot. */
interface JournalEntry {
  op: 'put' | 'remove';
  resource: string;
  resourceVersion: number;
  object: KubeObject;
}

/** What the state file follows: changes as they happen, and everything when it compacts. */
export interface StateSource {
  subscribe(listener: (event: StoreEvent) => void): () => void;
  snapshot(): StoreSnapshot;
}

/** Options of the state file. */
export interface StateFileOptions {
  /** The snapshot (e.g. `objects.json`); the journal sits beside it (`objects.journal`). */
  path: string;
  log: Logger;
  /** Changes within this long are appended in one write. Default 200 ms. */
  debounceMs?: number;
  /** The journal is compacted into the snapshot once it is larger than the snapshot and than this. Default 64 KiB. */
  compactMinBytes?: number;
}

/** `objects.json` → `objects.journal`; any other name gets `.journal` appended. */
export function journalPath(snapshotPath: string): string {
  return snapshotPath.endsWith('.json') ? `${snapshotPath.slice(0, -'.json'.length)}.journal` : `${snapshotPath}.journal`;
}

function isEntry(value: unknown): value is JournalEntry {
  return (
    isObject(value) &&
    (value.op === 'put' || value.op === 'remove') &&
    typeof value.resource === 'string' &&
    typeof value.resourceVersion === 'number' &&
    isObject(value.object) &&
    isObject(value.object.metadata)
  );
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Saves the store so a restart keeps the objects, at a cost that follows the changes rather than the
 * state: a snapshot (JSON, replaced atomically through a temporary file) plus an append-only journal
 * of JSON lines, one per change, appended in debounced batches. When the journal outgrows the
 * snapshot (and on close) the snapshot is rewritten and the journal emptied, so each change costs
 * amortised O(1) bytes written. A crash mid-append leaves a torn last line, which loading ignores.
 */
export class StateFile {
  private readonly journal: string;
  /** The latest change per object not yet appended (only the last one matters for the state). */
  private readonly pending = new Map<string, JournalEntry>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private source: StateSource | undefined;
  private unsubscribe: (() => void) | undefined;
  private snapshotBytes = 0;
  private journalBytes = 0;
  /** A snapshot must be written (none yet, or an append failed and the journal may miss changes). */
  private stale = false;
  private directoryMade = false;

  constructor(private readonly options: StateFileOptions) {
    this.journal = journalPath(options.path);
  }

  /**
   * The saved snapshot with the journal replayed on top, or undefined when neither exists. An
   * unreadable snapshot is moved aside (with its journal), not lost; a torn last journal line is
   * dropped and cut off the file so later appends start on a line of their own.
   */
  load(): StoreSnapshot | undefined {
    const snapshot = this.loadSnapshot();
    const entries = this.loadJournal();
    this.snapshotBytes = sizeOf(this.options.path);
    this.journalBytes = sizeOf(this.journal);
    if (!snapshot && entries.length === 0) return undefined;
    return replay(snapshot ?? { resourceVersion: 1, objects: {} }, entries);
  }

  private loadSnapshot(): StoreSnapshot | undefined {
    let text: string;
    try {
      text = readFileSync(this.options.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (isObject(parsed) && typeof parsed.resourceVersion === 'number' && isObject(parsed.objects)) return parsed as unknown as StoreSnapshot;
      throw new Error('not a saved cluster state');
    } catch (err) {
      const stamp = Date.now();
      const aside = `${this.options.path}.unreadable-${stamp}`;
      mkdirSync(path.dirname(aside), { recursive: true });
      renameSync(this.options.path, aside);
      // the journal only makes sense on top of the snapshot it followed
      if (existsSync(this.journal)) renameSync(this.journal, `${this.journal}.unreadable-${stamp}`);
      this.options.log.warn('simulated cluster state unreadable, starting empty', { file: this.options.path, movedTo: aside, error: (err as Error).message });
      return undefined;
    }
  }

  private loadJournal(): JournalEntry[] {
    let text: string;
    try {
      text = readFileSync(this.journal, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const complete = text.lastIndexOf('\n') + 1;
    if (complete < text.length) {
      this.options.log.warn('simulated cluster state journal ends in a torn line, ignoring it', { file: this.journal, bytes: Buffer.byteLength(text.slice(complete)) });
      truncateSync(this.journal, Buffer.byteLength(text.slice(0, complete)));
    }
    const entries: JournalEntry[] = [];
    let skipped = 0;
    for (const line of text.slice(0, complete).split('\n')) {
      if (line.trim() === '') continue;
      try {
        const entry = JSON.parse(line) as unknown;
        if (isEntry(entry)) entries.push(entry);
        else skipped++;
      } catch {
        skipped++;
      }
    }
    if (skipped > 0) this.options.log.warn('simulated cluster state journal has unreadable lines, skipped them', { file: this.journal, skipped });
    return entries;
  }

  /** Journals every change of `source` from now on; `source.snapshot()` is what compaction writes. */
  follow(source: StateSource): void {
    this.source = source;
    this.stale ||= this.snapshotBytes === 0;
    this.unsubscribe = source.subscribe((event) => this.record(event));
  }

  private record(event: StoreEvent): void {
    const { metadata } = event.object;
    const entry: JournalEntry =
      event.type === 'DELETED'
        ? { op: 'remove', resource: event.resource, resourceVersion: event.resourceVersion, object: { metadata: { namespace: metadata.namespace, name: metadata.name } } }
        : { op: 'put', resource: event.resource, resourceVersion: event.resourceVersion, object: event.object };
    this.pending.set(`${event.resource}\n${objectKey(event.object)}`, entry);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.options.debounceMs ?? 200);
  }

  /** Appends what is pending now (compacting if the journal has outgrown the snapshot) and waits for every write to finish. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size > 0) {
      // stored objects are frozen, so serialising them now or later gives the same text
      const text = [...this.pending.values()].map((e) => `${JSON.stringify(e)}\n`).join('');
      this.pending.clear();
      this.writing = this.writing.then(() => this.append(text));
    }
    this.writing = this.writing.then(() => (this.stale || this.journalBytes > Math.max(this.snapshotBytes, this.options.compactMinBytes ?? 64 * 1024) ? this.compact() : undefined));
    await this.writing;
  }

  /** Stops following, appends what is pending and compacts, so the next start reads one snapshot. */
  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.flush();
    if (this.journalBytes > 0) {
      this.writing = this.writing.then(() => this.compact());
      await this.writing;
    }
  }

  private async append(text: string): Promise<void> {
    try {
      await this.makeDirectory();
      await appendFile(this.journal, text, { mode: 0o600 });
      this.journalBytes += Buffer.byteLength(text);
    } catch (err) {
      this.stale = true;
      this.directoryMade = false;
      this.options.log.error('simulated cluster state journal not written', { file: this.journal, error: (err as Error).message });
    }
  }

  private async makeDirectory(): Promise<void> {
    if (this.directoryMade) return;
    await mkdir(path.dirname(this.options.path), { recursive: true });
    this.directoryMade = true;
  }

  /** Writes the whole state as the snapshot (temporary file, then rename) and empties the journal. */
  private async compact(): Promise<void> {
    if (!this.source) return;
    const snapshot = this.source.snapshot();
    // what is still pending is in this snapshot; appending it later would only repeat it
    for (const [key, entry] of this.pending) if (entry.resourceVersion <= snapshot.resourceVersion) this.pending.delete(key);
    const data = JSON.stringify(snapshot);
    const file = this.options.path;
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      await this.makeDirectory();
      await writeFile(tmp, data, { mode: 0o600 });
      await rename(tmp, file);
      // a crash here leaves journal lines the snapshot already holds: load skips them by resourceVersion
      await writeFile(this.journal, '', { mode: 0o600 });
      this.snapshotBytes = Buffer.byteLength(data);
      this.journalBytes = 0;
      this.stale = false;
    } catch (err) {
      this.directoryMade = false;
      this.options.log.error('simulated cluster state not saved', { file, error: (err as Error).message });
    }
  }
}

/** The snapshot with the journal's newer changes applied; the resourceVersion is the newest either knows. */
function replay(snapshot: StoreSnapshot, entries: JournalEntry[]): StoreSnapshot {
  const newer = entries.filter((e) => e.resourceVersion > snapshot.resourceVersion);
  if (newer.length === 0) return snapshot;
  const buckets = new Map<string, Map<string, KubeObject>>();
  for (const [resource, list] of Object.entries(snapshot.objects)) buckets.set(resource, new Map(list.map((o) => [objectKey(o), o])));
  let resourceVersion = snapshot.resourceVersion;
  for (const e of newer) {
    let bucket = buckets.get(e.resource);
    if (!bucket) buckets.set(e.resource, (bucket = new Map()));
    if (e.op === 'put') bucket.set(objectKey(e.object), e.object);
    else bucket.delete(objectKey(e.object));
    resourceVersion = Math.max(resourceVersion, e.resourceVersion);
  }
  const objects: Record<string, KubeObject[]> = {};
  for (const [resource, bucket] of buckets) if (bucket.size > 0) objects[resource] = [...bucket.values()];
  return { resourceVersion, objects };
}
