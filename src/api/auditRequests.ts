import type { RequestHandler } from 'express';
import type { AuditOutcome, AuditTrail } from '../security/audit.js';
import type { Principal } from '../security/principal.js';
import type { AccessFacts } from './access.js';

/** Methods that change nothing: recorded only when refused (401, 403, 429). */
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

function outcomeOf(status: number): AuditOutcome {
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'denied';
  if (status === 429) return 'limited';
  return status < 400 ? 'allowed' : 'failed';
}

/**
 * Records every write, and every request refused for who sent it, once, when its answer is sent
 * (or its connection closes first: then as failed, status 499). The reason is the message the client
 * was given; nothing from a body or a header is recorded, so no secret value or credential can be.
 */
export function auditRequests(trail: AuditTrail): RequestHandler {
  return (req, res, next) => {
    let done = false;
    const record = (finished: boolean) => {
      if (done) return;
      done = true;
      const status = finished ? res.statusCode : 499;
      const outcome = outcomeOf(status);
      if (READS.has(req.method) && (outcome === 'allowed' || outcome === 'failed')) return;
      const principal = res.locals.principal as Principal | undefined;
      const access = res.locals.access as AccessFacts | undefined;
      trail.record({
        requestId: String(res.locals.requestId),
        at: new Date(),
        principal: principal ? `User:${principal.user}` : 'User:system:anonymous',
        groups: principal?.groups ?? [],
        authenticator: principal?.authenticator ?? 'none',
        sourceIp: req.socket.remoteAddress ?? null,
        method: req.method,
        path: req.path,
        verb: access && access.verb !== 'list' ? access.verb : access ? 'view' : null,
        resourceKind: access?.kind ?? null,
        environment: access?.environment ?? null,
        resourceName: access?.name ?? null,
        outcome,
        status,
        reason: status >= 400 ? ((res.locals.problem as string | undefined) ?? null) : null,
      });
    };
    res.once('finish', () => record(true));
    res.once('close', () => record(res.writableFinished));
    next();
  };
}
