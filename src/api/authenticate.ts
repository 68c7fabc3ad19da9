import type { TLSSocket } from 'node:tls';
import type { Request, RequestHandler } from 'express';
import { ServiceUnavailable, Unauthorized } from '../domain/errors.js';
import { certificatePrincipal, type MappingRules } from '../security/mtls.js';
import { CredentialRejected, type Principal } from '../security/principal.js';
import { requestLog } from './requestId.js';

/** Something that turns a bearer token into a principal, or throws CredentialRejected. */
export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

/** The ways a caller may prove who it is; each is off when absent. */
export interface Authenticators {
  /** Client certificates verified by the TLS server (client auth `want` or `need`). */
  mtls?: { rules: MappingRules | undefined };
  /** OIDC issuers' JWTs. */
  jwt?: TokenVerifier;
  /** drey's own API tokens (`drey_…`). */
  apiTokens?: TokenVerifier;
}

/** The caller of a drey without authenticators: it serves loopback only, and this caller may do anything. */
export const LOCAL_PRINCIPAL: Principal = { user: 'anonymous', groups: ['system:unauthenticated'], authenticator: 'local' };

/** The one `Authorization: Bearer` value of a request; more than one, or another scheme, is a bad credential. */
function bearer(req: Request): string | undefined {
  let found: string | undefined;
  let count = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() !== 'authorization') continue;
    count++;
    found = req.rawHeaders[i + 1]!;
  }
  if (count === 0) return undefined;
  const match = count === 1 ? /^Bearer +(\S+) *$/i.exec(found!) : null;
  if (!match) throw new Unauthorized(true);
  return match[1];
}

/**
 * Finds who a request comes from, as Kubernetes does: a bearer token, when one is sent, must be
 * valid (a bad one is a 401, never a fall back to the certificate or to anonymous) and wins over a
 * client certificate; without either the request is refused. Why a credential failed goes to the
 * debug log as a short reason, never with the credential.
 */
export function authenticate(authenticators: Authenticators): RequestHandler {
  return async (req, res, next) => {
    const token = bearer(req);
    if (token !== undefined) {
      const verifier = token.startsWith('drey_') ? authenticators.apiTokens : token.split('.').length === 3 ? authenticators.jwt : undefined;
      if (!verifier) throw new Unauthorized(true);
      try {
        res.locals.principal = await verifier.verify(token);
      } catch (err) {
        if (!(err instanceof CredentialRejected)) throw err;
        // the issuer's keys could not be fetched: the token may well be good, so the client retries
        if (err.reason === 'issuer_unavailable' || err.reason === 'ERR_JWKS_TIMEOUT') throw new ServiceUnavailable('The token issuer cannot be reached; retry in a moment');
        requestLog(res).debug('credential rejected', { method: req.method, path: req.path, reason: err.reason });
        throw new Unauthorized(true);
      }
      next();
      return;
    }
    if (authenticators.mtls && 'getPeerX509Certificate' in req.socket) {
      const found = certificatePrincipal(req.socket as TLSSocket, authenticators.mtls.rules);
      if (found === 'invalid') {
        requestLog(res).debug('credential rejected', { method: req.method, path: req.path, reason: 'client certificate' });
        throw new Unauthorized(true);
      }
      if (found !== 'none') {
        res.locals.principal = { ...found, authenticator: 'mtls' } satisfies Principal;
        next();
        return;
      }
    }
    throw new Unauthorized(false);
  };
}
