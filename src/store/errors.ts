import pg from 'pg';
import { Prisma } from '../generated/prisma/client.js';
import { Conflict, NotFound } from '../domain/errors.js';

/** Thrown by a versioned update that found the row changed since it was read. */
export class StaleWrite extends Conflict {
  constructor(what: string) {
    super(`${what} was changed by another request; retry`);
  }
}

/** Thrown by a create whose unique name is taken. */
export class AlreadyExists extends Conflict {
  constructor(what: string) {
    super(`${what} already exists`);
  }
}

/** PostgreSQL's SQLSTATEs of a unique and a foreign key violation, as node-postgres reports them. */
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

/**
 * Runs a store operation, translating Prisma's error codes (for its own calls and raw SQL alike)
 * and node-postgres's SQLSTATEs into drey's errors: a unique violation is a Conflict, a missing
 * record is NotFound. Anything else propagates.
 */
export async function translate<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError) {
      // raw SQL (P2010) names the violation in the driver adapter's error kind
      const kind = (err.meta as { driverAdapterError?: { cause?: { kind?: string } } } | undefined)?.driverAdapterError?.cause?.kind;
      if (err.code === 'P2002' || kind === 'UniqueConstraintViolation') throw new AlreadyExists(what);
      if (err.code === 'P2025') throw new NotFound(`${what} not found`);
      if (err.code === 'P2003' || kind === 'ForeignKeyConstraintViolation') throw new Conflict(`${what} is still referenced`);
    }
    if (err instanceof pg.DatabaseError) {
      if (err.code === UNIQUE_VIOLATION) throw new AlreadyExists(what);
      if (err.code === FOREIGN_KEY_VIOLATION) throw new Conflict(`${what} is still referenced`);
    }
    throw err;
  }
}

/** Prisma's codes for a database that cannot be reached or answered too late, and the network's. */
const UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
/** What the pg driver adapter calls a lost or refused connection. */
const UNAVAILABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/** PostgreSQL's SQLSTATE classes for the same: connection exceptions, shutdown, start-up, recovery. */
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-4]|53300)/;
/** Messages of the node-postgres driver for a connection that broke. */
const UNAVAILABLE_MESSAGES = /Connection terminated|Client has encountered a connection error|ECONNREFUSED|ECONNRESET|Can't reach database server|timeout exceeded when trying to connect/i;

/**
 * Whether an error means the database is down or unreachable (rather than a query being wrong):
 * such a request may succeed when retried, and the API answers it with 503.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const { code, meta, cause, message } = e as { code?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: string; originalCode?: string } } }; cause?: unknown; message?: unknown };
    if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
    const adapter = meta?.driverAdapterError?.cause;
    if (adapter?.kind && UNAVAILABLE_KINDS.has(adapter.kind)) return true;
    if (adapter?.originalCode && UNAVAILABLE_SQLSTATE.test(adapter.originalCode)) return true;
    // only errors without a code: a coded error's message may quote the query's arguments
    if (typeof code !== 'string' && typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true;
    e = cause ?? (e as { driverAdapterError?: unknown }).driverAdapterError;
  }
  return false;
}
