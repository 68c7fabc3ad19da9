import { clone, deepEqual, isObject, timestamp, type JsonObject, type ManagedFieldsEntry } from './json.js';

/** A path of object keys; lists are atomic, so a path never goes into one. */
type FieldPath = string[];

/** Fields no manager owns, as kube-apiserver strips them from every managed set. */
const STRIPPED: FieldPath[] = [
  ['apiVersion'],
  ['kind'],
  ['metadata', 'name'],
  ['metadata', 'namespace'],
  ['metadata', 'creationTimestamp'],
  ['metadata', 'selfLink'],
  ['metadata', 'uid'],
  ['metadata', 'generation'],
  ['metadata', 'managedFields'],
  ['metadata', 'resourceVersion'],
  ['metadata', 'deletionTimestamp'],
  ['metadata', 'deletionGracePeriodSeconds'],
];

/** Which part of an object a write may touch: the main resource (all but status, when status is a subresource) or `status`. */
export type FieldScope = 'all' | 'main' | 'status';

const key = (p: FieldPath): string => JSON.stringify(p);
const isPrefix = (a: FieldPath, b: FieldPath): boolean => a.length <= b.length && a.every((t, i) => b[i] === t);
const overlaps = (a: FieldPath, b: FieldPath): boolean => isPrefix(a, b) || isPrefix(b, a);

function inScope(p: FieldPath, scope: FieldScope): boolean {
  if (STRIPPED.some((s) => isPrefix(s, p))) return false;
  if (scope === 'main') return p[0] !== 'status';
  if (scope === 'status') return p[0] === 'status';
  return true;
}

/** Leaf paths of a value: non-empty objects are walked, everything else (lists included) is one field. */
export function leafPaths(value: unknown, scope: FieldScope, prefix: FieldPath = []): FieldPath[] {
  if (!isObject(value) || (Object.keys(value).length === 0 && prefix.length > 0)) return inScope(prefix, scope) ? [prefix] : [];
  return Object.entries(value).flatMap(([k, v]) => (v === undefined ? [] : leafPaths(v, scope, [...prefix, k])));
}

function at(value: unknown, path: FieldPath): unknown {
  let cur = value;
  for (const t of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[t];
  }
  return cur;
}

/** fieldsV1 (`{"f:spec":{"f:image":{}}}`) from leaf paths. */
export function toFieldsV1(paths: FieldPath[]): JsonObject {
  const root: JsonObject = {};
  for (const p of paths) {
    let node = root;
    for (const t of p) {
      const k = `f:${t}`;
      if (!isObject(node[k])) node[k] = {};
      node = node[k] as JsonObject;
    }
  }
  return root;
}

/** Leaf paths from fieldsV1; list-item keys (`k:`, `v:`, `i:`) written by other servers count as the whole list. */
export function fromFieldsV1(fields: unknown, prefix: FieldPath = []): FieldPath[] {
  if (!isObject(fields)) return [];
  const entries = Object.entries(fields);
  if (entries.length === 0) return prefix.length ? [prefix] : [];
  const out: FieldPath[] = [];
  for (const [k, v] of entries) {
    if (k.startsWith('f:')) out.push(...fromFieldsV1(v, [...prefix, k.slice(2)]));
    else if (prefix.length && !out.some((p) => key(p) === key(prefix))) out.push(prefix);
  }
  return out;
}

function removePath(obj: JsonObject, path: FieldPath, keep: FieldPath[]): void {
  const parent = at(obj, path.slice(0, -1));
  if (!isObject(parent)) return;
  delete parent[path[path.length - 1]!];
  // parents left empty go too, unless something still wanted lives at or under them
  for (let depth = path.length - 1; depth > 0; depth--) {
    const p = path.slice(0, depth);
    const node = at(obj, p);
    if (!isObject(node) || Object.keys(node).length > 0 || keep.some((k) => isPrefix(p, k))) return;
    const up = at(obj, p.slice(0, -1));
    if (isObject(up)) delete up[p[p.length - 1]!];
  }
}

function mergeApplied(target: unknown, config: unknown): unknown {
  if (!isObject(config) || !isObject(target)) return clone(config);
  const out: JsonObject = clone(target);
  for (const [k, v] of Object.entries(config)) {
    if (v === null) delete out[k];
    else out[k] = mergeApplied(out[k], v);
  }
  return out;
}

function entryPaths(entry: ManagedFieldsEntry): FieldPath[] {
  return fromFieldsV1(entry.fieldsV1);
}

function withPaths(entry: ManagedFieldsEntry, paths: FieldPath[]): ManagedFieldsEntry {
  return { ...entry, fieldsV1: toFieldsV1(paths) };
}

function sameOwner(e: ManagedFieldsEntry, manager: string, operation: string, subresource: string | undefined): boolean {
  return e.manager === manager && e.operation === operation && (e.subresource ?? '') === (subresource ?? '');
}

/** Who is writing, and through which endpoint. */
export interface FieldWriter {
  manager: string;
  apiVersion: string;
  subresource?: string;
  scope: FieldScope;
}

function entry(writer: FieldWriter, operation: 'Apply' | 'Update', paths: FieldPath[]): ManagedFieldsEntry {
  return {
    manager: writer.manager,
    operation,
    apiVersion: writer.apiVersion,
    time: timestamp(),
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(paths),
    ...(writer.subresource ? { subresource: writer.subresource } : {}),
  };
}

/**
 * The managedFields after an ordinary write (create, update, patch): the writer's Update entry gains
 * the fields it set or changed, which every other manager loses; removed fields leave every set.
 */
export function trackUpdate(before: JsonObject | undefined, after: JsonObject, managed: ManagedFieldsEntry[], writer: FieldWriter): ManagedFieldsEntry[] {
  const afterPaths = leafPaths(after, writer.scope);
  const changed = afterPaths.filter((p) => !deepEqual(at(before, p), at(after, p)));
  const out: ManagedFieldsEntry[] = [];
  let mine: FieldPath[] | undefined;
  for (const e of managed) {
    const kept = entryPaths(e).filter((p) => at(after, p) !== undefined && !changed.some((c) => overlaps(c, p)));
    if (sameOwner(e, writer.manager, 'Update', writer.subresource)) mine = kept;
    else if (kept.length > 0) out.push(kept.length === entryPaths(e).length ? e : withPaths(e, kept));
  }
  const minePaths = [...(mine ?? []), ...changed];
  if (minePaths.length > 0) out.push(entry(writer, 'Update', minePaths));
  return out;
}

/**
 * Server-side apply: fields this manager applied before and no longer applies are removed (unless
 * another manager also owns them), then the configuration is merged in and its fields become this
 * manager's. Conflicts with fields other managers own are not reported: every apply acts as if
 * `force=true`, taking those fields over, which is the outcome a forced apply has on a real server.
 */
export function applyConfiguration(
  current: JsonObject,
  config: JsonObject,
  managed: ManagedFieldsEntry[],
  writer: FieldWriter,
): { object: JsonObject; managedFields: ManagedFieldsEntry[] } {
  const applied = leafPaths(config, writer.scope);
  const previous = managed.find((e) => sameOwner(e, writer.manager, 'Apply', writer.subresource));
  const others = managed.filter((e) => e !== previous);
  const othersOwn = others.flatMap(entryPaths);
  const result = clone(current);
  for (const p of previous ? entryPaths(previous) : []) {
    if (applied.some((a) => key(a) === key(p)) || othersOwn.some((o) => key(o) === key(p))) continue;
    if (applied.some((a) => isPrefix(p, a))) continue;
    removePath(result, p, [...applied, ...othersOwn]);
  }
  const scoped: JsonObject = {};
  for (const p of applied) {
    let node = scoped;
    p.slice(0, -1).forEach((t) => {
      if (!isObject(node[t])) node[t] = {};
      node = node[t] as JsonObject;
    });
    node[p[p.length - 1]!] = clone(at(config, p));
  }
  const object = mergeApplied(result, scoped) as JsonObject;
  const managedFields: ManagedFieldsEntry[] = [];
  for (const e of others) {
    const kept = entryPaths(e).filter((p) => at(object, p) !== undefined && !applied.some((a) => overlaps(a, p)));
    if (kept.length > 0) managedFields.push(kept.length === entryPaths(e).length ? e : withPaths(e, kept));
  }
  if (applied.length > 0) managedFields.unshift(entry(writer, 'Apply', applied));
  return { object, managedFields };
}
