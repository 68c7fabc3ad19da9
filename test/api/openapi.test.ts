import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import yaml from 'js-yaml';
import { buildDocument, DOCUMENT_FILE, servedOperations } from '../../openapi/generate.js';
import { OPENAPI_FILE } from '../../src/api/openapi.js';
import { sharedDir } from '../support/contract.js';
import { startSecureDrey, type SecureDrey } from '../support/secureDrey.js';

type Document = { openapi: string; info: { version: string }; paths: Record<string, Record<string, unknown>>; components: { securitySchemes: Record<string, unknown> } };

const text = readFileSync(DOCUMENT_FILE, 'utf8');
const document = yaml.load(text, { schema: yaml.JSON_SCHEMA }) as Document;
type Answer = { status: number; headers: { get(name: string): string | null }; text: string; body: unknown };

/** A GET with no credential, trusting only the test CA (the API client checks CMF's contract, which these paths are not in). */
function get(secure: SecureDrey, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    https
      .get(`${secure.drey.url}${path}`, { ca: secure.serverCa.certPem, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const type = res.headers['content-type'] ?? '';
          resolve({
            status: res.statusCode!,
            headers: { get: (name) => (res.headers[name.toLowerCase()] as string | undefined) ?? null },
            text,
            body: type.includes('json') && text !== '' ? JSON.parse(text) : text,
          });
        });
      })
      .on('error', reject);
  });
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

describe('the API document', () => {
  it('is OpenAPI 3.0 at the version of the package, read by the server from the generated file', () => {
    expect(document.openapi).toMatch(/^3\.0\.\d+$/);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(document.info.version).toBe(pkg.version);
    expect(OPENAPI_FILE).toBe(DOCUMENT_FILE);
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['apiToken', 'oidc']);
  });

  it('describes exactly the operations drey serves', () => {
    const described = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((k) => METHODS.includes(k))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(described.sort()).toEqual(servedOperations().sort());
  });

  it('names the path parameters its paths hold, and answers 401, 403 and 429 as RestError everywhere', () => {
    for (const [path, item] of Object.entries(document.paths)) {
      const inPath = (path.match(/\{\w+\}/g) ?? []).map((p) => p.slice(1, -1)).sort();
      for (const [method, op] of Object.entries(item)) {
        if (!METHODS.includes(method)) continue;
        const params = [...((item.parameters as { in: string; name: string }[] | undefined) ?? []), ...(((op as { parameters?: unknown[] }).parameters as { in: string; name: string }[] | undefined) ?? [])];
        expect({ op: `${method} ${path}`, names: params.filter((p) => p.in === 'path').map((p) => p.name).sort() }).toEqual({ op: `${method} ${path}`, names: inPath });
        const responses = (op as { responses: Record<string, unknown> }).responses;
        for (const code of ['401', '403', '429']) expect(responses[code]).toBeDefined();
      }
    }
  });

  const shared = sharedDir();
  const reference = shared && path.join(shared, 'reference', 'cmf-openapi-2.3.1.yaml');
  (reference && existsSync(reference) ? it : it.skip)('is what openapi/generate.ts makes of CMF 2.3.1 (skipped without the shared reference)', () => {
    const again = buildDocument(yaml.load(readFileSync(reference!, 'utf8'), { schema: yaml.JSON_SCHEMA }) as Record<string, unknown>, document.info.version);
    expect(document).toEqual(JSON.parse(JSON.stringify(again)));
  });
});

describe('serving the document on a drey that requires credentials', () => {
  let secure: SecureDrey;
  beforeAll(async () => {
    secure = await startSecureDrey();
  });
  afterAll(async () => {
    await secure?.stop();
  });

  it('refuses the API without a credential but serves /openapi/v3 and /openapi.yaml', async () => {
    expect((await (await secure.as('none')).get('/drey/api/v1/whoami')).status).toBe(401);
    const asJson = await get(secure, '/openapi/v3');
    expect(asJson.status).toBe(200);
    expect(asJson.headers.get('content-type')).toMatch(/^application\/json/);
    expect(asJson.body).toEqual(document);
    const asYaml = await get(secure, '/openapi.yaml');
    expect(asYaml.status).toBe(200);
    expect(asYaml.text).toBe(text);
  });

  it('tags the document and answers a matching If-None-Match with 304', async () => {
    const first = await get(secure, '/openapi/v3');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[^"]+"$/);
    const again = await get(secure, '/openapi/v3', { 'if-none-match': etag! });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
  });

  it('serves a page at /docs/ whose scripts and styles all come from drey, naming no other host', async () => {
    const page = await get(secure, '/docs/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).not.toMatch(/https?:\/\//);
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toEqual(expect.arrayContaining(['./swagger-ui-bundle.js', './swagger-ui.css', './drey-initializer.js']));
    for (const asset of assets) {
      const res = await get(secure, new URL(asset, 'http://drey/docs/').pathname);
      expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
    }
    const initializer = await get(secure, '/docs/drey-initializer.js');
    expect(initializer.text).toContain('validatorUrl: null');
    expect(initializer.text).toContain("url: '/openapi/v3'");
    expect(initializer.text).not.toMatch(/https?:\/\//);
  });

  it('redirects /docs to /docs/, where the page resolves its assets', async () => {
    const res = await get(secure, '/docs');
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('docs/');
  });
});
