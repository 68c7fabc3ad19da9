/**
 * Writes `openapi/drey.yaml`, the API document drey serves: CMF's operations that drey implements
 * (taken from CMF's own document, with drey's path parameter names) plus drey's `/drey/api/v1` paths,
 * whose bodies come from the JSON Schemas drey validates with. Run after a route changes:
 *   npx tsx openapi/generate.ts [path/to/cmf-openapi-2.3.1.yaml]
 * `test/api/openapi.test.ts` checks the written document against the routes drey registers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { ACCESS, ACCESS_DREY } from '../src/api/access.js';
import { apiTokenCreatedSchema, apiTokenRequestSchema, apiTokenSchema } from '../src/schemas/apiToken.js';
import { roleBindingSchema } from '../src/schemas/roleBinding.js';
import { CMF_KINDS, ENVIRONMENT_KINDS, VERBS } from '../src/security/resources.js';

type Json = Record<string, unknown>;
type Method = 'get' | 'post' | 'put' | 'delete';

/** Where the generated document lives; the server reads it from the same path (src/api and dist/api alike). */
export const DOCUMENT_FILE = fileURLToPath(new URL('./drey.yaml', import.meta.url));

/** `/a/:b` as OpenAPI writes it: `/a/{b}`. */
export const openApiPath = (template: string): string => template.replace(/:(\w+)/g, '{$1}');

/** Every operation drey serves, as `METHOD /path/{param}`, from its access tables. */
export function servedOperations(): string[] {
  return [ACCESS, ACCESS_DREY].flatMap((table) =>
    Object.entries(table).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${openApiPath(path)}`)),
  );
}

/** JSON Schema (draft 2020) as OpenAPI 3.0 accepts it: `const` becomes a one-value `enum`. */
function toOpenApi30(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toOpenApi30);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'const') out.enum = [v];
    else out[k] = toOpenApi30(v);
  }
  return out;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ 'application/json': { schema } });
const ok = (description: string, schema?: unknown) => (schema ? { description, content: json(schema) } : { description });
const error = (description: string) => ({ description, content: json(ref('RestError')) });
const query = (name: string, description: string, schema: Json = { type: 'string' }) => ({ name, in: 'query', required: false, description, schema });
const pathParam = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });

/** drey's own schemas, beside CMF's. */
const DREY_SCHEMAS: Record<string, unknown> = {
  WhoAmI: {
    type: 'object',
    required: ['user', 'groups', 'authenticator', 'superUser'],
    properties: {
      user: { type: 'string' },
      groups: { type: 'array', items: { type: 'string' } },
      authenticator: { type: 'string', description: 'mtls, jwt, apiToken or local' },
      superUser: { type: 'boolean' },
      expiresAt: { type: 'string', format: 'date-time', description: 'When the credential expires, if it does' },
    },
  },
  ResourceRef: {
    type: 'object',
    required: ['kind'],
    properties: {
      kind: { type: 'string', enum: [...CMF_KINDS, ...ENVIRONMENT_KINDS] },
      environment: { type: 'string', description: 'Required for kinds that live in an environment, refused for the others' },
      name: { type: 'string' },
    },
  },
  AccessReview: {
    type: 'object',
    required: ['verb', 'resource'],
    properties: {
      verb: { type: 'string', enum: VERBS },
      resource: ref('ResourceRef'),
      user: { type: 'string', description: 'Another user to ask about (needs bind on the resource)' },
      groups: { type: 'array', items: { type: 'string' } },
    },
  },
  AccessReviewResult: {
    type: 'object',
    required: ['user', 'groups', 'verb', 'resource', 'allowed'],
    properties: { user: { type: 'string' }, groups: { type: 'array', items: { type: 'string' } }, verb: { type: 'string' }, resource: ref('ResourceRef'), allowed: { type: 'boolean' } },
  },
  AccessRules: {
    type: 'object',
    required: ['superUser', 'rules'],
    properties: {
      superUser: { type: 'boolean' },
      rules: {
        type: 'array',
        items: { type: 'object', properties: { scope: { type: 'string' }, kind: { type: 'string' }, pattern: { type: 'string' }, verbs: { type: 'array', items: { type: 'string' } } } },
      },
    },
  },
  RoleBindingRequest: toOpenApi30(roleBindingSchema),
  RoleBinding: {
    allOf: [
      { ...(toOpenApi30(roleBindingSchema) as Json), additionalProperties: true },
      { type: 'object', required: ['id', 'createdBy', 'createdAt'], properties: { id: { type: 'string' }, createdBy: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' } } },
    ],
  },
  RoleBindingList: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('RoleBinding') }, metadata: { type: 'object', properties: { size: { type: 'integer' } } } } },
  ApiTokenRequest: toOpenApi30(apiTokenRequestSchema),
  ApiToken: toOpenApi30(apiTokenSchema),
  ApiTokenCreated: toOpenApi30(apiTokenCreatedSchema),
  ApiTokenPage: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('ApiToken') }, metadata: ref('SecretsPageMetadata') } },
  AuditEvent: {
    type: 'object',
    required: ['id', 'requestId', 'at', 'principal', 'groups', 'authenticator', 'outcome', 'status'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      requestId: { type: 'string' },
      at: { type: 'string', format: 'date-time' },
      principal: { type: 'string' },
      groups: { type: 'array', items: { type: 'string' } },
      authenticator: { type: 'string' },
      sourceIp: { type: 'string', nullable: true },
      method: { type: 'string', nullable: true },
      path: { type: 'string', nullable: true },
      verb: { type: 'string', nullable: true },
      resourceKind: { type: 'string', nullable: true },
      environment: { type: 'string', nullable: true },
      resourceName: { type: 'string', nullable: true },
      outcome: { type: 'string', enum: ['allowed', 'failed', 'denied', 'unauthenticated', 'limited'] },
      status: { type: 'integer' },
      reason: { type: 'string', nullable: true },
    },
  },
  AuditEventPage: {
    type: 'object',
    required: ['items'],
    properties: { items: { type: 'array', items: ref('AuditEvent') }, next: { type: 'integer', nullable: true, description: "The next page's `before`" } },
  },
  RewrapProgress: {
    type: 'object',
    required: ['state', 'done', 'total'],
    properties: {
      state: { type: 'string', enum: ['idle', 'running', 'done', 'failed', 'stopped'] },
      done: { type: 'integer' },
      total: { type: 'integer' },
      startedAt: { type: 'string', format: 'date-time' },
      finishedAt: { type: 'string', format: 'date-time' },
      error: { type: 'string' },
    },
  },
  EncryptionStatus: {
    type: 'object',
    required: ['primaryKey', 'keys', 'plaintext', 'rewrap'],
    properties: {
      primaryKey: { type: 'string' },
      keys: { type: 'array', items: { type: 'object', required: ['id', 'secrets'], properties: { id: { type: 'string' }, secrets: { type: 'integer' } } } },
      plaintext: { type: 'integer', description: 'Rows an older drey wrote and no one sealed yet' },
      rewrap: ref('RewrapProgress'),
    },
  },
};

const D = '/drey/api/v1';
const tags = ['drey'];
const unavailable = error('This drey does not manage that part (audit trail or encryption).');

/** drey's own operations (`docs/security.md`). */
const DREY_PATHS: Record<string, Partial<Record<Method, Json>>> = {
  [`${D}/whoami`]: { get: { operationId: 'whoAmI', summary: 'Who the caller is, as drey authenticated them.', responses: { 200: ok('The caller.', ref('WhoAmI')) } } },
  [`${D}/access-reviews`]: {
    post: {
      operationId: 'createAccessReview',
      summary: 'Whether the caller (or, for who may bind the resource, another user) may do something.',
      requestBody: { required: true, content: json(ref('AccessReview')) },
      responses: { 200: ok('The answer.', ref('AccessReviewResult')), 400: error('Bad request.') },
    },
  },
  [`${D}/access-rules`]: { get: { operationId: 'getAccessRules', summary: "The caller's rules.", responses: { 200: ok('The rules.', ref('AccessRules')) } } },
  [`${D}/role-bindings`]: {
    get: {
      operationId: 'getRoleBindings',
      summary: 'The role bindings the caller could make or delete.',
      parameters: [query('principal', 'Only bindings of this principal (User:x or Group:y)'), query('environment', 'Only bindings in this environment')],
      responses: { 200: ok('The bindings.', ref('RoleBindingList')) },
    },
    post: {
      operationId: 'createRoleBinding',
      summary: 'Bind a role to a user or group.',
      requestBody: { required: true, content: json(ref('RoleBindingRequest')) },
      responses: { 201: ok('The binding, with its id.', ref('RoleBinding')), 400: error('Bad request.'), 409: error('That binding exists.'), 422: error('The role does not fit that scope.') },
    },
  },
  [`${D}/role-bindings/{id}`]: {
    delete: { operationId: 'deleteRoleBinding', summary: 'Delete a role binding.', parameters: [pathParam('id', 'The binding id')], responses: { 204: ok('Deleted.'), 404: error('No such binding.') } },
  },
  [`${D}/api-tokens`]: {
    get: {
      operationId: 'getApiTokens',
      summary: 'API tokens (never their values).',
      parameters: [{ $ref: '#/components/parameters/pageParam' }, { $ref: '#/components/parameters/sizeParam' }, { $ref: '#/components/parameters/sortParam' }],
      responses: { 200: ok('A page of tokens.', ref('ApiTokenPage')) },
    },
    post: {
      operationId: 'createApiToken',
      summary: 'Create an API token; its value is in this answer only.',
      requestBody: { required: true, content: json(ref('ApiTokenRequest')) },
      responses: { 201: ok('The token, with its value.', ref('ApiTokenCreated')), 400: error('Bad request.'), 409: error('A token of that name exists.'), 422: error('Unprocessable.') },
    },
  },
  [`${D}/api-tokens/{name}`]: {
    get: { operationId: 'getApiToken', summary: 'An API token (never its value).', parameters: [pathParam('name', 'Name of the token')], responses: { 200: ok('The token.', ref('ApiToken')), 404: error('No such token.') } },
    delete: {
      operationId: 'revokeApiToken',
      summary: 'Revoke an API token at once; it stays listed with status.revokedAt.',
      parameters: [pathParam('name', 'Name of the token')],
      responses: { 200: ok('The revoked token.', ref('ApiToken')), 404: error('No such token.') },
    },
  },
  [`${D}/audit-events`]: {
    get: {
      operationId: 'getAuditEvents',
      summary: 'The audit trail, newest first.',
      parameters: [
        query('principal', 'Only events of this principal'),
        query('outcome', 'allowed, failed, denied, unauthenticated or limited'),
        query('requestId', 'Only events of this request'),
        query('since', 'ISO 8601 time', { type: 'string', format: 'date-time' }),
        query('until', 'ISO 8601 time', { type: 'string', format: 'date-time' }),
        query('before', "A page's `next`", { type: 'integer', minimum: 0 }),
        query('limit', 'Events per page', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }),
      ],
      responses: { 200: ok('A page of events.', ref('AuditEventPage')), 400: error('Bad request.'), 503: unavailable },
    },
  },
  [`${D}/encryption`]: {
    get: { operationId: 'getEncryption', summary: 'Encryption at rest: keys, secrets per key, the rewrap job.', responses: { 200: ok('The status.', ref('EncryptionStatus')), 503: unavailable } },
  },
  [`${D}/encryption/rewrap`]: {
    post: {
      operationId: 'startRewrap',
      summary: 'Start rewrapping every secret under the primary key.',
      responses: { 202: ok('Started.', { type: 'object', properties: { rewrap: ref('RewrapProgress') } }), 503: unavailable },
    },
  },
};
for (const path of Object.values(DREY_PATHS)) for (const op of Object.values(path)) op!.tags = tags;

const SECURITY_SCHEMES = {
  oidc: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A JWT from an OIDC issuer drey trusts (CMF_OIDC_*).' },
  apiToken: { type: 'http', scheme: 'bearer', description: "A drey API token (`drey_…`), from POST /drey/api/v1/api-tokens or the bootstrap token." },
};

/** 401, 403 and 429 as every authenticated drey answers them. */
const SECURITY_RESPONSES = {
  Unauthorized: { description: 'No valid credential.', headers: { 'WWW-Authenticate': { schema: { type: 'string' } } }, content: json(ref('RestError')) },
  Forbidden: { description: 'The caller may not do this.', content: json(ref('RestError')) },
  TooManyRequests: { description: 'Too many requests (or failed authentications); retry later.', headers: { 'Retry-After': { schema: { type: 'integer' } } }, content: json(ref('RestError')) },
};

/** Every `$ref` target reachable from `value`. */
function refsOf(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) refsOf(v, into);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') into.add(v);
      else refsOf(v, into);
    }
  }
  return into;
}

/** The document, from CMF's (parsed) and drey's version. */
export function buildDocument(cmf: Json, version: string): Json {
  const cmfPaths = cmf.paths as Record<string, Record<string, Json>>;
  const shape = (p: string) => p.replace(/\{\w+\}/g, '{}');
  const paths: Record<string, Json> = {};
  for (const [template, methods] of Object.entries(ACCESS)) {
    const path = openApiPath(template);
    const source = Object.entries(cmfPaths).find(([p]) => shape(p) === shape(path));
    if (!source) throw new Error(`CMF's document has no path like ${path}`);
    // CMF's parameter names, in order, become drey's
    const rename = new Map((source[0].match(/\{\w+\}/g) ?? []).map((p, i) => [p.slice(1, -1), path.match(/\{\w+\}/g)![i]!.slice(1, -1)]));
    const renamed = (params: unknown) =>
      (params as Json[] | undefined)?.map((p) => (p.in === 'path' && typeof p.name === 'string' ? { ...p, name: rename.get(p.name) ?? p.name } : p));
    const item: Json = {};
    for (const method of Object.keys(methods) as Method[]) {
      const op = source[1][method];
      if (!op) throw new Error(`CMF's document has no ${method.toUpperCase()} ${source[0]}`);
      item[method] = { ...op, ...(op.parameters ? { parameters: renamed(op.parameters) } : {}) };
    }
    if (source[1].parameters) item.parameters = renamed(source[1].parameters);
    paths[path] = item;
  }
  Object.assign(paths, DREY_PATHS);
  for (const item of Object.values(paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (method === 'parameters') continue;
      const responses = (op as Json).responses as Json;
      for (const [code, name] of [['401', 'Unauthorized'], ['403', 'Forbidden'], ['429', 'TooManyRequests']] as const) {
        responses[code] ??= { $ref: `#/components/responses/${name}` };
      }
    }
  }
  const cmfComponents = cmf.components as Record<string, Record<string, unknown>>;
  const all: Record<string, Record<string, unknown>> = {
    schemas: { ...cmfComponents.schemas, ...DREY_SCHEMAS },
    parameters: { ...cmfComponents.parameters },
    responses: { ...cmfComponents.responses, ...SECURITY_RESPONSES },
  };
  // only the components some operation uses, followed through the components themselves
  const used = new Set<string>();
  const pending = [...refsOf(paths)];
  while (pending.length > 0) {
    const target = pending.pop()!;
    if (used.has(target)) continue;
    used.add(target);
    const [, , section, name] = target.split('/');
    const component = all[section!]?.[name!];
    if (component === undefined) throw new Error(`${target} is not defined`);
    pending.push(...refsOf(component));
  }
  const components: Json = {};
  for (const [section, entries] of Object.entries(all)) {
    const kept = Object.keys(entries).filter((name) => used.has(`#/components/${section}/${name}`)).sort();
    if (kept.length > 0) components[section] = Object.fromEntries(kept.map((name) => [name, entries[name]]));
  }
  components.securitySchemes = SECURITY_SCHEMES;
  const usedTags = new Set(Object.values(paths).flatMap((item) => Object.values(item).flatMap((op) => ((op as Json).tags as string[] | undefined) ?? [])));
  return {
    openapi: '3.0.3',
    info: {
      title: 'drey',
      version,
      description: [
        "drey's API: the Confluent Manager for Apache Flink (CMF) REST API operations drey implements, under /cmf/api,",
        "taken from CMF's 2.3.1 document, and drey's own under /drey/api/v1 (see docs/security.md).",
        'Credentials: a bearer token (an OIDC JWT or a drey API token) or, on a TLS listener asking for them,',
        'a client certificate (mutual TLS; OpenAPI 3.0 has no scheme for it). A bearer token, when sent, wins.',
        'The Flink web UI proxy (.../applications/{appName}/flink-web-ui/**) forwards to the JobManager and is not described here.',
      ].join(' '),
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    servers: [{ url: '/' }],
    security: [{ oidc: [] }, { apiToken: [] }],
    tags: [...((cmf.tags as { name: string }[]) ?? []).filter((t) => usedTags.has(t.name)), { name: 'drey', description: "drey's own API" }],
    paths,
    components,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const source = process.argv[2] ?? fileURLToPath(new URL('../../shared/reference/cmf-openapi-2.3.1.yaml', import.meta.url));
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  const document = buildDocument(yaml.load(readFileSync(source, 'utf8'), { schema: yaml.JSON_SCHEMA }) as Json, version);
  writeFileSync(DOCUMENT_FILE, `# Generated by openapi/generate.ts from ${source.split('/').pop()}: do not edit by hand.\n${yaml.dump(document, { noRefs: true, lineWidth: 120 })}`);
}
