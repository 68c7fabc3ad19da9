import http, { type Server } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import yaml from 'js-yaml';
import { createApp } from '../../src/api/app.js';
import { serve } from '../../src/api/server.js';
import { createDomain } from '../../src/domain/index.js';
import { createLogger } from '../../src/log.js';
import { createPrismaClient, type PrismaClient } from '../../src/store/client.js';
import type { Keyring } from '../../src/security/keyring.js';
import { createStore } from '../../src/store/index.js';
import { loadContract, loadLaterContract } from './contract.js';
import { freshDatabase } from './db.js';
import { ephemeralKeyring } from './keyring.js';

/** A response as tests see it: the parsed body (JSON or YAML) and the raw text. */
export interface TestResponse {
  status: number;
  headers: { get(name: string): string | null };
  text: string;
  body: any;
}

/** Options of one request. */
export interface RequestOptions {
  /** Send the body as YAML (application/yaml) instead of JSON. */
  yaml?: boolean;
  /** Ask for YAML back. */
  acceptYaml?: boolean;
  headers?: Record<string, string>;
}

/** How a client reaches an https drey, and who it says it is. */
export interface ClientOptions {
  /** The CA that signed drey's certificate, and a client certificate with its key (mTLS). */
  tls?: { ca: string; cert?: string; key?: string };
  /** Headers on every request, such as `Authorization: Bearer …`. */
  headers?: Record<string, string>;
}

/** drey's API on a fresh database, listening on a free port, checked against the contract. */
export interface TestApi {
  url: string;
  /** The HTTP server, for tests that look at its connections. */
  server: Server;
  databaseUrl: string;
  prisma: PrismaClient;
  /** The master keys its secrets are sealed with. */
  keyring: Keyring;
  /** Lines drey logged. */
  logs: string[];
  request(method: string, path: string, body?: unknown, options?: RequestOptions): Promise<TestResponse>;
  get(path: string, options?: RequestOptions): Promise<TestResponse>;
  post(path: string, body?: unknown, options?: RequestOptions): Promise<TestResponse>;
  put(path: string, body?: unknown, options?: RequestOptions): Promise<TestResponse>;
  delete(path: string, options?: RequestOptions): Promise<TestResponse>;
  close(): Promise<void>;
}

/**
 * One plain HTTP/1.1 exchange. Not fetch: fetch adds `Cache-Control: no-cache` to conditional
 * requests, which would hide drey's 304s.
 */
function send(url: string, method: string, headers: Record<string, string>, body: string | undefined, agent?: https.Agent): Promise<{ status: number; headers: TestResponse['headers']; text: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? https : http).request(url, { method, headers, ...(agent ? { agent } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: { get: (name) => { const v = res.headers[name.toLowerCase()]; return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v; } },
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function parse(text: string, contentType: string | null): unknown {
  if (text === '') return undefined;
  if (contentType?.includes('yaml')) return yaml.load(text);
  if (contentType?.includes('json')) return JSON.parse(text);
  return text;
}

/** A client of drey's API at `url`; every response is checked against the CMF contract. */
export function apiClient(url: string, client: ClientOptions = {}): Pick<TestApi, 'request' | 'get' | 'post' | 'put' | 'delete'> {
  const contract = loadContract();
  const laterContract = loadLaterContract();
  const agent = client.tls ? new https.Agent({ keepAlive: true, ca: client.tls.ca, ...(client.tls.cert ? { cert: client.tls.cert, key: client.tls.key } : {}) }) : undefined;
  async function request(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<TestResponse> {
    const headers: Record<string, string> = { ...(opts.acceptYaml ? { accept: 'application/yaml' } : {}), ...client.headers, ...opts.headers };
    let payload: string | undefined;
    if (typeof body === 'string') {
      payload = body;
    } else if (body !== undefined) {
      payload = opts.yaml ? yaml.dump(body) : JSON.stringify(body);
      headers['content-type'] ??= opts.yaml ? 'application/yaml' : 'application/json';
    }
    const res = await send(`${url}${path}`, method, headers, payload, agent);
    const text = res.text;
    const parsed = parse(text, res.headers.get('content-type'));
    if (contract) {
      const args = [method, path.split('?')[0]!, res.status, res.headers.get('content-type') ?? undefined, parsed] as const;
      const problems = [...contract.check(...args), ...(laterContract?.check(...args) ?? [])];
      if (problems.length > 0) {
        throw new Error(`${method} ${path} → ${res.status} breaks the contract:\n  ${problems.join('\n  ')}\nbody: ${text.slice(0, 2000)}`);
      }
    }
    return { status: res.status, headers: res.headers, text, body: parsed };
  }
  return {
    request,
    get: (path, o) => request('GET', path, undefined, o),
    post: (path, body, o) => request('POST', path, body, o),
    put: (path, body, o) => request('PUT', path, body, o),
    delete: (path, o) => request('DELETE', path, undefined, o),
  };
}

/**
 * Starts the API in-process on its own database, without controllers. Every response is checked
 * against the CMF contract; a response that breaks it fails the request (and so the test).
 */
export async function startApi(options: { databaseUrl?: string; keyring?: Keyring } = {}): Promise<TestApi> {
  const databaseUrl = options.databaseUrl ?? (await freshDatabase());
  const prisma = createPrismaClient(databaseUrl);
  const keyring = options.keyring ?? ephemeralKeyring();
  const logs: string[] = [];
  const log = createLogger('debug', (line) => logs.push(line));
  const app = createApp({ domain: createDomain(createStore(prisma, { keyring })), log });
  const server: Server = await serve(app, { port: 0, host: '127.0.0.1', log });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    server,
    databaseUrl,
    prisma,
    keyring,
    logs,
    ...apiClient(url),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await prisma.$disconnect();
    },
  };
}
