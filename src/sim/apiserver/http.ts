import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBoundedBody } from '../../http/boundedBody.js';
import { StatusError } from './errors.js';

/** Largest request body the server reads, as kube-apiserver's 3 MiB limit. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

function tooLarge(): StatusError {
  return new StatusError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${MAX_BODY_BYTES}`);
}

/** The whole body, refused with 413 as soon as it is known to be too large. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return readBoundedBody(req, MAX_BODY_BYTES, tooLarge);
}

/** The media type of a header value, without parameters, lower-cased. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Sends a JSON body. */
export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private', ...headers });
  res.end(text);
}

/** Sends a failure as a Kubernetes Status; a 413 also closes the connection so the rest of the body is not read. */
export function sendStatusError(res: ServerResponse, err: StatusError): void {
  const headers: Record<string, string> = {};
  if (err.code === 413) headers.Connection = 'close';
  if (err.code === 429 || err.code === 503) headers['Retry-After'] = '1';
  sendJson(res, err.code, err.toStatus(), headers);
}

/** A warning as the `Warning` header carries it (`299 - "text"`). */
export function warningHeader(text: string): string {
  return `299 - ${JSON.stringify(text)}`;
}
