import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { StatusCause } from './errors.js';
import { clone, isObject, type JsonObject } from './json.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv, formats?: string[]) => Ajv;

/** ObjectMeta fields a write may carry; anything else under `metadata` is pruned, as a real server does. */
const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

/** Formats Kubernetes checks that ajv-formats knows under the same name; every other format is accepted as is. */
const CHECKED_FORMATS = ['date-time', 'date', 'uuid', 'ipv4', 'ipv6', 'hostname', 'email', 'uri', 'byte'];

/** Turns a structural schema's Kubernetes extensions into plain JSON Schema ajv understands. */
function translate(node: unknown, formats: Set<string>): unknown {
  if (Array.isArray(node)) return node.map((n) => translate(n, formats));
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-kubernetes-') || key === 'nullable' || key === 'default' || key === 'example' || key === 'externalDocs') continue;
    if (key === 'properties' || key === 'patternProperties' || key === 'definitions') {
      out[key] = Object.fromEntries(Object.entries(isObject(value) ? value : {}).map(([k, v]) => [k, translate(v, formats)]));
    } else if (['items', 'additionalProperties', 'not', 'anyOf', 'allOf', 'oneOf'].includes(key)) {
      out[key] = translate(value, formats);
    } else out[key] = value;
  }
  if (typeof out.format === 'string') formats.add(out.format);
  if (node['x-kubernetes-int-or-string'] === true && out.anyOf === undefined && out.type === undefined) {
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (node.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
    if (Array.isArray(out.anyOf)) out.anyOf = [...out.anyOf, { type: 'null' }];
  }
  return out;
}

/** `spec.args[0].name` from ajv's `/spec/args/0/name`, looking at the object to tell indices from keys. */
function fieldPath(instancePath: string, root: unknown): string {
  if (instancePath === '') return '';
  let cur = root;
  let out = '';
  for (const raw of instancePath.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      out += `[${token}]`;
      cur = cur[Number(token)];
    } else {
      out += out === '' ? token : `.${token}`;
      cur = isObject(cur) ? cur[token] : undefined;
    }
  }
  return out;
}

function valueAtPointer(root: unknown, instancePath: string): unknown {
  let cur = root;
  if (instancePath === '') return cur;
  for (const raw of instancePath.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) cur = cur[Number(token)];
    else cur = isObject(cur) ? cur[token] : undefined;
  }
  return cur;
}

/** The JSON type name Kubernetes reports for a value. */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** A value as Kubernetes quotes it in messages (`"text"`, `2`, `true`). */
export function quote(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

function detail(e: ErrorObject, field: string, value: unknown): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'minimum':
      return `${field} in body should be greater than or equal to ${String(p.limit)}`;
    case 'maximum':
      return `${field} in body should be less than or equal to ${String(p.limit)}`;
    case 'exclusiveMinimum':
      return `${field} in body should be greater than ${String(p.limit)}`;
    case 'exclusiveMaximum':
      return `${field} in body should be less than ${String(p.limit)}`;
    case 'minLength':
      return `${field} in body should be at least ${String(p.limit)} chars long`;
    case 'maxLength':
      return `${field} in body should be at most ${String(p.limit)} chars long`;
    case 'minItems':
      return `${field} in body should have at least ${String(p.limit)} items`;
    case 'maxItems':
      return `${field} in body should have at most ${String(p.limit)} items`;
    case 'pattern':
      return `${field} in body should match '${String(p.pattern)}'`;
    case 'format':
      return `${field} in body must be of type ${String(p.format)}: ${quote(value)}`;
    default:
      return `${field} in body ${e.message ?? 'is invalid'}`;
  }
}

/** ajv errors as the causes kube-apiserver lists: type, enum, required and the rest, one per field. */
function toCauses(errors: ErrorObject[], root: unknown): StatusCause[] {
  const causes: StatusCause[] = [];
  const seen = new Set<string>();
  const add = (c: StatusCause): void => {
    const key = `${c.field}|${c.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      causes.push(c);
    }
  };
  // branches of a failed anyOf are reported once, at the anyOf
  const anyOfPaths = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.schemaPath);
  for (const e of errors) {
    if (anyOfPaths.some((p) => e.schemaPath !== p && e.schemaPath.startsWith(`${p}/`))) continue;
    const value = valueAtPointer(root, e.instancePath);
    const field = fieldPath(e.instancePath, root);
    if (e.keyword === 'required') {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      add({ reason: 'FieldValueRequired', message: 'Required value', field: field ? `${field}.${missing}` : missing });
    } else if (e.keyword === 'type') {
      const type = (e.params as { type: string | string[] }).type;
      const expected = Array.isArray(type) ? type.filter((t) => t !== 'null').join(',') : type;
      add({
        reason: 'FieldValueTypeInvalid',
        message: `Invalid value: ${quote(typeName(value))}: ${field} in body must be of type ${expected}: ${quote(typeName(value))}`,
        field,
      });
    } else if (e.keyword === 'enum') {
      const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []).filter((v) => v !== null);
      add({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${quote(value)}: supported values: ${allowed.map(quote).join(', ')}`, field });
    } else if (e.keyword === 'anyOf' || e.keyword === 'oneOf') {
      const branchTypes = errors
        .filter((b) => b.keyword === 'type' && b.schemaPath.startsWith(`${e.schemaPath}/`) && b.instancePath === e.instancePath)
        .map((b) => String((b.params as { type: string }).type));
      if (branchTypes.length > 0) {
        add({
          reason: 'FieldValueTypeInvalid',
          message: `Invalid value: ${quote(typeName(value))}: ${field} in body must be of type ${branchTypes.join(',')}: ${quote(typeName(value))}`,
          field,
        });
      } else add({ reason: 'FieldValueInvalid', message: `Invalid value: ${quote(value)}: ${field} in body must match a schema in ${e.keyword}`, field });
    } else {
      add({ reason: 'FieldValueInvalid', message: `Invalid value: ${quote(value)}: ${detail(e, field, value)}`, field });
    }
  }
  return causes;
}

/** A structural schema compiled once: prunes unknown fields, applies defaults, and validates like kube-apiserver. */
export class SchemaValidator {
  private readonly validateFn: ValidateFunction;

  constructor(private readonly options: { schema: JsonObject }) {
    const formats = new Set<string>();
    const translated = translate(options.schema, formats) as JsonObject;
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
    addFormats(ajv, CHECKED_FORMATS.filter((f) => f !== 'byte').filter((f) => formats.has(f)));
    ajv.addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/);
    for (const f of formats) if (!CHECKED_FORMATS.includes(f)) ajv.addFormat(f, true);
    this.validateFn = ajv.compile(translated);
  }

  /**
   * Drops fields the schema does not declare (outside `x-kubernetes-preserve-unknown-fields`) and
   * nulls of non-nullable fields, then applies `default`s; returns the dropped paths, as the
   * `unknown field` warnings and strict errors name them.
   */
  prune(obj: JsonObject): string[] {
    const unknown: string[] = [];
    if (isObject(obj.metadata)) {
      for (const key of Object.keys(obj.metadata)) {
        if (!OBJECT_META_FIELDS.has(key)) {
          unknown.push(`metadata.${key}`);
          delete obj.metadata[key];
        }
      }
    }
    const rootProps = isObject(this.options.schema.properties) ? this.options.schema.properties : {};
    const preserveRoot = this.options.schema['x-kubernetes-preserve-unknown-fields'] === true;
    for (const key of Object.keys(obj)) {
      if (key === 'apiVersion' || key === 'kind' || key === 'metadata') continue;
      const child = rootProps[key];
      if (isObject(child)) {
        if (obj[key] === null && child.nullable !== true) delete obj[key];
        else walk(obj[key], child, key, unknown);
      } else if (!preserveRoot) {
        unknown.push(key);
        delete obj[key];
      }
    }
    applyDefaults(obj, this.options.schema, true);
    return unknown.sort();
  }

  /** The causes of an Invalid answer; empty when the object fits. */
  validate(obj: JsonObject): StatusCause[] {
    if (this.validateFn(obj)) return [];
    return toCauses(this.validateFn.errors ?? [], obj);
  }
}

function walk(value: unknown, schema: JsonObject, path: string, unknown: string[]): void {
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  if (Array.isArray(value)) {
    if (isObject(schema.items)) value.forEach((item, i) => walk(item, schema.items as JsonObject, `${path}[${i}]`, unknown));
    return;
  }
  if (!isObject(value)) return;
  const props = isObject(schema.properties) ? schema.properties : undefined;
  const additional = schema.additionalProperties;
  for (const key of Object.keys(value)) {
    const child = props?.[key] ?? (isObject(additional) ? additional : undefined);
    const childPath = `${path}.${key}`;
    if (isObject(child)) {
      if (value[key] === null && child.nullable !== true) delete value[key];
      else walk(value[key], child, childPath, unknown);
    } else if (!(preserve || additional === true || (embedded && ['apiVersion', 'kind', 'metadata'].includes(key)))) {
      unknown.push(childPath);
      delete value[key];
    }
  }
}

function applyDefaults(value: unknown, schema: JsonObject, root = false): void {
  if (Array.isArray(value)) {
    if (isObject(schema.items)) for (const item of value) applyDefaults(item, schema.items);
    return;
  }
  if (!isObject(value)) return;
  const props = isObject(schema.properties) ? schema.properties : {};
  for (const [key, child] of Object.entries(props)) {
    if (!isObject(child) || (root && key === 'metadata')) continue;
    if (value[key] === undefined && child.default !== undefined) value[key] = clone(child.default);
    if (value[key] !== undefined) applyDefaults(value[key], child);
  }
  if (isObject(schema.additionalProperties)) {
    for (const key of Object.keys(value)) if (!(key in props)) applyDefaults(value[key], schema.additionalProperties);
  }
}
