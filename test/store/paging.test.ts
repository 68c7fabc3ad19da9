import { LANDMARK_EVERY, Landmarks, PageCursors, rowsAfterSql, sortKeys, type LandmarksRead } from '../../src/store/paging.js';
import { eventually } from '../support/eventually.js';
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
    expect(rowsAfterSql([{ field: 'createdAt', direction: 'desc' }, { field: 'name', direction: 'asc' }], 4)).toBe(
      '"createdAt" <= $4 AND (("createdAt" < $4) OR ("createdAt" = $4 AND "name" > $5))',
    );
    expect(() => rowsAfterSql([{ field: 'name"; DROP', direction: 'asc' }], 1)).toThrow('not a sort column');
  });
});

describe('landmarks', () => {
  /** A read of `n` landmarks at `stamp`, counting how often it was started. */
  function reader(stamp: string, n: number) {
    const read = { started: 0, stamp, n };
    return Object.assign(read, {
      fn: async (): Promise<LandmarksRead> => {
        read.started++;
        return { stamp: read.stamp, values: Array.from({ length: read.n }, (_, i) => [`row-${(i + 1) * LANDMARK_EVERY}`]) };
      },
    });
  }

  it('a page starts at the landmark before it while the stamp holds; none before a read or beyond the last', async () => {
    const marks = new Landmarks();
    const read = reader('7', 3);
    expect(marks.at('list', '7', 5 * LANDMARK_EVERY, read.fn)).toBeUndefined();
    expect(read.started).toBe(1);
    await eventually('landmarks read', () => marks.at('list', '7', 2 * LANDMARK_EVERY + 5, read.fn));
    expect(marks.at('list', '7', 2 * LANDMARK_EVERY + 5, read.fn)).toEqual({ values: [`row-${2 * LANDMARK_EVERY}`], skip: 5 });
    expect(marks.at('list', '7', LANDMARK_EVERY, read.fn)).toEqual({ values: [`row-${LANDMARK_EVERY}`], skip: 0 });
    expect(marks.at('list', '7', LANDMARK_EVERY - 1, read.fn)).toBeUndefined();
    // past the last landmark: from the last, skipping the rest
    expect(marks.at('list', '7', 9 * LANDMARK_EVERY + 1, read.fn)).toEqual({ values: [`row-${3 * LANDMARK_EVERY}`], skip: 6 * LANDMARK_EVERY + 1 });
    expect(read.started).toBe(1);
  });

  it('a changed stamp is no landmark, and the list is read again, once at a time', async () => {
    const marks = new Landmarks();
    const read = reader('1', 2);
    marks.at('list', '1', LANDMARK_EVERY, read.fn);
    await eventually('landmarks read', () => marks.at('list', '1', LANDMARK_EVERY, read.fn));
    read.stamp = '2';
    expect(marks.at('list', '2', LANDMARK_EVERY, read.fn)).toBeUndefined();
    expect(marks.at('list', '2', LANDMARK_EVERY, read.fn)).toBeUndefined();
    await eventually('landmarks read again', () => marks.at('list', '2', LANDMARK_EVERY, read.fn));
    expect(read.started).toBe(2);
  });

  it('a failed read leaves the pages to the two-step seek, and is tried again later', async () => {
    const marks = new Landmarks();
    let calls = 0;
    const failing = async (): Promise<LandmarksRead> => {
      calls++;
      throw new Error('database gone');
    };
    expect(marks.at('list', '1', LANDMARK_EVERY, failing)).toBeUndefined();
    await eventually('a second read', () => (marks.at('list', '1', LANDMARK_EVERY, failing), calls >= 2));
  });

  it('holds a bounded number of lists, forgetting the least recently used', async () => {
    const marks = new Landmarks(2);
    const read = reader('1', 1);
    for (const list of ['a', 'b']) {
      marks.at(list, '1', LANDMARK_EVERY, read.fn);
      await eventually(`landmarks of ${list}`, () => marks.at(list, '1', LANDMARK_EVERY, read.fn));
    }
    marks.at('a', '1', LANDMARK_EVERY, read.fn);
    marks.at('c', '1', LANDMARK_EVERY, read.fn);
    await eventually('landmarks of c', () => marks.at('c', '1', LANDMARK_EVERY, read.fn));
    expect(marks.at('a', '1', LANDMARK_EVERY, read.fn)).toBeDefined();
    expect(marks.at('b', '1', LANDMARK_EVERY, read.fn)).toBeUndefined();
  });
});
