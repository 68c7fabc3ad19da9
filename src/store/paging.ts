import { orderBy, type PageRequest } from '../domain/paging.js';

type Direction = 'asc' | 'desc';

/** One stored field of a list's order. */
export interface SortKey {
  field: string;
  direction: Direction;
}

/** The order of a page request as sort keys: the requested fields, then the tiebreakers, each field once. */
export function sortKeys(request: PageRequest, fields: Record<string, string>, tiebreakers: Record<string, Direction>[]): SortKey[] {
  return orderBy(request, fields, tiebreakers).map((o) => {
    const [field, direction] = Object.entries(o)[0]!;
    return { field, direction };
  });
}

/** A sort key's column, checked to be a plain name, quoted for SQL. */
function column(key: SortKey): string {
  if (!/^[A-Za-z]+$/.test(key.field)) throw new Error(`not a sort column: ${key.field}`);
  return `"${key.field}"`;
}

/** The ORDER BY list of `keys`. */
export function orderSql(keys: SortKey[]): string {
  return keys.map((k) => `${column(k)} ${k.direction === 'desc' ? 'DESC' : 'ASC'}`).join(', ');
}

/** The select list of `keys`' columns. */
export function keysSql(keys: SortKey[]): string {
  return keys.map(column).join(', ');
}

/**
 * SQL for the rows that come strictly after a row whose values of `keys` are parameters
 * $first, $first+1, … in the order of `keys`. The first key's bound is stated on its own as
 * well, so an index led by it starts the scan there rather than at the list's start.
 */
export function rowsAfterSql(keys: SortKey[], first: number): string {
  const beyond = (k: SortKey, strict: boolean) => (k.direction === 'asc' ? (strict ? '>' : '>=') : strict ? '<' : '<=');
  const param = (i: number) => `$${first + i}`;
  const branches = keys.map((key, i) =>
    [...keys.slice(0, i).map((k, j) => `${column(k)} = ${param(j)}`), `${column(key)} ${beyond(key, true)} ${param(i)}`].join(' AND '),
  );
  return `${column(keys[0]!)} ${beyond(keys[0]!, false)} ${param(0)} AND (${branches.map((b) => `(${b})`).join(' OR ')})`;
}

interface Cursor {
  values: unknown[];
  /** The write generation when the page's query started. */
  generation: number;
}

/**
 * Where the pages a client walks in order (page=0,1,2…) ended: the sort values of the last row of
 * recently served pages, so that page k+1 after page k is a keyset query that an index answers in
 * the same time at any depth, instead of an OFFSET that reads every row before it. Bounded: the
 * oldest cursors are forgotten, and a forgotten cursor only means an OFFSET query.
 *
 * A write through this process to a list's scope invalidates the scope's cursors, so within one
 * process a keyset page is exactly the OFFSET page. (Rows added or removed by another process
 * between two pages shift OFFSET pages but not keyset ones: the walker then sees neither a row
 * twice nor skips one.)
 */
export class PageCursors {
  private readonly cursors = new Map<string, Cursor>();
  private readonly writes = new Map<string, number>();
  private generation = 0;
  /** The newest write generation of a scope no longer in `writes`. */
  private forgottenWrites = 0;

  constructor(private readonly max = 1_000) {}

  /** Marks a scope changed: its cursors no longer hold. */
  changed(scope: string): void {
    this.writes.delete(scope);
    this.writes.set(scope, ++this.generation);
    if (this.writes.size > this.max) {
      const [oldest, generation] = this.writes.entries().next().value as [string, number];
      this.writes.delete(oldest);
      this.forgottenWrites = Math.max(this.forgottenWrites, generation);
    }
  }

  /** The current generation, to pass to `remember` for a query starting now. */
  now(): number {
    return this.generation;
  }

  /** The sort values the previous page of `request` ended at, when this process served it and nothing changed since. */
  before(scope: string, request: PageRequest): unknown[] | undefined {
    if (request.page === 0) return undefined;
    const key = this.key(scope, request, request.page - 1);
    const cursor = this.cursors.get(key);
    if (!cursor) return undefined;
    if (cursor.generation < (this.writes.get(scope) ?? this.forgottenWrites)) {
      this.cursors.delete(key);
      return undefined;
    }
    return cursor.values;
  }

  /** Remembers where the page of `request` ended, for a query that started at `generation`. */
  remember(scope: string, request: PageRequest, values: unknown[], generation: number): void {
    const key = this.key(scope, request, request.page);
    this.cursors.delete(key);
    this.cursors.set(key, { values, generation });
    if (this.cursors.size > this.max) this.cursors.delete(this.cursors.keys().next().value as string);
  }

  private key(scope: string, request: PageRequest, page: number): string {
    return JSON.stringify([scope, request.size, request.sort, page]);
  }
}

/**
 * From this many rows skipped on, a page no cursor continues is found in two steps: the sort
 * values of the row just before it, by an OFFSET query that reads only the sort keys (an index
 * that leads with the list's scope and its order answers it from the index alone), then the page
 * after that row, by keyset. One OFFSET query instead reads every skipped row in full.
 */
export const SEEK_FROM = 1_000;

/** How many rows apart a list's landmarks lie. */
export const LANDMARK_EVERY = 100;

/** How many times as long as its last read took a list's landmarks wait before they are read again. */
const REREAD_AFTER_TIMES = 10;

/** Where a deep page starts: after the row of these sort values, skipping `skip` more rows. */
export interface Landmark {
  values: unknown[];
  skip: number;
}

/** A list's landmarks as read: the sort values of its rows LANDMARK_EVERY, 2·LANDMARK_EVERY, … (1-based), and the stamp read with them. */
export interface LandmarksRead {
  stamp: string;
  values: unknown[][];
}

interface LandmarkList extends LandmarksRead {
  /** When the last read finished (ms since the epoch), how long it took, and whether one is running. */
  readAt: number;
  tookMs: number;
  reading: boolean;
}

/**
 * Landmarks of long lists, so that a page at any depth costs what a page near the start does
 * (as a client jumping to page 900 of 1,000 does): the sort values of every LANDMARK_EVERY-th row
 * of a list, read with a stamp of its scope that grows with every insert and delete there, by any
 * process, in one snapshot. While the scope's stamp is the one read, a page starts at the
 * landmark before it by keyset and skips fewer than LANDMARK_EVERY rows. Landmarks are read in the
 * background when a deep page finds none that hold, at most once per REREAD_AFTER_TIMES times
 * their last read's length: a list under steady writes pays at most a tenth of one connection for
 * them, and its pages meanwhile take the two-step seek. Bounded: the least recently used list goes.
 */
export class Landmarks {
  private readonly lists = new Map<string, LandmarkList>();

  constructor(private readonly max = 32) {}

  /**
   * Where the page that skips `skip` rows of `list` starts, when its landmarks hold at `stamp`;
   * else undefined, and `read` is started when due.
   */
  at(list: string, stamp: string, skip: number, read: () => Promise<LandmarksRead>): Landmark | undefined {
    const known = this.lists.get(list);
    if (known) {
      this.lists.delete(list);
      this.lists.set(list, known);
    }
    if (known && known.stamp === stamp) {
      const k = Math.min(Math.floor(skip / LANDMARK_EVERY), known.values.length);
      if (k > 0) return { values: known.values[k - 1]!, skip: skip - k * LANDMARK_EVERY };
      return undefined;
    }
    if (!known || (!known.reading && Date.now() - known.readAt >= REREAD_AFTER_TIMES * known.tookMs)) this.read(list, known, read);
    return undefined;
  }

  private read(list: string, known: LandmarkList | undefined, read: () => Promise<LandmarksRead>): void {
    const entry: LandmarkList = known ?? { stamp: '', values: [], readAt: 0, tookMs: 0, reading: true };
    entry.reading = true;
    if (!known) {
      this.lists.set(list, entry);
      if (this.lists.size > this.max) this.lists.delete(this.lists.keys().next().value as string);
    }
    const started = Date.now();
    read()
      .then(
        (done) => {
          entry.stamp = done.stamp;
          entry.values = done.values;
        },
        () => undefined, // the pages go on by the two-step seek; the next read is due as after a success
      )
      .finally(() => {
        entry.readAt = Date.now();
        entry.tookMs = entry.readAt - started;
        entry.reading = false;
      });
  }
}

/** What `findPage` asks its query for: `take` rows in the list's order, after the row of sort values `after` (none: from the start), skipping `skip`; only the sort keys' values when `keysOnly`. */
export interface PageQuery {
  after: unknown[] | undefined;
  skip: number;
  take: number;
  keysOnly: boolean;
}

/**
 * One page of rows in the order of `keys`: a keyset query when `cursors` knows where the previous
 * page ended, or (past LANDMARK_EVERY rows) from the landmark before the page, when `landmark`
 * knows one; else OFFSET, in two steps past SEEK_FROM rows. `find` runs the query.
 */
export async function findPage<Row extends Record<string, unknown>>(
  cursors: PageCursors,
  scope: string,
  request: PageRequest,
  keys: SortKey[],
  find: (query: PageQuery) => Promise<Row[]>,
  landmark: (skip: number) => Promise<Landmark | undefined> = async () => undefined,
): Promise<Row[]> {
  const generation = cursors.now();
  const previous = cursors.before(scope, request);
  const skip = request.page * request.size;
  const page = (after: unknown[] | undefined, skip: number) => find({ after, skip, take: request.size, keysOnly: false });
  let rows: Row[];
  if (previous) {
    rows = await page(previous, 0);
  } else {
    const mark = skip >= LANDMARK_EVERY ? await landmark(skip) : undefined;
    if (mark) {
      rows = await page(mark.values, mark.skip);
    } else if (skip < SEEK_FROM) {
      rows = await page(undefined, skip);
    } else {
      const [before] = await find({ after: undefined, skip: skip - 1, take: 1, keysOnly: true });
      rows = before ? await page(keys.map((k) => before[k.field]), 0) : [];
    }
  }
  const last = rows[rows.length - 1];
  if (last) cursors.remember(scope, request, keys.map((k) => last[k.field]), generation);
  return rows;
}
