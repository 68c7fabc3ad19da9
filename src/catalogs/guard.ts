import { sqlTokens, type Token } from '../domain/sql.js';

/**
 * What a statement does to or with Kafka catalogs, read from its tokens (so comments, literals and
 * hints cannot hide it): the object its DDL targets, the tables it copies with `LIKE`, the options
 * its hints set, the names it mentions. A Kafka catalog's tables carry an environment's credentials,
 * so drey refuses what would let a statement send them elsewhere or change the catalog in a session
 * only: DDL other than CREATE/DROP TABLE in a Kafka catalog, `LIKE` of a catalog table with its
 * options, and hints setting anything but `scan.*` and `sink.*` options.
 */

/** A DDL statement's verb, object kind and object. */
export interface DdlTarget {
  verb: 'CREATE' | 'DROP' | 'ALTER';
  /** TABLE, VIEW, FUNCTION, DATABASE, CATALOG, MODEL, ... */
  kind: string;
  temporary: boolean;
  /** IF [NOT] EXISTS */
  lenient: boolean;
  /** The object's name, one to three parts. */
  name: string[];
}

/** Hint option keys drey lets a statement set where Kafka catalogs are visible. */
const SAFE_HINT_OPTION = /^(scan|sink)\./;

/** The name a token stands for: a word as written, a back-quoted identifier unquoted. */
function identifier(sql: string, t: Token | undefined): string | undefined {
  if (!t) return undefined;
  if (t.type === 'word') return sql.slice(t.start, t.end);
  if (t.type === 'quoted' && t.value.startsWith('`')) return t.value.slice(1, -1).replace(/``/g, '`');
  return undefined;
}

/** A dotted name of up to three parts from token `i`, and the token after it. */
function dottedName(sql: string, tokens: Token[], i: number): { name: string[]; next: number } | undefined {
  const name: string[] = [];
  let at = i;
  for (;;) {
    const part = identifier(sql, tokens[at]);
    if (part === undefined) return name.length ? { name, next: at } : undefined;
    name.push(part);
    at++;
    if (name.length === 3 || tokens[at]?.value !== '.') return { name, next: at };
    at++;
  }
}

const KINDS = new Set(['TABLE', 'VIEW', 'FUNCTION', 'DATABASE', 'CATALOG', 'MODEL', 'CONNECTION']);

/** The object a CREATE, DROP or ALTER statement targets; undefined for other statements. */
export function ddlTarget(sql: string): DdlTarget | undefined {
  const tokens = sqlTokens(sql).filter((t) => !t.hint);
  const word = (i: number) => (tokens[i]?.type === 'word' ? tokens[i]!.value : undefined);
  const verb = word(0);
  if (verb !== 'CREATE' && verb !== 'DROP' && verb !== 'ALTER') return undefined;
  let i = 1;
  if (word(i) === 'OR' && word(i + 1) === 'REPLACE') i += 2;
  let temporary = false;
  if (word(i) === 'TEMPORARY') {
    temporary = true;
    i++;
  }
  if (word(i) === 'SYSTEM') i++;
  let kind = word(i);
  if (kind === 'MATERIALIZED' && word(i + 1) === 'TABLE') {
    kind = 'MATERIALIZED TABLE';
    i++;
  }
  if (!kind || !(KINDS.has(kind) || kind === 'MATERIALIZED TABLE')) return undefined;
  i++;
  let lenient = false;
  if (word(i) === 'IF' && word(i + 1) === 'NOT' && word(i + 2) === 'EXISTS') {
    lenient = true;
    i += 3;
  } else if (word(i) === 'IF' && word(i + 1) === 'EXISTS') {
    lenient = true;
    i += 2;
  }
  const named = dottedName(sql, tokens, i);
  if (!named) return undefined;
  return { verb, kind, temporary, lenient, name: named.name };
}

/**
 * The tables a `CREATE TABLE ... LIKE source` copies with their options (not `EXCLUDING ALL` or
 * `EXCLUDING OPTIONS`), as written.
 */
export function likeSources(sql: string): string[][] {
  const tokens = sqlTokens(sql).filter((t) => !t.hint);
  if (tokens[0]?.value !== 'CREATE') return [];
  const sources: string[][] = [];
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.value === '(') depth++;
    else if (t.value === ')') depth--;
    else if (depth === 0 && t.type === 'word' && t.value === 'LIKE') {
      const named = dottedName(sql, tokens, i + 1);
      if (!named) continue;
      // the like options: ( INCLUDING|EXCLUDING|OVERWRITING ALL|CONSTRAINTS|OPTIONS|... , ... )
      let excluded = false;
      if (tokens[named.next]?.value === '(') {
        for (let j = named.next + 1; j < tokens.length && tokens[j]!.value !== ')'; j++) {
          if (tokens[j]!.value === 'EXCLUDING' && ['ALL', 'OPTIONS'].includes(tokens[j + 1]?.value ?? '')) excluded = true;
        }
      }
      if (!excluded) sources.push(named.name);
    }
  }
  return sources;
}

/** The option keys the statement's `/*+ OPTIONS('key' = 'value', ...) *\/` hints set. */
export function hintOptionKeys(sql: string): string[] {
  const tokens = sqlTokens(sql);
  const keys: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!t.hint || t.type !== 'word' || t.value !== 'OPTIONS' || tokens[i + 1]?.value !== '(') continue;
    for (let j = i + 2; j < tokens.length && tokens[j]!.value !== ')'; j++) {
      if (tokens[j]!.type === 'string' && tokens[j + 1]?.value === '=') keys.push(tokens[j]!.value.slice(1, -1).replace(/''/g, "'"));
    }
  }
  return keys;
}

/** Identifiers a SQL text names (words and back-quoted names, lower-cased), leaving out literals and comments. */
export function mentionedNames(texts: string[]): Set<string> {
  const names = new Set<string>();
  for (const sql of texts) {
    for (const t of sqlTokens(sql)) {
      const name = identifier(sql, t);
      if (name !== undefined) names.add(name.toLowerCase());
    }
  }
  return names;
}

/** The catalog a name resolves into, with the session's current catalog and the built-in one. */
function catalogOf(target: DdlTarget, current: { catalog?: string }, home: string): string {
  const { kind, name } = target;
  if (kind === 'CATALOG') return name[0]!;
  if (kind === 'DATABASE') return name.length === 2 ? name[0]! : (current.catalog ?? home);
  return name.length === 3 ? name[0]! : (current.catalog ?? home);
}

/**
 * Why drey refuses a statement in a session with these Kafka catalogs, or undefined. `home` is the
 * session's built-in catalog.
 */
export function refusalFor(sql: string, kafkaCatalogs: string[], current: { catalog?: string }, home: string): string | undefined {
  if (kafkaCatalogs.length === 0) return undefined;
  const unsafe = hintOptionKeys(sql).filter((k) => !SAFE_HINT_OPTION.test(k));
  if (unsafe.length) {
    return `Where Kafka catalogs are visible, OPTIONS hints may set only scan.* and sink.* options, not ${unsafe.map((k) => `'${k}'`).join(', ')}: a table's connection options carry the catalog's credentials.`;
  }
  const target = ddlTarget(sql);
  if (target) {
    const catalog = catalogOf(target, current, home);
    const isTable = target.kind === 'TABLE' && !target.temporary && target.verb !== 'ALTER';
    if (kafkaCatalogs.includes(catalog) && !isTable) {
      const what = `${target.verb}${target.temporary ? ' TEMPORARY' : ''} ${target.kind}`;
      return `In Kafka catalog '${catalog}' drey runs only CREATE TABLE and DROP TABLE (a table is a topic with its subjects), not ${what}; create other objects in the default catalog.`;
    }
  }
  for (const source of likeSources(sql)) {
    const catalog = source.length === 3 ? source[0]! : (current.catalog ?? home);
    if (kafkaCatalogs.includes(catalog)) {
      return `CREATE TABLE ... LIKE ${source.join('.')} would copy the Kafka catalog table's connection options, which carry the catalog's credentials: add (EXCLUDING OPTIONS).`;
    }
  }
  return undefined;
}
