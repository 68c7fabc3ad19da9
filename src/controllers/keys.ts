/** The field manager drey's server-side applies are recorded under. */
export const FIELD_MANAGER = 'drey';

/** Splits a controller key `<environment>/<name>` (environment names hold no slash). */
export function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}
