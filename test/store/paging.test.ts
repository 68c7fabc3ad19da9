import { PageCursors, rowsAfter, sortKeys } from '../../src/store/paging.js';
import { NAMED_SORT_FIELDS, type PageRequest } from '../../src/domain/paging.js';

const page = (n: number, extra: Partial<PageRequest> = {}): PageRequest => ({ page: n, size: 10, sort: [], ...extra });

describe('page cursors', () => {
  it('page k+1 continues where page k ended, for the same list, size and sort only', () => {
    const cursors = new PageCursors();
    cursors.remember('env-1', page(0), ['t0', 'a'], cursors.now());
    expect(cursors.before('env-1', page(1))).toEqual(['t0', 'a']);
    expect(cursors.before('env-1', page(2))).toBeUndefined();
    expect(cursors.before('env-2', page(1))).toBeUndefined();
    expect(cursors.before('env-1', page(1, { size: 20 }))).toBeUndefined();
    expect(cursors.before('env-1', page(1, { sort: [{ property: 'name', direction: 'asc' }] }))).toBeUndefined();
    expect(cursors.before('env-1', page(0))).toBeUndefined();
  });

  it('a write to the list forgets where its pages ended, also for a page whose query started before the write', () => {
    const cursors = new PageCursors();
    const started = cursors.now();
    cursors.remember('env-1', page(0), ['t0', 'a'], started);
    cursors.remember('env-2', page(0), ['t0', 'b'], started);
    cursors.changed('env-1');
    expect(cursors.before('env-1', page(1))).toBeUndefined();
    expect(cursors.before('env-2', page(1))).toEqual(['t0', 'b']);
    cursors.remember('env-1', page(0), ['t1', 'c'], started);
    expect(cursors.before('env-1', page(1))).toBeUndefined();
    cursors.remember('env-1', page(0), ['t1', 'c'], cursors.now());
    expect(cursors.before('env-1', page(1))).toEqual(['t1', 'c']);
  });

  it('holds a bounded number of cursors and written lists, forgetting the oldest', () => {
    const cursors = new PageCursors(3);
    for (let p = 0; p < 5; p++) cursors.remember('env-1', page(p), [p], cursors.now());
    expect([1, 2, 3, 4, 5].map((p) => cursors.before('env-1', page(p)))).toEqual([undefined, undefined, [2], [3], [4]]);
    const started = cursors.now();
    cursors.remember('env-9', page(0), ['x'], started);
    cursors.changed('env-9');
    for (const scope of ['a', 'b', 'c', 'd']) cursors.changed(scope);
    // env-9's write is no longer tracked by name: its cursor still counts as older than a write
    expect(cursors.before('env-9', page(1))).toBeUndefined();
  });
});

describe('keyset conditions', () => {
  it('sort keys are the requested fields, then the tiebreakers, each once', () => {
    const keys = sortKeys(
      { page: 0, size: 10, sort: [{ property: 'creationTimestamp', direction: 'desc' }, { property: 'metadata.name', direction: 'asc' }] },
      NAMED_SORT_FIELDS,
      [{ createdAt: 'asc' }, { name: 'asc' }],
    );
    expect(keys).toEqual([
      { field: 'createdAt', direction: 'desc' },
      { field: 'name', direction: 'asc' },
    ]);
  });

  it('rows after a row: bounded by the first key, then lexicographic in each key’s direction', () => {
    const at = new Date('2026-01-01T00:00:00.000Z');
    expect(rowsAfter([{ field: 'createdAt', direction: 'desc' }, { field: 'name', direction: 'asc' }], [at, 'app-1'])).toEqual({
      AND: [{ createdAt: { lte: at } }, { OR: [{ createdAt: { lt: at } }, { createdAt: at, name: { gt: 'app-1' } }] }],
    });
  });
});
