/**
 * Requests whose HTTP framing is broken, and methods drey does not serve, sent byte for byte: each
 * gets a RestError (or, when the client never finishes its request, nothing) and changes nothing,
 * including on the endpoints that take no body (start, suspend and every DELETE).
 */
import { rawExchange } from '../support/clients.js';
import { startApi, type TestApi } from '../support/api.js';
import { eventually } from '../support/drey.js';
import { logEntries } from '../support/logLines.js';
import { computePool, environment } from '../support/fixtures.js';
import { CATALOGS, changedTables, E, ENVS, parseResponses, SECRETS, seedHostileWorld, snapshot } from '../support/hostile.js';

const RUNNING = `${E}/applications/app-one`;
const SUSPENDED = `${E}/applications/app-parked`;

let api: TestApi;

beforeAll(async () => {
  api = await startApi();
  await seedHostileWorld(api);
  // an empty environment and an unused pool: deleting them would succeed, if it were acted on
  expect((await api.post(ENVS, environment('env-spare', 'flink-spare'))).status).toBe(201);
  expect((await api.post(`${E}/compute-pools`, computePool('pool-spare'))).status).toBe(200);
});
afterAll(async () => api.close());

/** Status and JSON body of each response in what the server sent. */
function responses(raw: Buffer): { status: number; body: unknown }[] {
  return parseResponses(raw, 'GET').responses.map((r) => ({ status: r.status, body: r.body ? JSON.parse(r.body) : undefined }));
}

/** The head of a request, ending in the blank line. */
function head(method: string, path: string, headers: Record<string, string | number>): string {
  const lines = Object.entries({ host: 'drey', ...headers }).map(([k, v]) => `${k}: ${v}`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

const JSON_BODY = '{"reason":"because"}';
const json = { 'content-type': 'application/json' };

/** Ways to break a request's framing; `answered` says whether drey can answer at all. */
const FRAMINGS: { what: string; bytes: (method: string, path: string) => string; answered: boolean }[] = [
  {
    what: 'a Content-Length smaller than the body',
    bytes: (m, p) => head(m, p, { ...json, 'content-length': 8 }) + JSON_BODY,
    answered: true,
  },
  {
    what: 'a Content-Length larger than the body (the client gives up waiting)',
    bytes: (m, p) => head(m, p, { ...json, 'content-length': 500 }) + JSON_BODY,
    answered: false,
  },
  {
    what: 'a chunk size with a space in it',
    bytes: (m, p) => head(m, p, { ...json, 'transfer-encoding': 'chunked' }) + `1 4\r\n${JSON_BODY}\r\n0\r\n\r\n`,
    answered: true,
  },
  {
    what: 'a chunk size that is not hex',
    bytes: (m, p) => head(m, p, { ...json, 'transfer-encoding': 'chunked' }) + `zz\r\n${JSON_BODY}\r\n0\r\n\r\n`,
    answered: true,
  },
  {
    what: 'a chunked body without its last chunk (the client gives up waiting)',
    bytes: (m, p) => head(m, p, { ...json, 'transfer-encoding': 'chunked' }) + `${JSON_BODY.length.toString(16)}\r\n${JSON_BODY}\r\n`,
    answered: false,
  },
];

/** Each would change an application if it were acted on. */
const ACTIONS = [
  { what: 'start', method: 'POST', path: `${SUSPENDED}/start` },
  { what: 'suspend', method: 'POST', path: `${RUNNING}/suspend` },
  { what: 'delete the application', method: 'DELETE', path: RUNNING },
];

const OTHER_DELETES = [
  { what: 'an environment', path: `${ENVS}/env-spare` },
  { what: 'the secret mapping', path: `${E}/secret-mappings/kafka-conn` },
  { what: 'the statement', path: `${E}/statements/stmt-one` },
  { what: 'the compute pool', path: `${E}/compute-pools/pool-spare` },
  { what: 'the secret', path: `${SECRETS}/other-creds` },
  { what: 'the Kafka catalog', path: `${CATALOGS}/kafka-cat` },
];

/**
 * Sends the bytes and checks that nothing changed: drey answered only RestErrors, or (when the
 * client gave up) logged that the body was cut short, which is the moment it could have acted.
 */
async function expectRefusedAndUntouched(bytes: string, answered: boolean): Promise<void> {
  const before = await snapshot(api.prisma);
  const cutShort = api.logs.filter((l) => l.includes('request body cut short')).length;
  // a request drey cannot complete is left by its client after a while; an answered one is closed by drey
  const raw = await rawExchange(api.url, bytes, answered ? {} : { giveUpAfterMs: 300 });
  const answers = responses(raw);
  if (answered) {
    expect(answers.length).toBeGreaterThan(0);
    for (const a of answers) expect({ status: a.status, body: a.body }).toEqual({ status: 400, body: { errors: [{ message: expect.any(String) }] } });
  } else {
    expect(answers).toEqual([]);
    await eventually('drey to see the body cut short', async () => (api.logs.filter((l) => l.includes('request body cut short')).length > cutShort ? true : undefined));
  }
  expect(changedTables(before, await snapshot(api.prisma))).toEqual([]);
  expect((await api.get(ENVS)).status).toBe(200);
}

describe('broken framing on the endpoints that take no body', () => {
  const cases = ACTIONS.flatMap((a) => FRAMINGS.map((f) => ({ ...f, action: a, title: `${a.what} with ${f.what} leaves the application untouched` })));
  it.each(cases)('$title', async ({ action, bytes, answered }) => {
    await expectRefusedAndUntouched(bytes(action.method, action.path), answered);
  });

  const deletes = OTHER_DELETES.flatMap((d) => FRAMINGS.map((f) => ({ ...f, d, title: `DELETE of ${d.what} with ${f.what} deletes nothing` })));
  it.each(deletes)('$title', async ({ d, bytes, answered }) => {
    await expectRefusedAndUntouched(bytes('DELETE', d.path), answered);
  });
});

describe('bodies sent to the endpoints that take none', () => {
  it.each([
    ['malformed JSON', { 'content-type': 'application/json' }, '{"reason":', 400, /Malformed JSON/],
    ['malformed YAML', { 'content-type': 'application/yaml' }, 'a: [b', 400, /Malformed YAML/],
    ['text/plain', { 'content-type': 'text/plain' }, 'please', 415, /Unsupported content type 'text\/plain'/],
    ['no content type', {}, 'please', 415, /Unsupported content type \(none\)/],
  ])('start with %s is refused and changes nothing', async (_what, headers, body, status, message) => {
    const before = await snapshot(api.prisma);
    const res = await api.request('POST', `${SUSPENDED}/start`, body, { headers });
    expect({ status: res.status, message: res.body.errors[0].message }).toEqual({ status, message: expect.stringMatching(message) });
    expect(changedTables(before, await snapshot(api.prisma))).toEqual([]);
  });

  it('a well-formed body on start is read and ignored (an empty object, as some clients send)', async () => {
    const res = await api.request('POST', `${SUSPENDED}/start`, '{}', { headers: json });
    expect(res.status).toBe(200);
    expect(res.body.spec.job.state).toBe('running');
    expect((await api.request('POST', `${SUSPENDED}/suspend`, '', { headers: json })).status).toBe(200);
  });
});

describe('methods drey does not serve, and requests Node would refuse by itself', () => {
  it('a method Node’s parser does not know answers 501 with a RestError', async () => {
    const answers = responses(await rawExchange(api.url, head('FROB', ENVS, {})));
    expect(answers).toEqual([{ status: 501, body: { errors: [{ message: 'The request method is not supported' }] } }]);
  });

  it('a known method a path does not serve answers 405 with Allow, an unknown path 404', async () => {
    const raw = await rawExchange(api.url, head('PROPFIND', ENVS, { connection: 'close' }));
    expect(responses(raw)).toEqual([{ status: 405, body: { errors: [{ message: 'Method PROPFIND is not supported on [/cmf/api/v1/environments]' }] } }]);
    expect(raw.toString('latin1')).toMatch(/\r\nAllow: GET, POST\r\n/i);
    const unknown = responses(await rawExchange(api.url, head('PROPFIND', '/nowhere', { connection: 'close' })));
    expect(unknown).toEqual([{ status: 404, body: { errors: [{ message: 'Resource not found: [nowhere]' }] } }]);
  });

  it('CONNECT answers 501 with a RestError', async () => {
    const answers = responses(await rawExchange(api.url, 'CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n'));
    expect(answers).toEqual([{ status: 501, body: { errors: [{ message: 'Method CONNECT is not supported' }] } }]);
  });

  it('a request line that is not HTTP answers 400 with a RestError', async () => {
    const answers = responses(await rawExchange(api.url, 'hello there\r\n\r\n'));
    expect(answers).toEqual([{ status: 400, body: { errors: [{ message: expect.stringMatching(/^Malformed HTTP request/) }] } }]);
  });

  it('an HTTP/1.1 request without Host answers 400 with a RestError saying so', async () => {
    const answers = responses(await rawExchange(api.url, `GET ${ENVS} HTTP/1.1\r\n\r\n`));
    expect(answers).toEqual([{ status: 400, body: { errors: [{ message: 'An HTTP/1.1 request needs a Host header' }] } }]);
  });

  it('an expectation other than 100-continue answers 417 with a RestError, and nothing is created', async () => {
    const before = await snapshot(api.prisma);
    const body = JSON.stringify(environment('env-expect', 'flink-expect'));
    const answers = responses(await rawExchange(api.url, head('POST', ENVS, { ...json, expect: 'x-junk', 'content-length': body.length }) + body));
    expect(answers).toEqual([{ status: 417, body: { errors: [{ message: 'The only expectation drey meets is Expect: 100-continue' }] } }]);
    expect(changedTables(before, await snapshot(api.prisma))).toEqual([]);
  });

  it('oversized headers answer 431 with a RestError', async () => {
    const answers = responses(await rawExchange(api.url, head('GET', ENVS, { 'x-big': 'y'.repeat(20_000) })));
    expect(answers).toEqual([{ status: 431, body: { errors: [{ message: 'The request headers are too large' }] } }]);
  });
});

describe('the log after all of the above', () => {
  it('holds no ERROR line: a request the client broke is the client’s business', () => {
    expect(logEntries(api.logs).filter((e) => e.level === 'error')).toEqual([]);
    expect(logEntries(api.logs).some((e) => e.level === 'debug' && e.msg === 'request body cut short by the client')).toBe(true);
  });
});
