/**
 * Who may make API tokens, and acting as whom: a token's user must be new unless a super user makes
 * it, or a token maker could take over the role bindings of a user it was never given.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startSecureDrey, type Client, type SecureDrey } from '../support/secureDrey.js';

const TOKENS = '/drey/api/v1/api-tokens';
let world: SecureDrey;
let admin: Client;
let userAdmin: Client;

beforeAll(async () => {
  world = await startSecureDrey();
  admin = await world.as('bootstrap');
  userAdmin = await world.as({ mtls: 'ursula' });
  expect((await admin.post('/drey/api/v1/role-bindings', { principal: 'User:ursula', role: 'UserAdmin' })).status).toBe(201);
}, 120_000);
afterAll(async () => world?.stop());

it('a UserAdmin makes a token for a new token user, and it acts as that user', async () => {
  const made = await userAdmin.post(TOKENS, { metadata: { name: 'fresh-ci' } });
  expect(made.status).toBe(201);
  const whoami = await (await world.as({ token: made.body.token })).get('/drey/api/v1/whoami');
  expect(whoami.body).toMatchObject({ user: 'token:fresh-ci', superUser: false });
});

it('a UserAdmin may not make a token whose user already has role bindings', async () => {
  expect((await admin.post('/drey/api/v1/role-bindings', { principal: 'User:token:deploy', role: 'SystemAdmin' })).status).toBe(201);
  const res = await userAdmin.post(TOKENS, { metadata: { name: 'deploy' } });
  expect(res.status).toBe(403);
  expect(res.body.errors[0].message).toBe("User:ursula may not make a token that acts as 'token:deploy': only super users may give a token a user that has role bindings or tokens");
  expect((await admin.get(`${TOKENS}/deploy`)).status).toBe(404);
});

it("a UserAdmin may not make a token that shares another token's user, nor name another user", async () => {
  expect((await admin.post(TOKENS, { metadata: { name: 'shared-2026' }, spec: { principal: 'token:shared' } })).status).toBe(201);
  expect((await userAdmin.post(TOKENS, { metadata: { name: 'shared' } })).status).toBe(403);
  expect((await userAdmin.post(TOKENS, { metadata: { name: 'other-2026' }, spec: { principal: 'token:fresh-ci' } })).status).toBe(403);
  // a super user may: that is how a token is rotated without redoing its bindings
  expect((await admin.post(TOKENS, { metadata: { name: 'deploy' } })).status).toBe(201);
});
