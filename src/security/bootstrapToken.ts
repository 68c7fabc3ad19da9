import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../configError.js';
import type { Principal } from './principal.js';

/**
 * The user the bootstrap token acts as; configuration makes it a super user. Names starting
 * `system:` are drey's own, so no certificate or OIDC token can claim it.
 */
export const BOOTSTRAP_USER = 'system:bootstrap';

/**
 * The token of `CMF_BOOTSTRAP_TOKEN_FILE`: how the first administrator of an install with API tokens
 * only gets in (to bind roles and make tokens), like Kubernetes' bootstrap tokens. It must look like
 * an API token (`drey_` and at least 32 more characters), so it is routed to the token check.
 */
export async function loadBootstrapToken(file: string): Promise<(token: string) => Principal | undefined> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new ConfigError(`CMF_BOOTSTRAP_TOKEN_FILE ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!/^drey_[A-Za-z0-9_-]{32,}$/.test(text)) {
    throw new ConfigError(`CMF_BOOTSTRAP_TOKEN_FILE ${file} must hold one token: drey_ and at least 32 letters, digits, '_' or '-'`);
  }
  const digest = createHash('sha256').update(text).digest();
  return (token) =>
    timingSafeEqual(createHash('sha256').update(token).digest(), digest) ? { user: BOOTSTRAP_USER, groups: [], authenticator: 'apiToken' } : undefined;
}
