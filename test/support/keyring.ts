import { randomBytes } from 'node:crypto';
import { open } from '../../src/security/envelope.js';
import type { Keyring } from '../../src/security/keyring.js';
import type { PrismaClient } from '../../src/store/client.js';

/** A keyring of fresh random master keys held in memory only; the first id encrypts. */
export function ephemeralKeyring(ids: string[] = ['test']): Keyring {
  return { primary: ids[0]!, keys: new Map(ids.map((id) => [id, randomBytes(32)])) };
}

/**
 * The data stored for the secret `name`, opened with the keyring that sealed it: what tests that
 * once read the plaintext column compare. Undefined when there is no such secret.
 */
export async function storedSecretData(prisma: PrismaClient, keyring: Keyring, name: string): Promise<Record<string, string> | undefined> {
  const row = await prisma.secret.findUnique({ where: { name } });
  if (!row) return undefined;
  const { kekId, wrappedDek, ciphertext } = row;
  if (kekId === null || wrappedDek === null || ciphertext === null) throw new Error(`Secret '${name}' is stored in plaintext`);
  return open(keyring, { id: row.id, name, kekId, wrappedDek, ciphertext });
}
