/**
 * Rotation as an operator does it, through drey's own API: drey restarted with a new first key
 * rewraps every secret by itself while it serves, `GET /drey/api/v1/encryption` shows the progress,
 * `POST /drey/api/v1/encryption/rewrap` starts another pass, and only administrators may do either.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { freshDatabase, query } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { secret } from '../support/fixtures.js';
import { startSecureDrey, type SecureDrey } from '../support/secureDrey.js';

const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
let databaseUrl: string;
let world: SecureDrey | undefined;

beforeAll(async () => {
  databaseUrl = await freshDatabase();
  // first life: key k1 seals 30 secrets
  const first = await startSecureDrey({ DATABASE_URL: databaseUrl, K1, K2, CMF_ENCRYPTION_KEYS: 'k1=env:K1' });
  const admin = await first.as('bootstrap');
  for (let i = 0; i < 30; i++) expect((await admin.post('/cmf/api/v1/secrets', secret(`rotated-${i}`, { password: `value-${i}` }))).status).toBe(200);
  await first.stop();
  // second life: k2 first, k1 still there to open what it sealed
  world = await startSecureDrey({ DATABASE_URL: databaseUrl, K1, K2, CMF_ENCRYPTION_KEYS: 'k2=env:K2,k1=env:K1' });
}, 180_000);
afterAll(async () => world?.stop());

it('a new first key rewraps every secret by itself; the API shows it and keeps serving', async () => {
  const admin = await world!.as('bootstrap');
  const status = await eventually('the rewrap to finish', async () => {
    const res = await admin.get('/drey/api/v1/encryption');
    expect(res.status).toBe(200);
    expect(res.body.rewrap.state).toBe('done');
    return res.body;
  });
  expect(status).toMatchObject({ primaryKey: 'k2', plaintext: 0, keys: [{ id: 'k2', secrets: 30 }, { id: 'k1', secrets: 0 }] });
  expect(status.rewrap).toMatchObject({ done: 30, total: 30 });
  expect(await query(databaseUrl, `SELECT "kekId", count(*)::int AS n FROM "Secret" GROUP BY "kekId"`)).toEqual([{ kekId: 'k2', n: 30 }]);
  // the secrets still serve and update under the new key
  expect((await admin.put('/cmf/api/v1/secrets/rotated-0', secret('rotated-0', { password: 'changed' }))).status).toBe(200);
});

it('POST /encryption/rewrap starts a pass and answers 202 with its progress', async () => {
  const admin = await world!.as('bootstrap');
  const res = await admin.post('/drey/api/v1/encryption/rewrap');
  expect(res.status).toBe(202);
  expect(['running', 'done']).toContain(res.body.rewrap.state);
  const after = await eventually('the second pass to finish', async () => {
    const body = (await admin.get('/drey/api/v1/encryption')).body;
    return body.rewrap.state === 'done' && body.rewrap;
  });
  expect(after).toMatchObject({ done: 0, total: 0 });
});

it('only administrators may see or start a rewrap', async () => {
  const admin = await world!.as('bootstrap');
  const nobody = await world!.as({ mtls: 'carol' });
  const owner = await world!.as({ mtls: 'dave' });
  expect((await admin.post('/drey/api/v1/role-bindings', { principal: 'User:dave', role: 'ClusterAdmin' })).status).toBe(201);
  for (const client of [nobody, owner]) {
    const get = await client.get('/drey/api/v1/encryption');
    const post = await client.post('/drey/api/v1/encryption/rewrap');
    expect([get.status, post.status]).toEqual([403, 403]);
  }
  expect((await admin.post('/drey/api/v1/role-bindings', { principal: 'User:carol', role: 'SystemAdmin' })).status).toBe(201);
  expect((await nobody.get('/drey/api/v1/encryption')).status).toBe(200);
});
