import { storableText } from '../domain/text.js';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import { AUDIT_EVENT_FIELDS, type AuditEventStore, type NewAuditEvent } from '../store/auditEvents.js';
import type { Authenticator } from './principal.js';
import type { Kind, Verb } from './resources.js';

/**
 * How a recorded request ended: `allowed` (authorized and answered below 400), `failed` (authorized,
 * then refused by validation or broken: any other 4xx or 5xx), `denied` (403), `unauthenticated`
 * (401), `limited` (429).
 */
export const AUDIT_OUTCOMES = ['allowed', 'failed', 'denied', 'unauthenticated', 'limited'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/**
 * What is recorded about one request: who (principal `User:alice`, groups, authenticator, source
 * address), what (method, path, verb), which object (kind, environment, name), the outcome with its
 * status and reason, the request id and the time. No bodies, headers or credentials, so no secret
 * value; `reason` is the client's error message, never a `CredentialRejected.reason`.
 */
export type AuditEvent = Omit<NewAuditEvent, 'id' | 'authenticator' | 'verb' | 'resourceKind' | 'outcome'> & {
  /** `none` when no credential was accepted. */
  authenticator: Authenticator | 'none';
  verb: Verb | null;
  resourceKind: Kind | null;
  outcome: AuditOutcome;
};

/** Options of an audit trail; `store` and `write` are its two sinks (CMF_AUDIT's `db` and `stdout`). */
export interface AuditTrailOptions {
  /** Where rows go; null to keep JSON lines only. */
  store: AuditEventStore | null;
  log: Logger;
  /** Where JSON lines go, one call per event with the line and its newline (default stdout); null for none. */
  write?: ((line: string) => void) | null;
  /** The longest an event waits before its batch is inserted (default 50 ms). */
  batchMs?: number;
  /** Rows per INSERT; a full batch is inserted at once (default 100). */
  batchSize?: number;
  /** Rows kept after an INSERT failed; beyond that the oldest are dropped, loudly (default 100 000). */
  maxPending?: number;
}

/** Longest wait between two attempts while inserts fail. */
const MAX_RETRY_MS = 5_000;

/** `event` with a new id and only the fields of its type (anything else a caller put in is left out). */
function entryOf(event: AuditEvent): NewAuditEvent {
  if (!(event.at instanceof Date) || Number.isNaN(event.at.getTime())) throw new TypeError('an audit event needs a valid time');
  if (!Number.isInteger(event.status)) throw new TypeError('an audit event needs an integer status');
  const entry: Record<string, unknown> = { id: randomUUID() };
  for (const field of AUDIT_EVENT_FIELDS) if (field !== 'id') entry[field] = storable(event[field]) ?? null;
  return entry as NewAuditEvent;
}

/**
 * PostgreSQL text and jsonb cannot hold U+0000 nor an unpaired surrogate (a certificate's CN or a
 * token's group could): either would fail every retry of its batch.
 */
function storable(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(storable);
  return value;
}

/**
 * The append-only audit trail. `record` writes the event's JSON line at once and queues its row;
 * rows are inserted in batches, one INSERT at a time, in the order recorded.
 *
 * A failed INSERT keeps its rows queued: it is logged and retried (with backoff, and on every
 * `flush`), so no row is lost while the process lives; each row carries an id, so a retry after an
 * INSERT whose reply was lost stores nothing twice. A crash loses the rows still queued (normally
 * under `batchMs` worth), but their JSON lines were already written: the log keeps every event.
 */
export class AuditTrail {
  private readonly store: AuditEventStore | null;
  private readonly log: Logger;
  private readonly write: ((line: string) => void) | null;
  private readonly batchMs: number;
  private readonly batchSize: number;
  private readonly maxPending: number;
  private pending: NewAuditEvent[] = [];
  /** Rows ever queued, and rows that left the queue (stored or dropped). */
  private queued = 0;
  private settled = 0;
  /** Consecutive failed inserts; while nonzero, only the retry timer and `flush` insert. */
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private closed = false;

  constructor(options: AuditTrailOptions) {
    this.store = options.store;
    this.log = options.log;
    this.write = options.write === undefined ? (line) => process.stdout.write(line) : options.write;
    this.batchMs = options.batchMs ?? 50;
    this.batchSize = options.batchSize ?? 100;
    this.maxPending = options.maxPending ?? 100_000;
  }

  /** Records one event: its JSON line now, its row within `batchMs`. Throws only on an event without a valid time or status. */
  record(event: AuditEvent): void {
    const entry = entryOf(event);
    this.write?.(`${JSON.stringify({ audit: entry })}\n`);
    if (!this.store) return;
    if (this.closed) {
      this.log.error('audit event recorded after the trail was closed: only its JSON line was written', { requestId: entry.requestId });
      return;
    }
    this.pending.push(entry);
    this.queued++;
    if (this.pending.length >= this.batchSize && this.failures === 0) this.drainInBackground();
    else this.arm(this.batchMs);
  }

  /**
   * Resolves when every event recorded before the call is stored. Rejects when an insert of its own
   * fails (the rows stay queued); an insert already in flight that fails is followed by its own.
   */
  async flush(): Promise<void> {
    const target = this.queued;
    while (this.settled < target) {
      const joined = this.inFlight !== undefined;
      try {
        await this.drain();
      } catch (err) {
        if (!joined) throw err;
      }
    }
  }

  /** Stops the timer and stores what is queued; events recorded afterwards get their JSON line only. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private arm(delayMs: number): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drainInBackground();
    }, delayMs);
    this.timer.unref();
  }

  private drainInBackground(): void {
    // a failure is logged and retried by insertQueued
    this.drain().catch(() => undefined);
  }

  /** Inserts the queue batch by batch until it is empty; callers share the one run in flight. */
  private drain(): Promise<void> {
    this.inFlight ??= this.insertQueued().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async insertQueued(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.slice(0, this.batchSize);
      try {
        await this.store!.insert(batch);
      } catch (err) {
        this.failures++;
        const retryMs = Math.min(this.batchMs * 2 ** this.failures, MAX_RETRY_MS);
        this.log.error('audit rows not stored yet, will retry', { rows: this.pending.length, retryMs, error: (err as Error).message });
        if (this.pending.length > this.maxPending) this.drop(this.pending.length - this.maxPending);
        clearTimeout(this.timer);
        this.timer = undefined;
        this.arm(retryMs);
        throw err;
      }
      this.pending.splice(0, batch.length);
      this.settled += batch.length;
      this.failures = 0;
    }
  }

  private drop(count: number): void {
    this.pending.splice(0, count);
    this.settled += count;
    this.log.error('audit rows dropped: the database has refused them too long; their JSON lines were written', { dropped: count });
  }
}
