/**
 * fast-check arbitraries of hostile requests to every CMF operation drey serves, one group per
 * concern: bodies, path parameters, query strings, headers and framing. Each generated case is a
 * `WireRequest` (exact bytes, see hostile.ts) and a line saying what is hostile about it.
 */
import fc from 'fast-check';
import yaml from 'js-yaml';
import { application, computePool, environment, kafkaCatalog, secret, secretMapping, statement } from './fixtures.js';
import { CATALOGS, E, ENVS, SECRET, SECRETS, type WireRequest } from './hostile.js';

type Json = Record<string, unknown>;

/** A generated hostile request. */
export interface Case {
  /** What is hostile about it, for the failure message. */
  what: string;
  /** The operation it targets. */
  route: Route;
  req: WireRequest;
}

/** One operation of the CMF API as drey routes it (src/api/routes.ts). */
export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The path, parameters in braces. */
  template: string;
  /** Query parameters the operation reads. */
  query: string[];
  /** A valid body that would write something (new objects get throwaway names), for operations that read one. */
  body?: () => Json;
  /** Answers 503 by design here: the Flink web UI proxy, when no JobManager can be reached (as in these tests). */
  unavailable?: true;
}

/** The name new objects get in valid bodies. */
const THROWAWAY = 'fuzz-target';
const PAGING = ['page', 'size', 'sort'];
const APP = `${E}/applications/{appName}`;
const STMT = `${E}/statements/{stmtName}`;
const DATABASES = `${CATALOGS}/{catName}/databases`;

/** A valid KafkaDatabase body (CMF 2.1). */
function kafkaDatabase(name: string, bootstrap = 'kafka:9092'): Json {
  return {
    apiVersion: 'cmf.confluent.io/v1',
    kind: 'KafkaDatabase',
    metadata: { name },
    spec: { kafkaCluster: { connectionConfig: { 'bootstrap.servers': bootstrap }, connectionSecretId: 'kafka-conn' }, ddlEnvironments: ['env-hostile'] },
  };
}

/** Every CMF operation, with {envName} already the seeded environment. */
export const ROUTES: Route[] = [
  { method: 'GET', template: ENVS, query: PAGING },
  { method: 'POST', template: ENVS, query: [], body: () => environment(THROWAWAY, 'flink-fuzz') },
  { method: 'GET', template: `${ENVS}/{envName}`, query: [] },
  { method: 'DELETE', template: `${ENVS}/{envName}`, query: [] },
  { method: 'GET', template: `${E}/applications`, query: PAGING },
  { method: 'POST', template: `${E}/applications`, query: [], body: () => application(THROWAWAY) },
  { method: 'GET', template: APP, query: [] },
  { method: 'DELETE', template: APP, query: [] },
  { method: 'POST', template: `${APP}/start`, query: [] },
  { method: 'POST', template: `${APP}/suspend`, query: [] },
  { method: 'GET', template: `${APP}/instances`, query: PAGING },
  { method: 'GET', template: `${APP}/instances/{instName}`, query: [] },
  { method: 'GET', template: '/cmf/api/v1alpha1/environments/{envName}/applications/{appName}/events', query: PAGING },
  { method: 'GET', template: `${E}/secret-mappings`, query: PAGING },
  { method: 'POST', template: `${E}/secret-mappings`, query: [], body: () => secretMapping(THROWAWAY, 'kafka-creds') },
  { method: 'GET', template: `${E}/secret-mappings/{name}`, query: [] },
  { method: 'PUT', template: `${E}/secret-mappings/{name}`, query: [], body: () => secretMapping('kafka-conn', 'other-creds') },
  { method: 'DELETE', template: `${E}/secret-mappings/{name}`, query: [] },
  { method: 'GET', template: `${E}/statements`, query: [...PAGING, 'phase', 'compute-pool'] },
  { method: 'POST', template: `${E}/statements`, query: [], body: () => statement(THROWAWAY) },
  { method: 'GET', template: STMT, query: [] },
  { method: 'PUT', template: STMT, query: [], body: () => statement('stmt-one', 'SELECT 1', 'pool-one', { stopped: true }) },
  { method: 'DELETE', template: STMT, query: [] },
  { method: 'GET', template: `${STMT}/results`, query: ['page-token'] },
  { method: 'GET', template: `${STMT}/exceptions`, query: [] },
  { method: 'GET', template: `${E}/compute-pools`, query: PAGING },
  { method: 'POST', template: `${E}/compute-pools`, query: [], body: () => computePool(THROWAWAY) },
  { method: 'GET', template: `${E}/compute-pools/{poolName}`, query: [] },
  { method: 'DELETE', template: `${E}/compute-pools/{poolName}`, query: [] },
  { method: 'GET', template: SECRETS, query: PAGING },
  { method: 'POST', template: SECRETS, query: [], body: () => secret(THROWAWAY, { password: SECRET }) },
  { method: 'GET', template: `${SECRETS}/{secretName}`, query: [] },
  { method: 'PUT', template: `${SECRETS}/{secretName}`, query: [], body: () => secret('kafka-creds', { password: SECRET, rotated: SECRET }) },
  { method: 'DELETE', template: `${SECRETS}/{secretName}`, query: [] },
  { method: 'GET', template: CATALOGS, query: PAGING },
  { method: 'POST', template: CATALOGS, query: [], body: () => kafkaCatalog(THROWAWAY) },
  { method: 'GET', template: `${CATALOGS}/{catName}`, query: [] },
  { method: 'PUT', template: `${CATALOGS}/{catName}`, query: [], body: () => kafkaCatalog('kafka-cat') },
  { method: 'DELETE', template: `${CATALOGS}/{catName}`, query: [] },
  { method: 'GET', template: DATABASES, query: PAGING },
  { method: 'POST', template: DATABASES, query: [], body: () => kafkaDatabase(THROWAWAY) },
  { method: 'GET', template: `${DATABASES}/{dbName}`, query: [] },
  { method: 'PUT', template: `${DATABASES}/{dbName}`, query: [], body: () => kafkaDatabase('kafka-1', 'moved:9092') },
  { method: 'DELETE', template: `${DATABASES}/{dbName}`, query: [] },
  { method: 'GET', template: `${APP}/flink-web-ui/{rest}`, query: [], unavailable: true },
];

/** The seeded object each path parameter names (`{envName}` is only left in the two environment paths). */
export function seededParams(instance: string): Record<string, string> {
  return {
    envName: 'env-hostile',
    appName: 'app-one',
    instName: instance,
    name: 'kafka-conn',
    stmtName: 'stmt-one',
    poolName: 'pool-one',
    secretName: 'kafka-creds',
    catName: 'kafka-cat',
    dbName: 'kafka-1',
    rest: 'index.html',
  };
}

const paramNames = (route: Route): string[] => [...route.template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
/** `METHOD /template` of a route. */
export const operation = (route: Route): string => `${route.method} ${route.template}`;

/** The path of `route` with every parameter the seeded name, unless `override` gives its raw text. */
function fill(route: Route, params: Record<string, string>, override: Record<string, string> = {}): string {
  return route.template.replace(/\{(\w+)\}/g, (_m, name: string) => override[name] ?? params[name]!);
}

/**
 * Percent-encodes every byte of `text` but unreserved characters; lone UTF-16 surrogates become
 * their 3-byte (invalid UTF-8) form, which `encodeURIComponent` refuses to produce.
 */
export function percentEncode(text: string): string {
  let out = '';
  for (const ch of text) {
    if (/^[A-Za-z0-9\-._~]$/.test(ch)) {
      out += ch;
      continue;
    }
    const cp = ch.codePointAt(0)!;
    const bytes = cp >= 0xd800 && cp <= 0xdfff ? [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)] : [...Buffer.from(ch, 'utf8')];
    out += bytes.map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  return out;
}

/** A short, escaped rendering of a value for messages. */
export function excerpt(value: unknown, max = 80): string {
  let text: string;
  if (Buffer.isBuffer(value)) text = JSON.stringify(value.subarray(0, max * 2).toString('utf8'));
  else if (Array.isArray(value) && value.length > 20) return `[${value.length} × ${excerpt(value[0], 40)}]`;
  else if (typeof value === 'string' && value.length > max) return `${JSON.stringify(value.slice(0, max))}…(${value.length} chars)`;
  else text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
}

function makeCase(what: string, route: Route, req: WireRequest): Case {
  return {
    what,
    route,
    req,
    [fc.toStringMethod]: () => `${what} → ${req.method} ${excerpt(req.target, 160)}`,
  } as Case;
}

/**
 * What to read back after `route` accepted a write, to show drey can serve what it stored: the
 * collection and the object it wrote (or the application it started or suspended, with its
 * instances and events).
 */
export function readBackPaths(route: Route, params: Record<string, string>): string[] {
  const path = fill(route, params);
  if (route.method === 'POST' && route.body) return [path, `${path}/${THROWAWAY}`];
  if (route.method === 'POST') {
    const app = path.replace(/\/(start|suspend)$/, '');
    return [app, `${app}/instances`, app.replace('/api/v1/', '/api/v1alpha1/') + '/events'];
  }
  const parent = path.slice(0, path.lastIndexOf('/'));
  return route.method === 'PUT' ? [parent, path] : [parent];
}

/** A plain request sent after a case on the same connection. */
export const FOLLOW_UP = Buffer.from(`GET ${ENVS} HTTP/1.1\r\nHost: follow-up\r\nConnection: close\r\n\r\n`);

/**
 * Sends a third of the cases on a connection kept open, followed by a plain GET: its answer must
 * be its own (no part of the hostile request may be taken for another request).
 */
export function thenFollowUp(cases: fc.Arbitrary<Case>): fc.Arbitrary<Case> {
  return fc.tuple(cases, fc.nat(2)).map(([c, n]) =>
    n > 0 || c.req.hangUp || c.req.headers.some(([k]) => k.toLowerCase() === 'connection') ? c : makeCase(`${c.what} (then a GET on the same connection)`, c.route, { ...c.req, after: FOLLOW_UP }),
  );
}

/** A valid request to `route`: the seeded names in the path, a valid JSON body where it takes one. */
function validRequest(route: Route, params: Record<string, string>): WireRequest {
  const body = route.body?.();
  return {
    method: route.method,
    target: fill(route, params),
    headers: body ? [['Content-Type', 'application/json']] : [],
    ...(body ? { body: Buffer.from(JSON.stringify(body)) } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// hostile values

/** Names of Object.prototype's members, and others that code looking keys up in plain objects trips on. */
export const PROTOTYPE_NAMES = [...Object.getOwnPropertyNames(Object.prototype), 'prototype', 'then', 'toJSON', 'length'];

/** Characters that break things when they sit inside a string. */
const TAINTS = ['\u0000', '\ud800', '\udfff', '\udc00\ud800', '\uffff', '\ufeff', '\u202e', '\u2028', '\r\n', '\u0085', '\u001b[31m', '\ud83d\ude00', 'é', '%00', '\\u0000'];

const NASTY_STRINGS = [
  '',
  ' ',
  '\t',
  '.',
  '..',
  '../../etc/passwd',
  'a/b',
  '%00',
  '%ED%A0%80',
  `'; DROP TABLE "Secret"; --`,
  '${jndi:ldap://x/a}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  '0x10',
  '🙂',
  'ñ',
  ...PROTOTYPE_NAMES,
];

/** NUL and unpaired surrogates most often: they are what text columns and JSON encoders choke on. */
const taint = fc.oneof({ weight: 2, arbitrary: fc.constantFrom('\u0000', '\ud800', '\udfff') }, { weight: 1, arbitrary: fc.constantFrom(...TAINTS) });

/** Strings that are wrong in some way: control and unpaired surrogate characters, traversal, injection, prototype names, length. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NASTY_STRINGS),
  fc.tuple(fc.constantFrom('', 'x', 'kafka-creds', 'app-one'), taint, fc.constantFrom('before', 'after', 'inside')).map(([s, t, where]) =>
    where === 'before' ? t + s : where === 'after' ? s + t : `${s.slice(0, 1)}${t}${s.slice(1)}`,
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }),
  fc.constantFrom(253, 254, 255, 4_096, 100_000, 1_000_000).map((n) => 'x'.repeat(n)),
);

/** Keys for objects: prototype member names, control characters, unpaired surrogates, very long ones. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...PROTOTYPE_NAMES, '', ' ', '\u0000', '\ud800', '\udfff', 'a\u0000b', '$ref', '.', 'a.b', 'metadata.name', '🙂', '\u202e', 'status', 'apiVersion', 'x'.repeat(10_000)),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }),
);

/** An object whose own key is `key` (even "__proto__", which a literal would turn into a prototype). */
function ownKey(key: string, value: unknown): Json {
  const out: Json = {};
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

function nested(depth: number, shape: 'array' | 'object'): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = shape === 'array' ? [v] : { a: v };
  return v;
}

const HUGE = 50_000;

/** Values to put where `original` was: wrong types, hostile strings, huge arrays, deep nesting, prototype keys. */
function hostileValue(original: unknown): fc.Arbitrary<unknown> {
  const element = Array.isArray(original) ? original[0] : original;
  return fc.oneof(
    fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, -0, 2 ** 31, 2 ** 53 + 2, 1e308, -1e308, 'x', [], {}),
    hostileString,
    typeof original === 'string' ? taint.map((t) => `${original}${t}`) : hostileString,
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom<unknown>(element ?? 0, {}, 0, '', 'x'.repeat(10)).map((e) => Array.from({ length: HUGE }, () => e)),
    fc.tuple(fc.constantFrom(16, 60, 62, 63, 64, 65, 300), fc.constantFrom('array' as const, 'object' as const)).map(([d, s]) => nested(d, s)),
    fc.constantFrom(...PROTOTYPE_NAMES).map((k) => ownKey(k, { polluted: 'yes' })),
  );
}

// ---------------------------------------------------------------------------------------------
// bodies

type Path = string[];

function pathsOf(value: unknown, at: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  return Object.keys(value).flatMap((k) => [[...at, k], ...pathsOf((value as Json)[k], [...at, k])]);
}

function get(value: unknown, path: Path): unknown {
  return path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' && Object.hasOwn(v, k) ? (v as Json)[k] : undefined), value);
}

/** The container of `path`'s last key, created as objects where missing. */
function parentOf(body: Json, path: Path): Json {
  let at = body;
  for (const key of path.slice(0, -1)) {
    const next = Object.hasOwn(at, key) ? at[key] : undefined;
    if (next === null || typeof next !== 'object') {
      const created = {};
      Object.defineProperty(at, key, { value: created, enumerable: true, writable: true, configurable: true });
      at = created;
    } else {
      at = next as Json;
    }
  }
  return at;
}

function setOwn(target: Json, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A copy of `target` with `from` renamed to `to`, keys in their order. */
function renamed(target: Json, from: string, to: string): Json {
  const out: Json = Array.isArray(target) ? ([] as unknown as Json) : {};
  for (const k of Object.keys(target)) setOwn(out, k === from ? to : k, target[k]);
  return out;
}

function taintEverything(value: unknown, t: string): unknown {
  if (typeof value === 'string') return `${value}${t}`;
  if (Array.isArray(value)) return value.map((v) => taintEverything(v, t));
  if (value !== null && typeof value === 'object') {
    const out: Json = {};
    for (const k of Object.keys(value)) setOwn(out, `${k}${t}`, taintEverything((value as Json)[k], t));
    return out;
  }
  return value;
}

interface Mutation {
  what: string;
  apply(body: Json): Json;
}

/** One change to a valid body that should make it invalid (or, at worst, still valid). */
function mutation(base: Json): fc.Arbitrary<Mutation> {
  const all = pathsOf(base);
  const objects: Path[] = [[], ...all.filter((p) => { const v = get(base, p); return v !== null && typeof v === 'object' && !Array.isArray(v); })];
  const strings = all.filter((p) => typeof get(base, p) === 'string');
  const arrays = all.filter((p) => Array.isArray(get(base, p)));
  const show = (p: Path) => (p.length === 0 ? '(root)' : p.join('.'));
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom(...all).chain((p) =>
        hostileValue(get(base, p)).map((v): Mutation => ({ what: `${show(p)} = ${excerpt(v, 60)}`, apply: (b) => (setOwn(parentOf(b, p), p[p.length - 1]!, v), b) })),
      ),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(fc.constantFrom(...(strings.length ? strings : all)), taint).map(
        ([p, t]): Mutation => ({
          what: `${show(p)} carries ${excerpt(t)}`,
          apply: (b) => {
            const v = get(b, p);
            setOwn(parentOf(b, p), p[p.length - 1]!, `${typeof v === 'string' ? v : ''}${t}`);
            return b;
          },
        }),
      ),
    },
    fc.tuple(fc.constantFrom(...objects), hostileKey, hostileValue(undefined)).map(
      ([p, k, v]): Mutation => ({
        what: `${show(p)} gains key ${excerpt(k, 40)} = ${excerpt(v, 40)}`,
        apply: (b) => {
          const target = get(b, p);
          setOwn(target !== null && typeof target === 'object' ? (target as Json) : b, k, v);
          return b;
        },
      }),
    ),
    fc.tuple(fc.constantFrom(...all), hostileKey).map(
      ([p, k]): Mutation => ({
        what: `key ${show(p)} renamed ${excerpt(k, 40)}`,
        apply: (b) => {
          if (p.length === 1) return renamed(b, p[0]!, k);
          const grand = parentOf(b, p.slice(0, -1));
          const parentKey = p[p.length - 2]!;
          const parent = grand[parentKey];
          if (parent !== null && typeof parent === 'object') setOwn(grand, parentKey, renamed(parent as Json, p[p.length - 1]!, k));
          return b;
        },
      }),
    ),
    fc.tuple(fc.constantFrom(...(arrays.length ? arrays : all)), fc.constantFrom('its own element', '{}', '0', '""')).map(
      ([p, element]): Mutation => ({
        what: `${show(p)} = ${HUGE} × ${element}`,
        apply: (b) => {
          const own = get(b, p);
          const mine = Array.isArray(own) ? own[0] : own;
          // an element an earlier mutation made huge would make a body of gigabytes
          const item = element === 'its own element' && (JSON.stringify(mine) ?? '').length <= 1_000 ? mine : JSON.parse(element === 'its own element' ? '{}' : element);
          setOwn(parentOf(b, p), p[p.length - 1]!, Array.from({ length: HUGE }, () => item));
          return b;
        },
      }),
    ),
    fc.constantFrom(...all).map((p): Mutation => ({ what: `${show(p)} removed`, apply: (b) => (delete parentOf(b, p)[p[p.length - 1]!], b) })),
    taint.map((t): Mutation => ({ what: `every string and key carries ${excerpt(t)}`, apply: (b) => taintEverything(b, t) as Json })),
  );
}

const OTHER_CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/merge-patch+json',
  'application/problem+yaml',
  'application/json, application/yaml',
  'application/json\t',
  '*/*',
  ';',
  '',
];

/** Texts that are not a valid object in any format. */
const BROKEN_TEXTS = ['', ' ', '{', '}', '[', '[]', 'null', 'true', '0', '"x"', '\u0000', '{"a":1,}', '{"a":"\\ud800"}', '{"a":"\\u0000"}', '---\n---\n', '- a\n- b\n', '? [a]\n: b\n', 'a: *missing\n', '%YAML 9.9\n---\na: 1\n', 'a: !!binary "###"\n', '{a: 1, a: 2}', 'a:\n\t- 1\n', '!!js/undefined ""'];

/** Encodes a body: JSON, YAML, or JSON under a content type drey does not read. */
function encoded(body: Json): fc.Arbitrary<{ what: string; contentType: string | undefined; bytes: Buffer }> {
  const json = () => JSON.stringify(body);
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant({ what: 'as JSON', contentType: 'application/json', bytes: Buffer.from(json()) }) },
    {
      weight: 2,
      arbitrary: fc.constant(0).map(() => {
        let text: string;
        try {
          text = yaml.dump(body, { noRefs: true, lineWidth: -1 });
        } catch {
          text = json();
        }
        return { what: 'as YAML', contentType: 'application/yaml', bytes: Buffer.from(text) };
      }),
    },
    { weight: 1, arbitrary: fc.constantFrom(undefined, ...OTHER_CONTENT_TYPES).map((ct) => ({ what: `as JSON labelled ${excerpt(ct)}`, contentType: ct, bytes: Buffer.from(json()) })) },
  );
}

/** Routes that read a body. */
const WRITES = ROUTES.filter((r) => r.body);

/** Mutated valid bodies, broken texts, and bytes that are not UTF-8, to every operation that reads a body. */
export function bodyCases(params: Record<string, string>): fc.Arbitrary<Case> {
  const mutated = fc.constantFrom(...WRITES).chain((route) =>
    fc.tuple(fc.array(mutation(route.body!()), { minLength: 1, maxLength: 3 }), fc.constant(route)).chain(([mutations, r]) => {
      let body = JSON.parse(JSON.stringify(r.body!())) as Json;
      for (const m of mutations) body = m.apply(body);
      return encoded(body).map(({ what, contentType, bytes }) =>
        makeCase(`body: ${mutations.map((m) => m.what).join('; ')} ${what}`, r, {
          ...validRequest(r, params),
          headers: contentType === undefined ? [] : [['Content-Type', contentType]],
          body: bytes,
        }),
      );
    }),
  );
  const broken = fc.tuple(fc.constantFrom(...WRITES), fc.constantFrom(...BROKEN_TEXTS), fc.constantFrom('application/json', 'application/yaml')).map(([r, text, ct]) =>
    makeCase(`body: the text ${excerpt(text)} as ${ct}`, r, { ...validRequest(r, params), headers: [['Content-Type', ct]], body: Buffer.from(text) }),
  );
  const bytes = fc
    .tuple(
      fc.constantFrom(...WRITES),
      fc.constantFrom(
        { what: 'with bytes that are not UTF-8 (ED A0 80, C0 AE, FF) in a string', make: (b: Buffer) => Buffer.concat([b.subarray(0, b.indexOf('"', 2) + 1), Buffer.from([0xed, 0xa0, 0x80, 0xc0, 0xae, 0xff]), b.subarray(b.indexOf('"', 2) + 1)]) },
        { what: 'as UTF-16LE with a byte order mark', make: (b: Buffer) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(b.toString('utf8'), 'utf16le')]) },
        { what: 'after a UTF-8 byte order mark', make: (b: Buffer) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]) },
        { what: 'followed by a NUL byte', make: (b: Buffer) => Buffer.concat([b, Buffer.from([0])]) },
        { what: 'followed by a second object', make: (b: Buffer) => Buffer.concat([b, b]) },
      ),
      fc.constantFrom('application/json', 'application/yaml'),
    )
    .map(([r, v, ct]) => {
      const valid = validRequest(r, params);
      return makeCase(`body: a valid body ${v.what}, as ${ct}`, r, { ...valid, headers: [['Content-Type', ct]], body: v.make(valid.body!) });
    });
  return fc.oneof({ weight: 6, arbitrary: mutated }, { weight: 1, arbitrary: broken }, { weight: 1, arbitrary: bytes });
}

// ---------------------------------------------------------------------------------------------
// paths

/** Path segments as sent (already encoded, or deliberately raw). */
const SEGMENTS = [
  '%00',
  'a%00b',
  'app-one%00',
  '%ED%A0%80',
  '%ED%B0%80',
  'kafka-creds%ED%A0%80',
  '%C0%AE%C0%AE',
  '%C0%80',
  '..',
  '.',
  '%2e%2e',
  '..%2F..%2Fsecrets',
  '%2F',
  '%5C',
  '%',
  '%zz',
  '%u0000',
  '%E2%80%AE',
  '%F0%9F%99%82',
  '%C3%B1',
  'ñ',
  '🙂',
  '%20',
  '%0D%0A',
  '%3F',
  '%23',
  ';a=b',
  'a'.repeat(253),
  'a'.repeat(254),
  'a'.repeat(8_000),
  'a'.repeat(20_000),
  ...PROTOTYPE_NAMES,
  'start',
  'instances',
  'applications',
];

const segment: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SEGMENTS) },
  { weight: 1, arbitrary: fc.constantFrom(...SEGMENTS.filter((s) => !s.includes('%'))).map(percentEncode) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).map(percentEncode) },
);

/** Whole-path distortions of a valid path. */
const SHAPES: [string, (path: string) => string][] = [
  ['a trailing slash', (p) => `${p}/`],
  ['a doubled slash', (p) => p.replace('/api/', '//api/')],
  ['a dot segment', (p) => p.replace('/api/', '/api/./')],
  ['a dot-dot segment', (p) => `${p}/../${p.split('/').pop()}`],
  ['an encoded dot-dot segment', (p) => `${p}/%2e%2e/x`],
  ['upper case', (p) => p.toUpperCase()],
  ['an extra segment', (p) => `${p}/extra`],
  ['encoded slashes', (p) => `/cmf${p.slice(4).replaceAll('/', '%2F')}`],
  ['a fragment', (p) => `${p}#frag`],
  ['the absolute form', (p) => `http://127.0.0.1${p}`],
  ['no leading slash', (p) => p.slice(1)],
  ['a backslash', (p) => p.replace('/api/', '\\api\\')],
  ['a matrix parameter', (p) => `${p};jsessionid=1`],
];

/** Each path parameter of every operation replaced by a hostile segment, and distorted paths. */
export function pathCases(params: Record<string, string>): fc.Arbitrary<Case> {
  const withParam = fc
    .constantFrom(...ROUTES.filter((r) => paramNames(r).length > 0))
    .chain((r) => fc.tuple(fc.constant(r), fc.constantFrom(...paramNames(r)), segment))
    .map(([r, name, seg]) => makeCase(`path: {${name}} = ${excerpt(seg)}`, r, { ...validRequest(r, params), target: fill(r, params, { [name]: seg }) }));
  const shaped = fc
    .tuple(fc.constantFrom(...ROUTES), fc.constantFrom(...SHAPES))
    .map(([r, [what, shape]]) => makeCase(`path: ${what}`, r, { ...validRequest(r, params), target: shape(fill(r, params)) }));
  return fc.oneof({ weight: 3, arbitrary: withParam }, { weight: 1, arbitrary: shaped });
}

// ---------------------------------------------------------------------------------------------
// query strings

/** Query values as sent (already encoded, or deliberately raw). */
const QUERY_VALUES = [
  '',
  'x',
  '-1',
  '0',
  '1',
  '+1',
  '%2B1',
  '1.5',
  '1e3',
  '0x10',
  '%201',
  '99999999999999999999',
  '2147483648',
  '9007199254740993',
  'NaN',
  'Infinity',
  '%EF%BC%91',
  '%00',
  'a%00b',
  '1%00',
  '%ED%A0%80',
  '%',
  '%zz',
  '%C0%80',
  'running',
  'RUNNING',
  'running%00',
  'pending,running',
  'pool-one',
  'pool-one%00',
  'x'.repeat(10_000),
];

const SORT_PARTS = ['name', 'metadata.name', 'creationTimestamp', 'uid', '', ' ', 'x', '\u0000', '\ud800', ...PROTOTYPE_NAMES];

const sortValue = fc
  .tuple(fc.array(fc.constantFrom(...SORT_PARTS), { minLength: 1, maxLength: 3 }), fc.constantFrom('', ',asc', ',desc', ',DESC', ',sideways', ','))
  .map(([parts, direction]) => percentEncode(parts.join(',')).replaceAll('%2C', ',') + direction);

const queryKey = (route: Route) =>
  fc.oneof(
    { weight: route.query.length > 0 ? 6 : 0, arbitrary: fc.constantFrom(...route.query, 'sort') },
    { weight: 2, arbitrary: fc.constantFrom('page', 'size', 'sort', 'phase', 'compute-pool', 'page-token') },
    { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES, 'sort[]', 'sort[0]', 'sort.x', 'SORT', '', '%00', '%ED%A0%80') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }).map(percentEncode) },
  );

const queryValue = (key: string) =>
  fc.oneof(
    { weight: key === 'sort' ? 4 : 1, arbitrary: sortValue },
    { weight: 3, arbitrary: fc.constantFrom(...QUERY_VALUES) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }).map(percentEncode) },
  );

const RAW_QUERIES = ['?', '?&&', '?=', '?==', '?sort', '?sort&sort', '?a=b=c', '?%', '?page=1&page=2', '?sort=name&sort=hasOwnProperty', '?size=1&size=', '?;', `?${'a=1&'.repeat(2_000)}`];

/** Junk, repeated and prototype-named query parameters on every operation. */
export function queryCases(params: Record<string, string>): fc.Arbitrary<Case> {
  const lists = ROUTES.filter((r) => r.query.length > 0);
  const sent = (r: Route, kv: [string, string][]) => {
    const query = kv.map(([k, v]) => `${k}=${v}`).join('&');
    return makeCase(`query: ?${excerpt(query, 120).replace(/^"|"$/g, '')}`, r, { ...validRequest(r, params), target: `${fill(r, params)}?${query}` });
  };
  // one parameter the operation reads, alone, so no other parameter is refused first
  const single = fc
    .constantFrom(...lists)
    .chain((r) => fc.tuple(fc.constant(r), fc.constantFrom(...r.query).chain((k) => fc.tuple(fc.constant(k), queryValue(k)))))
    .map(([r, kv]) => sent(r, [kv]));
  const sorts = fc.tuple(fc.constantFrom(...lists), fc.array(sortValue, { minLength: 1, maxLength: 2 })).map(([r, vs]) => sent(r, vs.map((v) => ['sort', v])));
  const mixed = fc
    .oneof({ weight: 3, arbitrary: fc.constantFrom(...lists) }, { weight: 1, arbitrary: fc.constantFrom(...ROUTES) })
    .chain((r) => fc.tuple(fc.constant(r), fc.array(queryKey(r).chain((k) => fc.tuple(fc.constant(k), queryValue(k))), { minLength: 1, maxLength: 4 })))
    .map(([r, kv]) => sent(r, kv));
  const raw = fc
    .tuple(fc.constantFrom(...ROUTES), fc.constantFrom(...RAW_QUERIES))
    .map(([r, q]) => makeCase(`query: ${excerpt(q)}`, r, { ...validRequest(r, params), target: `${fill(r, params)}${q}` }));
  return fc.oneof({ weight: 3, arbitrary: single }, { weight: 2, arbitrary: sorts }, { weight: 2, arbitrary: mixed }, { weight: 1, arbitrary: raw });
}

// ---------------------------------------------------------------------------------------------
// headers, framing, methods

const ETAGS = ['*', '"x"', 'W/"x"', '"', '""', ',,,', 'W/', `"${'a'.repeat(8_000)}"`, Array.from({ length: 500 }, (_, i) => `"${i}"`).join(', '), '*, "x"', '%00'];
const HEADER_VALUES: Record<string, string[]> = {
  Accept: ['application/yaml', 'application/yaml;q=0', 'text/html', '*/*;q=abc', 'application/json;q=0, application/yaml;q=0', '*/*;q=0', 'application/*', ';;;', 'x'.repeat(8_000), 'application/json, application/yaml;q=2'],
  'Content-Type': [...OTHER_CONTENT_TYPES, 'application/json; charset=utf-8; charset=latin1', 'application/json;boundary="\\"'],
  'If-None-Match': ETAGS,
  'If-Match': ETAGS,
  'If-Modified-Since': ['garbage', 'Thu, 01 Jan 1970 00:00:00 GMT', 'Fri, 31 Dec 9999 23:59:59 GMT', ''],
  'If-Unmodified-Since': ['garbage', 'Thu, 01 Jan 1970 00:00:00 GMT'],
  'Cache-Control': ['no-cache', 'no-store', 'max-age=-1', 'max-age=99999999999999999999', 'only-if-cached', '=,=,='],
  Pragma: ['no-cache'],
  'Accept-Encoding': ['gzip', 'identity;q=0', '*;q=0', 'br, zstd'],
  'Accept-Charset': ['utf-16', 'latin1;q=1, utf-8;q=0'],
  Range: ['bytes=0-0', 'bytes=999999-', 'bytes=-1', 'lines=1-2'],
  Expect: ['100-continue', 'x-junk'],
  Upgrade: ['websocket', 'h2c'],
  Connection: ['keep-alive', 'Upgrade', 'close, x-junk', 'TE'],
  Host: ['', 'evil.example', 'a'.repeat(1_000), '127.0.0.1:99999', '[::1', 'localhost:80:80'],
  'X-HTTP-Method-Override': ['DELETE', 'PUT'],
  'X-Forwarded-For': ['1.2.3.4, unknown, %00'],
  Cookie: ['__proto__=1; constructor=2', 'a'.repeat(4_000)],
  Authorization: ['Basic %%%', 'Bearer \u00ff'],
  'Content-Encoding': ['gzip', 'br', 'x-junk'],
  Trailer: ['Content-Length'],
};

/** Header lines that Node itself may refuse: control characters, CR/LF injection, folding, size, bad names. */
const RAW_HEADERS: [string, string][] = [
  ['X-Nul', 'a\u0000b'],
  ['X-Injected', 'a\r\nX-Evil: 1'],
  ['X-Folded', 'a\r\n continued'],
  ['X-Unicode', 'é🙂'],
  ['X-Surrogate', '\ud800'],
  ['X-Huge', 'x'.repeat(20_000)],
  ['X Space', 'x'],
  ['X-Tab\t', 'x'],
  ['é', 'x'],
  ['', 'x'],
  [':authority', 'x'],
  ['__proto__', 'x'],
  ['Content-Type', 'application/json\u0000'],
  ['Accept', 'application/json\u0000'],
];

const hostileHeader: fc.Arbitrary<[string, string]> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...Object.keys(HEADER_VALUES)).chain((name) => fc.constantFrom(...HEADER_VALUES[name]!).map((v): [string, string] => [name, v])) },
  { weight: 1, arbitrary: fc.constantFrom(...RAW_HEADERS) },
);

/** Ways to break the framing of a body (and a control, a correct chunked body). */
const FRAMINGS: { what: string; frame(req: WireRequest): WireRequest }[] = [
  { what: 'Content-Length 10 bytes more than sent, then the client hangs up', frame: (r) => ({ ...r, framing: 'as-given', headers: [...r.headers, ['Content-Length', String(r.body!.length + 10)]], hangUp: true }) },
  { what: 'Content-Length 5 bytes less than sent', frame: (r) => ({ ...r, framing: 'as-given', headers: [...r.headers, ['Content-Length', String(Math.max(0, r.body!.length - 5))]] }) },
  { what: 'Content-Length 0 with a body', frame: (r) => ({ ...r, framing: 'as-given', headers: [...r.headers, ['Content-Length', '0']] }) },
  ...['-1', 'abc', '1.5', '0x10', '+5', '99999999999999999999', '5, 6'].map((cl) => ({
    what: `Content-Length ${JSON.stringify(cl)}`,
    frame: (r: WireRequest): WireRequest => ({ ...r, framing: 'as-given', headers: [...r.headers, ['Content-Length', cl]] }),
  })),
  { what: 'two different Content-Lengths', frame: (r) => ({ ...r, framing: 'as-given', headers: [...r.headers, ['Content-Length', String(r.body!.length)], ['Content-Length', '1']] }) },
  { what: 'Content-Length and chunked together', frame: (r) => ({ ...r, framing: 'as-given', headers: [...r.headers, ['Content-Length', String(r.body!.length)], ['Transfer-Encoding', 'chunked']], body: chunked(r.body!) }) },
  { what: 'a correct chunked body', frame: (r) => ({ ...r, framing: 'as-given', headers: [...r.headers, ['Transfer-Encoding', 'chunked']], body: chunked(r.body!) }) },
  { what: 'a chunk size that is not hex', frame: (r) => ({ ...r, framing: 'as-given', headers: [...r.headers, ['Transfer-Encoding', 'chunked']], body: Buffer.concat([Buffer.from('zz\r\n'), r.body!, Buffer.from('\r\n0\r\n\r\n')]) }) },
  { what: 'a chunk larger than what follows, then the client hangs up', frame: (r) => ({ ...r, framing: 'as-given', headers: [...r.headers, ['Transfer-Encoding', 'chunked']], body: Buffer.concat([Buffer.from(`${(r.body!.length + 100).toString(16)}\r\n`), r.body!]), hangUp: true }) },
  { what: 'no last chunk, then the client hangs up', frame: (r) => ({ ...r, framing: 'as-given', headers: [...r.headers, ['Transfer-Encoding', 'chunked']], body: chunked(r.body!).subarray(0, -5), hangUp: true }) },
  { what: 'a chunk extension of 20000 characters', frame: (r) => ({ ...r, framing: 'as-given', headers: [...r.headers, ['Transfer-Encoding', 'chunked']], body: Buffer.concat([Buffer.from(`${r.body!.length.toString(16)};${'x'.repeat(20_000)}\r\n`), r.body!, Buffer.from('\r\n0\r\n\r\n')]) }) },
  { what: 'a chunk without its CRLF', frame: (r) => ({ ...r, framing: 'as-given', headers: [...r.headers, ['Transfer-Encoding', 'chunked']], body: Buffer.concat([Buffer.from(`${r.body!.length.toString(16)}\r\n`), r.body!, Buffer.from('0\r\n\r\n')]) }) },
  ...['gzip, chunked', 'chunked, gzip', 'gzip', 'identity', 'Chunked', 'chunked ', 'x-junk'].map((te) => ({
    what: `Transfer-Encoding ${JSON.stringify(te)}`,
    frame: (r: WireRequest): WireRequest => ({ ...r, framing: 'as-given', headers: [...r.headers, ['Transfer-Encoding', te]], body: chunked(r.body!) }),
  })),
  { what: 'two Transfer-Encoding headers', frame: (r) => ({ ...r, framing: 'as-given', headers: [...r.headers, ['Transfer-Encoding', 'chunked'], ['Transfer-Encoding', 'chunked']], body: chunked(r.body!) }) },
  { what: 'Expect: 100-continue with the body sent at once', frame: (r) => ({ ...r, headers: [...r.headers, ['Expect', '100-continue']] }) },
];

function chunked(body: Buffer): Buffer {
  const half = Math.ceil(body.length / 2);
  const parts = [body.subarray(0, half), body.subarray(half)].filter((p) => p.length > 0);
  return Buffer.concat([...parts.flatMap((p) => [Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n')]), Buffer.from('0\r\n\r\n')]);
}

const METHODS = ['FOO', 'BREW', 'QUERY', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'PURGE', 'SEARCH', 'LINK', 'UNLINK', 'REPORT', 'M-SEARCH', 'NOTIFY', 'SUBSCRIBE', 'MERGE', 'ACL', 'BIND', 'SOURCE', 'PRI', 'DESCRIBE', 'PLAY', 'SETUP', 'PATCH', 'OPTIONS', 'TRACE', 'HEAD', 'CONNECT', 'get', 'Get', 'X'.repeat(100)];
const VERSIONS = ['HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.2', 'HTTP/9.9', 'http/1.1', 'HTTP/1.1 extra', 'HTTP/1'];

/** Hostile headers on a valid request, broken framing of a body, unknown methods and HTTP versions, to every operation. */
export function headerCases(params: Record<string, string>): fc.Arbitrary<Case> {
  const body = (r: WireRequest): WireRequest => (r.body ? r : { ...r, headers: [...r.headers, ['Content-Type', 'application/json']], body: Buffer.from('{"name":"x"}') });
  const headers = fc.tuple(fc.constantFrom(...ROUTES), fc.array(hostileHeader, { minLength: 1, maxLength: 3 })).map(([r, hs]) => {
    const valid = validRequest(r, params);
    const replaced = new Set(hs.map(([k]) => k.toLowerCase()));
    return makeCase(`headers: ${hs.map(([k, v]) => `${excerpt(k)}: ${excerpt(v, 60)}`).join(', ')}`, r, {
      ...valid,
      headers: [...valid.headers.filter(([k]) => !replaced.has(k.toLowerCase())), ...hs],
    });
  });
  // operations that act without reading a body, those that read one, and the others, evenly
  const framed = fc.oneof(
    fc.constantFrom(...ROUTES.filter((r) => r.method !== 'GET' && !r.body)),
    fc.constantFrom(...ROUTES.filter((r) => r.body)),
    fc.constantFrom(...ROUTES.filter((r) => r.method === 'GET')),
  );
  const framing = fc.tuple(framed, fc.constantFrom(...FRAMINGS)).map(([r, f]) => makeCase(`framing: ${f.what}`, r, f.frame(body(validRequest(r, params)))));
  const methods = fc.tuple(fc.constantFrom(...ROUTES), fc.constantFrom(...METHODS)).map(([r, m]) => makeCase(`method ${excerpt(m)}`, r, { ...validRequest(r, params), method: m }));
  const versions = fc.tuple(fc.constantFrom(...ROUTES), fc.constantFrom(...VERSIONS), fc.boolean()).map(([r, v, noHost]) =>
    makeCase(`version ${v}${noHost ? ' without Host' : ''}`, r, { ...validRequest(r, params), version: v, noHost }),
  );
  const noHost = fc.constantFrom(...ROUTES).map((r) => makeCase('HTTP/1.1 without Host', r, { ...validRequest(r, params), noHost: true }));
  const pipelined = fc
    .constantFrom(...ROUTES)
    .map((r) => makeCase('pipelining: a GET, then the request, on one connection', r, { ...validRequest(r, params), before: Buffer.from(`GET ${ENVS} HTTP/1.1\r\nHost: x\r\n\r\n`) }));
  return fc.oneof(
    { weight: 4, arbitrary: headers },
    { weight: 3, arbitrary: framing },
    { weight: 2, arbitrary: methods },
    { weight: 1, arbitrary: versions },
    { weight: 1, arbitrary: noHost },
    { weight: 1, arbitrary: pipelined },
  );
}
