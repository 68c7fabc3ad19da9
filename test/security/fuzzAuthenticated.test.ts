/**
 * The property-based hostile requests (test/api/fuzz.test.ts) with authentication on: one drey over
 * TLS with every authenticator, first the suite itself with the super user's bearer token on every
 * request (and on the requests pipelined with it), then the same kinds of request with no
 * credential or a forged token. Those must get a 401, or the refusal drey's HTTP server gives a
 * request it cannot parse, never anything else; nothing is written, no secret or token comes back
 * or reaches the log, and drey keeps serving.
 */
import fc from 'fast-check';
import { bodyCases, excerpt, headerCases, pathCases, queryCases, seededParams, type Case } from '../support/arbitraries.js';
import { changedTables, E, ENVS, secretFragments, snapshot, startBareNode, type WireResponse } from '../support/hostile.js';
import { choosePosture, hostileTarget, type HostileTarget, type NoCredential } from '../support/hostileTarget.js';

choosePosture('authenticated');
await import('../api/fuzz.test.js');

const SEED = Number(process.env.DREY_FUZZ_SEED ?? 20261201);
const RUNS = Number(process.env.DREY_FUZZ_RUNS ?? 60);
const ANSWER_MS = 10_000;
const PROPERTY_MS = 300_000;

/** The 401s: without a credential, and with one drey does not accept (a forged token, or a hostile Authorization header). */
const UNAUTHENTICATED = ['Authentication is required', 'The credentials presented are not valid'];

/** What drey's HTTP server answers, before any authentication, to a request it cannot serve at all (src/api/server.ts). */
const FRAMING_REFUSALS: { status: number; message: RegExp }[] = [
  { status: 400, message: /^Malformed HTTP request/ },
  { status: 400, message: /^An HTTP\/1\.1 request needs a Host header$/ },
  { status: 408, message: /^The request was not received in time$/ },
  { status: 413, message: /^The request chunk extensions are too large$/ },
  { status: 417, message: /^The only expectation drey meets is Expect: 100-continue$/ },
  { status: 431, message: /^The request headers are too large$/ },
  { status: 501, message: /^The request method is not supported$|^Method CONNECT is not supported$/ },
];

let api: HostileTarget;
let params: Record<string, string>;
let bare: Awaited<ReturnType<typeof startBareNode>>;

beforeAll(async () => {
  // the target fuzz.test.ts started and seeded
  api = await hostileTarget();
  const instances = await api.get(`${E}/applications/app-one/instances`);
  params = seededParams(String(instances.body.items[0].metadata.name));
  bare = await startBareNode();
});
afterAll(async () => bare?.close());

/** Why `r` is not an answer a request without a valid credential may get, or undefined when it is one. */
function wrongAnswer(r: WireResponse, method: string): string | undefined {
  let message: unknown;
  try {
    message = r.body === '' ? undefined : (JSON.parse(r.body) as { errors?: { message?: unknown }[] }).errors?.[0]?.message;
  } catch {
    return `${r.status} with a body that is not JSON`;
  }
  if (r.status === 401) {
    if (!/^Bearer realm="drey"/.test(r.headers['www-authenticate'] ?? '')) return '401 without WWW-Authenticate: Bearer realm="drey"';
    return (method === 'HEAD' && message === undefined) || UNAUTHENTICATED.includes(message as string) ? undefined : `401 saying ${excerpt(message)}`;
  }
  const known = FRAMING_REFUSALS.some((f) => f.status === r.status && typeof message === 'string' && f.message.test(message));
  return known ? undefined : `${r.status} ${excerpt(r.body, 200)}`;
}

/** Sends `c` with `credential` and checks the answer, the database, the log and that drey still serves. */
async function expectRefused(c: Case, credential: NoCredential): Promise<void> {
  const before = await snapshot(api.prisma);
  const logsFrom = api.logs.length;
  const answer = await api.unauthenticated(credential, () => api.exchange(c.req, ANSWER_MS));
  const problems: string[] = [];
  for (const r of answer.responses) {
    const wrong = wrongAnswer(r, c.req.method);
    if (wrong) problems.push(`answered ${wrong}`);
  }
  // a request Node's parser waits on for good, or one the client hung up on, may go unanswered
  if (answer.responses.length === 0 && !c.req.hangUp && (await bare.handles({ ...c.req, after: undefined }))) problems.push(`no answer: ${answer.failure}`);
  const health = await api.exchange({ method: 'GET', target: ENVS, headers: [] }, ANSWER_MS);
  if (health.responses[0]?.status !== 200) problems.push(`drey stopped serving: a GET ${ENVS} as the super user then got ${health.responses[0]?.status ?? health.failure}`);
  const changed = changedTables(before, await snapshot(api.prisma));
  if (changed.length > 0) problems.push(`wrote without a credential: ${changed.join('; ')}`);
  const sent = answer.responses.map((r) => `${JSON.stringify(r.headers)}${r.body}`).join('');
  const logged = api.logs.slice(logsFrom).join('');
  const leaked = [...secretFragments(sent + logged), ...api.credentials.filter((token) => sent.includes(token) || logged.includes(token)).map(() => 'a token')];
  if (leaked.length > 0) problems.push(`the answer or the log carries ${leaked.join(', ')}`);
  if (problems.length > 0) {
    const { req } = c;
    throw new Error(
      [
        ...problems,
        `request (${credential === 'none' ? 'no credential' : 'a forged token'}): ${c.what}`,
        `  ${excerpt(req.method, 40)} ${excerpt(req.target, 200)} ${req.version ?? 'HTTP/1.1'}, headers ${excerpt(req.headers, 400)}`,
        `answer: ${answer.responses.map((r) => `${r.status} ${excerpt(r.body, 200)}`).join(' then ') || answer.failure}`,
      ].join('\n'),
    );
  }
}

const GROUPS: [string, (params: Record<string, string>) => fc.Arbitrary<Case>][] = [
  ['mutated, malformed and mislabelled bodies', bodyCases],
  ['hostile path parameters and distorted paths', pathCases],
  ['junk, repeated and prototype-named query parameters', queryCases],
  ['hostile headers, broken framing, unknown methods and HTTP versions', headerCases],
];

describe(`the same hostile requests without a valid credential (fast-check seed ${SEED}, ${RUNS} runs each)`, () => {
  it.each(GROUPS)(
    '%s get a 401 or the HTTP server’s own refusal, write nothing, leak nothing, and drey keeps serving',
    (_what, cases) =>
      fc.assert(
        fc.asyncProperty(fc.limitShrink(cases(params), 20), fc.constantFrom<NoCredential>('none', 'forged'), (c, credential) => expectRefused(c, credential)),
        { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
      ),
    PROPERTY_MS,
  );
});
