/**
 * The hostile-input suite (test/api/hostile.test.ts) with authentication on: one drey over TLS with
 * every authenticator, each hostile body sent once as the super user `bootstrap` (the endpoints in
 * turn), every endpoint's own bad bodies, and then every one of them again without a credential or
 * with a forged token, which must get the same 401 before its body is read.
 */
import { choosePosture } from '../support/hostileTarget.js';

choosePosture('authenticated');
await import('../api/hostile.test.js');
