/** Envelope encryption of secret data: AES-256-GCM under a fresh data key, bound to its row. */
import { open, seal, SealedDataError, type Sealed } from '../../src/security/envelope.js';
import type { Keyring } from '../../src/security/keyring.js';
import { ephemeralKeyring } from '../support/keyring.js';

const A = { id: '11111111-1111-4111-8111-111111111111', name: 'creds-a' };
const B = { id: '22222222-2222-4222-8222-222222222222', name: 'creds-b' };
const DATA = { 'sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule password="s3cr3t-VALUE";', other: 'ümlaut ✓' };

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** `sealed` with one byte flipped at `at` of `column`. */
function flipped(sealed: Sealed, column: 'wrappedDek' | 'ciphertext', at: number): Sealed {
  const bytes = Buffer.from(sealed[column]);
  bytes[at] = bytes[at]! ^ 0x01;
  return { ...sealed, [column]: bytes };
}

/** The message `open` throws, which must name the row and hold no value. */
function openError(keyring: Keyring, row: Parameters<typeof open>[1]): string {
  try {
    open(keyring, row);
  } catch (err) {
    expect(err).toBeInstanceOf(SealedDataError);
    const message = (err as Error).message;
    for (const value of Object.values(DATA)) expect(message).not.toContain(value);
    return message;
  }
  throw new Error('open succeeded');
}

describe('envelope encryption', () => {
  const keyring = ephemeralKeyring(['k1']);

  it('opens what it sealed, under the primary key', () => {
    const sealed = seal(keyring, A, DATA);
    expect(sealed.kekId).toBe('k1');
    expect(open(keyring, { ...A, ...sealed })).toEqual(DATA);
    expect(Buffer.from(sealed.ciphertext).toString('latin1')).not.toContain('s3cr3t');
  });

  it('uses a fresh data key and fresh IVs for every seal of the same data', () => {
    const [one, two] = [seal(keyring, A, DATA), seal(keyring, A, DATA)];
    expect(hex(one.wrappedDek)).not.toBe(hex(two.wrappedDek));
    expect(hex(one.ciphertext)).not.toBe(hex(two.ciphertext));
    expect(hex(one.wrappedDek).slice(0, 24)).not.toBe(hex(two.wrappedDek).slice(0, 24));
    expect(hex(one.ciphertext).slice(0, 24)).not.toBe(hex(two.ciphertext).slice(0, 24));
    // the data key differs too: one row's wrapped key does not open the other's ciphertext
    expect(openError(keyring, { ...A, ...one, wrappedDek: two.wrappedDek })).toBe("Secret 'creds-a' cannot be decrypted: its sealed data does not belong to it");
  });

  it.each([
    ['the IV of the wrapped key', 'wrappedDek', 0],
    ['the wrapped key', 'wrappedDek', 20],
    ['the tag of the wrapped key', 'wrappedDek', 12 + 32 + 3],
    ['the IV of the data', 'ciphertext', 0],
    ['the data', 'ciphertext', 14],
    ['the tag of the data', 'ciphertext', -1],
  ] as const)('refuses sealed data with a byte of %s changed', (_what, column, at) => {
    const sealed = seal(keyring, A, DATA);
    const index = at < 0 ? sealed[column].length + at : at;
    expect(openError(keyring, { ...A, ...flipped(sealed, column, index) })).toBe("Secret 'creds-a' cannot be decrypted: its sealed data does not belong to it");
  });

  it('refuses truncated sealed data', () => {
    const sealed = seal(keyring, A, DATA);
    expect(openError(keyring, { ...A, ...sealed, ciphertext: sealed.ciphertext.subarray(0, 20) })).toMatch(/^Secret 'creds-a' cannot be decrypted/);
  });

  it('refuses sealed data moved to another row, or to another name', () => {
    const sealed = seal(keyring, A, DATA);
    expect(openError(keyring, { ...B, ...sealed })).toBe("Secret 'creds-b' cannot be decrypted: its sealed data does not belong to it");
    expect(openError(keyring, { ...A, name: 'renamed', ...sealed })).toBe("Secret 'renamed' cannot be decrypted: its sealed data does not belong to it");
  });

  it('refuses a wrong master key under the same id, and a wrapped key relabelled with another key id', () => {
    const sealed = seal(keyring, A, DATA);
    expect(openError(ephemeralKeyring(['k1']), { ...A, ...sealed })).toBe("Secret 'creds-a' cannot be decrypted: its sealed data does not belong to it");
    // the same material under another id: the key id is bound into the wrapping
    const relabelled: Keyring = { primary: 'k1', keys: new Map([...keyring.keys, ['k9', keyring.keys.get('k1')!]]) };
    expect(openError(relabelled, { ...A, ...sealed, kekId: 'k9' })).toBe("Secret 'creds-a' cannot be decrypted: its sealed data does not belong to it");
  });

  it('names the missing key when the keyring lacks the one that sealed the row', () => {
    const sealed = seal(keyring, A, DATA);
    expect(openError(ephemeralKeyring(['k2']), { ...A, ...sealed })).toBe(
      "Secret 'creds-a' cannot be decrypted: it is sealed with key 'k1', which the keyring does not hold",
    );
  });

  it('any key of the keyring opens; new seals use the first', () => {
    const rotated: Keyring = { primary: 'k2', keys: new Map([['k2', ephemeralKeyring().keys.get('test')!], ['k1', keyring.keys.get('k1')!]]) };
    const old = seal(keyring, A, DATA);
    expect(open(rotated, { ...A, ...old })).toEqual(DATA);
    const fresh = seal(rotated, B, DATA);
    expect(fresh.kekId).toBe('k2');
    expect(open(rotated, { ...B, ...fresh })).toEqual(DATA);
  });
});
