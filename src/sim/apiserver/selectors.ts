import { badRequest } from './errors.js';
import { isObject, valueAt, type KubeObject } from './json.js';

/** A parsed selector: true when an object matches. */
export type Selector = (obj: KubeObject) => boolean;

type Op = 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';

interface Requirement {
  key: string;
  op: Op;
  values: string[];
}

const KEY_PART = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?)$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string, selector: string): void {
  const slash = key.indexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const badPrefix = prefix !== undefined && (prefix === '' || prefix.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(prefix));
  if (name.length === 0 || name.length > 63 || !KEY_PART.test(name) || badPrefix) {
    throw badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${selector}"`);
  }
}

function checkValue(value: string, selector: string): void {
  if (value.length > 63 || !VALUE.test(value)) throw badRequest(`unable to parse requirement: invalid label value "${value}" in selector "${selector}"`);
}

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function parseRequirement(raw: string, selector: string): Requirement {
  const text = raw.trim();
  const fail = (): never => {
    throw badRequest(`unable to parse requirement: found '${text}', expected: !, identifier, or 'key op value' in selector "${selector}"`);
  };
  if (text === '') fail();
  let m = /^!\s*([^\s=!<>(),]+)$/.exec(text);
  if (m) {
    checkKey(m[1]!, selector);
    return { key: m[1]!, op: '!exists', values: [] };
  }
  m = /^([^\s=!<>(),]+)\s+(in|notin)\s*\((.*)\)$/.exec(text);
  if (m) {
    checkKey(m[1]!, selector);
    const values = m[3]!.split(',').map((v) => v.trim());
    if (values.length === 1 && values[0] === '' && m[2] === 'in') fail();
    for (const v of values) checkValue(v, selector);
    return { key: m[1]!, op: m[2] as Op, values };
  }
  m = /^([^\s=!<>(),]+)\s*(==|=|!=|<|>)\s*([^\s=!<>(),]*)$/.exec(text);
  if (m) {
    checkKey(m[1]!, selector);
    const op = m[2] === '!=' ? '!=' : m[2] === '<' ? 'lt' : m[2] === '>' ? 'gt' : '=';
    if ((op === 'lt' || op === 'gt') && !/^-?\d+$/.test(m[3]!)) fail();
    else checkValue(m[3]!, selector);
    return { key: m[1]!, op, values: [m[3]!] };
  }
  m = /^([^\s=!<>(),]+)$/.exec(text);
  if (m) {
    checkKey(m[1]!, selector);
    return { key: m[1]!, op: 'exists', values: [] };
  }
  return fail();
}

function matches(req: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  const value = labels[req.key];
  switch (req.op) {
    case 'exists':
      return has;
    case '!exists':
      return !has;
    case '=':
    case 'in':
      return has && req.values.includes(value!);
    case '!=':
    case 'notin':
      return !has || !req.values.includes(value!);
    case 'gt':
      return has && /^-?\d+$/.test(value!) && Number(value) > Number(req.values[0]);
    case 'lt':
      return has && /^-?\d+$/.test(value!) && Number(value) < Number(req.values[0]);
  }
}

/** Parses a `labelSelector` (`a=b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`; comma means AND). */
export function parseLabelSelector(selector: string | undefined): Selector {
  if (selector === undefined || selector.trim() === '') return () => true;
  const reqs = splitTopLevel(selector).map((r) => parseRequirement(r, selector));
  return (obj) => {
    const labels = isObject(obj.metadata.labels) ? (obj.metadata.labels as Record<string, string>) : {};
    return reqs.every((r) => matches(r, labels));
  };
}

/** Splits on unescaped commas and unescapes `\,` `\=` `\\`, as field selectors escape. */
function splitEscaped(text: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      cur += c + text[++i];
    } else if (c === sep) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

/** Parses a `fieldSelector` over the fields `allowed` names (`f=v`, `f==v`, `f!=v`, comma means AND). */
export function parseFieldSelector(selector: string | undefined, allowed: readonly string[]): Selector {
  if (selector === undefined || selector.trim() === '') return () => true;
  const reqs = splitEscaped(selector, ',').map((part) => {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    const field = m[1]!;
    if (!allowed.includes(field)) {
      throw badRequest(`"${field}" is not a known field selector: only ${allowed.map((a) => `"${a}"`).join(', ')}`);
    }
    return { path: field.split('.'), negate: m[2] === '!=', value: unescape(m[3]!.trim()) };
  });
  return (obj) =>
    reqs.every((r) => {
      const actual = valueAt(obj, r.path);
      const text = actual === undefined || actual === null ? '' : String(actual);
      return r.negate ? text !== r.value : text === r.value;
    });
}
