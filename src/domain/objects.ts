/** A JSON object as parsed from a request body. */
export type JsonObject = { [key: string]: unknown };

/** True for plain objects (not arrays, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Deep-merges `top` over `base`: objects merge key by key, anything else in `top` replaces.
 * Neither input is modified. Keys that could reach a prototype are refused at parse time.
 */
export function deepMerge(base: unknown, top: unknown): unknown {
  if (!isObject(base) || !isObject(top)) return top === undefined ? structuredClone(base) : structuredClone(top);
  const out: JsonObject = structuredClone(base);
  for (const [key, value] of Object.entries(top)) {
    out[key] = Object.hasOwn(out, key) ? deepMerge(out[key], value) : structuredClone(value);
  }
  return out;
}

/** JSON with object keys sorted, so equal values always serialise alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
