/**
 * Values that used to reach PostgreSQL or a plain-object lookup and come back as 500s: query values
 * named like Object.prototype members, text PostgreSQL cannot store (NUL, unpaired UTF-16
 * surrogates) in every kind of path parameter, query value and string field, and 50,000-entry
 * lists. Each is refused with a 4xx before any query, changes nothing, and never echoes a secret.
 */
import { startApi, type TestApi } from '../support/api.js';
import { logEntries } from '../support/logLines.js';
import { application, computePool, environment, kafkaCatalog, secret, secretMapping, statement } from '../support/fixtures.js';
import { CATALOGS, changedTables, E, ENV, ENVS, SECRET, secretFragments, SECRETS, seedHostileWorld, snapshot } from '../support/hostile.js';

type Json = Record<string, any>;

const APP = `${E}/applications/app-one`;

let api: TestApi;

beforeAll(async () => {
  api = await startApi();
  await seedHostileWorld(api);
});
afterAll(async () => api.close());

/**
 * Sends a request and checks it was refused with `status`, changed nothing, and leaked nothing.
 * The web UI proxy's paths are not in the contract, so those go around its check.
 */
async function expectRefused(method: string, path: string, body: unknown, status: number | number[], headers: Record<string, string> = {}): Promise<Json> {
  const before = await snapshot(api.prisma);
  const res = path.includes('/flink-web-ui/') ? await unchecked(method, path) : await api.request(method, path, body, { headers });
  expect(Array.isArray(status) ? status : [status]).toContain(res.status);
  expect(res.body).toEqual({ errors: expect.arrayContaining([{ message: expect.any(String) }]) });
  expect(changedTables(before, await snapshot(api.prisma))).toEqual([]);
  expect(secretFragments(res.text)).toEqual([]);
  return res.body;
}

async function unchecked(method: string, path: string): Promise<{ status: number; text: string; body: Json }> {
  const res = await fetch(`${api.url}${path}`, { method });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) };
}

const LISTS = [
  ENVS,
  `${E}/applications`,
  `${APP}/instances`,
  `/cmf/api/v1alpha1/environments/${ENV}/applications/app-one/events`,
  `${E}/secret-mappings`,
  `${E}/statements`,
  `${E}/compute-pools`,
  SECRETS,
  CATALOGS,
];

const PROTOTYPE_NAMES = [
  'hasOwnProperty',
  'toString',
  'valueOf',
  '__proto__',
  'constructor',
  '__defineGetter__',
  'propertyIsEnumerable',
  'toLocaleString',
  'isPrototypeOf',
];

describe('query values named like Object.prototype members', () => {
  const cases = LISTS.flatMap((list) => PROTOTYPE_NAMES.flatMap((name) => [`sort=${name}`, `sort=${name},desc`, `sort=name,${name}`].map((q) => ({ list, q }))));
  it.each(cases)('GET $list?$q is 400 naming the sortable properties', async ({ list, q }) => {
    const body = await expectRefused('GET', `${list}?${q}`, undefined, 400);
    expect(body.errors[0].message).toMatch(/^Cannot sort by '.+': sort by one of name, /);
  });

  it.each(LISTS.flatMap((list) => ['__proto__', 'constructor', 'toString'].map((name) => ({ list, name }))))(
    'GET $list with a query parameter named $name is served as if it were absent',
    async ({ list, name }) => {
      const res = await api.get(`${list}?${name}=1&${name}[x]=2`);
      expect(res.status).toBe(200);
    },
  );
});

/** Ways to spell text PostgreSQL cannot store, in a URL and in JSON. */
const UNSTORABLE = [
  { what: 'a NUL', url: 'a%00bcd', text: 'a\u0000bcd' },
  { what: 'an unpaired high surrogate', url: 'a%ED%A0%80bcd', text: 'a\ud800bcd' },
  { what: 'an unpaired low surrogate', url: 'a%ED%B0%80bcd', text: 'a\udc00bcd' },
];

/** Every route with path parameters, as [method, template, body for writes]. */
const ROUTES: [string, string, (() => Json) | undefined][] = [
  ['GET', '/cmf/api/v1/environments/{env}', undefined],
  ['DELETE', '/cmf/api/v1/environments/{env}', undefined],
  ['GET', '/cmf/api/v1/environments/{env}/applications', undefined],
  ['POST', '/cmf/api/v1/environments/{env}/applications', () => application('app-new')],
  ['GET', '/cmf/api/v1/environments/{env}/applications/{app}', undefined],
  ['DELETE', '/cmf/api/v1/environments/{env}/applications/{app}', undefined],
  ['POST', '/cmf/api/v1/environments/{env}/applications/{app}/start', undefined],
  ['POST', '/cmf/api/v1/environments/{env}/applications/{app}/suspend', undefined],
  ['GET', '/cmf/api/v1/environments/{env}/applications/{app}/instances', undefined],
  ['GET', '/cmf/api/v1/environments/{env}/applications/{app}/instances/{inst}', undefined],
  ['GET', '/cmf/api/v1alpha1/environments/{env}/applications/{app}/events', undefined],
  ['GET', '/cmf/api/v1/environments/{env}/applications/{app}/flink-web-ui/', undefined],
  ['GET', '/cmf/api/v1/environments/{env}/secret-mappings', undefined],
  ['POST', '/cmf/api/v1/environments/{env}/secret-mappings', () => secretMapping('mapping-new', 'kafka-creds')],
  ['GET', '/cmf/api/v1/environments/{env}/secret-mappings/{mapping}', undefined],
  ['PUT', '/cmf/api/v1/environments/{env}/secret-mappings/{mapping}', () => secretMapping('kafka-conn', 'kafka-creds')],
  ['DELETE', '/cmf/api/v1/environments/{env}/secret-mappings/{mapping}', undefined],
  ['GET', '/cmf/api/v1/environments/{env}/statements', undefined],
  ['POST', '/cmf/api/v1/environments/{env}/statements', () => statement('stmt-new', 'SELECT 1', 'pool-one')],
  ['GET', '/cmf/api/v1/environments/{env}/statements/{stmt}', undefined],
  ['PUT', '/cmf/api/v1/environments/{env}/statements/{stmt}', () => statement('stmt-one', 'SELECT 1', 'pool-one', { stopped: true })],
  ['DELETE', '/cmf/api/v1/environments/{env}/statements/{stmt}', undefined],
  ['GET', '/cmf/api/v1/environments/{env}/statements/{stmt}/results', undefined],
  ['GET', '/cmf/api/v1/environments/{env}/statements/{stmt}/exceptions', undefined],
  ['GET', '/cmf/api/v1/environments/{env}/compute-pools', undefined],
  ['POST', '/cmf/api/v1/environments/{env}/compute-pools', () => computePool('pool-new')],
  ['GET', '/cmf/api/v1/environments/{env}/compute-pools/{pool}', undefined],
  ['DELETE', '/cmf/api/v1/environments/{env}/compute-pools/{pool}', undefined],
  ['GET', '/cmf/api/v1/secrets/{secret}', undefined],
  ['PUT', '/cmf/api/v1/secrets/{secret}', () => secret('kafka-creds', { password: SECRET })],
  ['DELETE', '/cmf/api/v1/secrets/{secret}', undefined],
  ['GET', '/cmf/api/v1/catalogs/kafka/{catalog}', undefined],
  ['DELETE', '/cmf/api/v1/catalogs/kafka/{catalog}', undefined],
];

/** The stored names each parameter is given when it is not the one spoiled. */
const NAMES: Record<string, string> = {
  env: ENV,
  app: 'app-one',
  inst: 'inst-unknown',
  mapping: 'kafka-conn',
  stmt: 'stmt-one',
  pool: 'pool-one',
  secret: 'kafka-creds',
  catalog: 'kafka-cat',
};

describe('unstorable text in path parameters', () => {
  const cases = ROUTES.flatMap(([method, template, body]) =>
    [...template.matchAll(/\{(\w+)\}/g)].flatMap(([, spoiled]) =>
      UNSTORABLE.map((u) => ({
        method,
        body,
        path: template.replace(/\{(\w+)\}/g, (_m, p: string) => (p === spoiled ? u.url : NAMES[p]!)),
        title: `${method} ${template} with ${u.what} in {${spoiled}} is refused before any query`,
      })),
    ),
  );
  it.each(cases)('$title', async ({ method, path, body }) => {
    // 404: nothing can have such a name; 400 when the URL's bytes are not UTF-8 at all
    await expectRefused(method, path, body?.(), [400, 404]);
  });
});

describe('unstorable text in query values', () => {
  const prefixes = [`${E}/statements?compute-pool=`, `${E}/statements?phase=`, `${ENVS}?sort=`, `${ENVS}?page=`, `${E}/statements/stmt-one/results?page-token=`];
  it.each(prefixes)('GET %s<NUL> is 400', async (prefix) => {
    const body = await expectRefused('GET', `${prefix}a%00b`, undefined, 400);
    expect(body.errors[0].message).toMatch(/^Query parameter '[-a-z]+' contains a character drey cannot store|^Query parameter/);
  });

  // a URL carries UTF-8, which has no unpaired surrogates: their spellings decode to U+FFFD
  it('GET ?compute-pool=<the UTF-8-like spelling of an unpaired surrogate> filters by U+FFFD text: an empty list', async () => {
    const res = await api.get(`${E}/statements?compute-pool=a%ED%A0%80b`);
    expect({ status: res.status, items: res.body.items }).toEqual({ status: 200, items: [] });
  });
});

/** Every write, with a body whose string fields and keys get spoiled one at a time. */
const WRITES: { label: string; method: string; path: string; body: () => Json }[] = [
  { label: 'environment', method: 'POST', path: ENVS, body: () => environment('env-spoiled', 'flink-spoiled', { flinkApplicationDefaults: { spec: { flinkConfiguration: { a: 'b' } } }, statementDefaults: { detached: { flinkConfiguration: { c: 'd' } } } }) },
  { label: 'application', method: 'POST', path: `${E}/applications`, body: () => application('app-spoiled') },
  { label: 'secret', method: 'POST', path: SECRETS, body: () => secret('secret-spoiled', { password: SECRET }) },
  { label: 'secret update', method: 'PUT', path: `${SECRETS}/kafka-creds`, body: () => secret('kafka-creds', { password: SECRET }) },
  { label: 'secret mapping', method: 'POST', path: `${E}/secret-mappings`, body: () => secretMapping('mapping-spoiled', 'kafka-creds') },
  { label: 'secret mapping update', method: 'PUT', path: `${E}/secret-mappings/kafka-conn`, body: () => secretMapping('kafka-conn', 'kafka-creds') },
  { label: 'compute pool', method: 'POST', path: `${E}/compute-pools`, body: () => computePool('pool-spoiled') },
  { label: 'statement', method: 'POST', path: `${E}/statements`, body: () => statement('stmt-spoiled', 'SELECT 1', 'pool-one', { properties: { 'sql.current-catalog': 'x' } }) },
  { label: 'statement update', method: 'PUT', path: `${E}/statements/stmt-one`, body: () => statement('stmt-one', 'SELECT 1', 'pool-one', { stopped: true }) },
  { label: 'Kafka catalog', method: 'POST', path: CATALOGS, body: () => kafkaCatalog('catalog-spoiled') },
];

/** Paths to every string leaf of a body. */
function stringLeaves(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof value === 'string') return [at];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringLeaves(v, [...at, i]));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => stringLeaves(v, [...at, k]));
  return [];
}

/** Paths to every object (where a spoiled key can be added). */
function objects(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => objects(v, [...at, i]));
  if (value && typeof value === 'object') return [at, ...Object.entries(value).flatMap(([k, v]) => objects(v, [...at, k]))];
  return [];
}

function update(body: Json, at: (string | number)[], change: (parent: any, key: string | number) => void): Json {
  const out = structuredClone(body);
  let parent: any = out;
  for (const key of at.slice(0, -1)) parent = parent[key];
  change(parent, at[at.length - 1]!);
  return out;
}

/** `spec.kafkaClusters[0].databaseName`, as drey names fields. */
function fieldName(at: (string | number)[]): string {
  return at.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || 'body';
}

describe('unstorable text in string fields and keys', () => {
  const cases = WRITES.flatMap((w) => {
    const body = w.body();
    const leaves = stringLeaves(body).flatMap((at) =>
      UNSTORABLE.map((u) => ({
        w,
        title: `${w.label}: ${u.what} in ${fieldName(at)} is 400 naming the field`,
        spoiled: update(body, at, (p, k) => (p[k] = `${p[k]}${u.text}`)),
        message: `${fieldName(at)} contains a character drey cannot store`,
      })),
    );
    const keys = objects(body).flatMap((at) =>
      UNSTORABLE.slice(0, 2).map((u) => ({
        w,
        title: `${w.label}: ${u.what} in a key of ${fieldName(at)} is 400`,
        spoiled: at.length === 0 ? { ...body, [`k${u.text}`]: 'v' } : update(body, at, (p, k) => (p[k] = { ...p[k], [`k${u.text}`]: 'v' })),
        message: `${fieldName(at)} has a key that contains a character drey cannot store`,
      })),
    );
    return [...leaves, ...keys];
  });
  it.each(cases)('$title', async ({ w, spoiled, message }) => {
    const body = await expectRefused(w.method, w.path, JSON.stringify(spoiled), 400, { 'content-type': 'application/json' });
    expect(body.errors[0].message).toContain(message);
  });

  it('the same holds for YAML bodies (a "\\0" escape in a secret value)', async () => {
    const text = `apiVersion: cmf.confluent.io/v1\nkind: Secret\nmetadata:\n  name: secret-yaml\nspec:\n  data:\n    password: "${SECRET}\\0"\n`;
    const body = await expectRefused('POST', SECRETS, text, 400, { 'content-type': 'application/yaml' });
    expect(body.errors[0].message).toBe('spec.data.password contains a character drey cannot store (NUL or an unpaired UTF-16 surrogate)');
  });
});

describe('50,000-entry lists', () => {
  it.each([
    ['empty objects', '{}'],
    ['numbers', '1'],
    ['empty arrays', '[]'],
  ])('a Kafka catalog with 50,000 kafkaClusters that are %s is 400, listing the first problems', async (_what, entry) => {
    const text = `{"apiVersion":"cmf.confluent.io/v1","kind":"KafkaCatalog","metadata":{"name":"catalog-huge"},"spec":{"srInstance":{"connectionConfig":{}},"kafkaClusters":[${Array(50_000).fill(entry).join(',')}]}}`;
    const body = await expectRefused('POST', CATALOGS, text, 400, { 'content-type': 'application/json' });
    expect(body.errors.length).toBeLessThanOrEqual(51);
    expect(body.errors[body.errors.length - 1].message).toMatch(/^and \d+ more problems$/);
  });

  it('a Kafka catalog listing one database 20,000 times is 422 at once', async () => {
    const cluster = '{"databaseName":"d","connectionConfig":{}}';
    const text = `{"apiVersion":"cmf.confluent.io/v1","kind":"KafkaCatalog","metadata":{"name":"catalog-repeats"},"spec":{"srInstance":{"connectionConfig":{}},"kafkaClusters":[${Array(20_000).fill(cluster).join(',')}]}}`;
    const body = await expectRefused('POST', CATALOGS, text, 422, { 'content-type': 'application/json' });
    expect(body.errors[0].message).toBe("spec.kafkaClusters lists database 'd' more than once");
  });

  it.each(WRITES.map((w) => ({ w, title: `${w.label} with a 50,000-entry list in metadata.labels is 400` })))('$title', async ({ w }) => {
    const body = w.body();
    body.metadata = { ...(body.metadata ?? {}), labels: Array(50_000).fill('x') };
    if (w.label === 'environment') body.name = ['x'];
    await expectRefused(w.method, w.path, JSON.stringify(body), 400, { 'content-type': 'application/json' });
  });
});

describe('the log after all of the above', () => {
  it('holds no ERROR line and no secret value', () => {
    expect(logEntries(api.logs).filter((e) => e.level === 'error')).toEqual([]);
    expect(secretFragments(api.logs.join(''))).toEqual([]);
  });
});
