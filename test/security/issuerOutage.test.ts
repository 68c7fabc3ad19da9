/**
 * An OIDC issuer that cannot be reached is drey's problem to report, not the caller's: its tokens
 * get 503 (retry), not 401, and do not count as failed authentications of the caller's address.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startSecureDrey, type SecureDrey } from '../support/secureDrey.js';

let world: SecureDrey;
beforeAll(async () => {
  // two failures a minute per address: a third 401 would be a 429
  world = await startSecureDrey({ CMF_AUTH_FAILURES_PER_MIN: '2' });
}, 120_000);
afterAll(async () => world?.stop());

it('tokens of an issuer that cannot be reached get 503, never 401 nor 429', async () => {
  const token = await world.issuer.mint({ sub: 'erin', groups: [] });
  await world.issuer.close();
  const client = await world.as({ token });
  for (let i = 0; i < 4; i++) {
    const res = await client.get('/drey/api/v1/whoami');
    expect({ status: res.status, body: res.body }).toEqual({ status: 503, body: { errors: [{ message: 'The token issuer cannot be reached; retry in a moment' }] } });
  }
  // the address was never counted as guessing: the bootstrap token still gets in
  expect((await (await world.as('bootstrap')).get('/drey/api/v1/whoami')).status).toBe(200);
});
