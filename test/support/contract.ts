import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import yaml from 'js-yaml';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Where the shared reference material is: `../shared` beside the project (as the developers'
 * guide places it), or DREY_SHARED_DIR, or the workplace's fixed location.
 */
export function sharedDir(): string | undefined {
  const candidates = [process.env.DREY_SHARED_DIR, path.resolve(here, '../../../shared'), '/work/shared'];
  return candidates.find((dir) => dir && existsSync(path.join(dir, 'reference', 'cmf-openapi-2.0.yaml')));
}

/**
 * Statuses drey answers that the 2.0 contract does not list for an operation, each a decision
 * written down in the README ("Where the contract is silent"). Every other status must be listed.
 */
const EXTRA_STATUSES: Record<string, number[]> = {
  // any endpoint: a malformed body (even where none is expected) or broken framing is 400, an
  // unknown method 405, an oversized body 413, a body neither JSON nor YAML 415, an Expect other
  // than 100-continue 417, and 503 while the database cannot be reached (issue #9); with
  // authentication on, 401 (no or a bad credential), 403 (not allowed) and 429 (too many requests)
  // (issue #13)
  '*': [400, 401, 403, 405, 413, 415, 417, 429, 503],
  // lists: bad page/size/sort (and phase) query parameters
  'GET /cmf/api/v1/environments': [400],
  'GET /cmf/api/v1/environments/{envName}/applications': [400],
  'GET /cmf/api/v1alpha1/environments/{envName}/applications/{appName}/events': [400],
  'GET /cmf/api/v1/environments/{envName}/applications/{appName}/instances': [400],
  'GET /cmf/api/v1/environments/{envName}/secret-mappings': [400],
  'GET /cmf/api/v1/environments/{envName}/statements': [400],
  'GET /cmf/api/v1/environments/{envName}/compute-pools': [400],
  'GET /cmf/api/v1/secrets': [400],
  'GET /cmf/api/v1/catalogs/kafka': [400],
  // namespace change under resources; environment that still holds anything (issue #2)
  'POST /cmf/api/v1/environments': [409],
  'DELETE /cmf/api/v1/environments/{envName}': [409],
  // missing environment or application
  'DELETE /cmf/api/v1/environments/{envName}/applications/{appName}': [404],
  // missing application, no spec.job, or the application is being deleted (issue #3)
  'POST /cmf/api/v1/environments/{envName}/applications/{appName}/start': [404, 409, 422],
  'POST /cmf/api/v1/environments/{envName}/applications/{appName}/suspend': [404, 409, 422],
  // the environment does not exist; the application is being deleted (issue #3)
  'POST /cmf/api/v1/environments/{envName}/applications': [404, 409],
  'POST /cmf/api/v1/environments/{envName}/compute-pools': [404],
  // a mapping whose metadata.name disagrees with the path
  'PUT /cmf/api/v1/environments/{envName}/secret-mappings/{name}': [422],
  // a secret that environments still map
  'DELETE /cmf/api/v1/secrets/{secretName}': [409],
  // a catalog that still has databases made through /databases (2.1 lists this 409; 2.0 wins)
  'DELETE /cmf/api/v1/catalogs/kafka/{catName}': [409],
  // (2.1) spec.kafkaClusters naming a database made through /databases
  'PUT /cmf/api/v1/catalogs/kafka/{catName}': [409],
  // (2.1) the catalog does not exist; bad page/size/sort
  'GET /cmf/api/v1/catalogs/kafka/{catName}/databases': [400, 404],
  'POST /cmf/api/v1/catalogs/kafka/{catName}/databases': [404],
};

/**
 * Operations CMF added after 2.0 that drey serves (CMF 2.1's catalog databases): checked against
 * the 2.3.1 contract, statuses included (2.0 says nothing about them), and counted in the coverage
 * report like 2.0's.
 */
export const ADOPTED_OPERATIONS = [
  'PUT /cmf/api/v1/catalogs/kafka/{catName}',
  'GET /cmf/api/v1/catalogs/kafka/{catName}/databases',
  'POST /cmf/api/v1/catalogs/kafka/{catName}/databases',
  'GET /cmf/api/v1/catalogs/kafka/{catName}/databases/{dbName}',
  'PUT /cmf/api/v1/catalogs/kafka/{catName}/databases/{dbName}',
  'DELETE /cmf/api/v1/catalogs/kafka/{catName}/databases/{dbName}',
] as const;

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
  /** The `$id` of the contract whose components its `$ref`s name. */
  base: string;
}

type Document = {
  paths: Record<string, Record<string, { responses: Operation['responses'] }>>;
  components: object;
};

function readDocument(file: string): Document {
  return yaml.load(readFileSync(file, 'utf8')) as Document;
}

type Components = { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[]; additionalProperties?: boolean }> };

/**
 * `EventData` is a `oneOf` of two schemas that both accept any object, so read literally no
 * `data` could ever match exactly one. CMF's generated SDK (which the CLI uses) decodes each
 * alternative strictly, so `{newStatus}` is the first and `{exceptionString}` the second: the
 * check follows the SDK.
 */
function strictEventData(components: Components): void {
  for (const name of ['EventDataNewStatus', 'EventDataJobException']) {
    const schema = components.schemas[name];
    if (!schema?.properties) continue;
    schema.required = Object.keys(schema.properties);
    schema.additionalProperties = false;
  }
}

/**
 * Checks responses against the CMF OpenAPI 2.0 contract and the later operations it adopts (or,
 * bodies only, against a later contract).
 */
export class Contract {
  private readonly ajv: Ajv;
  private readonly operations: Operation[] = [];
  private readonly validators = new Map<string, ValidateFunction>();

  /**
   * `bodiesOnly`: a later version of the contract (2.3.1), whose status codes do not count where
   * they differ from 2.0's (2.0 wins): only the bodies of the statuses it lists are checked, and
   * nothing is recorded for the coverage report.
   * `adopt`: operations of a later contract (`METHOD /template`) to check as if this one listed
   * them, against that contract's statuses and schemas.
   */
  constructor(
    file: string,
    private readonly bodiesOnly = false,
    adopt?: { file: string; operations: readonly string[] },
  ) {
    const doc = readDocument(file);
    this.ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.ajv);
    for (const format of ['yamlorjson', 'sort', 'pageable']) this.ajv.addFormat(format, true);
    this.addOperations(doc, 'cmf', () => true);
    if (adopt) {
      const wanted = new Set(adopt.operations);
      this.addOperations(readDocument(adopt.file), 'cmf-later', (key) => wanted.delete(key));
      if (wanted.size > 0) throw new Error(`${adopt.file} has no operation ${[...wanted].join(', ')}`);
    }
  }

  private addOperations(doc: Document, base: string, take: (key: string) => boolean): void {
    strictEventData(doc.components as Components);
    this.ajv.addSchema({ $id: base, components: doc.components });
    for (const [template, methods] of Object.entries(doc.paths)) {
      const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      for (const [method, op] of Object.entries(methods)) {
        if (!take(`${method.toUpperCase()} ${template}`)) continue;
        this.operations.push({ method: method.toUpperCase(), template, pattern, responses: op.responses, base });
      }
    }
  }

  /** Every (operation, status) the contract lists, as `METHOD /path status`. */
  listed(): string[] {
    return this.operations.flatMap((o) => Object.keys(o.responses).map((status) => `${o.method} ${o.template} ${status}`));
  }

  private validator(schema: object, base = 'cmf'): ValidateFunction {
    const ref = (schema as { $ref?: string }).$ref;
    const key = ref ? `${base}${ref}` : JSON.stringify(schema);
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(ref ? { $ref: `${base}${ref}` } : schema);
      this.validators.set(key, validate);
    }
    return validate;
  }

  /**
   * Returns the problems of one response (none when it fits): its status must be one the
   * operation lists (or a documented extra), and its body must fit that status's schema.
   */
  check(method: string, urlPath: string, status: number, contentType: string | undefined, body: unknown): string[] {
    const op = this.operations.find((o) => o.method === method && o.pattern.test(urlPath));
    const restError = { $ref: '#/components/schemas/RestError' };
    if (!op && this.bodiesOnly) return [];
    // drey's own API (/drey/api/v1) is not CMF's: its tests check its bodies
    if (!op && urlPath.startsWith('/drey/')) return status >= 400 ? this.fits(restError, body, 'RestError') : [];
    if (!op) {
      // unknown paths and methods answer RestError
      return status === 404 || status === 405 ? this.fits(restError, body, 'RestError') : [`no operation ${method} ${urlPath} in the contract`];
    }
    const key = `${method} ${op.template}`;
    const hits = process.env.DREY_CONTRACT_HITS;
    if (hits && !this.bodiesOnly) appendFileSync(hits, `${key} ${status}\n`);
    const response = op.responses[String(status)];
    if (!response && this.bodiesOnly) return [];
    if (!response) {
      // any GET may answer a conditional request with 304 and no body (DESIGN: GETs carry an ETag)
      if (status === 304 && method === 'GET') return body === undefined ? [] : [`${key} 304 must have no body`];
      const extras = [...(EXTRA_STATUSES['*'] ?? []), ...(EXTRA_STATUSES[key] ?? [])];
      if (!extras.includes(status)) return [`${key} answered ${status}, which the contract does not list`];
      return this.fits(restError, body, 'RestError');
    }
    if (!response.content) {
      return body === undefined ? [] : [`${key} ${status} must have no body`];
    }
    const media = contentType?.split(';')[0]?.trim() ?? '';
    const content = response.content[media];
    if (!content) return [`${key} ${status} answered '${media}', which the contract does not list`];
    return this.fits(content.schema, body, `${key} ${status}`, op.base);
  }

  private fits(schema: object, body: unknown, what: string, base?: string): string[] {
    const validate = this.validator(schema, base);
    if (validate(body)) return [];
    return (validate.errors ?? []).map((e) => `${what}: ${e.instancePath || '/'} ${e.message}`);
  }
}

let contract: Contract | undefined | null;
let later: Contract | undefined | null;

/** The 2.3.1 contract, for the bodies of what CMF added after 2.0 (SHARED pools, pool state), when it is here. */
export function loadLaterContract(): Contract | undefined {
  if (later === undefined) {
    const dir = sharedDir();
    const file = dir && path.join(dir, 'reference', 'cmf-openapi-2.3.1.yaml');
    later = file && existsSync(file) ? new Contract(file, true) : null;
  }
  return later ?? undefined;
}

/** The contract, or `undefined` (with a loud warning) when the shared reference is not here. */
export function loadContract(): Contract | undefined {
  if (contract === undefined) {
    const dir = sharedDir();
    if (!dir) {
      if (process.env.CI) throw new Error('CMF contract not found: CI needs ../shared/reference/cmf-openapi-2.0.yaml (or DREY_SHARED_DIR)');
      process.stderr.write('\nSKIPPED contract checks: ../shared/reference/cmf-openapi-2.0.yaml is missing (set DREY_SHARED_DIR)\n');
      contract = null;
    } else {
      const later = path.join(dir, 'reference', 'cmf-openapi-2.3.1.yaml');
      if (!existsSync(later)) throw new Error(`${later} is missing: the operations drey adopted from CMF 2.1 are checked against it`);
      contract = new Contract(path.join(dir, 'reference', 'cmf-openapi-2.0.yaml'), false, { file: later, operations: ADOPTED_OPERATIONS });
    }
  }
  return contract ?? undefined;
}
