import { Ajv, type ErrorObject } from 'ajv';
import { BadRequest } from '../domain/errors.js';

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });

/** `/spec/job/parallelism` → `spec.job.parallelism`; the root is called `body`. */
function fieldPath(pointer: string): string {
  if (pointer === '') return 'body';
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

function join(parent: string, child: string): string {
  return parent === 'body' ? child : `${parent}.${child}`;
}

/** One readable message per ajv error, naming the field. */
function describe(error: ErrorObject): string {
  const field = fieldPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${join(field, String(params.missingProperty))} is required`;
    case 'type':
      return `${field} must be ${String(params.type).replace(',', ' or ')}`;
    case 'const':
      return `${field} must be '${String(params.allowedValue)}'`;
    case 'enum':
      return `${field} must be one of ${(params.allowedValues as unknown[]).map((v) => `'${String(v)}'`).join(', ')}`;
    case 'pattern':
      return `${field} must match ${String(params.pattern)}`;
    case 'anyOf':
      return '';
    default:
      return `${field} ${error.message ?? 'is invalid'}`;
  }
}

/** Most messages one refusal lists; a body with thousands of bad entries names the first ones. */
const MAX_MESSAGES = 50;

/** Messages for a failed validation, without repeats or the noise of anyOf branches. */
export function describeErrors(errors: ErrorObject[]): string[] {
  const messages = [...new Set(errors.map(describe).filter((m) => m !== ''))];
  if (messages.length <= MAX_MESSAGES) return messages;
  return [...messages.slice(0, MAX_MESSAGES), `and ${messages.length - MAX_MESSAGES} more problems`];
}

/** Compiles a schema once; the returned function checks a value or throws BadRequest. */
export function compileValidator<T>(schema: object): (value: unknown) => T {
  const validate = ajv.compile(schema);
  return (value: unknown): T => {
    if (!validate(value)) throw new BadRequest(...describeErrors(validate.errors ?? []));
    return value as T;
  };
}
