import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startSecureDrey, type SecureDrey } from '../support/secureDrey.js';

let world: SecureDrey;
beforeAll(async () => {
  world = await startSecureDrey();
}, 120_000);
afterAll(async () => world?.stop());

it('smoke', async () => {
  const none = await world.as('none');
  const r0 = await none.get('/cmf/api/v1/environments');
  console.log(r0.status, r0.headers.get('www-authenticate'), r0.headers.get('x-request-id'), r0.text);
  const boot = await world.as('bootstrap');
  console.log((await boot.get('/drey/api/v1/whoami')).text);
  const alice = await world.as({ mtls: 'alice', groups: ['ops'] });
  console.log((await alice.get('/drey/api/v1/whoami')).text);
  const bob = await world.as({ oidc: 'bob', groups: ['dev'] });
  console.log((await bob.get('/drey/api/v1/whoami')).text);
  console.log((await boot.post('/cmf/api/v1/environments', { name: 'env-a', kubernetesNamespace: 'ns-a' })).status);
  console.log((await alice.get('/cmf/api/v1/environments/env-a')).text);
  const rb = await boot.post('/drey/api/v1/role-bindings', { principal: 'Group:ops', role: 'DeveloperRead', environment: 'env-a', resource: { resourceType: 'FlinkApplication', name: '*' } });
  console.log(rb.status, rb.text);
  console.log((await alice.get('/cmf/api/v1/environments/env-a')).text);
  console.log((await alice.get('/cmf/api/v1/environments')).text);
  console.log((await alice.get('/cmf/api/v1/environments/env-a/applications')).text);
  console.log((await alice.post('/cmf/api/v1/environments/env-a/applications', { apiVersion: 'cmf.confluent.io/v1', kind: 'FlinkApplication', metadata: { name: 'app1' }, spec: {} })).text);
  const tok = await boot.post('/drey/api/v1/api-tokens', { metadata: { name: 'ci' } });
  console.log(tok.status, tok.text);
  const ci = await world.as({ token: tok.body.token });
  console.log((await ci.get('/drey/api/v1/whoami')).text);
  console.log((await boot.get('/drey/api/v1/audit-events?limit=5')).text);
  expect(true).toBe(true);
}, 60_000);
