import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { BadRequest, Gone, RestProblem } from '../../src/domain/errors.js';
import { PageTokens, type PagePosition } from '../../src/statements/tokens.js';

// Page tokens of statement results: what a client gets in nextPageToken reads back as the page it
// names, for that statement only, until it expires; anything else is a 400, an expired token a 410.

const SEED = Number(process.env.DREY_FUZZ_SEED ?? 20261201);
const RUNS = Number(process.env.DREY_FUZZ_RUNS ?? 1000);
const OPTIONS = { seed: SEED, numRuns: RUNS };

const KEY = Buffer.from('6d1f0a4c9b3e8d7f2a5c1e0b9d8f7a6c5b4e3d2c1f0a9b8c7d6e5f4a3b2c1d0e', 'hex');
const STATEMENT = '3f1c2b7e-5a44-4c1e-9d0a-8b6f2e4d1c90';
const OTHER = '9a0e4d2c-1b7f-4e3a-8c5d-6f2b1a0e9d87';
const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const TTL = 60 * 60_000;

const tokens = new PageTokens(KEY, TTL);

/** What reading a token throws; fails the test if it returns. */
function refusal(read: () => PagePosition): unknown {
  try {
    const position = read();
    throw new Error(`read a position: ${JSON.stringify(position)}`);
  } catch (err) {
    if (err instanceof RestProblem) return err;
    throw err;
  }
}

function expectBadRequest(read: () => PagePosition): void {
  const err = refusal(read);
  expect(err).toBeInstanceOf(BadRequest);
  expect(err).toMatchObject({ status: 400, message: 'Invalid page-token: use the nextPageToken of the previous page of this statement' });
}

/** A token's two parts, decoded. */
function parts(token: string): { body: string; signature: Buffer } {
  const [body, signature] = token.split('.') as [string, string];
  return { body: Buffer.from(body, 'base64url').toString(), signature: Buffer.from(signature, 'base64url') };
}

function assemble(body: string, signature: Buffer): string {
  return `${Buffer.from(body).toString('base64url')}.${signature.toString('base64url')}`;
}

describe('page tokens', () => {
  it('a token reads back as the run and gateway token it was issued for', () => {
    const token = tokens.issue(STATEMENT, { attempt: 2, offset: 17 }, NOW);
    expect(tokens.read(STATEMENT, token, NOW)).toEqual({ attempt: 2, offset: 17 });
    // two base64url parts: the position and its 32-byte signature
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  });

  it(`any position of any statement reads back from its token (fast-check seed ${SEED}, ${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.uuid(), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 4_102_444_800_000 }), (id, attempt, offset, now) => {
        const issued = new PageTokens(KEY).issue(id, { attempt, offset }, now);
        expect(new PageTokens(KEY).read(id, issued, now)).toEqual({ attempt, offset });
      }),
      OPTIONS,
    );
  });

  it('every replica reads the tokens of every other: only the shared key matters', () => {
    const token = new PageTokens(Buffer.from(KEY)).issue(STATEMENT, { attempt: 1, offset: 0 }, NOW);
    expect(new PageTokens(Buffer.from(KEY)).read(STATEMENT, token, NOW)).toEqual({ attempt: 1, offset: 0 });
  });

  it('a token issued for another statement is a BadRequest (400)', () => {
    const token = tokens.issue(OTHER, { attempt: 1, offset: 3 }, NOW);
    expectBadRequest(() => tokens.read(STATEMENT, token, NOW));
  });

  it('a token signed with another key is a BadRequest (400)', () => {
    const token = new PageTokens(Buffer.alloc(32, 1), TTL).issue(STATEMENT, { attempt: 1, offset: 3 }, NOW);
    expectBadRequest(() => tokens.read(STATEMENT, token, NOW));
  });

  it.each([
    ['a later page', (body: string) => body.replace(/^r1\|1\|3\|/, 'r1|1|4|')],
    ['another run', (body: string) => body.replace(/^r1\|1\|/, 'r1|2|')],
    ['a later issue time (to outlive its expiry)', (body: string) => body.replace(/\|(\d+)$/, (_, s: string) => `|${Number(s) + 86_400}`)],
    ['another version', (body: string) => body.replace(/^r1\|/, 'r2|')],
  ])('a body changed to name %s, with the original signature, is a BadRequest (400)', (_what, change) => {
    const { body, signature } = parts(tokens.issue(STATEMENT, { attempt: 1, offset: 3 }, NOW));
    const tampered = change(body);
    expect(tampered).not.toBe(body);
    expectBadRequest(() => tokens.read(STATEMENT, assemble(tampered, signature), NOW));
  });

  it(`a signature with any bit flipped, cut short or made longer is a BadRequest (400) (fast-check seed ${SEED}, ${RUNS} runs)`, () => {
    const { body, signature } = parts(tokens.issue(STATEMENT, { attempt: 1, offset: 3 }, NOW));
    fc.assert(
      fc.property(fc.nat({ max: signature.length * 8 - 1 }), fc.integer({ min: -signature.length, max: 8 }), (bit, resize) => {
        const flipped = Buffer.from(signature);
        flipped.writeUInt8(flipped.readUInt8(bit >> 3) ^ (1 << (bit & 7)), bit >> 3);
        expectBadRequest(() => tokens.read(STATEMENT, assemble(body, flipped), NOW));
        const resized = resize < 0 ? signature.subarray(0, signature.length + resize) : Buffer.concat([signature, Buffer.alloc(resize, 0)]);
        if (resize !== 0) expectBadRequest(() => tokens.read(STATEMENT, assemble(body, resized), NOW));
      }),
      OPTIONS,
    );
  });

  it('a token read within its lifetime is valid to the last millisecond; past it, it is Gone (410)', () => {
    const token = tokens.issue(STATEMENT, { attempt: 1, offset: 3 }, NOW);
    expect(tokens.read(STATEMENT, token, NOW + TTL)).toEqual({ attempt: 1, offset: 3 });
    const err = refusal(() => tokens.read(STATEMENT, token, NOW + TTL + 1));
    expect(err).toBeInstanceOf(Gone);
    expect(err).toMatchObject({ status: 410, message: 'Results are gone: the page-token has expired' });
  });

  it('the issue time is kept to the second: a token issued late in a second expires as if issued at its start', () => {
    const token = tokens.issue(STATEMENT, { attempt: 0, offset: 0 }, NOW + 999);
    expect(tokens.read(STATEMENT, token, NOW + TTL)).toEqual({ attempt: 0, offset: 0 });
    expect(refusal(() => tokens.read(STATEMENT, token, NOW + TTL + 1))).toBeInstanceOf(Gone);
  });

  it('tokens live 24 hours unless told otherwise', () => {
    const daily = new PageTokens(KEY);
    const token = daily.issue(STATEMENT, { attempt: 0, offset: 5 }, NOW);
    expect(daily.read(STATEMENT, token, NOW + 24 * 3_600_000)).toEqual({ attempt: 0, offset: 5 });
    expect(refusal(() => daily.read(STATEMENT, token, NOW + 24 * 3_600_000 + 1))).toBeInstanceOf(Gone);
  });

  it('an expired token of another statement is a BadRequest, not Gone: nothing is read from a token that is not this statement’s', () => {
    const token = tokens.issue(OTHER, { attempt: 1, offset: 3 }, NOW);
    expectBadRequest(() => tokens.read(STATEMENT, token, NOW + 10 * TTL));
  });

  it.each([
    ['empty', ''],
    ['a dot alone', '.'],
    ['no signature', 'cjF8MXwyfDE3MDAwMDAwMDA'],
    ['an empty signature', 'cjF8MXwyfDE3MDAwMDAwMDA.'],
    ['an empty body', '.gvwE3g9GE_M36uE-ZbmhNzFAMi1oi-kvnSQfQ6W9Exk'],
    ['three parts', 'a.b.c'],
    ['a page number', '2'],
    ['JSON', '{"attempt":1,"offset":3}'],
  ])('%s is a BadRequest (400)', (_what, token) => {
    expectBadRequest(() => tokens.read(STATEMENT, token, NOW));
  });

  it('a valid token with a third part appended is a BadRequest (400)', () => {
    const token = tokens.issue(STATEMENT, { attempt: 1, offset: 3 }, NOW);
    expectBadRequest(() => tokens.read(STATEMENT, `${token}.x`, NOW));
  });

  it(`garbage of any kind is a BadRequest and never anything else (fast-check seed ${SEED}, ${RUNS} runs)`, () => {
    const base64url = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('')), maxLength: 64 });
    const field = fc.oneof(fc.nat().map(String), fc.string({ maxLength: 8 }), fc.constant(''));
    const forgedBody = fc
      .tuple(fc.constantFrom('r1', 'r0', 'r2', ''), field, field, field)
      .map((fields) => Buffer.from(fields.join('|')).toString('base64url'));
    const garbage = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ unit: fc.constantFrom('.', '=', '|', 'A', '_', '-', '/', '+', ' ', '%', '\u0000', 'é'), maxLength: 80 }),
      fc.tuple(base64url, base64url).map(([a, b]) => `${a}.${b}`),
      fc.tuple(forgedBody, fc.uint8Array({ minLength: 0, maxLength: 40 })).map(([body, sig]) => `${body}.${Buffer.from(sig).toString('base64url')}`),
      fc.array(base64url, { minLength: 3, maxLength: 5 }).map((p) => p.join('.')),
    );
    fc.assert(
      fc.property(garbage, fc.integer({ min: 0, max: 4_102_444_800_000 }), (token, now) => {
        expectBadRequest(() => tokens.read(STATEMENT, token, now));
      }),
      OPTIONS,
    );
  });

  it('only the token as issued is accepted: another spelling of its signature is a BadRequest', () => {
    const token = tokens.issue(STATEMENT, { attempt: 1, offset: 3 }, NOW);
    for (const respelled of [`${token}=`, `${token}!`, `${token.slice(0, 10)} ${token.slice(10)}`]) {
      expectBadRequest(() => tokens.read(STATEMENT, respelled, NOW));
    }
  });
});
