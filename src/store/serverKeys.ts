import { randomBytes } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.js';

/** Keys every replica shares: made by whichever replica asks first, then read by all. */
export function serverKeyStore(db: PrismaClient) {
  return {
    /** The 32 random bytes stored under `name`, made now if there are none yet. */
    async get(name: string): Promise<Buffer> {
      await db.$executeRaw`
        INSERT INTO "ServerKey" (name, value, "createdAt") VALUES (${name}, ${randomBytes(32).toString('base64')}, now())
        ON CONFLICT (name) DO NOTHING`;
      const row = await db.serverKey.findUniqueOrThrow({ where: { name } });
      return Buffer.from(row.value, 'base64');
    },
  };
}
