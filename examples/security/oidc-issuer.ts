/**
 * A throwaway OIDC issuer on this machine, for trying drey's bearer tokens without an identity
 * provider: it serves discovery and its keys on loopback, prints the settings drey needs, and prints
 * a token for each `user:group` given. Not for production: it signs whatever it is asked to.
 *
 *   npx tsx examples/security/oidc-issuer.ts alice:platform bob:dev
 */
import { startIssuer } from '../../test/support/oidc.js';

const issuer = await startIssuer({ audience: 'drey' });
for (const [name, value] of Object.entries(issuer.env())) console.log(`export ${name}=${value}`);
for (const arg of process.argv.slice(2).length ? process.argv.slice(2) : ['alice:platform']) {
  const [user, ...groups] = arg.split(':');
  const token = await issuer.mint({ sub: user, groups, exp: Math.floor(Date.now() / 1000) + 3600 });
  console.log(`# ${user}: ${token}`);
}
console.log('# serving until interrupted');
