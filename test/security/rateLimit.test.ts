/**
 * Rate limits: the token bucket itself on an injected clock, then a drey over TLS that limits each
 * principal (60 a minute, bursts of 5) and each source address's failed authentications (5 a
 * minute). Every test client here comes from loopback; the failed authentications come from
 * 127.0.0.2 (a loopback address of its own), so that the address they block is theirs alone and
 * the clients on 127.0.0.1 show that other addresses are not slowed.
 *
 * No test assumes how fast requests go out: a loop sends until the limit answers, and the number
 * let through must lie between the burst and the burst plus what the bucket refilled meanwhile.
 */
import https from 'node:https';
import { TooManyRequests } from '../../src/domain/errors.js';
import { RateLimiter } from '../../src/security/rateLimit.js';
import { eventually } from '../support/eventually.js';
import { startSecureDrey, type Client, type SecureDrey } from '../support/secureDrey.js';

const WHOAMI = '/drey/api/v1/whoami';

describe('RateLimiter', () => {
  /** A limiter of 60 a minute (one a second) in bursts of 5, on a clock the test moves. */
  function limiter(): { limiter: RateLimiter; at(ms: number): void } {
    let now = 1_000_000;
    const start = now;
    return { limiter: new RateLimiter(60, 5, () => now), at: (ms) => (now = start + ms) };
  }

  it('lets a burst through at once, then asks the next to wait until the bucket has refilled one', () => {
    const { limiter: l } = limiter();
    expect(Array.from({ length: 5 }, () => l.take('alice'))).toEqual([0, 0, 0, 0, 0]);
    expect(l.take('alice')).toBe(1);
    // a refusal takes nothing: the wait stays the same
    expect(l.take('alice')).toBe(1);
  });

  it('refills one request per interval, and never more than the burst', () => {
    const { limiter: l, at } = limiter();
    for (let i = 0; i < 5; i++) l.take('alice');
    at(250);
    expect(l.take('alice')).toBe(0.75);
    at(1_000);
    expect([l.take('alice'), l.take('alice')]).toEqual([0, 1]);
    at(3_600_000);
    expect(Array.from({ length: 6 }, () => l.take('alice'))).toEqual([0, 0, 0, 0, 0, 1]);
  });

  it('keeps one bucket per key', () => {
    const { limiter: l } = limiter();
    for (let i = 0; i < 5; i++) l.take('alice');
    expect([l.take('alice'), l.take('bob')]).toEqual([1, 0]);
  });

  it('answers Retry-After in whole seconds, at least 1', () => {
    expect([0.001, 0.75, 1, 12.2].map((s) => new TooManyRequests('slow down', s).headers['Retry-After'])).toEqual(['1', '1', '1', '13']);
  });

  it('peeks without taking', () => {
    const { limiter: l } = limiter();
    expect(Array.from({ length: 20 }, () => l.peek('alice')).every((w) => w === 0)).toBe(true);
    expect(Array.from({ length: 5 }, () => l.take('alice'))).toEqual([0, 0, 0, 0, 0]);
    expect([l.peek('alice'), l.peek('alice'), l.take('alice'), l.peek('alice')]).toEqual([1, 1, 1, 1]);
  });

  it('forgets the buckets that are full again, a minute at a time, so memory follows recent callers', () => {
    const { limiter: l, at } = limiter();
    // the map of buckets is private: its size is what this test is about
    const buckets = (): Map<string, number> => (l as unknown as { tat: Map<string, number> }).tat;
    at(60_000); // the first sweep happens here and finds nothing
    l.take('first');
    for (let i = 0; i < 1_000; i++) l.take(`caller-${i}`);
    expect(buckets().size).toBe(1_001);
    at(119_999);
    for (let i = 0; i < 5; i++) l.take('busy');
    expect(buckets().size).toBe(1_002);
    at(120_000);
    l.take('next');
    // full again: everyone of the first minute; not yet full: busy, which keeps its count
    expect([...buckets().keys()].sort()).toEqual(['busy', 'next']);
    expect(l.take('busy')).toBeGreaterThan(0);
    // a forgotten caller starts with a full burst, as it would have anyway
    expect(Array.from({ length: 5 }, () => l.take('caller-7'))).toEqual([0, 0, 0, 0, 0]);
  });
});

/** One request from `address` (a loopback address) with `token`, on a connection of its own. */
function from(world: SecureDrey, address: string, token: string): Promise<{ status: number; retryAfter: number; message: string; id: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${world.drey.url}${WHOAMI}`, { ca: world.serverCa.certPem, localAddress: address, agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { errors?: { message: string }[] };
        resolve({ status: res.statusCode ?? 0, retryAfter: Number(res.headers['retry-after'] ?? 0), message: body.errors?.[0]?.message ?? '', id: String(res.headers['x-request-id']) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends until `send` answers 429 (at most 200 times): how many went through first, how long that took, and the 429. */
async function untilLimited<T extends { status: number }>(send: () => Promise<T>): Promise<{ through: number[]; elapsedMs: number; limited: T }> {
  const through: number[] = [];
  const started = Date.now();
  for (let i = 0; i < 200; i++) {
    const res = await send();
    if (res.status === 429) return { through, elapsedMs: Date.now() - started, limited: res };
    through.push(res.status);
  }
  throw new Error(`no 429 in 200 requests: ${through.join(',')}`);
}

describe('a drey with rate limits', () => {
  let world: SecureDrey;
  beforeAll(async () => {
    world = await startSecureDrey({ CMF_CONTROLLERS: 'off', CMF_RATE_LIMIT_PER_MIN: '60', CMF_RATE_LIMIT_BURST: '5', CMF_AUTH_FAILURES_PER_MIN: '5' });
  });
  afterAll(async () => world?.stop());

  /** The audit row of the request `requestId`, once it is stored. */
  const auditRow = (requestId: string) => eventually(`the audit row of ${requestId}`, () => world.drey.prisma.auditEvent.findFirst({ where: { requestId } }).then((row) => row ?? undefined));

  it('answers the request after a burst of 5 from one principal with 429 and Retry-After, and records it', async () => {
    const hasty: Client = await world.as({ oidc: 'hasty' });
    const { through, elapsedMs, limited } = await untilLimited(() => hasty.get(WHOAMI));
    expect(through.every((s) => s === 200)).toBe(true);
    // one more per second went by (60 a minute)
    expect(through.length).toBeGreaterThanOrEqual(5);
    expect(through.length).toBeLessThanOrEqual(5 + Math.floor(elapsedMs / 1000));
    expect(limited.body).toEqual({ errors: [{ message: 'Too many requests; retry later' }] });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(Number(limited.headers.get('retry-after')))).toBe(true);

    const row = await auditRow(limited.headers.get('x-request-id')!);
    expect(row).toMatchObject({ principal: 'User:hasty', authenticator: 'oidc', method: 'GET', path: WHOAMI, outcome: 'limited', status: 429, reason: 'Too many requests; retry later' });

    const patient = await world.as({ oidc: 'patient' });
    expect((await patient.get(WHOAMI)).status).toBe(200);
  });

  it('answers 429 to an address after 5 failed authentications from it, before looking at its next credential, and to no other address', async () => {
    const forged = `drey_${'0'.repeat(32)}_${'x'.repeat(43)}`;
    const { through, elapsedMs, limited } = await untilLimited(() => from(world, '127.0.0.2', forged));
    expect(through.every((s) => s === 401)).toBe(true);
    // one more per 12 seconds went by (5 a minute)
    expect(through.length).toBeGreaterThanOrEqual(5);
    expect(through.length).toBeLessThanOrEqual(5 + Math.floor(elapsedMs / 12_000));
    expect(limited.message).toBe('Too many failed authentications from this address; retry later');
    expect(limited.retryAfter).toBeGreaterThanOrEqual(1);

    // the next wait is whole seconds away (Retry-After rounds it up: at least 11 s with 12 s an attempt)
    const good = await from(world, '127.0.0.2', world.bootstrapToken);
    expect({ status: good.status, message: good.message }).toEqual({ status: 429, message: 'Too many failed authentications from this address; retry later' });
    expect((await from(world, '127.0.0.1', world.bootstrapToken)).status).toBe(200);

    const row = await auditRow(good.id);
    expect(row).toMatchObject({ principal: 'User:system:anonymous', authenticator: 'none', sourceIp: '127.0.0.2', outcome: 'limited', status: 429 });
  });
});

describe('each limit turned off alone', () => {
  it.each<[string, Record<string, string>, string, (world: SecureDrey) => () => Promise<{ status: number }>]>([
    [
      'CMF_AUTH_FAILURES_PER_MIN=0 leaves the limit per principal on',
      { CMF_RATE_LIMIT_PER_MIN: '60', CMF_RATE_LIMIT_BURST: '5', CMF_AUTH_FAILURES_PER_MIN: '0' },
      'the requests of one principal',
      (world) => {
        let client: Client | undefined;
        return async () => (client ??= await world.as({ oidc: 'hasty' })).get(WHOAMI);
      },
    ],
    [
      'CMF_RATE_LIMIT_PER_MIN=0 leaves the limit on failed authentications on',
      { CMF_RATE_LIMIT_PER_MIN: '0', CMF_AUTH_FAILURES_PER_MIN: '5' },
      'failed authentications from one address',
      (world) => () => from(world, '127.0.0.3', `drey_${'0'.repeat(32)}_${'y'.repeat(43)}`),
    ],
  ])('%s', async (_title, env, what, sender) => {
    const world = await startSecureDrey({ CMF_CONTROLLERS: 'off', ...env });
    try {
      const send = sender(world);
      const statuses: number[] = [];
      for (let i = 0; i < 30 && !statuses.includes(429); i++) statuses.push((await send()).status);
      expect({ what, limited: statuses.includes(429) }).toEqual({ what, limited: true });
    } finally {
      await world.stop();
    }
  });
});
