/**
 * Secrets encrypted at rest: the table holds no plaintext, sealed data moved to another row does
 * not open, rotation re-wraps every row while the API keeps serving, and a wrong or missing key
 * stops drey at start with a clear message before it writes anything.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { start } from '../../src/main.js';
import { encryptionSettings, loadKeyring, type Keyring } from '../../src/security/keyring.js';
import { Encryption, verifyKeyring } from '../../src/security/sealing.js';
import { createPrismaClient, poolOf, type PrismaClient } from '../../src/store/client.js';
import { createStore } from '../../src/store/index.js';
import { startApi, apiClient, type TestApi } from '../support/api.js';
import { freshDatabase, query, storedEnvironment } from '../support/db.js';
import { FAST, inProcessConfig } from '../support/drey.js';
import { environment, secret, secretMapping } from '../support/fixtures.js';
import { SECRET } from '../support/hostile.js';

const SECRETS = '/cmf/api/v1/secrets';
const ENVS = '/cmf/api/v1/environments';

/** Every row of the Secret table, every column as text (bytea as hex), plus the bytea columns' raw bytes. */
async function tableDump(url: string): Promise<string> {
  const rows = await query<{ row: string; raw: string | null }>(
    url,
    `SELECT row_to_json(s)::text AS row, encode(s.ciphertext, 'escape') || encode(s."wrappedDek", 'escape') AS raw FROM "Secret" s ORDER BY id`,
  );
  return rows.map((r) => `${r.row}\n${r.raw ?? ''}`).join('\n');
}

/** The ways a value could show in a dump: as is, in base64, in hex. */
const encodings = (value: string) => [value, Buffer.from(value).toString('base64'), Buffer.from(value).toString('hex')];

/** A keyring as drey reads it from CMF_ENCRYPTION_KEYS, with every key in a variable. */
async function keyringOf(keys: Record<string, Buffer>): Promise<Keyring> {
  const env = Object.fromEntries(Object.entries(keys).map(([id, key]) => [`KEY_${id.toUpperCase()}`, key.toString('base64')]));
  return loadKeyring(encryptionSettings({ ...env, CMF_ENCRYPTION_KEYS: Object.keys(keys).map((id) => `${id}=env:KEY_${id.toUpperCase()}`).join(',') }, os.tmpdir()));
}

describe('the database holds no plaintext', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => api.close());

  it('a secret created and updated through the API is stored sealed: no column holds its values', async () => {
    const updated = `${SECRET}-updated`;
    expect((await api.post(SECRETS, secret('canary-creds', { password: SECRET, 'sasl.jaas.config': `password="${SECRET}";` }))).status).toBe(200);
    expect((await api.post(SECRETS, secret('updated-creds', { password: SECRET }))).status).toBe(200);
    expect((await api.put(`${SECRETS}/updated-creds`, secret('updated-creds', { password: updated }))).status).toBe(200);

    const dump = await tableDump(api.databaseUrl);
    expect(dump).toContain('canary-creds');
    for (const text of [...encodings(SECRET), ...encodings(updated)]) expect(dump).not.toContain(text);
    expect(await query(api.databaseUrl, 'SELECT name, data IS NULL AS plain_null, "kekId", length(ciphertext) > 28 AS sealed FROM "Secret" ORDER BY name')).toEqual([
      { name: 'canary-creds', plain_null: true, kekId: 'test', sealed: true },
      { name: 'updated-creds', plain_null: true, kekId: 'test', sealed: true },
    ]);
  });

  it('sealed data copied onto another row does not open there, and the error names that row only', async () => {
    await api.post(ENVS, environment('env-copy', 'ns-copy'));
    await api.post(SECRETS, secret('copy-a', { password: 'value-of-a' }));
    await api.post(SECRETS, secret('copy-b', { password: 'value-of-b' }));
    await api.post(`${ENVS}/env-copy/secret-mappings`, secretMapping('conn-b', 'copy-b'));
    const env = await api.prisma.environment.findUniqueOrThrow({ where: { name: 'env-copy' } });
    const store = createStore(api.prisma, { keyring: api.keyring });
    expect(await store.secretMappings.connectionSecrets(env.id)).toEqual({ 'conn-b': { password: 'value-of-b' } });

    await query(
      api.databaseUrl,
      `UPDATE "Secret" AS b SET "kekId" = a."kekId", "wrappedDek" = a."wrappedDek", ciphertext = a.ciphertext
       FROM "Secret" AS a WHERE a.name = 'copy-a' AND b.name = 'copy-b'`,
    );
    const failure = await store.secretMappings.connectionSecrets(env.id).then(
      () => undefined,
      (err: Error) => err.message,
    );
    expect(failure).toBe("Secret 'copy-b' cannot be decrypted: its sealed data does not belong to it");
  });
});

describe('rotation while the API serves', () => {
  const COUNT = 300;
  const WRITERS = 4;
  const READERS = 4;
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  let url: string;
  let prisma: PrismaClient;
  let envId: string;
  const nameOf = (i: number) => `rot-${String(i).padStart(3, '0')}`;

  beforeAll(async () => {
    url = await freshDatabase();
    prisma = createPrismaClient(url);
    const store = createStore(prisma, { keyring: await keyringOf({ k1 }) });
    envId = await storedEnvironment(store, 'env-rot');
    for (let i = 0; i < COUNT; i++) {
      const secretId = randomUUID();
      const at = new Date();
      await store.secrets.create({ id: secretId, name: nameOf(i), at, labels: null, annotations: null, data: { password: `pw-${i}-initial` } });
      await store.secretMappings.create({ id: randomUUID(), environmentId: envId, name: `conn-${i}`, secretId, at, labels: null, annotations: null });
    }
  });
  afterAll(async () => prisma.$disconnect());

  it('re-wraps every row under the new primary key with zero failed requests; then the new key alone opens everything', async () => {
    const rotated = await keyringOf({ k2, k1 });
    const api = await startApi({ databaseUrl: url, keyring: rotated });
    const encryption = new Encryption({ pool: poolOf(prisma), keyring: rotated, log: createLogger('error'), batch: 10 });
    const reader = createStore(prisma, { keyring: rotated }).secretMappings;
    const latest = new Map(Array.from({ length: COUNT }, (_, i) => [i, `pw-${i}-initial`]));
    const failures: string[] = [];
    let finished = false;
    let writes = 0;
    let reads = 0;

    // writer w owns the secrets i with i % WRITERS === w, so the last acknowledged PUT is what is stored
    const writer = async (w: number) => {
      for (let round = 0; round === 0 || !finished; round++) {
        for (let i = w; i < COUNT && (round === 0 || !finished); i += WRITERS) {
          const value = `pw-${i}-w${w}r${round}`;
          const res = await api.put(`${SECRETS}/${nameOf(i)}`, secret(nameOf(i), { password: value }));
          if (res.status === 200) latest.set(i, value);
          else failures.push(`PUT ${nameOf(i)} → ${res.status} ${res.text}`);
          writes++;
        }
      }
    };
    const readerLoop = async () => {
      do {
        try {
          const values = await reader.connectionSecrets(envId);
          const wrong = Array.from({ length: COUNT }, (_, i) => i).filter((i) => !values[`conn-${i}`]?.password?.startsWith(`pw-${i}-`));
          if (wrong.length) failures.push(`connectionSecrets gave wrong values for ${wrong.length} secrets`);
          const { rewrap } = await encryption.status();
          if (rewrap.done > rewrap.total) failures.push(`progress ${rewrap.done}/${rewrap.total}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
        reads++;
      } while (!finished);
    };

    try {
      const load = Promise.all([...Array.from({ length: WRITERS }, (_, w) => writer(w)), ...Array.from({ length: READERS }, () => readerLoop())]);
      const progress = await encryption.rewrap();
      finished = true;
      await load;

      expect(failures).toEqual([]);
      expect(progress).toMatchObject({ state: 'done', startedAt: expect.any(String), finishedAt: expect.any(String) });
      expect(progress.done).toBeLessThanOrEqual(progress.total);
      expect(writes).toBeGreaterThan(0);
      expect(reads).toBeGreaterThan(0);
      expect(await query(url, 'SELECT "kekId", count(*)::int AS n FROM "Secret" GROUP BY "kekId"')).toEqual([{ kekId: 'k2', n: COUNT }]);
      expect(await encryption.status()).toEqual({
        primaryKey: 'k2',
        keys: [
          { id: 'k2', secrets: COUNT },
          { id: 'k1', secrets: 0 },
        ],
        plaintext: 0,
        rewrap: progress,
      });
    } finally {
      finished = true;
      await encryption.close();
      await api.close();
    }

    const k2Only = await keyringOf({ k2 });
    await verifyKeyring({ pool: poolOf(prisma), keyring: k2Only });
    const values = await createStore(prisma, { keyring: k2Only }).secretMappings.connectionSecrets(envId);
    expect(values).toEqual(Object.fromEntries([...latest].map(([i, value]) => [`conn-${i}`, { password: value }])));
  });

  it('a second rewrap finds nothing to do', async () => {
    const encryption = new Encryption({ pool: poolOf(prisma), keyring: await keyringOf({ k2, k1 }), log: createLogger('error') });
    expect(await encryption.rewrap()).toMatchObject({ state: 'done', done: 0, total: 0 });
  });
});

describe('master key settings', () => {
  const material = randomBytes(32);

  it.each([
    ['16 bytes in base64 (AES-128)', randomBytes(16).toString('base64')],
    ['33 bytes in base64', randomBytes(33).toString('base64')],
    ['63 hex digits', material.toString('hex').slice(1)],
    ['base64 without padding', material.toString('base64').slice(0, -1)],
    ['raw bytes', material.toString('latin1')],
    ['an empty value', ''],
  ])('refuses %s, naming the key and not the material', (_what, value) => {
    const settings = () => encryptionSettings({ CMF_ENCRYPTION_KEYS: 'k1=env:K1', K1: value }, os.tmpdir());
    expect(settings).toThrow(new ConfigError("encryption key 'k1' must be 32 bytes as base64 (openssl rand -base64 32) or 64 hex digits"));
  });

  it.each([
    ['material pasted where the source goes', `k1=${material.toString('base64')}`, 'CMF_ENCRYPTION_KEYS entry 1 must be id=file:/path or id=env:VARIABLE'],
    ['an unset variable', 'k1=env:NOT_SET_ANYWHERE', "encryption key 'k1': the variable NOT_SET_ANYWHERE is not set"],
    ['an id twice', 'k1=env:K1,k1=env:K1', "CMF_ENCRYPTION_KEYS names the key 'k1' twice"],
  ])('refuses %s', (_what, keys, message) => {
    let thrown: unknown;
    try {
      encryptionSettings({ CMF_ENCRYPTION_KEYS: keys, K1: material.toString('hex') }, os.tmpdir());
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toContain(message);
    for (const text of [material.toString('base64'), material.toString('hex')]) expect((thrown as Error).message).not.toContain(text);
  });

  it('reads keys from files and variables in order, as base64 or hex; the first encrypts', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'drey-keys-'));
    try {
      const other = randomBytes(32);
      await writeFile(path.join(dir, 'k2.key'), `${other.toString('base64')}\n`, { mode: 0o600 });
      const keyring = await loadKeyring(encryptionSettings({ CMF_ENCRYPTION_KEYS: ` k2=file:${dir}/k2.key , k1=env:K1`, K1: material.toString('hex') }, dir));
      expect(keyring).toEqual({ primary: 'k2', keys: new Map([['k2', other], ['k1', material]]) });
      await expect(loadKeyring(encryptionSettings({ CMF_ENCRYPTION_KEYS: `k3=file:${dir}/missing.key` }, dir))).rejects.toThrow(
        new ConfigError(`encryption key 'k3': cannot read ${dir}/missing.key (ENOENT)`),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('drey refuses to start with a wrong or missing key, and writes nothing', () => {
  let databaseUrl: string;
  let dataDir: string;

  beforeEach(async () => {
    databaseUrl = await freshDatabase();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'drey-keys-'));
  });
  afterEach(async () => rm(dataDir, { recursive: true, force: true }));

  /** drey as `npm start` would run on this database and data directory, with `env`. */
  function startWith(env: Record<string, string>) {
    const config = inProcessConfig({ DATABASE_URL: databaseUrl, CMF_DATA_DIR: dataDir, CMF_CONTROLLERS: 'off', ...FAST, ...env });
    return start(config, createLogger('error', () => undefined));
  }

  /** Starts drey, stores a secret through its API, stops it. */
  async function storeSecretWith(env: Record<string, string>): Promise<void> {
    const drey = await startWith(env);
    try {
      expect((await apiClient(drey.url).post(SECRETS, secret('sealed-creds', { password: SECRET }))).status).toBe(200);
    } finally {
      await drey.stop();
    }
  }

  /** A row an older drey wrote: a start that got past the key checks would seal it. */
  async function insertPlaintextRow(): Promise<void> {
    await query(databaseUrl, `INSERT INTO "Secret" (id, name, data, "createdAt", "updatedAt") VALUES ($1, 'legacy-creds', '{"password":"legacy"}', now(), now())`, [randomUUID()]);
  }

  async function expectRefusal(env: Record<string, string>, message: string): Promise<void> {
    const before = await tableDump(databaseUrl);
    const failure = await startWith(env).then(
      async (drey) => {
        await drey.stop();
        return undefined;
      },
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as Error).message).toBe(message);
    expect(await tableDump(databaseUrl)).toBe(before);
  }

  it('refuses a wrong key under the same id, and a keyring without the id that sealed the rows', async () => {
    const key = (name: string) => path.join(dataDir, name);
    await writeFile(key('k1.key'), randomBytes(32).toString('base64'), { mode: 0o600 });
    await writeFile(key('wrong.key'), randomBytes(32).toString('hex'), { mode: 0o600 });
    await writeFile(key('k2.key'), randomBytes(32).toString('base64'), { mode: 0o600 });
    await storeSecretWith({ CMF_ENCRYPTION_KEYS: `k1=file:${key('k1.key')}` });
    await insertPlaintextRow();

    await expectRefusal({ CMF_ENCRYPTION_KEYS: `k1=file:${key('wrong.key')}` }, "key 'k1' does not open the secrets sealed with it: wrong key material for that id");
    await expectRefusal({ CMF_ENCRYPTION_KEYS: `k2=file:${key('k2.key')}` }, "1 secret is sealed with key 'k1', which CMF_ENCRYPTION_KEYS does not hold; add it back (keys: k2)");
    await expectRefusal(
      { CMF_ENCRYPTION_KEYS: `k2=file:${key('k2.key')},k1=file:${key('wrong.key')}` },
      "key 'k1' does not open the secrets sealed with it: wrong key material for that id",
    );
  });

  it('in local mode generates a key file of mode 0600, refuses it once others may read it, and never replaces a deleted one', async () => {
    const file = path.join(dataDir, 'encryption.key');
    await storeSecretWith({});
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const kept = await readFile(file);
    await insertPlaintextRow();

    await chmod(file, 0o644);
    await expectRefusal({}, `the encryption key file ${file} has mode 0644: other users may read it; chmod 600 it`);

    await unlink(file);
    await expectRefusal({}, `1 secret is sealed with key 'local', but its file ${file} is missing; restore it (drey makes a new key only while no secret is sealed)`);
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });

    // the file restored, drey starts and seals what the refused starts left alone
    await writeFile(file, kept, { mode: 0o600 });
    const drey = await startWith({});
    await drey.stop();
    expect(await query(databaseUrl, `SELECT name, "kekId" FROM "Secret" ORDER BY name`)).toEqual([
      { name: 'legacy-creds', kekId: 'local' },
      { name: 'sealed-creds', kekId: 'local' },
    ]);
  });
});
