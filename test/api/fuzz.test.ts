/**
 * Property-based hostile requests (fast-check) against every CMF operation: mutated bodies,
 * hostile path parameters, junk query strings, hostile headers, broken framing and unknown
 * methods, sent byte for byte. For every request:
 *   1. drey answers, and not with a 5xx (Node's own refusals, and requests the client hung up on
 *      mid-message, are reported apart);
 *   2. a refused request (4xx, or none) wrote nothing; a write it accepted can be read back;
 *   3. no fragment of a secret comes back or reaches the log;
 *   4. drey still answers a plain GET, and a GET pipelined after the request gets its own answer.
 *
 * The seed and the number of runs are fixed so CI is repeatable; for a deeper local run:
 *   DREY_FUZZ_RUNS=2000 DREY_FUZZ_SEED=7 node --experimental-vm-modules node_modules/jest/bin/jest.js test/api/fuzz.test.ts
 * DREY_FUZZ_KEEP_GOING=1 checks every generated request and lists every failure instead of
 * stopping (and shrinking) at the first.
 *
 * test/security/fuzzAuthenticated.test.ts runs this suite again against a drey with authentication
 * on (see test/support/hostileTarget.ts).
 */
import { setTimeout as delay } from 'node:timers/promises';
import fc from 'fast-check';
import yaml from 'js-yaml';
import { hostileTarget, posture, type HostileTarget } from '../support/hostileTarget.js';
import { bodyCases, excerpt, headerCases, operation, pathCases, queryCases, readBackPaths, seededParams, thenFollowUp, type Case } from '../support/arbitraries.js';
import { loadContract } from '../support/contract.js';
import {
  changedTables,
  E,
  ENVS,
  restoreBaseline,
  saveBaseline,
  secretFragments,
  seedHostileWorld,
  snapshot,
  startBareNode,
  type WireAnswer,
  type WireResponse,
} from '../support/hostile.js';

const SEED = Number(process.env.DREY_FUZZ_SEED ?? 20261201);
// with authentication on, fewer: the way in differs there, not what the operations do with the rest
const RUNS = Number(process.env.DREY_FUZZ_RUNS ?? (posture() === 'local' ? 150 : 60));
const KEEP_GOING = process.env.DREY_FUZZ_KEEP_GOING === '1';
/**
 * How long a request may go unanswered. Answers end the wait as soon as they are in, so this only
 * bounds the wait for a request drey rightly leaves unanswered (or a real hang).
 */
const ANSWER_MS = 10_000;
/**
 * A pause before looking at the database when Node answered by itself (or nobody did), in case a
 * handler still runs: a late write is then blamed on this request rather than the next one. It
 * cannot make a correct drey fail, only a wrong one fail sooner.
 */
const SETTLE_MS = 100;
/** Most shrinking steps after a failure: each is a request, and an unanswered one costs ANSWER_MS. */
const MAX_SHRINKS = 40;

let api: HostileTarget;
let params: Record<string, string>;
let baseline: Record<string, string>;
let bare: Awaited<ReturnType<typeof startBareNode>>;
/** What the run saw that is not a failure, by heading: reported at the end. */
const NOTES = {
  node: "Refused by Node before any route ran (not failures; the answer, if any, is Node's or drey's clientError handler's):",
  hungUp: 'Left unanswered after the client hung up mid-message (allowed: RFC 9112 section 8 says the server MAY answer):',
  contract: 'Answers that do not fit the CMF contract (not failures here):',
} as const;
const notes = new Map<string, Map<string, number>>(Object.values(NOTES).map((title) => [title, new Map()]));
function note(title: string, what: string): void {
  const counts = notes.get(title)!;
  counts.set(what, (counts.get(what) ?? 0) + 1);
}

beforeAll(async () => {
  api = await hostileTarget();
  await seedHostileWorld(api);
  const instances = await api.get(`${E}/applications/app-one/instances`);
  params = seededParams(String(instances.body.items[0].metadata.name));
  await saveBaseline(api.prisma);
  baseline = await snapshot(api.prisma);
  bare = await startBareNode();
});

afterAll(async () => {
  const report = [...notes].flatMap(([title, counts]) =>
    counts.size === 0 ? [] : [title, ...[...counts].slice(0, 40).map(([what, n]) => `  ${n} × ${what}`)],
  );
  if (report.length > 0) process.stderr.write(`\nfuzz.test.ts${POSTURE}, seed ${SEED}, ${RUNS} runs per property\n${report.join('\n')}\n`);
  await bare?.close();
  await api?.close();
});

const statuses = (answer: WireAnswer): string =>
  answer.responses.length === 0 ? `no answer (${answer.failure})` : answer.responses.map((r) => r.status).join(' then ');

function bodyOf(r: WireResponse): unknown {
  const type = r.headers['content-type'] ?? '';
  if (r.body === '') return undefined;
  if (type.includes('json')) return JSON.parse(r.body);
  if (type.includes('yaml')) return yaml.load(r.body);
  return r.body;
}

/** Notes (without failing) an answer from drey to the case itself that breaks the contract. */
function noteContract(c: Case, r: WireResponse | undefined): void {
  const contract = loadContract();
  // the web UI proxy is not in the contract; HEAD is not either
  if (!contract || !r || r.headers.date === undefined || c.req.method === 'HEAD' || c.route.unavailable) return;
  const path = c.req.target.replace(/^https?:\/\/[^/]+/, '').split(/[?#]/)[0]!.replace(/(.)\/$/, '$1');
  let problems: string[];
  try {
    problems = contract.check(c.req.method, path, r.status, r.headers['content-type'], bodyOf(r));
  } catch (err) {
    problems = [`${r.status} body does not parse: ${(err as Error).message}`];
  }
  for (const p of problems) {
    const problem = p.startsWith('no operation') ? `${r.status} for a path the contract does not have (${c.what.slice(0, 60)})` : p.replace(/^.*?(answered|must|body)/, '$1');
    note(NOTES.contract, `${operation(c.route)}: ${problem.slice(0, 160)}`);
  }
}

/** The answers to reading back what a write stored, as JSON and as YAML, that are not below 500. */
async function unreadable(c: Case): Promise<string[]> {
  const failures: string[] = [];
  for (const target of readBackPaths(c.route, params)) {
    for (const accept of ['application/json', 'application/yaml']) {
      const answer = await api.exchange({ method: 'GET', target, headers: [['Accept', accept]] }, ANSWER_MS);
      const status = answer.responses[0]?.status ?? 0;
      if (status === 0 || status >= 500) failures.push(`GET ${target} (${accept}) → ${statuses(answer)}`);
    }
  }
  return failures;
}

/** The request and the answer, for a failure message. */
function explain(c: Case, answer: WireAnswer): string {
  const { req } = c;
  const body = req.body ? `${req.body.length} bytes: ${excerpt(req.body, 200)}` : 'none';
  return [
    `request: ${c.what}`,
    `  ${excerpt(req.method, 40)} ${excerpt(req.target, 200)} ${req.version ?? 'HTTP/1.1'}${req.noHost ? ' (no Host)' : ''}${req.hangUp ? ' (client hangs up after sending)' : ''}`,
    `  headers: ${excerpt(req.headers, 400)}`,
    `  body: ${body}`,
    `answer: ${statuses(answer)}${answer.interim.length ? ` after ${answer.interim.join(', ')}` : ''}`,
    ...answer.responses.map((r) => `  ${r.status} ${excerpt(r.headers['content-type'] ?? '(no content type)')} ${excerpt(r.body, 300)}`),
  ].join('\n');
}

/** Sends one generated request and checks the four properties; throws naming the request and the answer. */
async function expectHandled(c: Case): Promise<void> {
  const logsFrom = api.logs.length;
  const answer = await api.exchange(c.req, ANSWER_MS);
  const problems: string[] = [];
  // the answer to the pipelined GET before the case, if any, comes first
  const own = answer.responses.slice(c.req.before ? 1 : 0);
  const expected = c.req.before ? 2 : 1;

  // a handler may still be running when Node answered on its own (no Date header) or nobody did
  if (answer.responses.length < expected || answer.responses.some((r) => r.headers.date === undefined)) await delay(SETTLE_MS);

  const health = await api.exchange({ method: 'GET', target: ENVS, headers: [] }, ANSWER_MS);
  if (health.responses[0]?.status !== 200) problems.push(`drey stopped serving: a plain GET ${ENVS} then got ${statuses(health)}`);

  const unanswered = answer.responses.length < expected;
  if (unanswered && c.req.hangUp) {
    note(NOTES.hungUp, `${c.what.slice(0, 100)} → ${operation(c.route)}`);
  } else if (unanswered || answer.responses.some((r) => r.status >= 500 && !(r.status === 503 && c.route.unavailable))) {
    if (await bare.handles({ ...c.req, after: undefined })) problems.push(unanswered ? `no answer: ${answer.failure}` : `answered ${statuses(answer)}`);
    else note(NOTES.node, `${c.what.slice(0, 100)} → ${statuses(answer)}`);
  }

  if (c.req.after && own.length > 0) {
    // the GET that followed on the same connection gets its own answer, or an answer closed the connection first
    const closed = own.some((r) => /close/i.test(r.headers.connection ?? ''));
    const last = own[own.length - 1]!;
    const followed = own.length >= 2 && last.status === 200 && last.body.includes('"items"');
    if (!followed && !closed) {
      problems.push(`the GET sent next on the same connection got ${own.length >= 2 ? `${last.status} ${excerpt(last.body, 200)}` : 'no answer'}, and no answer said Connection: close`);
    }
  }

  const changed = changedTables(baseline, await snapshot(api.prisma));
  if (changed.length > 0) {
    const first = own[0]?.status ?? 0;
    if (first === 0 || first >= 400) problems.push(`refused (${first || 'no answer'}) but wrote: ${changed.join('; ')}`);
    else problems.push(...(await unreadable(c)).map((f) => `after the write it accepted, ${f}`));
    await restoreBaseline(api.prisma);
  }

  const leaked = answer.responses.flatMap((r) => secretFragments(`${JSON.stringify(r.headers)}${r.body}`));
  if (leaked.length > 0) problems.push(`the answer carries secret fragments ${leaked.join(', ')}`);
  const logged = secretFragments(api.logs.slice(logsFrom).join(''));
  if (logged.length > 0) problems.push(`the log carries secret fragments ${logged.join(', ')}`);

  noteContract(c, own[0]);
  if (problems.length > 0) throw new Error(`${problems.join('\n')}\n${explain(c, answer)}`);
}

/**
 * Checks `property` on RUNS generated requests from SEED; on failure fast-check prints the seed,
 * the path to replay, and the shrunk request. With DREY_FUZZ_KEEP_GOING=1, checks all of them and
 * lists every failure.
 */
async function checkAll(arbitrary: fc.Arbitrary<Case>): Promise<void> {
  if (!KEEP_GOING) {
    await fc.assert(fc.asyncProperty(fc.limitShrink(arbitrary, MAX_SHRINKS), expectHandled), { seed: SEED, numRuns: RUNS, includeErrorInReport: true });
    return;
  }
  const failures: string[] = [];
  for (const c of fc.sample(arbitrary, { seed: SEED, numRuns: RUNS })) {
    await expectHandled(c).catch((err: Error) => failures.push(err.message));
  }
  if (failures.length > 0) throw new Error(`${failures.length} of ${RUNS} requests failed:\n\n${failures.join('\n\n')}`);
}

const PROPERTY_MS = 300_000;

const POSTURE = posture() === 'local' ? '' : ' with authentication on, as a super user over TLS';

describe(`hostile requests to every CMF operation${POSTURE} (fast-check seed ${SEED}, ${RUNS} runs each)`, () => {
  it('mutated, malformed and mislabelled bodies get a 4xx or a 2xx, never a 5xx; refused ones write nothing, echo no secret, and drey keeps serving', () =>
    checkAll(thenFollowUp(bodyCases(params))), PROPERTY_MS);

  it('hostile path parameters and distorted paths get no 5xx, write nothing when refused, and drey keeps serving', () =>
    checkAll(thenFollowUp(pathCases(params))), PROPERTY_MS);

  it('junk, repeated and prototype-named query parameters get no 5xx, write nothing when refused, and drey keeps serving', () =>
    checkAll(thenFollowUp(queryCases(params))), PROPERTY_MS);

  it('hostile headers, broken framing, unknown methods and HTTP versions get an answer below 500, write nothing when refused, and drey keeps serving', () =>
    checkAll(thenFollowUp(headerCases(params))), PROPERTY_MS);

  it('leaves every secret value out of the whole log, including lines written after the answer', () => {
    expect(secretFragments(api.logs.join(''))).toEqual([]);
  });
});
