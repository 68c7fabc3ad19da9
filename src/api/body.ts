import type { Request, RequestHandler } from 'express';
import yaml from 'js-yaml';
import { BadRequest, PayloadTooLarge, UnsupportedMediaType } from '../domain/errors.js';
import { isObject, type JsonObject } from '../domain/objects.js';
import { isStorableText, UNSTORABLE_REASON } from '../domain/text.js';
import { readBoundedBody } from '../http/boundedBody.js';

/** Largest body drey reads. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Deepest nesting a body may have. */
const MAX_DEPTH = 64;
/** Most values a body may expand to; YAML aliases count each time they are used. */
const MAX_NODES = 100_000;

/** YAML 1.2 core types (timestamps stay strings) plus `<<` merge keys. */
const YAML_SCHEMA = yaml.CORE_SCHEMA.extend([(yaml as unknown as { types: { merge: yaml.Type } }).types.merge]);

const JSON_TYPES = new Set(['application/json']);
const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml']);

/** The body's media type without parameters, lower-cased; `undefined` when absent. */
function mediaType(req: Request): string | undefined {
  const header = req.headers['content-type'];
  if (!header) return undefined;
  return header.split(';')[0]!.trim().toLowerCase();
}

function tooLarge(): PayloadTooLarge {
  return new PayloadTooLarge(`Request body is larger than ${MAX_BODY_BYTES} bytes`);
}

/** `spec.kafkaClusters[3].databaseName`, from the keys walked to a value. */
function fieldName(path: (string | number)[]): string {
  if (path.length === 0) return 'body';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/**
 * Walks a parsed value, counting every node as often as aliases make it appear, so a YAML alias
 * bomb is refused before anything serialises it; also refuses deep nesting, prototype keys, and
 * text PostgreSQL cannot store (naming the field, never quoting the text, which may be a secret).
 */
function checkShape(value: unknown): void {
  let nodes = 0;
  const path: (string | number)[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (++nodes > MAX_NODES) throw new BadRequest(`Request body expands to more than ${MAX_NODES} values`);
    if (depth > MAX_DEPTH) throw new BadRequest(`Request body is nested deeper than ${MAX_DEPTH} levels`);
    if (typeof v === 'string') {
      if (!isStorableText(v)) throw new BadRequest(`${fieldName(path)} ${UNSTORABLE_REASON}`);
    } else if (Array.isArray(v)) {
      v.forEach((item, index) => {
        path.push(index);
        walk(item, depth + 1);
        path.pop();
      });
    } else if (isObject(v)) {
      for (const key of Object.keys(v)) {
        if (key === '__proto__') throw new BadRequest('Request body may not contain the key "__proto__"');
        if (!isStorableText(key)) throw new BadRequest(`${fieldName(path)} has a key that ${UNSTORABLE_REASON}`);
        path.push(key);
        walk(v[key], depth + 1);
        path.pop();
      }
    }
  };
  walk(value, 0);
}

/** `line L, column C` of a character offset. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before[before.length - 1]!.length + 1}`;
}

/**
 * Parses the body. Parser messages quote the text around the error, which may be a secret, so
 * the reply says only where the error is (JSON) or what and where (YAML, whose first line names
 * the problem and its position without quoting content).
 */
function parseText(text: string, type: 'json' | 'yaml'): unknown {
  if (type === 'json') {
    try {
      return JSON.parse(text);
    } catch (err) {
      const position = /position (\d+)/.exec((err as Error).message)?.[1];
      const where = position === undefined ? 'unexpected end or token' : `unexpected token at ${lineAndColumn(text, Number(position))}`;
      throw new BadRequest(`Malformed JSON request body: ${where}`);
    }
  }
  try {
    return yaml.load(text, { schema: YAML_SCHEMA });
  } catch (err) {
    const mark = (err as { mark?: { line: number; column: number } }).mark;
    const reason = (err as { reason?: string }).reason ?? 'cannot be parsed';
    const where = mark ? ` at line ${mark.line + 1}, column ${mark.column + 1}` : '';
    throw new BadRequest(`Malformed YAML request body: ${reason}${where}`);
  }
}

/** A request body as read before any handler runs: absent (empty), or parsed. */
type ReadBody = { present: false; type: string | undefined } | { present: true; value: unknown };

const bodies = new WeakMap<Request, ReadBody>();

/** The parser a media type asks for, if drey has one. */
function formatOf(type: string | undefined): 'json' | 'yaml' | undefined {
  if (type === undefined) return undefined;
  if (JSON_TYPES.has(type) || type.endsWith('+json')) return 'json';
  if (YAML_TYPES.has(type) || type.endsWith('+yaml')) return 'yaml';
  return undefined;
}

function unsupported(type: string | undefined): UnsupportedMediaType {
  return new UnsupportedMediaType(
    `Unsupported content type ${type === undefined ? '(none)' : `'${type}'`}: send application/json or application/yaml`,
  );
}

/**
 * Reads the whole body and parses it before the handler runs, on every route: nothing acts on a
 * request that was not read completely and correctly (an endpoint that takes no body ignores one
 * that is well formed, and refuses one that is not). JSON and YAML become the same plain object.
 */
export const readBody: RequestHandler = async (req, _res, next) => {
  const type = mediaType(req);
  const text = (await readBoundedBody(req, MAX_BODY_BYTES, tooLarge)).toString('utf8');
  if (text.trim() === '') {
    bodies.set(req, { present: false, type });
  } else {
    const format = formatOf(type);
    if (!format) throw unsupported(type);
    const value = parseText(text, format);
    checkShape(value);
    bodies.set(req, { present: true, value });
  }
  next();
};

/** The parsed body, whatever its shape, or undefined when there is none; `readBody` must have run. */
export function bodyValue(req: Request): unknown {
  const body = bodies.get(req);
  if (!body) throw new Error('bodyValue() needs the readBody middleware first');
  return body.present ? body.value : undefined;
}

/** The request's body as a plain object; `readBody` must have run. */
export function objectBody(req: Request): JsonObject {
  const body = bodies.get(req);
  if (!body) throw new Error('objectBody() needs the readBody middleware before the handler');
  if (!body.present) {
    if (body.type !== undefined && !formatOf(body.type)) throw unsupported(body.type);
    throw new BadRequest('Request body is required');
  }
  if (!isObject(body.value)) throw new BadRequest('Request body must be an object');
  return body.value;
}
