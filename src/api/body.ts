import type { Request } from 'express';
import yaml from 'js-yaml';
import { BadRequest, PayloadTooLarge, UnsupportedMediaType } from '../domain/errors.js';
import { isObject, type JsonObject } from '../domain/objects.js';
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

/**
 * Walks a parsed value, counting every node as often as aliases make it appear, so a YAML alias
 * bomb is refused before anything serialises it; also refuses deep nesting and prototype keys.
 */
function checkShape(value: unknown): void {
  let nodes = 0;
  const walk = (v: unknown, depth: number): void => {
    if (++nodes > MAX_NODES) throw new BadRequest(`Request body expands to more than ${MAX_NODES} values`);
    if (depth > MAX_DEPTH) throw new BadRequest(`Request body is nested deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(v)) {
      for (const item of v) walk(item, depth + 1);
    } else if (isObject(v)) {
      for (const key of Object.keys(v)) {
        if (key === '__proto__') throw new BadRequest('Request body may not contain the key "__proto__"');
        walk(v[key], depth + 1);
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

/**
 * Parses a JSON or YAML request body into a plain object. The media type decides the parser;
 * everything else in drey sees only the resulting object.
 */
export async function readObjectBody(req: Request): Promise<JsonObject> {
  const type = mediaType(req);
  const raw = await readBoundedBody(req, MAX_BODY_BYTES, tooLarge);
  let format: 'json' | 'yaml';
  if (type !== undefined && JSON_TYPES.has(type)) format = 'json';
  else if (type !== undefined && (YAML_TYPES.has(type) || type.endsWith('+yaml'))) format = 'yaml';
  else if (type !== undefined && type.endsWith('+json')) format = 'json';
  else if (type === undefined && raw.length === 0) throw new BadRequest('Request body is required');
  else {
    throw new UnsupportedMediaType(
      `Unsupported content type ${type === undefined ? '(none)' : `'${type}'`}: send application/json or application/yaml`,
    );
  }
  const text = raw.toString('utf8');
  if (text.trim() === '') throw new BadRequest('Request body is required');
  const value = parseText(text, format);
  checkShape(value);
  if (!isObject(value)) throw new BadRequest('Request body must be an object');
  return value;
}
