import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../config.js';

/** AES-256: every master key is 32 bytes. */
const KEY_BYTES = 32;

/** The id of the key drey generates in its data directory when CMF_ENCRYPTION_KEYS is unset. */
export const LOCAL_KEY_ID = 'local';

/** Where a configured master key's material is read from: a file (read at start) or a variable (read with the config). */
export type KeySource = { id: string; file: string } | { id: string; variable: string; material: Buffer };

/**
 * The master keys as configured, validated without reading a file: `keys` are CMF_ENCRYPTION_KEYS
 * in order (the first encrypts); `local` is `<dataDir>/encryption.key` when the variable is unset.
 */
export type EncryptionSettings = { mode: 'keys'; keys: KeySource[] } | { mode: 'local'; file: string };

/**
 * The master keys drey holds. `primary` seals every write; all of `keys` open. `unsaved` names the
 * local key file this start generated and has not written yet: `verifyKeyring` writes it once no
 * sealed secret needs the key that file held.
 */
export interface Keyring {
  readonly primary: string;
  readonly keys: ReadonlyMap<string, Buffer>;
  readonly unsaved?: string;
}

/**
 * Key material as CMF's Kubernetes Secret holds it (32 bytes in base64) or as 64 hex digits; anything
 * else is refused. The message names the key, never the material.
 */
function material(id: string, text: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(trimmed)) return Buffer.from(trimmed, 'base64');
  throw new ConfigError(`encryption key '${id}' must be ${KEY_BYTES} bytes as base64 (openssl rand -base64 32) or 64 hex digits`);
}

/**
 * Parses CMF_ENCRYPTION_KEYS: `id=file:/path` or `id=env:VAR`, comma-separated, the first encrypting.
 * Unset means the local key in `dataDir`. Variables are read here; files by `loadKeyring`.
 */
export function encryptionSettings(env: NodeJS.ProcessEnv, dataDir: string): EncryptionSettings {
  const raw = env.CMF_ENCRYPTION_KEYS;
  if (raw === undefined || raw.trim() === '') return { mode: 'local', file: path.join(dataDir, 'encryption.key') };
  const keys = raw.split(',').map((entry, i): KeySource => {
    const match = /^\s*([A-Za-z0-9._-]{1,64})=(file|env):(.+?)\s*$/.exec(entry);
    // the entry is not echoed: a key pasted in by mistake must not reach the log
    if (!match) throw new ConfigError(`CMF_ENCRYPTION_KEYS entry ${i + 1} must be id=file:/path or id=env:VARIABLE (id: letters, digits, '.', '_', '-')`);
    const [, id, kind, where] = match as unknown as [string, string, string, string];
    if (kind === 'file') return { id, file: path.resolve(where) };
    const value = env[where];
    if (value === undefined) throw new ConfigError(`encryption key '${id}': the variable ${where} is not set`);
    return { id, variable: where, material: material(id, value) };
  });
  const ids = keys.map((k) => k.id);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice !== undefined) throw new ConfigError(`CMF_ENCRYPTION_KEYS names the key '${twice}' twice`);
  return { mode: 'keys', keys };
}

/** The local key file's material, or undefined when it is missing; a file other users may read is refused. */
async function readLocalKey(file: string): Promise<Buffer | undefined> {
  let mode: number;
  try {
    mode = (await stat(file)).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(`the encryption key file ${file} has mode ${mode.toString(8).padStart(4, '0')}: other users may read it; chmod 600 it`);
  }
  return material(LOCAL_KEY_ID, await readFile(file, 'utf8'));
}

/**
 * Reads the master keys. In local mode a missing key file gets a new key, kept in memory until
 * `verifyKeyring` has checked that no sealed secret needs the lost one.
 */
export async function loadKeyring(settings: EncryptionSettings): Promise<Keyring> {
  if (settings.mode === 'local') {
    const existing = await readLocalKey(settings.file);
    if (existing) return { primary: LOCAL_KEY_ID, keys: new Map([[LOCAL_KEY_ID, existing]]) };
    return { primary: LOCAL_KEY_ID, keys: new Map([[LOCAL_KEY_ID, randomBytes(KEY_BYTES)]]), unsaved: settings.file };
  }
  const keys = new Map<string, Buffer>();
  for (const source of settings.keys) {
    if ('material' in source) {
      keys.set(source.id, source.material);
      continue;
    }
    let text: string;
    try {
      text = await readFile(source.file, 'utf8');
    } catch (err) {
      throw new ConfigError(`encryption key '${source.id}': cannot read ${source.file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    keys.set(source.id, material(source.id, text));
  }
  return { primary: settings.keys[0]!.id, keys };
}

/** Writes a generated local key with mode 0600, never over an existing file. */
export async function saveLocalKey(keyring: Keyring): Promise<void> {
  if (!keyring.unsaved) return;
  await mkdir(path.dirname(keyring.unsaved), { recursive: true });
  await writeFile(keyring.unsaved, `${keyring.keys.get(keyring.primary)!.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
}
