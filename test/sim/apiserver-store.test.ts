import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/log.js';
import type { KubeObject } from '../../src/sim/apiserver/json.js';
import { StateFile, journalPath } from '../../src/sim/apiserver/state.js';
import { ObjectStore, type StoreEvent } from '../../src/sim/apiserver/store.js';

const log = createLogger('error');
const R = 'flink.apache.org/flinkdeployments';

function object(namespace: string | undefined, name: string, labels: Record<string, string> = {}, spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'flink.apache.org/v1beta1', kind: 'FlinkDeployment', metadata: { name, ...(namespace ? { namespace } : {}), labels }, spec };
}

/** True when the change throws a TypeError, as writing to a frozen object does in strict mode. */
function refused(change: () => void): boolean {
  try {
    change();
    return false;
  } catch (err) {
    return err instanceof TypeError;
  }
}

const keys = (list: KubeObject[]): string[] => list.map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`);

describe('the simulated apiserver: object store', () => {
  it('lists in etcd key order (namespace/name compared as one key), whatever order objects arrived in', () => {
    const store = new ObjectStore({ historyLimit: 100 });
    const names: [string, string][] = [
      ['b', 'x'],
      ['a-x', 'c'],
      ['a', 'b'],
      ['a', 'a.1'],
      ['a', 'a-1'],
      ['a', 'a'],
      ['b', '10'],
      ['b', '9'],
      ['a-x', 'a'],
    ];
    for (const [ns, name] of names) store.put(R, object(ns, name));
    const expected = names.map(([ns, name]) => `${ns}/${name}`).sort((x, y) => x.localeCompare(y));
    expect(keys(store.list(R))).toEqual(expected);
    expect(keys(store.list(R))).toEqual(['a-x/a', 'a-x/c', 'a/a', 'a/a-1', 'a/a.1', 'a/b', 'b/10', 'b/9', 'b/x']);
    expect(keys(store.list(R, { namespace: 'a' }))).toEqual(['a/a', 'a/a-1', 'a/a.1', 'a/b']);

    store.remove(R, object('a', 'a-1'));
    store.put(R, object('a', 'a-0'));
    expect(keys(store.list(R, { namespace: 'a' }))).toEqual(['a/a', 'a/a-0', 'a/a.1', 'a/b']);
    expect(store.count(R, 'a')).toBe(4);
    expect(store.count(R)).toBe(9);
    expect(store.count(R, 'none')).toBe(0);
  });

  it('a namespaced list with a filter looks only at that namespace and returns only what the filter accepts', () => {
    const store = new ObjectStore({ historyLimit: 100 });
    for (let i = 0; i < 30; i++) store.put(R, object(`ns${i % 3}`, `fd-${i}`, { app: i % 2 ? 'odd' : 'even' }));
    const seen: string[] = [];
    const odd = store.list(R, {
      namespace: 'ns1',
      filter: (o) => {
        seen.push(o.metadata.namespace!);
        return o.metadata.labels?.app === 'odd';
      },
    });
    expect(new Set(seen)).toEqual(new Set(['ns1']));
    expect(seen).toHaveLength(10);
    expect(keys(odd)).toEqual(['ns1/fd-1', 'ns1/fd-13', 'ns1/fd-19', 'ns1/fd-25', 'ns1/fd-7']);
  });

  it('callers cannot change stored objects: not through what get, list, put or watch events hand out, nor through what they passed to put', () => {
    const store = new ObjectStore({ historyLimit: 100 });
    const events: StoreEvent[] = [];
    store.subscribe((e) => events.push(e));
    const input = object('a', 'one', { app: 'x' }, { parallelism: 1, args: ['a'] });
    const returned = store.put(R, input);
    input.metadata.labels!.app = 'changed';
    (input.spec as { args: string[] }).args.push('b');

    const attempts: [string, () => void][] = [
      ['put result', () => ((returned.spec as { parallelism: number }).parallelism = 2)],
      ['get result', () => (store.get(R, 'a', 'one')!.metadata.labels!.app = 'y')],
      ['list item', () => ((store.list(R)[0]!.spec as { args: string[] }).args[0] = 'z')],
      ['list item metadata', () => delete store.list(R)[0]!.metadata.name],
      ['event object', () => (events[0]!.object.metadata.resourceVersion = '999')],
    ];
    for (const [what, attempt] of attempts) expect({ what, refused: refused(attempt) }).toEqual({ what, refused: true });

    const stored = store.get(R, 'a', 'one')!;
    expect(stored.metadata).toMatchObject({ name: 'one', labels: { app: 'x' }, resourceVersion: returned.metadata.resourceVersion });
    expect(stored.spec).toEqual({ parallelism: 1, args: ['a'] });
  });

  it('writes copy once: the stored object, its watch event and the put result are one object, and the previous version rides along', () => {
    const store = new ObjectStore({ historyLimit: 100 });
    const events: StoreEvent[] = [];
    store.subscribe((e) => events.push(e));
    const first = store.put(R, object('a', 'one'));
    const second = store.put(R, { ...object('a', 'one'), spec: { parallelism: 2 } });
    const gone = store.remove(R, second)!;
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect(events[0]!.object).toBe(first);
    expect(events[1]!.object).toBe(second);
    expect(events[1]!.previous).toBe(first);
    expect(events[2]!.previous).toBe(second);
    expect(events[2]!.object).toBe(gone);
    expect(Number(gone.metadata.resourceVersion)).toBe(Number(second.metadata.resourceVersion) + 1);
    expect(gone.spec).toBe(second.spec);
    expect(Object.isFrozen(gone.metadata)).toBe(true);
    expect(store.get(R, 'a', 'one')).toBeUndefined();
  });

  it('restores a snapshot in key order and freezes what it took over', () => {
    const store = new ObjectStore({ historyLimit: 100 });
    store.restore({ resourceVersion: 40, objects: { [R]: [object('b', 'b'), object('a', 'z'), object('a', 'c')], '/namespaces': [object(undefined, 'a')] } });
    expect(keys(store.list(R))).toEqual(['a/c', 'a/z', 'b/b']);
    expect(keys(store.list('/namespaces'))).toEqual(['/a']);
    expect(Object.isFrozen(store.get(R, 'a', 'c')!.metadata.labels)).toBe(true);
    expect(store.resourceVersion).toBe(40);
    expect(store.put(R, object('a', 'new')).metadata.resourceVersion).toBe('41');
  });
});

describe('the simulated apiserver: state file journal', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'drey-state-'));
    file = path.join(dir, 'cluster', 'objects.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A store following a state file loaded from `file`, as SimApiServer.start wires them. */
  function open(compactMinBytes = 1024 * 1024): { store: ObjectStore; state: StateFile } {
    const state = new StateFile({ path: file, log, compactMinBytes, debounceMs: 10_000 });
    const store = new ObjectStore({ historyLimit: 100 });
    const saved = state.load();
    if (saved) store.restore(saved);
    state.follow(store);
    return { store, state };
  }

  const journalLines = (): unknown[] =>
    readFileSync(journalPath(file), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));

  it('names the journal beside the snapshot', () => {
    expect(journalPath('/d/cluster/objects.json')).toBe('/d/cluster/objects.journal');
    expect(journalPath('/d/state')).toBe('/d/state.journal');
  });

  it('appends changes as JSON lines, one per object per batch, and replays them on top of the snapshot after a restart', async () => {
    const first = open();
    first.store.put(R, object('a', 'kept'));
    await first.state.flush(); // the first flush writes a snapshot, there being none
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(journalPath(file), 'utf8')).toBe('');

    first.store.put(R, object('a', 'new', { v: '1' }));
    first.store.put(R, object('a', 'new', { v: '2' }));
    first.store.put(R, object('a', 'gone'));
    first.store.remove(R, object('a', 'gone'));
    first.store.remove(R, object('a', 'kept'));
    await first.state.flush();
    expect(journalLines()).toEqual([
      { op: 'put', resource: R, resourceVersion: 4, object: expect.objectContaining({ metadata: expect.objectContaining({ name: 'new', labels: { v: '2' } }) }) },
      { op: 'remove', resource: R, resourceVersion: 6, object: { metadata: { namespace: 'a', name: 'gone' } } },
      { op: 'remove', resource: R, resourceVersion: 7, object: { metadata: { namespace: 'a', name: 'kept' } } },
    ]);
    const snapshotBefore = readFileSync(file, 'utf8');

    // a crash: no close, so no compaction; the journal carries the changes
    const second = open();
    expect(readFileSync(file, 'utf8')).toBe(snapshotBefore);
    expect(keys(second.store.list(R))).toEqual(['a/new']);
    expect(second.store.get(R, 'a', 'new')!.metadata.labels).toEqual({ v: '2' });
    expect(second.store.resourceVersion).toBe(7);
    expect(second.store.put(R, object('a', 'after')).metadata.resourceVersion).toBe('8');
    await second.state.close();
  });

  it('compacts once the journal outgrows the snapshot: the snapshot holds everything and the journal is empty', async () => {
    const { store, state } = open(0);
    store.put(R, object('a', 'first'));
    await state.flush();
    const small = readFileSync(file, 'utf8').length;
    for (let i = 0; i < 5; i++) store.put(R, object('a', `fd-${i}`, {}, { padding: 'x'.repeat(small) }));
    await state.flush();
    expect(readFileSync(journalPath(file), 'utf8')).toBe('');
    const snapshot = JSON.parse(readFileSync(file, 'utf8'));
    expect(snapshot.resourceVersion).toBe(store.resourceVersion);
    expect(keys(snapshot.objects[R])).toHaveLength(6);

    store.put(R, object('a', 'small'));
    await state.flush();
    expect(journalLines()).toHaveLength(1); // smaller than the snapshot now: appended, not compacted
    await state.close();
    expect(readFileSync(journalPath(file), 'utf8')).toBe('');
    expect(keys(JSON.parse(readFileSync(file, 'utf8')).objects[R])).toContain('a/small');
  });

  it('ignores a torn last line, cuts it off, and appends after it cleanly', async () => {
    const first = open();
    first.store.put(R, object('a', 'one'));
    await first.state.flush();
    first.store.put(R, object('a', 'two'));
    await first.state.flush();
    appendFileSync(journalPath(file), '{"op":"put","resource":"flink.apache.org/flinkdeploy');

    const second = open();
    expect(keys(second.store.list(R))).toEqual(['a/one', 'a/two']);
    expect(readFileSync(journalPath(file), 'utf8').endsWith('\n')).toBe(true);
    second.store.put(R, object('a', 'three'));
    await second.state.flush();

    const third = open();
    expect(keys(third.store.list(R))).toEqual(['a/one', 'a/three', 'a/two']);
  });

  it('skips journal lines the snapshot already holds (a crash between writing the snapshot and emptying the journal)', async () => {
    const { store, state } = open();
    store.put(R, object('a', 'one', { v: 'new' }));
    await state.close();
    const stale = { op: 'put', resource: R, resourceVersion: 1, object: object('a', 'one', { v: 'old' }) };
    const removed = { op: 'remove', resource: R, resourceVersion: 2, object: { metadata: { namespace: 'a', name: 'one' } } };
    writeFileSync(journalPath(file), `${JSON.stringify(stale)}\n${JSON.stringify(removed)}\n`);
    const again = open();
    expect(again.store.get(R, 'a', 'one')!.metadata.labels).toEqual({ v: 'new' });
  });

  it('moves an unreadable snapshot aside with its journal and starts empty', () => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, '{not json');
    writeFileSync(journalPath(file), `${JSON.stringify({ op: 'put', resource: R, resourceVersion: 9, object: object('a', 'x') })}\n`);
    const again = open();
    expect(again.store.list(R)).toEqual([]);
    const files = readdirSync(path.dirname(file));
    expect(files.filter((f) => f.startsWith('objects.json.unreadable-'))).toHaveLength(1);
    expect(files.filter((f) => f.startsWith('objects.journal.unreadable-'))).toHaveLength(1);
  });
});
