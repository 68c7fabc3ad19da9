/**
 * Hostile input against every write endpoint: each request must be refused with its 4xx and a
 * RestError naming the problem, leave the database exactly as it was, keep secret values out of
 * responses and logs, and leave the server answering the next valid request.
 * test/security/hostileAuthenticated.test.ts runs this suite again against a drey with
 * authentication on (see test/support/hostileTarget.ts).
 */
import http from 'node:http';
import yaml from 'js-yaml';
import { application, computePool, environment, kafkaCatalog, secret, secretMapping, statement } from '../support/fixtures.js';
import type { TestResponse } from '../support/api.js';
import { hostileTarget, posture, type HostileTarget, type NoCredential } from '../support/hostileTarget.js';
import { loadContract } from '../support/contract.js';
import { storedSecretData } from '../support/keyring.js';
import { CATALOGS, changedTables, E, ENV, ENVS, NS, SECRET, SECRETS, secretFragments, seedHostileWorld, snapshot } from '../support/hostile.js';

type Json = Record<string, any>;

const MIB = 1024 * 1024;
const MISSING_ENV = `${ENVS}/env-missing`;
/** The name every hostile POST tries to create. */
const TARGET = 'hostile-target';
/** Marks a field to delete in `withField`. */
const REMOVE = Symbol('remove');

let api: HostileTarget;
let serial = 0;
const fresh = (prefix: string): string => `${prefix}-${++serial}`;

beforeAll(async () => {
  api = await hostileTarget();
  await seedHostileWorld(api);
});
afterAll(async () => api.close());

// ---------------------------------------------------------------------------------------------
// helpers

/** A copy of `body` with the field at `path` set (or removed). */
function withField(body: Json, path: string[], value: unknown): Json {
  const out = structuredClone(body);
  let at: Json = out;
  for (const key of path.slice(0, -1)) {
    if (typeof at[key] !== 'object' || at[key] === null) at[key] = {};
    at = at[key];
  }
  const last = path[path.length - 1]!;
  if (value === REMOVE) delete at[last];
  else at[last] = value;
  return out;
}

/**
 * Sends a request with Node's http module, for what fetch cannot send: no content type with a
 * body, or a chunked body. Each call gets a connection of its own unless it passes an agent. The
 * response is checked against the contract like api.request does.
 */
async function rawRequest(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; chunks: Buffer[]; agent?: http.Agent; timeoutMs?: number },
): Promise<TestResponse> {
  const agent = options.agent ?? api.agent({ keepAlive: false });
  const timeoutMs = options.timeoutMs ?? 15_000;
  try {
    const { status, headers, text } = await new Promise<{ status: number; headers: Headers; text: string }>((resolve, reject) => {
      const req = api.httpRequest(`${api.url}${path}`, { method, agent, headers: options.headers ?? {} }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
          resolve({ status: res.statusCode ?? 0, headers: h, text: Buffer.concat(parts).toString('utf8') });
        });
        res.on('error', (err) => reject(new Error(`${method} ${path}: the response broke off: ${err.message}`)));
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
      req.on('error', (err) => reject(new Error(`${method} ${path}: the connection failed before a response: ${err.message}`)));
      for (const chunk of options.chunks) req.write(chunk);
      req.end();
    });
    const contentType = headers.get('content-type');
    const body = text === '' ? undefined : contentType?.includes('json') ? JSON.parse(text) : contentType?.includes('yaml') ? yaml.load(text) : text;
    const problems = loadContract()?.check(method, path.split('?')[0]!, status, contentType ?? undefined, body) ?? [];
    if (problems.length > 0) throw new Error(`${method} ${path} → ${status} breaks the contract:\n  ${problems.join('\n  ')}`);
    return { status, headers, text, body };
  } finally {
    if (!options.agent) agent.destroy();
  }
}

/** A body of about `bytes` bytes, carrying SECRET, split into 64 KiB chunks for a chunked upload. */
function chunkedBody(body: Json, bytes: number): Buffer[] {
  const buf = Buffer.from(JSON.stringify({ ...body, padding: SECRET.repeat(Math.ceil(bytes / SECRET.length)) }));
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += 64 * 1024) chunks.push(buf.subarray(i, i + 64 * 1024));
  return chunks;
}

/** A YAML "billion laughs": 9 anchors, each a list of 9 aliases of the one before (9^9 leaves). */
function aliasBomb(): string {
  const lines = [`lol0: &lol0 [${Array(9).fill('"lol"').join(', ')}]`];
  for (let i = 1; i < 9; i++) lines.push(`lol${i}: &lol${i} [${Array(9).fill(`*lol${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

/** JSON text of `body` with `placeholder`'s quoted value replaced by raw JSON text. */
function jsonWithRaw(body: Json, at: string[], raw: string): string {
  return JSON.stringify(withField(body, at, '@@RAW@@')).replace('"@@RAW@@"', raw);
}

// ---------------------------------------------------------------------------------------------
// endpoints

interface FollowUp {
  method: string;
  path: string;
  body: () => Json;
  status: number;
}

interface WrongType {
  /** What is wrong, for the test name. */
  what: string;
  at: string[];
  value: unknown;
  message: RegExp;
}

interface Special {
  /** The behaviour, for the test name. */
  title: string;
  path: string;
  body: () => Json;
  status: number;
  message: RegExp;
}

interface Endpoint {
  label: string;
  method: 'POST' | 'PUT';
  path: string;
  /** A valid body that would store or change something if accepted; hostile cases spoil it. */
  body: () => Json;
  /** Whether the body carries apiVersion and kind. */
  envelope: boolean;
  /** Where the body names the object. */
  nameAt: string[];
  /** A field that takes a free-form or string-map object, for nested prototype keys. */
  objectAt: string[];
  /** Whether bodies sent here carry secret data. */
  secret: boolean;
  /** GETs whose answers must not change when the write is refused. */
  views: string[];
  /** A valid request that must succeed after each hostile one. */
  followUp: FollowUp;
  wrongTypes: WrongType[];
  specials: Special[];
}

/** An error naming the field that carries the object's name. */
const nameMessage = (ep: { nameAt: string[] }): RegExp => new RegExp(`^${ep.nameAt.join('\\.')} (must|is)`);
const labelsWrong: WrongType = {
  what: 'metadata.labels with a number value',
  at: ['metadata', 'labels'],
  value: { team: 7 },
  message: /metadata\.labels\.team must be string/,
};

const endpoints: Endpoint[] = [
  {
    label: 'POST /environments',
    method: 'POST',
    path: ENVS,
    body: () => environment(TARGET, 'flink-target'),
    envelope: false,
    nameAt: ['name'],
    objectAt: ['flinkApplicationDefaults'],
    secret: false,
    views: [ENVS, `${ENVS}/${TARGET}`],
    followUp: { method: 'POST', path: ENVS, body: () => environment(ENV, NS), status: 201 },
    wrongTypes: [
      { what: 'kubernetesNamespace 42', at: ['kubernetesNamespace'], value: 42, message: /kubernetesNamespace must be string/ },
      { what: 'kubernetesNamespace with an underscore', at: ['kubernetesNamespace'], value: 'flink_ns', message: /kubernetesNamespace must match/ },
      { what: 'name 42', at: ['name'], value: 42, message: /name must be string/ },
      { what: 'flinkApplicationDefaults a string', at: ['flinkApplicationDefaults'], value: 'x', message: /flinkApplicationDefaults must be object/ },
      {
        what: 'statementDefaults.detached.flinkConfiguration with a number value',
        at: ['statementDefaults'],
        value: { detached: { flinkConfiguration: { 'table.exec.x': 1 } } },
        message: /statementDefaults\.detached\.flinkConfiguration\.table\.exec\.x must be string/,
      },
    ],
    specials: [],
  },
  {
    label: 'POST /applications',
    method: 'POST',
    path: `${E}/applications`,
    body: () => application(TARGET),
    envelope: true,
    nameAt: ['metadata', 'name'],
    objectAt: ['metadata', 'labels'],
    secret: false,
    views: [`${E}/applications`, `${E}/applications/${TARGET}`],
    followUp: { method: 'POST', path: `${E}/applications`, body: () => application('app-one'), status: 201 },
    wrongTypes: [
      { what: 'spec.job.parallelism "three"', at: ['spec', 'job', 'parallelism'], value: 'three', message: /spec\.job\.parallelism must be integer/ },
      { what: 'spec.job.parallelism 0', at: ['spec', 'job', 'parallelism'], value: 0, message: /spec\.job\.parallelism must be >= 1/ },
      { what: 'spec.job.state "paused"', at: ['spec', 'job', 'state'], value: 'paused', message: /spec\.job\.state must be one of/ },
      { what: 'spec.flinkConfiguration a string', at: ['spec', 'flinkConfiguration'], value: 'x', message: /spec\.flinkConfiguration must be object/ },
      { what: 'spec a list', at: ['spec'], value: [], message: /spec must be object/ },
      { what: 'no spec', at: ['spec'], value: REMOVE, message: /spec is required/ },
      { what: 'metadata a string', at: ['metadata'], value: 'x', message: /metadata must be object/ },
      labelsWrong,
    ],
    specials: [
      {
        title: 'an application in a missing environment is refused with 404',
        path: `${MISSING_ENV}/applications`,
        body: () => application(TARGET),
        status: 404,
        message: /Environment 'env-missing' not found/,
      },
    ],
  },
  {
    label: 'POST /secret-mappings',
    method: 'POST',
    path: `${E}/secret-mappings`,
    body: () => secretMapping(TARGET, 'kafka-creds'),
    envelope: true,
    nameAt: ['metadata', 'name'],
    objectAt: ['metadata', 'labels'],
    secret: false,
    views: [`${E}/secret-mappings`, `${E}/secret-mappings/${TARGET}`, `${SECRETS}/kafka-creds`],
    followUp: { method: 'POST', path: `${E}/secret-mappings`, body: () => secretMapping(fresh('conn')), status: 200 },
    wrongTypes: [
      { what: 'spec.secretName 42', at: ['spec', 'secretName'], value: 42, message: /spec\.secretName must be string/ },
      { what: 'spec.secretName with an underscore', at: ['spec', 'secretName'], value: 'kafka_creds', message: /spec\.secretName must match/ },
      { what: 'no spec.secretName', at: ['spec', 'secretName'], value: REMOVE, message: /spec\.secretName is required/ },
      labelsWrong,
    ],
    specials: [
      {
        title: 'a mapping in a missing environment is refused with 404',
        path: `${MISSING_ENV}/secret-mappings`,
        body: () => secretMapping(TARGET, 'kafka-creds'),
        status: 404,
        message: /Environment 'env-missing' not found/,
      },
      {
        title: 'a mapping to a missing secret is refused with 404',
        path: `${E}/secret-mappings`,
        body: () => secretMapping(TARGET, 'missing-creds'),
        status: 404,
        message: /Secret 'missing-creds' not found/,
      },
    ],
  },
  {
    label: 'PUT /secret-mappings/{name}',
    method: 'PUT',
    path: `${E}/secret-mappings/kafka-conn`,
    body: () => secretMapping('kafka-conn', 'other-creds'),
    envelope: true,
    nameAt: ['metadata', 'name'],
    objectAt: ['metadata', 'labels'],
    secret: false,
    views: [`${E}/secret-mappings/kafka-conn`, `${SECRETS}/other-creds`],
    followUp: { method: 'PUT', path: `${E}/secret-mappings/kafka-conn`, body: () => secretMapping('kafka-conn', 'kafka-creds'), status: 200 },
    wrongTypes: [
      { what: 'spec.secretName 42', at: ['spec', 'secretName'], value: 42, message: /spec\.secretName must be string/ },
      { what: 'no spec', at: ['spec'], value: REMOVE, message: /spec is required/ },
      labelsWrong,
    ],
    specials: [
      {
        title: 'a metadata.name that disagrees with the path is refused with 422',
        path: `${E}/secret-mappings/kafka-conn`,
        body: () => secretMapping('other-conn', 'other-creds'),
        status: 422,
        message: /metadata\.name 'other-conn' does not match/,
      },
      {
        title: 'a mapping in a missing environment is refused with 404',
        path: `${MISSING_ENV}/secret-mappings/kafka-conn`,
        body: () => secretMapping('kafka-conn', 'other-creds'),
        status: 404,
        message: /Environment 'env-missing' not found/,
      },
      {
        title: 'a missing mapping is refused with 404',
        path: `${E}/secret-mappings/missing-conn`,
        body: () => secretMapping('missing-conn', 'other-creds'),
        status: 404,
        message: /mapping 'missing-conn' not found/,
      },
    ],
  },
  {
    label: 'POST /statements',
    method: 'POST',
    path: `${E}/statements`,
    body: () => statement(TARGET),
    envelope: true,
    nameAt: ['metadata', 'name'],
    objectAt: ['metadata', 'labels'],
    secret: false,
    views: [`${E}/statements`, `${E}/statements/${TARGET}`],
    followUp: { method: 'POST', path: `${E}/statements`, body: () => statement(fresh('stmt')), status: 200 },
    wrongTypes: [
      { what: 'spec.parallelism "three"', at: ['spec', 'parallelism'], value: 'three', message: /spec\.parallelism must be integer/ },
      { what: 'spec.parallelism 2^31', at: ['spec', 'parallelism'], value: 2 ** 31, message: /spec\.parallelism must be <= 2147483647/ },
      { what: 'spec.stopped "yes"', at: ['spec', 'stopped'], value: 'yes', message: /spec\.stopped must be boolean/ },
      {
        what: 'a flinkConfiguration value that is an object',
        at: ['spec', 'flinkConfiguration'],
        value: { 'pipeline.name': { nested: 'x' } },
        message: /spec\.flinkConfiguration\.pipeline\.name must be string/,
      },
      { what: 'spec.statement of blanks only', at: ['spec', 'statement'], value: '   ', message: /spec\.statement must match/ },
      { what: 'no spec.computePoolName', at: ['spec', 'computePoolName'], value: REMOVE, message: /spec\.computePoolName is required/ },
      labelsWrong,
    ],
    specials: [
      {
        title: 'a statement in a missing environment is refused with 404',
        path: `${MISSING_ENV}/statements`,
        body: () => statement(TARGET),
        status: 404,
        message: /Environment 'env-missing' not found/,
      },
    ],
  },
  {
    label: 'PUT /statements/{name}',
    method: 'PUT',
    path: `${E}/statements/stmt-one`,
    body: () => statement('stmt-one', 'SELECT 1', 'pool-one', { stopped: true }),
    envelope: true,
    nameAt: ['metadata', 'name'],
    objectAt: ['metadata', 'labels'],
    secret: false,
    views: [`${E}/statements/stmt-one`],
    followUp: { method: 'PUT', path: `${E}/statements/stmt-one`, body: () => statement('stmt-one'), status: 200 },
    wrongTypes: [
      { what: 'spec.parallelism "three"', at: ['spec', 'parallelism'], value: 'three', message: /spec\.parallelism must be integer/ },
      { what: 'spec.stopped "yes"', at: ['spec', 'stopped'], value: 'yes', message: /spec\.stopped must be boolean/ },
      {
        what: 'a flinkConfiguration value that is an object',
        at: ['spec', 'flinkConfiguration'],
        value: { 'pipeline.name': { nested: 'x' } },
        message: /spec\.flinkConfiguration\.pipeline\.name must be string/,
      },
      { what: 'no spec', at: ['spec'], value: REMOVE, message: /spec is required/ },
      labelsWrong,
    ],
    specials: [
      {
        title: 'a metadata.name that disagrees with the path is refused with 422',
        path: `${E}/statements/stmt-one`,
        body: () => statement('stmt-two', 'SELECT 1', 'pool-one', { stopped: true }),
        status: 422,
        message: /metadata\.name 'stmt-two' does not match/,
      },
      {
        title: 'a changed SQL text is refused with 422',
        path: `${E}/statements/stmt-one`,
        body: () => statement('stmt-one', 'DROP TABLE orders', 'pool-one', { stopped: true }),
        status: 422,
        message: /spec\.statement cannot be changed/,
      },
      {
        title: 'a missing statement is refused with 404',
        path: `${E}/statements/stmt-missing`,
        body: () => statement('stmt-missing'),
        status: 404,
        message: /Statement 'stmt-missing' not found/,
      },
      {
        title: 'a statement in a missing environment is refused with 404',
        path: `${MISSING_ENV}/statements/stmt-one`,
        body: () => statement('stmt-one', 'SELECT 1', 'pool-one', { stopped: true }),
        status: 404,
        message: /Environment 'env-missing' not found/,
      },
    ],
  },
  {
    label: 'POST /compute-pools',
    method: 'POST',
    path: `${E}/compute-pools`,
    body: () => computePool(TARGET),
    envelope: true,
    nameAt: ['metadata', 'name'],
    objectAt: ['metadata', 'labels'],
    secret: false,
    views: [`${E}/compute-pools`, `${E}/compute-pools/${TARGET}`],
    followUp: { method: 'POST', path: `${E}/compute-pools`, body: () => computePool(fresh('pool')), status: 200 },
    wrongTypes: [
      { what: 'spec.clusterSpec a string', at: ['spec', 'clusterSpec'], value: 'x', message: /spec\.clusterSpec must be object/ },
      { what: 'spec.type 7', at: ['spec', 'type'], value: 7, message: /spec\.type must be string/ },
      { what: 'no spec.type', at: ['spec', 'type'], value: REMOVE, message: /spec\.type is required/ },
      labelsWrong,
    ],
    specials: [
      {
        title: 'a pool in a missing environment is refused with 404',
        path: `${MISSING_ENV}/compute-pools`,
        body: () => computePool(TARGET),
        status: 404,
        message: /Environment 'env-missing' not found/,
      },
    ],
  },
  {
    label: 'POST /secrets',
    method: 'POST',
    path: SECRETS,
    body: () => secret(TARGET, { password: SECRET }),
    envelope: true,
    nameAt: ['metadata', 'name'],
    objectAt: ['metadata', 'labels'],
    secret: true,
    views: [SECRETS, `${SECRETS}/${TARGET}`],
    followUp: { method: 'POST', path: SECRETS, body: () => secret(fresh('sec'), { password: SECRET }), status: 200 },
    wrongTypes: [
      { what: 'spec.data with a number value', at: ['spec', 'data'], value: { password: SECRET, port: 9092 }, message: /spec\.data\.port must be string/ },
      { what: 'spec.data a list', at: ['spec', 'data'], value: [SECRET], message: /spec\.data must be object/ },
      labelsWrong,
    ],
    specials: [],
  },
  {
    label: 'PUT /secrets/{name}',
    method: 'PUT',
    path: `${SECRETS}/kafka-creds`,
    body: () => secret('kafka-creds', { password: SECRET, rotated: SECRET }),
    envelope: true,
    nameAt: ['metadata', 'name'],
    objectAt: ['metadata', 'labels'],
    secret: true,
    views: [`${SECRETS}/kafka-creds`],
    followUp: { method: 'PUT', path: `${SECRETS}/kafka-creds`, body: () => secret('kafka-creds', { password: SECRET }), status: 200 },
    wrongTypes: [
      { what: 'spec.data with a number value', at: ['spec', 'data'], value: { password: SECRET, port: 9092 }, message: /spec\.data\.port must be string/ },
      { what: 'spec a string', at: ['spec'], value: SECRET, message: /spec must be object/ },
      labelsWrong,
    ],
    specials: [
      {
        title: 'a metadata.name that disagrees with the path is refused with 422',
        path: `${SECRETS}/kafka-creds`,
        body: () => secret('other-creds', { password: SECRET }),
        status: 422,
        message: /metadata\.name 'other-creds' does not match/,
      },
      {
        title: 'a missing secret is refused with 404',
        path: `${SECRETS}/missing-creds`,
        body: () => secret('missing-creds', { password: SECRET }),
        status: 404,
        message: /Secret 'missing-creds' not found/,
      },
    ],
  },
  {
    label: 'POST /catalogs/kafka',
    method: 'POST',
    path: CATALOGS,
    body: () => kafkaCatalog(TARGET),
    envelope: true,
    nameAt: ['metadata', 'name'],
    objectAt: ['metadata', 'labels'],
    secret: false,
    views: [CATALOGS, `${CATALOGS}/${TARGET}`],
    followUp: { method: 'POST', path: CATALOGS, body: () => kafkaCatalog(fresh('cat')), status: 200 },
    wrongTypes: [
      { what: 'spec.kafkaClusters an object', at: ['spec', 'kafkaClusters'], value: { databaseName: 'kafka-1' }, message: /spec\.kafkaClusters must be array/ },
      {
        what: 'a kafkaClusters databaseName 1',
        at: ['spec', 'kafkaClusters'],
        value: [{ databaseName: 1, connectionConfig: {} }],
        message: /spec\.kafkaClusters\.0\.databaseName must be string/,
      },
      {
        what: 'srInstance.connectionConfig with a number value',
        at: ['spec', 'srInstance', 'connectionConfig'],
        value: { 'schema.registry.port': 8081 },
        message: /spec\.srInstance\.connectionConfig\.schema\.registry\.port must be string/,
      },
      { what: 'no spec.srInstance', at: ['spec', 'srInstance'], value: REMOVE, message: /spec\.srInstance is required/ },
      labelsWrong,
    ],
    specials: [],
  },
];

// ---------------------------------------------------------------------------------------------
// hostile inputs

interface Hostile {
  /** The behaviour, for the test name. */
  title: string;
  status: number;
  /** What the error message must say, possibly depending on the endpoint. */
  message: RegExp | ((ep: Endpoint) => RegExp);
  send(ep: Endpoint): Promise<TestResponse>;
  /** Only for endpoints this returns true for. */
  applies?(ep: Endpoint): boolean;
}

const sendText = (ep: Endpoint, text: string, contentType: string, path = ep.path) =>
  api.request(ep.method, path, text, { headers: { 'content-type': contentType } });
const sendJson = (ep: Endpoint, text: string) => sendText(ep, text, 'application/json');
const sendYaml = (ep: Endpoint, text: string) => sendText(ep, text, 'application/yaml');
const MALFORMED = /Malformed JSON request body/;
const MALFORMED_YAML = /Malformed YAML request body/;
const NOT_OBJECT = /Request body must be an object/;
const REQUIRED = /Request body is required/;
const TOO_LARGE = /Request body is larger than 1048576 bytes/;
const PROTO = /may not contain the key "__proto__"/;

const bodyCases: Hostile[] = [
  {
    title: 'malformed JSON (a truncated object) is refused with 400',
    status: 400,
    message: MALFORMED,
    send: (ep) => sendJson(ep, JSON.stringify(ep.body()).slice(0, -3)),
  },
  {
    title: 'malformed JSON with a trailing comma is refused with 400',
    status: 400,
    message: MALFORMED,
    send: (ep) => sendJson(ep, JSON.stringify(ep.body()).replace(/}$/, ',}')),
  },
  {
    title: 'malformed JSON whose syntax error is inside a secret value is refused with 400 without echoing the value',
    status: 400,
    message: MALFORMED,
    applies: (ep) => ep.secret,
    send: (ep) => sendJson(ep, JSON.stringify(ep.body()).replace(`"${SECRET}"`, SECRET)),
  },
  {
    title: 'a form-encoded body labelled as JSON is refused with 400',
    status: 400,
    message: MALFORMED,
    send: (ep) => sendJson(ep, `name=${TARGET}&password=${SECRET}`),
  },
  {
    title: 'a bare secret token labelled as JSON is refused with 400 without echoing it',
    status: 400,
    message: MALFORMED,
    send: (ep) => sendJson(ep, `${SECRET}\n`),
  },
  {
    title: 'malformed YAML (bad indentation) is refused with 400',
    status: 400,
    message: MALFORMED_YAML,
    send: (ep) => sendYaml(ep, `${yaml.dump(ep.body())}misplaced: mapping: value\n`),
  },
  {
    title: 'YAML with a duplicated key is refused with 400',
    status: 400,
    message: /Malformed YAML request body: duplicated mapping key/,
    send: (ep) => sendYaml(ep, `${yaml.dump(ep.body())}${ep.envelope ? 'metadata:\n  name: second-name' : 'name: second-name'}\n`),
  },
  {
    title: 'malformed YAML (an unterminated quoted secret) is refused with 400 without echoing it',
    status: 400,
    message: MALFORMED_YAML,
    send: (ep) => sendYaml(ep, `${yaml.dump(ep.body())}note: "${SECRET}\n`),
  },
  {
    title: 'multiple YAML documents are refused with 400',
    status: 400,
    message: /Malformed YAML request body: expected a single document/,
    send: (ep) => sendYaml(ep, `---\n${yaml.dump(ep.body())}---\n${yaml.dump(ep.body())}`),
  },
  {
    title: 'a YAML tag for a JavaScript function is refused with 400',
    status: 400,
    message: /Malformed YAML request body: unknown tag/,
    send: (ep) => sendYaml(ep, `${yaml.dump(ep.body())}hook: !!js/function "function () { return process.exit(1) }"\n`),
  },
  {
    title: 'a YAML alias bomb ("billion laughs") is refused with 400',
    status: 400,
    message: /Request body expands to more than 100000 values/,
    send: (ep) => sendYaml(ep, `${yaml.dump(ep.body())}${aliasBomb()}`),
  },
  {
    title: 'a YAML alias bomb as application/x-yaml is refused with 400',
    status: 400,
    message: /Request body expands to more than 100000 values/,
    send: (ep) => sendText(ep, `${yaml.dump(ep.body())}${aliasBomb()}`, 'application/x-yaml'),
  },
  {
    title: 'a YAML anchor that contains its own alias (a cycle) is refused with 400',
    status: 400,
    message: /Request body is nested deeper than 64 levels/,
    send: (ep) => sendYaml(ep, `${yaml.dump(ep.body())}loop: &loop\n  again: *loop\n`),
  },
  {
    title: 'JSON nested 10000 arrays deep is refused with 400',
    status: 400,
    message: /Request body is nested deeper than 64 levels/,
    send: (ep) => sendJson(ep, jsonWithRaw(ep.body(), ['deep'], `${'['.repeat(10_000)}${']'.repeat(10_000)}`)),
  },
  {
    title: 'JSON nested 160000 objects deep, just under 1 MiB, is refused with 400',
    status: 400,
    message: /Request body is nested deeper than 64 levels/,
    send: (ep) => sendJson(ep, jsonWithRaw(ep.body(), ['deep'], `${'{"a":'.repeat(160_000)}1${'}'.repeat(160_000)}`)),
  },
  {
    title: 'YAML nested 10000 flow sequences deep is refused with 400',
    status: 400,
    message: /nest/,
    send: (ep) => sendYaml(ep, `${yaml.dump(ep.body())}deep: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`),
  },
  {
    title: 'a JSON body over 1 MiB with a Content-Length is refused with 413',
    status: 413,
    message: TOO_LARGE,
    send: (ep) => sendJson(ep, JSON.stringify({ ...ep.body(), padding: SECRET.repeat(Math.ceil((MIB + 1) / SECRET.length)) })),
  },
  {
    title: 'a YAML body over 1 MiB with a Content-Length is refused with 413',
    status: 413,
    message: TOO_LARGE,
    send: (ep) => sendYaml(ep, `${yaml.dump(ep.body())}padding: ${'x'.repeat(MIB)}\n`),
  },
  {
    title: 'a chunked JSON body over 1 MiB (no Content-Length) is refused with 413',
    status: 413,
    message: TOO_LARGE,
    send: (ep) =>
      rawRequest(ep.method, ep.path, { headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, chunks: chunkedBody(ep.body(), 2 * MIB) }),
  },
  {
    title: 'a JSON body sent as text/plain is refused with 415',
    status: 415,
    message: /Unsupported content type 'text\/plain'/,
    send: (ep) => sendText(ep, JSON.stringify(ep.body()), 'text/plain'),
  },
  {
    title: 'a form-encoded body is refused with 415',
    status: 415,
    message: /Unsupported content type 'application\/x-www-form-urlencoded'/,
    send: (ep) => sendText(ep, `name=${TARGET}&password=${SECRET}`, 'application/x-www-form-urlencoded'),
  },
  {
    title: 'an XML body is refused with 415',
    status: 415,
    message: /Unsupported content type 'application\/xml'/,
    send: (ep) => sendText(ep, `<object name="${TARGET}"/>`, 'application/xml'),
  },
  {
    title: 'a body without a content type is refused with 415',
    status: 415,
    message: /Unsupported content type \(none\)/,
    send: (ep) => rawRequest(ep.method, ep.path, { chunks: [Buffer.from(JSON.stringify(ep.body()))] }),
  },
  {
    title: 'an empty JSON body is refused with 400',
    status: 400,
    message: REQUIRED,
    send: (ep) => sendJson(ep, ''),
  },
  {
    title: 'a request with no body and no content type is refused with 400',
    status: 400,
    message: REQUIRED,
    send: (ep) => rawRequest(ep.method, ep.path, { chunks: [] }),
  },
  { title: 'a JSON array body is refused with 400', status: 400, message: NOT_OBJECT, send: (ep) => sendJson(ep, JSON.stringify([ep.body()])) },
  { title: 'a JSON string body is refused with 400', status: 400, message: NOT_OBJECT, send: (ep) => sendJson(ep, '"hostile"') },
  { title: 'a JSON number body is refused with 400', status: 400, message: NOT_OBJECT, send: (ep) => sendJson(ep, '42') },
  { title: 'a JSON null body is refused with 400', status: 400, message: NOT_OBJECT, send: (ep) => sendJson(ep, 'null') },
  { title: 'a YAML scalar body is refused with 400', status: 400, message: NOT_OBJECT, send: (ep) => sendYaml(ep, 'just some text\n') },
  { title: 'a YAML list body is refused with 400', status: 400, message: NOT_OBJECT, send: (ep) => sendYaml(ep, yaml.dump([ep.body()])) },
  {
    title: 'a wrong kind is refused with 400 naming kind',
    status: 400,
    message: /kind must be '/,
    applies: (ep) => ep.envelope,
    send: (ep) => sendJson(ep, JSON.stringify({ ...ep.body(), kind: 'FlinkDeployment' })),
  },
  {
    title: 'a kind of another type is refused with 400 naming kind',
    status: 400,
    message: /kind must be string/,
    applies: (ep) => ep.envelope,
    send: (ep) => sendJson(ep, JSON.stringify({ ...ep.body(), kind: ['Secret'] })),
  },
  {
    title: 'a wrong apiVersion is refused with 400 naming apiVersion',
    status: 400,
    message: /apiVersion must be 'cmf\.confluent\.io\/v1'/,
    applies: (ep) => ep.envelope,
    send: (ep) => sendJson(ep, JSON.stringify({ ...ep.body(), apiVersion: 'cmf.confluent.io/v2' })),
  },
  ...(
    [
      ['a name too short ("abc")', 'abc'],
      ['a name of 254 characters', 'a'.repeat(254)],
      ['an upper-case name', 'Hostile-Target'],
      ['a name with an underscore', 'hostile_target'],
      ['a name with a leading dash', '-hostile-target'],
      ['a name with a trailing dash', 'hostile-target-'],
      ['a name with a slash', 'hostile/../target'],
      ['an empty name', ''],
      ['a numeric name', 12345],
      ['a missing name', REMOVE],
    ] as [string, unknown][]
  ).map(
    ([what, name]): Hostile => ({
      title: `${what} is refused with 400 naming the field`,
      status: 400,
      message: nameMessage,
      send: (ep) => sendJson(ep, JSON.stringify(withField(ep.body(), ep.nameAt, name))),
    }),
  ),
  {
    title: 'a top-level "__proto__" key is refused with 400',
    status: 400,
    message: PROTO,
    send: (ep) => sendJson(ep, JSON.stringify(ep.body()).replace(/^\{/, '{"__proto__":{"polluted":"yes"},')),
  },
  {
    title: 'a nested "__proto__" key is refused with 400',
    status: 400,
    message: PROTO,
    send: (ep) => sendJson(ep, jsonWithRaw(ep.body(), ep.objectAt, '{"__proto__":{"polluted":"yes"}}')),
  },
  {
    title: 'a YAML "__proto__" key is refused with 400',
    status: 400,
    message: PROTO,
    send: (ep) => sendYaml(ep, `${yaml.dump(ep.body())}__proto__:\n  polluted: "yes"\n`),
  },
];

interface Case {
  title: string;
  ep: Endpoint;
  status: number;
  message: RegExp;
  send: () => Promise<TestResponse>;
}

/**
 * Whether hostile body `i` is sent to `ep`: to every endpoint it applies to in the local posture;
 * with authentication on, to one of them, the endpoints taken in turn. What differs there is the
 * way in (TLS, the bearer token, authorization reading the body), not what parsing makes of a body.
 */
function sends(h: Hostile, i: number, ep: Endpoint): boolean {
  const eligible = endpoints.filter((e) => h.applies?.(e) ?? true);
  return posture() === 'local' ? eligible.includes(ep) : eligible[i % eligible.length] === ep;
}

const bodyTable: Case[] = endpoints.flatMap((ep) => [
  ...bodyCases
    .filter((h, i) => sends(h, i, ep))
    .map((h) => ({
      title: `${ep.label}: ${h.title} and stores nothing`,
      ep,
      status: h.status,
      message: typeof h.message === 'function' ? h.message(ep) : h.message,
      send: () => h.send(ep),
    })),
  ...ep.wrongTypes.map((w) => ({
    title: `${ep.label}: ${w.what} is refused with 400 naming the field and stores nothing`,
    ep,
    status: 400,
    message: w.message,
    send: () => sendJson(ep, JSON.stringify(withField(ep.body(), w.at, w.value))),
  })),
  ...ep.specials.map((s) => ({
    title: `${ep.label}: ${s.title} and stores nothing`,
    ep,
    status: s.status,
    message: s.message,
    send: () => api.request(ep.method, s.path, s.body()),
  })),
]);

/** The checks every refused request must pass. */
async function expectRefused(c: { status: number; message: RegExp; views: string[]; send: () => Promise<TestResponse> }) {
  const viewsBefore = await Promise.all(c.views.map((v) => api.get(v)));
  const before = await snapshot(api.prisma);

  const res = await c.send();

  const messages: unknown = Array.isArray(res.body?.errors) ? res.body.errors.map((e: { message?: unknown }) => e.message) : res.text.slice(0, 1000);
  expect({ status: res.status, messages }).toEqual({ status: c.status, messages: expect.arrayContaining([expect.stringMatching(c.message)]) });
  expect(res.body).toEqual({ errors: expect.any(Array) });
  for (const error of res.body.errors) expect(error).toEqual({ message: expect.any(String) });

  expect(secretFragments(res.text)).toEqual([]);
  expect(secretFragments(api.logs.join(''))).toEqual([]);

  expect(changedTables(before, await snapshot(api.prisma))).toEqual([]);
  const viewsAfter = await Promise.all(c.views.map((v) => api.get(v)));
  expect(viewsAfter.map((r) => [r.status, r.body])).toEqual(viewsBefore.map((r) => [r.status, r.body]));
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

describe('hostile input to write endpoints with a body', () => {
  it.each(bodyTable)('$title', async ({ ep, status, message, send }) => {
    await expectRefused({ status, message, views: ep.views, send });

    const follow = await api.request(ep.followUp.method, ep.followUp.path, ep.followUp.body());
    expect({ status: follow.status, text: follow.text.slice(0, 500) }).toEqual({ status: ep.followUp.status, text: expect.any(String) });
    expect(secretFragments(follow.text)).toEqual([]);
  });
});

describe('oversized uploads on a keep-alive connection', () => {
  it.each(endpoints.map((ep) => ({ ep, title: `${ep.label}: after refusing a chunked body over 1 MiB with 413, the same keep-alive connection answers the next request` })))(
    '$title',
    async ({ ep }) => {
      const agent = api.agent({ keepAlive: true, maxSockets: 1 });
      try {
        const refused = await rawRequest(ep.method, ep.path, {
          agent,
          headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
          chunks: chunkedBody(ep.body(), 2 * MIB),
        });
        expect(refused.status).toBe(413);
        // The agent reuses the connection unless the 413 said `Connection: close`; either way the
        // next request must be answered, not left waiting until the server times the socket out.
        const next = await rawRequest('GET', E, { agent, chunks: [], timeoutMs: 2_000 }).catch((err: Error) => ({ status: 0, text: err.message }));
        expect({ status: next.status, failure: next.status === 0 ? next.text : undefined }).toEqual({ status: 200, failure: undefined });
      } finally {
        agent.destroy();
      }
    },
  );
});

describe('hostile calls to start and suspend', () => {
  const actions: { label: string; action: 'start' | 'suspend'; followApp: string }[] = [
    { label: 'POST /applications/{name}/start', action: 'start', followApp: 'app-one' },
    { label: 'POST /applications/{name}/suspend', action: 'suspend', followApp: 'app-parked' },
  ];
  const cases = actions.flatMap(({ label, action, followApp }) =>
    [
      { what: 'an application in a missing environment is refused with 404', path: `${MISSING_ENV}/applications/app-one/${action}`, status: 404, message: /Environment 'env-missing' not found/ },
      { what: 'a missing application is refused with 404', path: `${E}/applications/app-missing/${action}`, status: 404, message: /Application 'app-missing' not found/ },
      {
        what: 'an application name of 4000 characters is refused with 404',
        path: `${E}/applications/${'a'.repeat(4000)}/${action}`,
        status: 404,
        message: /Application 'a+' not found/,
      },
      {
        what: 'an application name with encoded path characters is refused with 404',
        path: `${E}/applications/${encodeURIComponent('../app-one')}/${action}`,
        status: 404,
        message: /Application '\.\.\/app-one' not found/,
      },
      {
        what: 'an application without spec.job is refused with 422',
        path: `${E}/applications/app-nojob/${action}`,
        status: 422,
        message: /has no spec\.job/,
      },
    ].map((c) => ({ ...c, title: `${label}: ${c.what} and stores nothing`, action, followApp })),
  );

  it.each(cases)('$title', async ({ path, status, message, action, followApp }) => {
    await expectRefused({
      status,
      message,
      views: [`${E}/applications/app-one`, `${E}/applications/app-parked`, `${E}/applications/app-one/instances`],
      send: () => api.post(path),
    });
    const follow = await api.post(`${E}/applications/${followApp}/${action}`);
    expect(follow.status).toBe(200);
  });
});

/** The one answer a request without a valid credential gets, whatever else it carries. */
const REFUSED: Record<NoCredential, { message: string; challenge: string }> = {
  none: { message: 'Authentication is required', challenge: 'Bearer realm="drey"' },
  forged: { message: 'The credentials presented are not valid', challenge: 'Bearer realm="drey", error="invalid_token"' },
};

if (posture() === 'authenticated') {
  describe('hostile input without a valid credential', () => {
    const requests = bodyTable.map((c, i) => ({
      title: c.title.replace(/ is refused with .*$/, ''),
      send: c.send,
      credential: (i % 2 === 0 ? 'none' : 'forged') as NoCredential,
    }));

    it.each(requests)('$title, with credential $credential, is refused with 401 before its body is read and stores nothing', async ({ send, credential }) => {
      const before = await snapshot(api.prisma);
      const res = await api.unauthenticated(credential, send);
      expect({ status: res.status, body: res.body, challenge: res.headers.get('www-authenticate') }).toEqual({
        status: 401,
        body: { errors: [{ message: REFUSED[credential].message }] },
        challenge: REFUSED[credential].challenge,
      });
      expect(secretFragments(res.text)).toEqual([]);
      expect(changedTables(before, await snapshot(api.prisma))).toEqual([]);
    });

    it('recorded each refusal in the audit trail, and no secret value or token reached a row or the log', async () => {
      expect((await api.get('/drey/api/v1/audit-events?limit=1')).status).toBe(200); // stores what is queued
      const rows = await api.prisma.auditEvent.findMany();
      expect(rows.filter((r) => r.outcome === 'unauthenticated')).toHaveLength(requests.length);
      const everything = `${JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}${api.logs.join('')}`;
      expect(secretFragments(everything)).toEqual([]);
      // not toContain: a failure would print the token
      expect(api.credentials.filter((token) => everything.includes(token))).toHaveLength(0);
    });
  });
}

describe('after the hostile requests', () => {
  it('left Object.prototype unpolluted and every secret value out of the log', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    expect(secretFragments(api.logs.join(''))).toEqual([]);
  });

  it('still stores exactly the secret data that valid requests wrote', async () => {
    expect(await storedSecretData(api.prisma, api.keyring, 'kafka-creds')).toEqual({ password: SECRET });
    expect(await api.prisma.secret.count({ where: { name: TARGET } })).toBe(0);
  });
});
