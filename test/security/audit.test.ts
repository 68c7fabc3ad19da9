import pg from 'pg';
import { createLogger } from '../../src/log.js';
import { AuditTrail, type AuditEvent } from '../../src/security/audit.js';
import { createPrismaClient, type PrismaClient } from '../../src/store/client.js';
import { createStore, type Store } from '../../src/store/index.js';
import { freshDatabase, query } from '../support/db.js';
import { SECRET } from '../support/hostile.js';
import { logEntries } from '../support/logLines.js';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy.js';

let url: string;
let prisma: PrismaClient;
let store: Store;
/** Every statement sent through `prisma`, as sent. */
const sent: string[] = [];
const INSERT = /^\s*INSERT INTO "AuditEvent"/;

let made = 0;
/** A write by `principal`; each call a new request, one millisecond later than the previous one. */
function event(principal: string, overrides: Partial<AuditEvent> = {}): AuditEvent {
  made++;
  return {
    requestId: `req-${made}`,
    at: new Date(Date.UTC(2026, 11, 12, 10, 0, 0, made)),
    principal,
    groups: ['ops', 'dev'],
    authenticator: 'oidc',
    sourceIp: '10.0.0.7',
    method: 'POST',
    path: '/cmf/api/v1/environments/e1/applications',
    verb: 'create',
    resourceKind: 'FlinkApplication',
    environment: 'e1',
    resourceName: `app-${made}`,
    outcome: 'allowed',
    status: 200,
    reason: null,
    ...overrides,
  };
}

/** A trail whose JSON lines and log lines are kept. */
function trail(options: { store?: Store['auditEvents'] | null; maxPending?: number } = {}) {
  const lines: string[] = [];
  const logs: string[] = [];
  const audit = new AuditTrail({
    store: options.store === undefined ? store.auditEvents : options.store,
    log: createLogger('debug', (l) => logs.push(l)),
    write: (l) => lines.push(l),
    ...(options.maxPending ? { maxPending: options.maxPending } : {}),
  });
  /** The events of the JSON lines, as JSON. */
  const written = () => lines.map((l) => (JSON.parse(l) as { audit: Record<string, unknown> }).audit);
  return { audit, lines, logs, written };
}

type Row = Record<string, unknown> & { seq: string; id: string; requestId: string; at: Date };

/** The stored rows of `principal`, in the order stored. */
function rowsOf(principal: string): Promise<Row[]> {
  return query<Row>(url, 'SELECT * FROM "AuditEvent" WHERE "principal" = $1 ORDER BY "seq"', [principal]);
}

/** A row as its JSON line spells it. */
function asLine({ seq: _seq, ...row }: Row): Record<string, unknown> {
  return { ...row, at: row.at.toISOString() };
}

beforeAll(async () => {
  url = await freshDatabase();
  prisma = createPrismaClient(url, { onQuery: (sql) => sent.push(sql) });
  store = createStore(prisma);
});
afterAll(async () => {
  await prisma.$disconnect();
});

describe('the audit trail', () => {
  it('stores every recorded event once, in the order recorded, with the JSON line that says the same', async () => {
    const { audit, lines, written } = trail();
    const events = [
      event('User:order'),
      event('User:order', { outcome: 'denied', status: 403, reason: "User:order may not delete FlinkEnvironment 'e1'", verb: 'delete', resourceKind: 'FlinkEnvironment', environment: null }),
      event('User:order', { outcome: 'unauthenticated', status: 401, authenticator: 'none', groups: [], verb: null, resourceKind: null, resourceName: null, environment: null }),
      event('User:order', { outcome: 'limited', status: 429, sourceIp: null }),
      event('User:order', { outcome: 'failed', status: 422, reason: 'spec.job.parallelism must be integer' }),
    ];
    for (const e of events) audit.record(e);
    await audit.flush();

    const rows = await rowsOf('User:order');
    expect(rows.map(({ seq: _seq, id: _id, ...r }) => r)).toEqual(events);
    expect(new Set(rows.map((r) => r.id)).size).toBe(events.length);
    expect(rows.map(asLine)).toEqual(written());
    expect(lines.every((l) => l.endsWith('}\n') && l.indexOf('\n') === l.length - 1)).toBe(true);
    await audit.close();
  });

  it('keeps only the fields of an audit event, so nothing else a caller adds reaches a line or a row', async () => {
    const { audit, lines } = trail();
    const smuggled = { ...event('User:fields'), body: { data: { password: SECRET } }, authorization: `Bearer ${SECRET}` };
    audit.record(smuggled as AuditEvent);
    await audit.flush();

    const [row] = await rowsOf('User:fields');
    expect(Object.keys(JSON.parse(lines[0]!).audit as object).sort()).toEqual(Object.keys(row!).filter((k) => k !== 'seq').sort());
    expect(lines[0]).not.toContain(SECRET);
    expect(JSON.stringify(row)).not.toContain(SECRET);
    await audit.close();
  });

  it('stores a NUL in a field as U+FFFD instead of failing its batch forever', async () => {
    const { audit, written } = trail();
    audit.record(event('User:nul', { resourceName: 'a\u0000b', groups: ['g\u0000'] }));
    await audit.flush();

    const [row] = await rowsOf('User:nul');
    expect(row).toMatchObject({ resourceName: 'a\uFFFDb', groups: ['g\uFFFD'] });
    expect(written()[0]).toMatchObject({ resourceName: 'a\uFFFDb', groups: ['g\uFFFD'] });
    await audit.close();
  });

  it('stores many events recorded together with one INSERT per 100 rows', async () => {
    const { audit } = trail();
    const before = sent.length;
    for (let i = 0; i < 250; i++) audit.record(event('User:many'));
    await audit.flush();

    expect(sent.slice(before).filter((s) => INSERT.test(s))).toHaveLength(3);
    const rows = await rowsOf('User:many');
    expect(rows.map((r) => r.resourceName)).toEqual(Array.from({ length: 250 }, (_, i) => `app-${made - 249 + i}`));
    await audit.close();
  });

  it.each([
    ['UPDATE', `UPDATE "AuditEvent" SET "outcome" = 'allowed' WHERE "principal" = 'User:kept'`],
    ['DELETE', `DELETE FROM "AuditEvent" WHERE "principal" = 'User:kept'`],
    ['TRUNCATE', 'TRUNCATE "AuditEvent"'],
  ])('refuses %s: the table is append-only', async (op, sql) => {
    const { audit } = trail();
    audit.record(event('User:kept', { outcome: 'denied', status: 403 }));
    await audit.flush();
    const before = await rowsOf('User:kept');

    await expect(query(url, sql)).rejects.toThrow(`AuditEvent is append-only: ${op} is not allowed`);
    expect(await rowsOf('User:kept')).toEqual(before);
    await audit.close();
  });

  it('lets the retention setting remove rows in its own transaction only, and never change one', async () => {
    const { audit } = trail();
    audit.record(event('User:retained'));
    await audit.flush();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const count = async () => Number((await client.query('SELECT count(*) FROM "AuditEvent" WHERE "principal" = $1', ['User:retained'])).rows[0].count);
      await client.query('BEGIN');
      await client.query("SET LOCAL drey.audit_retention = 'on'");
      await client.query(`DELETE FROM "AuditEvent" WHERE "principal" = 'User:retained'`);
      expect(await count()).toBe(0);
      await client.query('TRUNCATE "AuditEvent"');
      await expect(client.query(`UPDATE "AuditEvent" SET "outcome" = 'failed'`)).rejects.toThrow('AuditEvent is append-only: UPDATE is not allowed');
      await client.query('ROLLBACK');

      expect(await count()).toBe(1);
      await expect(client.query(`DELETE FROM "AuditEvent" WHERE "principal" = 'User:retained'`)).rejects.toThrow('AuditEvent is append-only: DELETE is not allowed');
    } finally {
      await client.end();
    }
    await audit.close();
  });

  it('writes JSON lines only without a database sink, and rows only without a line sink', async () => {
    const linesOnly = trail({ store: null });
    linesOnly.audit.record(event('User:lines-only'));
    await linesOnly.audit.flush();
    expect(linesOnly.written()).toMatchObject([{ principal: 'User:lines-only' }]);
    expect(await rowsOf('User:lines-only')).toEqual([]);

    const logs: string[] = [];
    const rowsOnly = new AuditTrail({ store: store.auditEvents, log: createLogger('debug', (l) => logs.push(l)), write: null });
    rowsOnly.record(event('User:rows-only'));
    await rowsOnly.close();
    expect(await rowsOf('User:rows-only')).toHaveLength(1);
    expect(logs).toEqual([]);
  });

  it('stores what is queued on close; an event recorded afterwards gets its JSON line and an error, not a row', async () => {
    const { audit, lines, logs } = trail();
    audit.record(event('User:closing'));
    await audit.close();
    audit.record(event('User:closing', { requestId: 'late' }));
    await audit.flush();

    expect((await rowsOf('User:closing')).map((r) => r.requestId)).not.toContain('late');
    expect(await rowsOf('User:closing')).toHaveLength(1);
    expect(lines).toHaveLength(2);
    expect(logEntries(logs)).toContainEqual(expect.objectContaining({ level: 'error', msg: 'audit event recorded after the trail was closed: only its JSON line was written', requestId: 'late' }));
  });
});

describe('the audit trail while the database is away', () => {
  let proxy: TcpProxy;
  let proxied: PrismaClient;

  beforeEach(async () => {
    proxy = await startTcpProxy(url);
    proxied = createPrismaClient(proxy.url);
  });
  afterEach(async () => {
    await proxied.$disconnect();
    await proxy.close();
  });

  it('keeps the rows of a failed flush and stores them once, in order, when the database is back', async () => {
    const { audit, logs } = trail({ store: createStore(proxied).auditEvents });
    audit.record(event('User:outage'));
    await audit.flush();

    proxy.cut();
    const during = [1, 2, 3, 4, 5].map(() => event('User:outage'));
    for (const e of during) audit.record(e);
    await expect(audit.flush()).rejects.toThrow();
    expect(logEntries(logs)).toContainEqual(expect.objectContaining({ level: 'error', msg: 'audit rows not stored yet, will retry', rows: 5 }));
    expect(await rowsOf('User:outage')).toHaveLength(1);

    proxy.restore();
    await audit.flush();
    const rows = await rowsOf('User:outage');
    expect(rows.slice(1).map((r) => r.requestId)).toEqual(during.map((e) => e.requestId));
    await audit.close();
  });

  it('stores a batch once when the reply to its INSERT was lost after the database committed it', async () => {
    const { audit } = trail({ store: createStore(proxied).auditEvents });
    const events = [1, 2, 3].map(() => event('User:lost-reply'));
    const lost = proxy.loseReplyTo('INSERT INTO "AuditEvent"');
    for (const e of events) audit.record(e);
    await expect(audit.flush()).rejects.toThrow(/Connection terminated/);
    await lost;
    const committed = await rowsOf('User:lost-reply');
    expect(committed).toHaveLength(3);

    await audit.flush();
    expect(await rowsOf('User:lost-reply')).toEqual(committed);
    await audit.close();
  });

  it('drops the oldest rows beyond maxPending after a failure, and says so', async () => {
    const { audit, logs, written } = trail({ store: createStore(proxied).auditEvents, maxPending: 2 });
    proxy.cut();
    for (let i = 0; i < 5; i++) audit.record(event('User:dropping'));
    await expect(audit.flush()).rejects.toThrow();
    expect(logEntries(logs)).toContainEqual(expect.objectContaining({ level: 'error', msg: 'audit rows dropped: the database has refused them too long; their JSON lines were written', dropped: 3 }));

    proxy.restore();
    await audit.flush();
    expect((await rowsOf('User:dropping')).map((r) => r.requestId)).toEqual(written().slice(3).map((e) => e.requestId));
    await audit.close();
  });
});

describe('reading the audit trail', () => {
  /** The events read in pages of `limit`, following the cursor to the end. */
  async function walk(filter: Omit<Parameters<Store['auditEvents']['list']>[0], 'limit' | 'before'>, limit: number) {
    const pages: string[][] = [];
    let before: number | undefined;
    do {
      const page = await store.auditEvents.list({ ...filter, limit, ...(before === undefined ? {} : { before }) });
      pages.push(page.events.map((e) => e.requestId));
      before = page.next ?? undefined;
    } while (before !== undefined);
    return pages;
  }

  let ids: string[];
  beforeAll(async () => {
    const { audit } = trail();
    const events = [
      event('User:reader-a'),
      event('User:reader-b', { outcome: 'denied', status: 403 }),
      event('User:reader-a', { outcome: 'denied', status: 403 }),
      event('User:reader-a', { at: new Date('2027-01-01T00:00:00Z') }),
      event('User:reader-a', { requestId: 'shared-id' }),
      event('User:reader-b', { requestId: 'shared-id' }),
    ];
    for (const e of events) audit.record(e);
    await audit.close();
    ids = events.map((e) => e.requestId);
  });

  it('returns whole stored events, newest first', async () => {
    const page = await store.auditEvents.list({ principal: 'User:reader-b', limit: 10 });
    const rows = await rowsOf('User:reader-b');
    expect(page).toEqual({ events: rows.reverse().map((r) => ({ ...r, seq: Number(r.seq) })), next: null });
  });

  it.each([
    ['principal', { principal: 'User:reader-a' }, [4, 3, 2, 0]],
    ['outcome', { outcome: 'denied', principal: 'User:reader-a' }, [2]],
    ['request id', { requestId: 'shared-id' }, [5, 4]],
    ['since', { since: new Date('2027-01-01T00:00:00Z') }, [3]],
    ['until', { principal: 'User:reader-a', until: new Date('2027-01-01T00:00:00Z') }, [4, 2, 0]],
  ])('filters by %s', async (_name, filter, expected) => {
    const page = await store.auditEvents.list({ ...filter, limit: 10 });
    expect(page.events.map((e) => e.requestId)).toEqual(expected.map((i) => ids[i]));
    expect(page.next).toBeNull();
  });

  it('walks every matching event once with the cursor, the last page saying there is no next', async () => {
    expect(await walk({ principal: 'User:reader-a' }, 2)).toEqual([
      [ids[4], ids[3]],
      [ids[2], ids[0]],
    ]);
    expect(await walk({ principal: 'User:reader-a' }, 3)).toEqual([[ids[4], ids[3], ids[2]], [ids[0]]]);
  });
});
