import { environment, secret, secretMapping } from '../support/fixtures.js';
import { startApi, type TestApi } from '../support/api.js';
import { storedSecretData } from '../support/keyring.js';

const SECRETS = '/cmf/api/v1/secrets';
const ENVS = '/cmf/api/v1/environments';
const mappings = (env: string) => `${ENVS}/${env}/secret-mappings`;
const VALUE = 'TOP-SECRET-VALUE-1';
let api: TestApi;

beforeAll(async () => {
  api = await startApi();
  await api.post(ENVS, environment('env-a', 'ns-a'));
  await api.post(ENVS, environment('env-b', 'ns-b'));
});
afterAll(async () => api.close());

/** Everything drey said over HTTP and in its log must be free of secret values. */
function expectNoSecretValues(...texts: string[]) {
  for (const text of [...texts, ...api.logs]) expect(text).not.toContain(VALUE);
}

describe('secrets', () => {
  it('creates a secret with 200 and never returns its data', async () => {
    const res = await api.post(SECRETS, secret('kafka-creds'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ kind: 'Secret', metadata: { name: 'kafka-creds' }, spec: {}, status: { version: '1', environments: [] } });
    const got = await api.get(`${SECRETS}/kafka-creds`);
    const yamlGot = await api.get(`${SECRETS}/kafka-creds`, { acceptYaml: true });
    const list = await api.get(SECRETS);
    expect(list.body.items.map((s: any) => s.metadata.name)).toContain('kafka-creds');
    expectNoSecretValues(res.text, got.text, yamlGot.text, list.text);
    expect(await storedSecretData(api.prisma, api.keyring, 'kafka-creds')).toEqual({ 'sasl.jaas.config': VALUE });
  });

  it('answers 409 for a duplicate secret and keeps the first', async () => {
    const res = await api.post(SECRETS, secret('kafka-creds', { other: 'x' }));
    expect(res.status).toBe(409);
    expect(await storedSecretData(api.prisma, api.keyring, 'kafka-creds')).toEqual({ 'sasl.jaas.config': VALUE });
  });

  it('updates a secret with PUT, bumping its version', async () => {
    await api.post(SECRETS, secret('updatable'));
    const res = await api.put(`${SECRETS}/updatable`, secret('updatable', { 'sasl.jaas.config': 'TOP-SECRET-VALUE-1-new' }));
    expect(res.status).toBe(200);
    expect(res.body.status.version).toBe('2');
    expectNoSecretValues(res.text);
    expect(await storedSecretData(api.prisma, api.keyring, 'updatable')).toEqual({ 'sasl.jaas.config': 'TOP-SECRET-VALUE-1-new' });
  });

  it('answers 404 to update or delete a missing secret and 422 for a name that disagrees with the path', async () => {
    expect((await api.put(`${SECRETS}/missing-secret`, secret('missing-secret'))).status).toBe(404);
    expect((await api.delete(`${SECRETS}/missing-secret`)).status).toBe(404);
    expect((await api.get(`${SECRETS}/missing-secret`)).status).toBe(404);
    expect((await api.put(`${SECRETS}/updatable`, secret('another-name'))).status).toBe(422);
  });

  it('deletes an unmapped secret with 204', async () => {
    await api.post(SECRETS, secret('short-lived'));
    expect((await api.delete(`${SECRETS}/short-lived`)).status).toBe(204);
    expect((await api.get(`${SECRETS}/short-lived`)).status).toBe(404);
  });
});

describe('environment secret mappings', () => {
  it('maps a secret into environments, shown in the secret status and the environment', async () => {
    const res = await api.post(mappings('env-a'), secretMapping('kafka-conn', 'kafka-creds'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ kind: 'EnvironmentSecretMapping', metadata: { name: 'kafka-conn' }, spec: { secretName: 'kafka-creds' } });
    await api.post(mappings('env-b'), secretMapping('kafka-conn', 'kafka-creds'));
    const s = await api.get(`${SECRETS}/kafka-creds`);
    expect(s.body.status.environments).toEqual(['env-a', 'env-b']);
    const env = await api.get(`${ENVS}/env-a`);
    expect(env.body.secrets).toEqual({ 'kafka-conn': 'kafka-creds' });
    expect((await api.get(`${mappings('env-a')}/kafka-conn`)).body.spec.secretName).toBe('kafka-creds');
    expect((await api.get(mappings('env-a'))).body.items).toHaveLength(1);
  });

  it('answers 409 for a duplicate mapping, 404 for a missing environment or secret', async () => {
    expect((await api.post(mappings('env-a'), secretMapping('kafka-conn', 'kafka-creds'))).status).toBe(409);
    expect((await api.post(mappings('env-none'), secretMapping('kafka-conn2', 'kafka-creds'))).status).toBe(404);
    expect((await api.post(mappings('env-a'), secretMapping('kafka-conn3', 'no-such-secret'))).status).toBe(404);
    expect((await api.get(mappings('env-none'))).status).toBe(404);
    expect((await api.get(`${mappings('env-a')}/kafka-conn3`)).status).toBe(404);
  });

  it('updates a mapping to another secret with PUT', async () => {
    await api.post(SECRETS, secret('other-creds'));
    const res = await api.put(`${mappings('env-b')}/kafka-conn`, secretMapping('kafka-conn', 'other-creds'));
    expect(res.status).toBe(200);
    expect(res.body.spec.secretName).toBe('other-creds');
    expect((await api.put(`${mappings('env-b')}/no-mapping`, secretMapping('no-mapping', 'other-creds'))).status).toBe(404);
    expect((await api.put(`${mappings('env-b')}/kafka-conn`, secretMapping('kafka-conn', 'no-such-secret'))).status).toBe(404);
    expect((await api.put(`${mappings('env-b')}/kafka-conn`, secretMapping('wrong-name', 'other-creds'))).status).toBe(422);
  });

  it('a mapped secret cannot be deleted (409 naming the environments); unmapped it can', async () => {
    const res = await api.delete(`${SECRETS}/kafka-creds`);
    expect(res.status).toBe(409);
    expect(res.body.errors[0].message).toContain('env-a');
    expect((await api.delete(`${mappings('env-a')}/kafka-conn`)).status).toBe(204);
    expect((await api.delete(`${mappings('env-a')}/kafka-conn`)).status).toBe(404);
    expect((await api.delete(`${SECRETS}/kafka-creds`)).status).toBe(204);
  });

  it('an environment holding a mapping cannot be deleted', async () => {
    const res = await api.delete(`${ENVS}/env-b`);
    expect(res.status).toBe(409);
    expect(res.body.errors[0].message).toMatch(/secret mappings kafka-conn/);
  });
});
