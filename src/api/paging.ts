import type { Request } from 'express';
import { BadRequest } from '../domain/errors.js';
import { isStorableText, UNSTORABLE_REASON } from '../domain/text.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type PageRequest, type SortOrder } from '../domain/paging.js';

/**
 * All values of a query parameter, whether given once, repeated, or comma-joined by the client.
 * Text PostgreSQL cannot store is refused here, before it reaches a query.
 */
function values(req: Request, name: string): string[] {
  const raw = Object.hasOwn(req.query, name) ? req.query[name] : undefined;
  if (raw === undefined) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((v) => {
    if (typeof v !== 'string') throw new BadRequest(`Query parameter '${name}' must be a string`);
    if (!isStorableText(v)) throw new BadRequest(`Query parameter '${name}' ${UNSTORABLE_REASON}`);
    return v;
  });
}

/** A single-valued query parameter, or `undefined`. */
export function queryParam(req: Request, name: string): string | undefined {
  const list = values(req, name);
  if (list.length > 1) throw new BadRequest(`Query parameter '${name}' may be given once`);
  return list[0];
}

function integerParam(req: Request, name: string, fallback: number, min: number, max: number): number {
  const raw = queryParam(req, name);
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new BadRequest(`Query parameter '${name}' must be a non-negative integer`);
  const value = Number(raw);
  if (value < min || value > max) {
    throw new BadRequest(`Query parameter '${name}' must be between ${min} and ${max}`);
  }
  return value;
}

/**
 * Parses `sort` values `property[,asc|desc]`; Spring also accepts `a,b,desc` (both descending),
 * so a value may name several properties before its direction.
 */
function parseSort(req: Request, sortable: Record<string, string>): SortOrder[] {
  const orders: SortOrder[] = [];
  for (const value of values(req, 'sort')) {
    const parts = value.split(',').map((p) => p.trim()).filter((p) => p !== '');
    let direction: 'asc' | 'desc' = 'asc';
    const last = parts[parts.length - 1]?.toLowerCase();
    if (last === 'asc' || last === 'desc') {
      direction = last;
      parts.pop();
    }
    for (const property of parts) {
      // own properties only: `sort=toString` must not find Object.prototype's
      if (!Object.hasOwn(sortable, property)) {
        throw new BadRequest(
          `Cannot sort by '${property}': sort by one of ${Object.keys(sortable).join(', ')}`,
        );
      }
      orders.push({ property, direction });
    }
  }
  return orders;
}

/**
 * Reads `page`, `size` and `sort` from the query string, with the names the caller may see when
 * `authorize` found it may see only some.
 */
export function pageRequest(req: Request, sortable: Record<string, string>): PageRequest {
  const only = req.res?.locals.only as PageRequest['only'];
  return {
    page: integerParam(req, 'page', 0, 0, 1_000_000_000),
    size: integerParam(req, 'size', DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
    sort: parseSort(req, sortable),
    ...(only ? { only } : {}),
  };
}
