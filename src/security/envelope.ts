import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring } from './keyring.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A secret's data at rest: sealed under a fresh data key, which is wrapped by the master key `kekId`. */
export interface Sealed {
  kekId: string;
  wrappedDek: Uint8Array<ArrayBuffer>;
  ciphertext: Uint8Array<ArrayBuffer>;
}

/** Sealed columns as read back (by Prisma or node-postgres). */
type SealedIn = { [K in keyof Sealed]: K extends 'kekId' ? string : Uint8Array };

/** The row a sealed value belongs to: both are bound into the encryption, so it opens in no other row. */
export interface SecretRef {
  id: string;
  name: string;
}

/** A sealed secret that cannot be opened; the message names the secret and never a value. */
export class SealedDataError extends Error {}

/** The format version lives in the AAD, so a later format can change everything after it. */
const secretAad = (ref: SecretRef) => Buffer.from(`drey/v1/secret/${ref.id}/${ref.name}`);
const dekAad = (id: string, kekId: string) => Buffer.from(`drey/v1/dek/${id}/${kekId}`);

/** iv ‖ AES-256-GCM(key, iv, plain, aad) ‖ tag, in a fresh (never shared) buffer. */
function encrypt(key: Buffer, plain: Buffer, aad: Buffer): Buffer<ArrayBuffer> {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
  return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]) as Buffer<ArrayBuffer>;
}

/** The plaintext of `encrypt`'s output, or undefined when it fails authentication. */
function decrypt(key: Buffer, sealed: Uint8Array, aad: Buffer): Buffer | undefined {
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (bytes.length < IV_BYTES + TAG_BYTES) return undefined;
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES)).setAAD(aad);
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return undefined;
  }
}

function masterKey(keyring: Keyring, kekId: string, ref: SecretRef): Buffer {
  const key = keyring.keys.get(kekId);
  if (!key) throw new SealedDataError(`Secret '${ref.name}' cannot be decrypted: it is sealed with key '${kekId}', which the keyring does not hold`);
  return key;
}

/** Wraps a data key under the primary master key, bound to the row id and the key id. */
function wrap(keyring: Keyring, id: string, dek: Buffer): Pick<Sealed, 'kekId' | 'wrappedDek'> {
  const kekId = keyring.primary;
  return { kekId, wrappedDek: encrypt(keyring.keys.get(kekId)!, dek, dekAad(id, kekId)) };
}

/** The row's data key; a wrong master key and a wrapped key from another row fail alike. */
export function unwrapDek(keyring: Keyring, row: SecretRef & Pick<SealedIn, 'kekId' | 'wrappedDek'>): Buffer {
  const dek = decrypt(masterKey(keyring, row.kekId, row), row.wrappedDek, dekAad(row.id, row.kekId));
  if (!dek) throw new SealedDataError(`Secret '${row.name}' cannot be decrypted: its sealed data does not belong to it`);
  return dek;
}

/** Seals `data` for the row `ref` under a fresh data key wrapped by the primary master key. */
export function seal(keyring: Keyring, ref: SecretRef, data: Record<string, string>): Sealed {
  const dek = randomBytes(32);
  return { ...wrap(keyring, ref.id, dek), ciphertext: encrypt(dek, Buffer.from(JSON.stringify(data)), secretAad(ref)) };
}

/** The data `seal` sealed for this very row; sealed data of another row, or tampered with, throws. */
export function open(keyring: Keyring, row: SecretRef & SealedIn): Record<string, string> {
  const plain = decrypt(unwrapDek(keyring, row), row.ciphertext, secretAad(row));
  if (!plain) throw new SealedDataError(`Secret '${row.name}' cannot be decrypted: its sealed data does not belong to it`);
  return JSON.parse(plain.toString('utf8')) as Record<string, string>;
}

/** The row's data key wrapped anew under the primary master key; the data itself is not touched. */
export function rewrapDek(keyring: Keyring, row: SecretRef & Pick<SealedIn, 'kekId' | 'wrappedDek'>): Pick<Sealed, 'kekId' | 'wrappedDek'> {
  return wrap(keyring, row.id, unwrapDek(keyring, row));
}
