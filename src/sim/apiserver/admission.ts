import { StatusError, badRequest, invalid, type StatusCause } from './errors.js';
import { isObject, type JsonObject, type KubeObject } from './json.js';
import { storageKey, type ResourceRegistry, type ResourceType } from './registry.js';
import { SchemaValidator, quote } from './schema.js';

/** How a write treats fields the schema does not know (`fieldValidation`): drop silently, drop with a warning, or refuse. */
export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Characters kube-apiserver picks `generateName` suffixes from. */
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A name for `generateName`: the prefix plus five random characters. */
export function generateName(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += NAME_ALPHABET[Math.floor(Math.random() * NAME_ALPHABET.length)];
  return `${prefix}${suffix}`;
}

/** Problems with `metadata.name` for a kind: namespaces are DNS labels, everything else DNS subdomains. */
export function nameProblems(type: ResourceType, name: string): StatusCause[] {
  if (type.plural === 'namespaces' && type.group === '') {
    if (name.length > 63 || !LABEL.test(name)) {
      return [
        {
          reason: 'FieldValueInvalid',
          field: 'metadata.name',
          message: `Invalid value: ${quote(name)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
        },
      ];
    }
    return [];
  }
  if (name.length > 253 || !SUBDOMAIN.test(name)) {
    return [
      {
        reason: 'FieldValueInvalid',
        field: 'metadata.name',
        message: `Invalid value: ${quote(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      },
    ];
  }
  return [];
}

function qualifiedKeyOk(key: string): boolean {
  const slash = key.indexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  if (prefix !== undefined && (prefix.length > 253 || !SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && QUALIFIED_NAME.test(name);
}

function metadataProblems(meta: JsonObject): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const field of ['labels', 'annotations'] as const) {
    const map = meta[field];
    if (map === undefined || map === null) continue;
    if (!isObject(map)) {
      causes.push({ reason: 'FieldValueTypeInvalid', field: `metadata.${field}`, message: `Invalid value: ${quote(map)}: must be a map of strings` });
      continue;
    }
    for (const [k, v] of Object.entries(map)) {
      if (!qualifiedKeyOk(k)) {
        causes.push({
          reason: 'FieldValueInvalid',
          field: `metadata.${field}`,
          message: `Invalid value: ${quote(k)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
        });
      } else if (typeof v !== 'string') {
        causes.push({ reason: 'FieldValueTypeInvalid', field: `metadata.${field}.${k}`, message: `Invalid value: ${quote(v)}: must be a string` });
      } else if (field === 'labels' && (v.length > 63 || !LABEL_VALUE.test(v))) {
        causes.push({
          reason: 'FieldValueInvalid',
          field: 'metadata.labels',
          message: `Invalid value: ${quote(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
        });
      }
    }
  }
  if (meta.finalizers !== undefined && !(Array.isArray(meta.finalizers) && meta.finalizers.every((f) => typeof f === 'string'))) {
    causes.push({ reason: 'FieldValueTypeInvalid', field: 'metadata.finalizers', message: `Invalid value: ${quote(meta.finalizers)}: must be a list of strings` });
  }
  return causes;
}

/** Schema pruning and validation for every served kind, compiled once at start. */
export class Admission {
  private readonly validators = new Map<string, SchemaValidator>();

  constructor(options: { registry: ResourceRegistry }) {
    for (const type of options.registry.all()) {
      if (type.schema) this.validators.set(`${storageKey(type)}/${type.version}`, new SchemaValidator({ schema: type.schema }));
    }
  }

  private validator(type: ResourceType): SchemaValidator | undefined {
    return this.validators.get(`${storageKey(type)}/${type.version}`);
  }

  /**
   * Drops unknown fields in place and returns the warnings to send; with `Strict` an unknown field
   * is a 400 BadRequest, worded as kube-apiserver's strict decoding error.
   */
  prune(type: ResourceType, obj: JsonObject, mode: FieldValidation): string[] {
    const unknown = this.validator(type)?.prune(obj) ?? [];
    if (unknown.length === 0 || mode === 'Ignore') return [];
    if (mode === 'Strict') {
      throw new StatusError(
        400,
        'BadRequest',
        `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: strict decoding error: ${unknown.map((u) => `unknown field "${u}"`).join(', ')}`,
      );
    }
    return unknown.map((u) => `unknown field "${u}"`);
  }

  /** Throws 422 Invalid, listing every cause, when the object's name, metadata or fields break the rules. */
  validate(type: ResourceType, obj: KubeObject): void {
    const name = obj.metadata.name ?? '';
    const causes = [...nameProblems(type, name), ...metadataProblems(obj.metadata), ...(this.validator(type)?.validate(obj) ?? [])];
    if (causes.length > 0) throw invalid(type.kind, type.group, name, causes);
  }
}

/** The `fieldValidation` query parameter, defaulting to Warn as kube-apiserver does. */
export function fieldValidationMode(value: string | null): FieldValidation {
  if (value === null || value === '') return 'Warn';
  if (value === 'Ignore' || value === 'Warn' || value === 'Strict') return value;
  throw badRequest(`fieldValidation parameter unsupported: ${value}`);
}
