import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../log.js';
import { isObject } from './json.js';
import type { StoreSnapshot } from './store.js';

/** Saves the store to one JSON file (debounced, written to a temporary file and renamed) so a restart keeps the objects. */
export class StateFile {
  private timer: NodeJS.Timeout | undefined;
  private pending: (() => StoreSnapshot) | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly options: { path: string; log: Logger; debounceMs?: number }) {}

  /** The saved snapshot, or undefined when there is none; an unreadable file is moved aside, not lost. */
  load(): StoreSnapshot | undefined {
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
      const aside = `${this.options.path}.unreadable-${Date.now()}`;
      mkdirSync(path.dirname(aside), { recursive: true });
      renameSync(this.options.path, aside);
      this.options.log.warn('simulated cluster state unreadable, starting empty', { file: this.options.path, movedTo: aside, error: (err as Error).message });
      return undefined;
    }
  }

  /** Saves soon; several changes in a row make one write. */
  schedule(snapshot: () => StoreSnapshot): void {
    this.pending = snapshot;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.options.debounceMs ?? 200);
  }

  /** Writes what is pending now and waits for every write to finish. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const snapshot = this.pending;
    this.pending = undefined;
    if (snapshot) {
      const data = JSON.stringify(snapshot());
      this.writing = this.writing.then(() => this.write(data));
    }
    await this.writing;
  }

  private async write(data: string): Promise<void> {
    const file = this.options.path;
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(tmp, data, { mode: 0o600 });
      await rename(tmp, file);
    } catch (err) {
      this.options.log.error('simulated cluster state not saved', { file, error: (err as Error).message });
    }
  }
}
