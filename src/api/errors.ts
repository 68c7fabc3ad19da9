import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { RestProblem } from '../domain/errors.js';
import { BodyAborted, stopReading } from '../http/boundedBody.js';
import { isDatabaseUnavailable } from '../store/errors.js';
import { reply } from './reply.js';
import { requestLog } from './requestId.js';

/** A RestError body. */
export function restError(...messages: string[]): { errors: { message: string }[] } {
  return { errors: messages.map((message) => ({ message })) };
}

/** Answers paths no route serves, as CMF does: `GET /hello` is `Resource not found: [hello]`. */
export const notFound: RequestHandler = (req, res) => {
  reply(req, res, 404, restError(`Resource not found: [${req.path.replace(/^\//, '')}]`));
};

/** Answers a known path called with a method it does not serve. */
export function methodNotAllowed(allowed: string[]): RequestHandler {
  return (req, res) => {
    res.setHeader('Allow', allowed.join(', '));
    reply(req, res, 405, restError(`Method ${req.method} is not supported on [${req.path}]`));
  };
}

function describeRequest(req: Request): Record<string, unknown> {
  return { method: req.method, path: req.path };
}

/**
 * The one place errors become responses: drey's errors carry their status; a database that cannot
 * be reached is a 503 the client may retry; errors Express raises while reading a request keep
 * theirs if they are 4xx; anything else is a 500 that says nothing of its cause to the client and
 * everything (but request bodies) to the log.
 */
export function errorHandler(): ErrorRequestHandler {
  let lastOutageLog = 0;
  return (err, req, res, _next) => {
    const log = requestLog(res);
    if (err instanceof BodyAborted) {
      // the client's business: there is no one left to answer
      log.debug('request body cut short by the client', describeRequest(req));
      return;
    }
    if (res.headersSent) {
      // answered already (for one, a request whose framing broke mid-body is answered by the server)
      if (!(err instanceof RestProblem)) log.error('request failed after its answer was sent', { ...describeRequest(req), error: err });
      return;
    }
    if (!req.complete) {
      // refused before its body was read (e.g. too large): read no more of it, and close the
      // connection once the answer is out, so the rest is not taken for a next request
      stopReading(req);
      res.setHeader('Connection', 'close');
    }
    if (err instanceof RestProblem) {
      for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
      res.locals.problem = err.messages.join('; ');
      reply(req, res, err.status, restError(...err.messages));
      return;
    }
    if (isDatabaseUnavailable(err)) {
      // one line per outage, not per request: the outage is logged where it is noticed
      if (Date.now() - lastOutageLog > 10_000) log.warn('database unavailable: answering 503', describeRequest(req));
      lastOutageLog = Date.now();
      res.setHeader('Retry-After', '1');
      reply(req, res, 503, restError('The database is unavailable; retry in a moment'));
      return;
    }
    const status = typeof err?.status === 'number' ? err.status : typeof err?.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 400 && status < 500) {
      reply(req, res, status, restError(String(err.expose === false ? 'Bad request' : err.message)));
      return;
    }
    log.error('request failed', { ...describeRequest(req), error: err });
    reply(req, res, 500, restError('Internal server error'));
  };
}
