import { randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { Logger } from '../log.js';

/** What an incoming `X-Request-Id` may look like to be kept; anything else is replaced. */
const ACCEPTED = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request an id, the client's own `X-Request-Id` when it is a plain token, and sends it
 * back on the response: the audit trail and the log lines of the request carry the same id, the
 * latter through a logger bound to it (`requestLog`).
 */
export function requestId(log: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && ACCEPTED.test(given) ? given : randomUUID();
    res.locals.requestId = id;
    res.locals.log = log.child({ requestId: id });
    res.setHeader('X-Request-Id', id);
    next();
  };
}

/** The logger of the request being answered: its lines carry the request's id. */
export function requestLog(res: Response): Logger {
  return res.locals.log as Logger;
}
