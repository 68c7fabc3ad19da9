import { badRequest } from './errors.js';
import { isObject, type JsonObject, type KubeObject } from './json.js';
import type { PrinterColumn, ResourceType } from './registry.js';

/** True when the client prefers a server-side `Table` (`as=Table;g=meta.k8s.io`), as kubectl asks for `get`. */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => {
    const params = part.split(';').map((p) => p.trim());
    return params.includes('as=Table') && params.includes('g=meta.k8s.io');
  });
}

/** What each row carries besides its cells (`includeObject`). */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** The `includeObject` query parameter, Metadata by default. */
export function includeObjectMode(value: string | null): IncludeObject {
  if (value === null || value === '') return 'Metadata';
  if (value === 'None' || value === 'Metadata' || value === 'Object') return value;
  throw badRequest(`includeObject parameter unsupported: ${value}`);
}

/** Kubernetes' `HumanDuration`: how `kubectl get` shows ages (`45s`, `3m20s`, `5h`, `12d`). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

type Step = { key: string } | { index: number } | { all: true } | { filter: { path: string[]; value: string } };

/** Parses the JSONPath subset printer columns use: `.a.b`, `['a']`, `[0]`, `[*]`, `[?(@.type=="Ready")]`. */
function parsePath(path: string): Step[] {
  const steps: Step[] = [];
  const re = /\.([A-Za-z0-9_$-]+)|\[(\d+)\]|\[\*\]|\['([^']*)'\]|\[\?\(@\.([A-Za-z0-9_.]+)\s*==\s*["']([^"']*)["']\)\]/g;
  let pos = 0;
  const text = path.trim().replace(/^\{(.*)\}$/, '$1').replace(/^\$/, '');
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index !== pos) return [];
    pos = re.lastIndex;
    if (m[1] !== undefined) steps.push({ key: m[1] });
    else if (m[2] !== undefined) steps.push({ index: Number(m[2]) });
    else if (m[3] !== undefined) steps.push({ key: m[3] });
    else if (m[4] !== undefined) steps.push({ filter: { path: m[4].split('.'), value: m[5]! } });
    else steps.push({ all: true });
  }
  return pos === text.length ? steps : [];
}

/** The first value a printer column's JSONPath finds, or undefined. */
export function evaluateJsonPath(obj: unknown, path: string): unknown {
  let values: unknown[] = [obj];
  for (const step of parsePath(path)) {
    const next: unknown[] = [];
    for (const v of values) {
      if ('key' in step) {
        if (isObject(v) && v[step.key] !== undefined) next.push(v[step.key]);
      } else if ('index' in step) {
        if (Array.isArray(v) && step.index < v.length) next.push(v[step.index]);
      } else if ('all' in step) {
        if (Array.isArray(v)) next.push(...v);
        else if (isObject(v)) next.push(...Object.values(v));
      } else if (Array.isArray(v)) {
        for (const item of v) {
          let cur: unknown = item;
          for (const k of step.filter.path) cur = isObject(cur) ? cur[k] : undefined;
          if (cur !== undefined && String(cur) === step.filter.value) next.push(item);
        }
      }
    }
    values = next;
  }
  return values[0];
}

function cell(column: PrinterColumn, obj: KubeObject, now: number): unknown {
  const value = column.cell ? column.cell(obj) : evaluateJsonPath(obj, column.jsonPath ?? '');
  if (value === undefined || value === null) return null;
  if (column.type === 'date' && typeof value === 'string') {
    const t = Date.parse(value);
    return Number.isNaN(t) ? value : humanDuration(now - t);
  }
  if ((column.type === 'integer' || column.type === 'number') && typeof value === 'number') return value;
  if (column.type === 'boolean' && typeof value === 'boolean') return value;
  if (isObject(value) || Array.isArray(value)) return JSON.stringify(value);
  return String(value);
}

function rowObject(obj: KubeObject, include: IncludeObject): JsonObject | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

/** A `meta.k8s.io/v1` Table of objects, with the kind's printer columns. */
export function toTable(type: ResourceType, objects: KubeObject[], options: { include: IncludeObject; resourceVersion?: string }): JsonObject {
  const now = Date.now();
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: options.resourceVersion ? { resourceVersion: options.resourceVersion } : {},
    columnDefinitions: type.printerColumns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description,
      priority: c.priority,
    })),
    rows: objects.map((o) => {
      const object = rowObject(o, options.include);
      return { cells: type.printerColumns.map((c) => cell(c, o, now)), ...(object ? { object } : {}) };
    }),
  };
}
