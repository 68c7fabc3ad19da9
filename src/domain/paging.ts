/** One sort criterion: an API property and a direction. */
export interface SortOrder {
  property: string;
  direction: 'asc' | 'desc';
}

/** A page request as the API parsed it: `page` is 0-based. */
export interface PageRequest {
  page: number;
  size: number;
  sort: SortOrder[];
  /** When the caller may see only some objects: those named, or whose names start with a prefix. */
  only?: { names: string[]; prefixes: string[] };
}

/** One page of a list and the number of items in the whole list. */
export interface Page<T> {
  items: T[];
  total: number;
}

/** Page size when the request names none (Spring's default, as CMF uses). */
export const DEFAULT_PAGE_SIZE = 20;
/** Largest page size served; larger requests are refused. */
export const MAX_PAGE_SIZE = 10_000;

/** The properties every named resource can be sorted by, mapped to stored fields. */
export const NAMED_SORT_FIELDS: Record<string, string> = {
  name: 'name',
  'metadata.name': 'name',
  creationTimestamp: 'createdAt',
  'metadata.creationTimestamp': 'createdAt',
  created_time: 'createdAt',
  updateTimestamp: 'updatedAt',
  'metadata.updateTimestamp': 'updatedAt',
  updated_time: 'updatedAt',
};

/** Sort properties of records named by uuid and kept in order of arrival (instances, events). */
export const SEQUENCE_SORT_FIELDS: Record<string, string> = {
  name: 'id',
  'metadata.name': 'id',
  uid: 'id',
  'metadata.uid': 'id',
  creationTimestamp: 'seq',
  'metadata.creationTimestamp': 'seq',
};

/** The body of a page in CMF's list format. */
export function pageBody<T>(request: PageRequest, page: Page<T>): {
  pageable: { page: number; size: number; sort: { sorted: boolean; unsorted: boolean; empty: boolean } };
  metadata: { size: number };
  items: T[];
} {
  const sorted = request.sort.length > 0;
  return {
    pageable: {
      page: request.page,
      size: request.size,
      sort: { sorted, unsorted: !sorted, empty: !sorted },
    },
    metadata: { size: page.total },
    items: page.items,
  };
}

/**
 * Prisma `orderBy` for a page request: the requested order, then a unique tiebreaker, each field
 * once (a field repeated later in an order changes nothing; leaving it out lets an index serve the order).
 */
export function orderBy(
  request: PageRequest,
  fields: Record<string, string>,
  fallback: Record<string, 'asc' | 'desc'>[],
): Record<string, 'asc' | 'desc'>[] {
  const order = [...request.sort.map((s) => ({ [fields[s.property]!]: s.direction })), ...fallback];
  return order.filter((o, i) => order.findIndex((p) => Object.keys(p)[0] === Object.keys(o)[0]) === i);
}

/** Prisma `where` for the objects a page request may show (every one when it says nothing). */
export function onlyWhere(request: PageRequest): { OR?: ({ name: { in: string[] } } | { name: { startsWith: string } })[] } {
  if (!request.only) return {};
  return { OR: [{ name: { in: request.only.names } }, ...request.only.prefixes.map((prefix) => ({ name: { startsWith: prefix } }))] };
}
