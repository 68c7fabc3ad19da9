import { StatusError, badRequest } from './errors.js';
import { clone, deepEqual, isObject, type JsonObject } from './json.js';

/** RFC 7386 JSON merge patch: objects merge, `null` removes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

function unprocessable(message: string): StatusError {
  return new StatusError(422, 'Invalid', message);
}

function pointer(path: unknown): string[] {
  if (typeof path !== 'string') throw badRequest('json patch operation requires a string "path"');
  if (path === '') return [];
  if (!path.startsWith('/')) throw unprocessable(`invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(token: string, length: number, forAdd: boolean): number {
  if (forAdd && token === '-') return length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw unprocessable(`invalid array index "${token}"`);
  const i = Number(token);
  if (i > length || (!forAdd && i === length)) throw unprocessable(`array index ${i} out of bounds`);
  return i;
}

function parentOf(doc: unknown, tokens: string[], path: string): { parent: unknown; last: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur.length, false)];
    else if (isObject(cur) && t in cur) cur = cur[t];
    else throw unprocessable(`doc is missing path: "${path}": missing value`);
  }
  return { parent: cur, last: tokens[tokens.length - 1]! };
}

function getAt(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const t of pointer(path)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur.length, false)];
    else if (isObject(cur) && t in cur) cur = cur[t];
    else throw unprocessable(`doc is missing path: "${path}": missing value`);
  }
  return cur;
}

function removeAt(doc: unknown, path: string): { doc: unknown; removed: unknown } {
  const tokens = pointer(path);
  if (tokens.length === 0) return { doc: undefined, removed: doc };
  const { parent, last } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, false);
    return { doc, removed: parent.splice(i, 1)[0] };
  }
  if (isObject(parent) && last in parent) {
    const removed = parent[last];
    delete parent[last];
    return { doc, removed };
  }
  throw unprocessable(`doc is missing path: "${path}": missing value`);
}

function addAt(doc: unknown, path: string, value: unknown, replace: boolean): unknown {
  const tokens = pointer(path);
  if (tokens.length === 0) return value;
  const { parent, last } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, !replace);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else if (isObject(parent)) {
    if (replace && !(last in parent)) throw unprocessable(`doc is missing key: "${path}": missing value`);
    parent[last] = value;
  } else throw unprocessable(`doc is missing path: "${path}": missing value`);
  return doc;
}

/** RFC 6902 JSON patch; a failing operation answers 422 as kube-apiserver does. */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('json patch must be an array of operations');
  let doc = clone(target);
  for (const op of ops) {
    if (!isObject(op)) throw badRequest('json patch operation must be an object');
    switch (op.op) {
      case 'add':
        doc = addAt(doc, op.path as string, clone(op.value), false);
        break;
      case 'replace':
        doc = addAt(doc, op.path as string, clone(op.value), true);
        break;
      case 'remove':
        doc = removeAt(doc, op.path as string).doc;
        break;
      case 'move': {
        const r = removeAt(doc, op.from as string);
        doc = addAt(r.doc, op.path as string, r.removed, false);
        break;
      }
      case 'copy':
        doc = addAt(doc, op.path as string, clone(getAt(doc, op.from as string)), false);
        break;
      case 'test':
        if (!deepEqual(getAt(doc, op.path as string), op.value)) throw unprocessable(`testing value ${String(op.path)} failed: test failed`);
        break;
      default:
        throw badRequest(`Unexpected kind: ${String(op.op)}`);
    }
  }
  return doc;
}

/** Lists whose items a strategic merge patch merges rather than replaces, for the built-in kinds served. */
const MERGED_PRIMITIVE_LISTS = new Set(['finalizers']);

/**
 * A strategic merge patch, enough for the built-in kinds served here (their maps merge like a merge
 * patch; `finalizers` merge as a set; the `$patch`, `$retainKeys`, `$setElementOrder` and
 * `$deleteFromPrimitiveList` directives kubectl sends are honoured or dropped).
 */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'delete') return undefined;
  const base: JsonObject = isObject(target) && patch.$patch !== 'replace' ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const list = key.slice('$deleteFromPrimitiveList/'.length);
      const current = base[list];
      if (Array.isArray(current) && Array.isArray(value)) base[list] = current.filter((v) => !value.some((d) => deepEqual(d, v)));
      continue;
    }
    if (value === null) delete base[key];
    else if (Array.isArray(value) && MERGED_PRIMITIVE_LISTS.has(key) && Array.isArray(base[key])) {
      const current = base[key] as unknown[];
      base[key] = [...current, ...value.filter((v) => !current.some((c) => deepEqual(c, v)))];
    } else {
      const merged = strategicMergePatch(base[key], value);
      if (merged === undefined) delete base[key];
      else base[key] = merged;
    }
  }
  return base;
}
