import type pg from 'pg';
import type { AuditEvent as AuditEventRow } from '../generated/prisma/client.js';

/** One audit event as stored: every column of the model; `groups` is a list of group names. */
export type StoredAuditEvent = Omit<AuditEventRow, 'seq' | 'groups'> & {
  /** Insertion order, the readers' cursor: a number, since 2^53 events is out of reach. */
  seq: number;
  groups: string[];
};

/** An event to store: everything but `seq`, which the database assigns. */
export type NewAuditEvent = Omit<StoredAuditEvent, 'seq'>;

/** The columns an event is written with, in schema order; a column missing or extra here fails to compile. */
const COLUMNS: { [K in keyof NewAuditEvent]: string } = {
  id: 'uuid',
  requestId: 'text',
  at: 'timestamptz',
  principal: 'text',
  groups: 'jsonb',
  authenticator: 'text',
  sourceIp: 'text',
  method: 'text',
  path: 'text',
  verb: 'text',
  resourceKind: 'text',
  environment: 'text',
  resourceName: 'text',
  outcome: 'text',
  status: 'int4',
  reason: 'text',
};

/** Every field of a stored event, for callers that must keep nothing else (the audit JSON line). */
export const AUDIT_EVENT_FIELDS = Object.keys(COLUMNS) as (keyof NewAuditEvent)[];

const quoted = AUDIT_EVENT_FIELDS.map((f) => `"${f}"`).join(', ');

/*
 * One statement for any batch size: each column travels as one array parameter and `unnest` zips
 * them back into rows in the order given, so `seq` follows the order events were recorded in. Named,
 * so each connection plans it once. ON CONFLICT makes a retried batch harmless: when the connection
 * broke after the server committed, the retry finds the events' ids and inserts nothing twice.
 */
const INSERT = {
  name: 'audit-events-insert',
  text: `INSERT INTO "AuditEvent" (${quoted})
    SELECT * FROM unnest(${AUDIT_EVENT_FIELDS.map((f, i) => `$${i + 1}::${COLUMNS[f]}[]`).join(', ')})
    ON CONFLICT ("id") DO NOTHING`,
};

/** Which events a reader wants: every filter given must hold; `before` is the previous page's `next`. */
export interface AuditEventQuery {
  principal?: string;
  outcome?: string;
  requestId?: string;
  /** Events at or after this time. */
  since?: Date;
  /** Events strictly before this time. */
  until?: Date;
  /** Events stored before the one with this `seq`. */
  before?: number;
  /** Events per page, at least 1. */
  limit: number;
}

/** A page of events, newest first; `next` is the `before` of the following page, null on the last one. */
export interface AuditEventPage {
  events: StoredAuditEvent[];
  next: number | null;
}

/** The audit trail's table: batched inserts and filtered, newest-first pages. Nothing here updates or deletes. */
export function auditEventStore(pool: pg.Pool) {
  return {
    /** Stores `events` in order with one statement; events already stored (same `id`) are skipped. */
    async insert(events: NewAuditEvent[]): Promise<void> {
      if (events.length === 0) return;
      const values = AUDIT_EVENT_FIELDS.map((f) => events.map((e) => (f === 'groups' ? JSON.stringify(e.groups) : e[f])));
      await pool.query({ ...INSERT, values });
    },

    /**
     * A page of events matching `query`, newest first: an administrator reads the trail from what
     * just happened backwards, and a cursor on `seq` is stable while new events arrive at the top.
     */
    async list(query: AuditEventQuery): Promise<AuditEventPage> {
      const where: string[] = [];
      const params: unknown[] = [];
      const bind = (sql: string, value: unknown) => {
        params.push(value);
        where.push(sql.replace('?', `$${params.length}`));
      };
      if (query.principal !== undefined) bind('"principal" = ?', query.principal);
      if (query.outcome !== undefined) bind('"outcome" = ?', query.outcome);
      if (query.requestId !== undefined) bind('"requestId" = ?', query.requestId);
      if (query.since !== undefined) bind('"at" >= ?', query.since);
      if (query.until !== undefined) bind('"at" < ?', query.until);
      if (query.before !== undefined) bind('"seq" < ?', query.before);
      params.push(query.limit + 1);
      const { rows } = await pool.query<Omit<StoredAuditEvent, 'seq'> & { seq: string }>(
        `SELECT "seq", ${quoted} FROM "AuditEvent" ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY "seq" DESC LIMIT $${params.length}`,
        params,
      );
      const events = rows.slice(0, query.limit).map((r) => ({ ...r, seq: Number(r.seq) }));
      return { events, next: rows.length > query.limit ? events[events.length - 1]!.seq : null };
    },
  };
}

/** The audit trail's store operations. */
export type AuditEventStore = ReturnType<typeof auditEventStore>;
