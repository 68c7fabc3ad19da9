import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import yaml from 'js-yaml';

/** The response format a request asked for: YAML when Accept names it before JSON, else JSON. */
export function wantsYaml(req: Request): boolean {
  const preferred = req.accepts(['application/json', 'application/yaml', 'application/x-yaml', 'text/yaml']);
  return preferred !== false && preferred !== 'application/json';
}

/** A strong entity tag of a representation's bytes. */
function entityTag(text: string): string {
  return `"${createHash('sha1').update(text).digest('base64url')}"`;
}

/**
 * Whether `If-None-Match` names the current representation (RFC 9110 §13.1.2: `*`, or a list of
 * tags compared weakly). Evaluated whatever the request's cache directives say: `Cache-Control:
 * no-cache` (which fetch adds to every conditional request) is for caches, not for the origin
 * (RFC 9110 §13.2.1).
 */
function noneMatch(header: string | undefined, tag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const weak = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => weak(t) === weak(tag));
}

/**
 * Sends a body as JSON or YAML, per the request's Accept header. A successful GET carries an ETag
 * and answers a matching `If-None-Match` with 304 and no body.
 */
export function reply(req: Request, res: Response, status: number, body: unknown): void {
  const asYaml = wantsYaml(req);
  const text = asYaml ? yaml.dump(body, { noRefs: true, lineWidth: -1 }) : JSON.stringify(body);
  res.setHeader('Vary', 'Accept');
  if (status === 200 && (req.method === 'GET' || req.method === 'HEAD')) {
    const tag = entityTag(text);
    res.setHeader('ETag', tag);
    if (noneMatch(req.headers['if-none-match'], tag)) {
      res.status(304).end();
      return;
    }
  }
  res.status(status);
  res.setHeader('Content-Type', `${asYaml ? 'application/yaml' : 'application/json'}; charset=utf-8`);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** Sends a status with no body. */
export function replyEmpty(res: Response, status: number): void {
  res.status(status).end();
}
