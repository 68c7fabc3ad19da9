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

/**
 * Runs a store operation, translating Prisma's error codes into drey's errors:
 * a unique violation is a Conflict, a missing record is NotFound. Anything else propagates.
 */
export async function translate<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError) {
      if (err.code === 'P2002') throw new AlreadyExists(what);
      if (err.code === 'P2025') throw new NotFound(`${what} not found`);
      if (err.code === 'P2003') throw new Conflict(`${what} is still referenced`);
    }
    throw err;
  }
}
