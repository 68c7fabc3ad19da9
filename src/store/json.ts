import { Prisma } from '../generated/prisma/client.js';

/** A value for a nullable Json column: `undefined` and `null` both store SQL NULL. */
export function nullableJson(value: unknown): Prisma.InputJsonValue | typeof Prisma.DbNull {
  return value === undefined || value === null ? Prisma.DbNull : (value as Prisma.InputJsonValue);
}

/** A value for a required Json column. */
export function json(value: unknown): Prisma.InputJsonValue {
  return value as Prisma.InputJsonValue;
}
