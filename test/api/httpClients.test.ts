/**
 * The HTTP edge through the clients people really use: Node's fetch, with the headers it adds by
 * itself, and curl. Unknown paths, conditional GETs and oversized bodies.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { createLogger } from '../../src/log.js';
import { SimApiServer } from '../../src/sim/apiserver/index.js';
import { curl, curlPath } from '../support/clients.js';
import { startApi, type TestApi } from '../support/api.js';
import { environment } from '../support/fixtures.js';

const MIB = 1024 * 1024;
const ENVS = '/cmf/api/v1/environments';
const itCurl = curlPath ? it : it.skip;

let api: TestApi;
let tmp: string;
/** Every connection the server accepted, to see how much it read. */
const sockets: Socket[] = [];

beforeAll(async () => {
  api = await startApi();
  api.server.on('connection', (s: Socket) => sockets.push(s));
  tmp = mkdtempSync(path.join(os.tmpdir(), 'drey-clients-'));
  expect((await api.post(ENVS, environment('env-etag', 'flink-etag'))).status).toBe(201);
});
afterAll(async () => {
  await api.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** A JSON environment padded to `bytes`. */
function bigEnvironment(name: string, bytes: number): Buffer {
  return Buffer.from(JSON.stringify({ ...environment(name, 'flink-big'), padding: 'x'.repeat(bytes) }));
}

/** The same bytes as a stream, so fetch sends them chunked (no Content-Length). */
function streamOf(bytes: Buffer): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (let at = 0; at < bytes.length; at += 64 * 1024) controller.enqueue(bytes.subarray(at, at + 64 * 1024));
      controller.close();
    },
  });
}

/** The most any connection accepted since `from` read from its client. */
function mostRead(from: number): number {
  return Math.max(0, ...sockets.slice(from).map((s) => s.bytesRead));
}

describe('unknown paths', () => {
  it.each([
    ['/hello', 'Resource not found: [hello]'],
    ['/', 'Resource not found: []'],
  ])('GET %s through fetch answers 404 %s, as the contract’s Troubleshooting section shows', async (p, message) => {
    const res = await fetch(`${api.url}${p}`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ errors: [{ message }] });
  });

  itCurl.each([
    [`/hello`, 'Resource not found: [hello]'],
    [``, 'Resource not found: []'],
  ])('curl of "%s" answers 404 %s', async (p, message) => {
    const answer = await curl(`${api.url}${p}`, []);
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body)).toEqual({ errors: [{ message }] });
  });
});

describe('conditional GETs', () => {
  const one = `${ENVS}/env-etag`;

  it.each([
    ['an environment', one],
    ['the list of environments', ENVS],
  ])('fetch, which adds Cache-Control: no-cache to a conditional request, gets 304 for %s', async (_what, p) => {
    const first = await fetch(`${api.url}${p}`);
    expect(first.status).toBe(200);
    const tag = first.headers.get('etag')!;
    expect(tag).toMatch(/^"[^"]+"$/);
    await first.arrayBuffer();
    const again = await fetch(`${api.url}${p}`, { headers: { 'if-none-match': tag } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(tag);
    expect(await again.text()).toBe('');
  });

  it('evaluates If-None-Match whatever Cache-Control and Pragma say, with weak, listed and * tags', async () => {
    const first = await api.get(one);
    const tag = first.headers.get('etag')!;
    const noCache = { 'cache-control': 'no-cache', pragma: 'no-cache' };
    for (const given of [tag, `W/${tag}`, `"other", ${tag}`, '*']) {
      const res = await api.get(one, { headers: { ...noCache, 'if-none-match': given } });
      expect({ given, status: res.status, text: res.text }).toEqual({ given, status: 304, text: '' });
    }
    expect((await api.get(one, { headers: { ...noCache, 'if-none-match': '"other"' } })).status).toBe(200);
  });

  it('tags each representation of its own: the JSON tag does not match the YAML answer', async () => {
    const json = await api.get(one);
    const asYaml = await api.get(one, { acceptYaml: true, headers: { 'if-none-match': json.headers.get('etag')! } });
    expect(asYaml.status).toBe(200);
    expect(asYaml.headers.get('vary')).toMatch(/Accept/);
    expect((await api.get(one, { acceptYaml: true, headers: { 'if-none-match': asYaml.headers.get('etag')! } })).status).toBe(304);
  });

  it('answers 200 with the new body once the object changed', async () => {
    const before = await api.get(one);
    expect((await api.post(ENVS, environment('env-etag', 'flink-etag', { flinkApplicationDefaults: { spec: { flinkConfiguration: { a: 'b' } } } }))).status).toBe(201);
    const after = await fetch(`${api.url}${one}`, { headers: { 'if-none-match': before.headers.get('etag')! } });
    expect(after.status).toBe(200);
    expect(((await after.json()) as any).flinkApplicationDefaults.spec.flinkConfiguration).toEqual({ a: 'b' });
  });

  itCurl('curl with If-None-Match and Cache-Control: no-cache gets 304 for an object and for a list', async () => {
    for (const p of [one, ENVS]) {
      const first = await curl(`${api.url}${p}`, []);
      expect(first.status).toBe(200);
      const again = await curl(`${api.url}${p}`, ['-H', `If-None-Match: ${first.headers.etag}`, '-H', 'Cache-Control: no-cache']);
      expect({ p, status: again.status, body: again.body }).toEqual({ p, status: 304, body: '' });
    }
  });
});

describe('oversized bodies', () => {
  const TOO_LARGE = { errors: [{ message: `Request body is larger than ${MIB} bytes` }] };

  it.each([
    ['with a Content-Length', (b: Buffer) => b],
    ['chunked', (b: Buffer) => streamOf(b)],
  ])('a 12 MiB JSON body POSTed by fetch %s gets the 413 RestError, and drey reads little of it', async (_how, body) => {
    // several times: a server that resets the connection loses the answer only now and then
    for (let attempt = 0; attempt < 5; attempt++) {
      const from = sockets.length;
      const res = await fetch(`${api.url}${ENVS}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body(bigEnvironment('env-huge-fetch', 12 * MIB)),
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
      expect(res.headers.get('connection')).toBe('close');
      expect(await res.json()).toEqual(TOO_LARGE);
      // the limit, plus what was in flight when it was crossed; never the 12 MiB
      expect(mostRead(from)).toBeLessThan(MIB + 512 * 1024);
    }
    expect((await api.get(`${ENVS}/env-huge-fetch`)).status).toBe(404);
  });

  itCurl.each([
    ['with a Content-Length', []],
    ['chunked', ['-H', 'Transfer-Encoding: chunked']],
    ['without Expect: 100-continue', ['-H', 'Expect:']],
  ])('a 12 MiB JSON body POSTed by curl %s gets the 413 RestError', async (_how, extra) => {
    const file = path.join(tmp, 'big.json');
    writeFileSync(file, bigEnvironment('env-huge-curl', 12 * MIB));
    const from = sockets.length;
    const answer = await curl(`${api.url}${ENVS}`, ['-H', 'Content-Type: application/json', '--data-binary', `@${file}`, ...(extra as string[])]);
    expect({ status: answer.status, body: answer.body ? JSON.parse(answer.body) : answer.stderr }).toEqual({ status: 413, body: TOO_LARGE });
    expect(mostRead(from)).toBeLessThan(MIB + 512 * 1024);
    expect((await api.get(`${ENVS}/env-huge-curl`)).status).toBe(404);
  });

  it('a body just under the limit is read whole and stored as usual', async () => {
    const res = await fetch(`${api.url}${ENVS}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: bigEnvironment('env-almost', MIB - 200),
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as any).name).toBe('env-almost');
  });
});

describe('oversized bodies on the simulated Kubernetes API server', () => {
  let sim: SimApiServer;
  let ca: string;
  let token: string;
  beforeAll(async () => {
    sim = await SimApiServer.start({ log: createLogger('error'), crds: [] });
    const config = yaml.load(sim.kubeconfig()) as any;
    ca = Buffer.from(config.clusters[0].cluster['certificate-authority-data'], 'base64').toString('utf8');
    token = config.users[0].user.token;
  });
  afterAll(async () => sim?.close());

  /** POSTs `bytes` with node:https (which keeps writing while the server answers). */
  function post(bytes: Buffer, chunked: boolean): Promise<{ status: number; body: any }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        `${sim.url}/api/v1/namespaces`,
        { method: 'POST', ca, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': bytes.length }) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
        },
      );
      req.on('error', reject);
      for (let at = 0; at < bytes.length; at += 64 * 1024) req.write(bytes.subarray(at, at + 64 * 1024));
      req.end();
    });
  }

  const namespace = (bytes: number) => Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'huge' }, padding: 'x'.repeat(bytes) }));

  it.each([
    ['with a Content-Length', false],
    ['chunked', true],
  ])('a 12 MiB body sent %s gets the 413 Status', async (_how, chunked) => {
    const answer = await post(namespace(12 * MIB), chunked);
    expect(answer).toEqual({ status: 413, body: expect.objectContaining({ kind: 'Status', code: 413, reason: 'RequestEntityTooLarge' }) });
  });

  itCurl('curl gets the 413 Status for a 12 MiB body', async () => {
    const file = path.join(tmp, 'namespace.json');
    writeFileSync(file, namespace(12 * MIB));
    writeFileSync(path.join(tmp, 'ca.pem'), ca);
    const answer = await curl(`${sim.url}/api/v1/namespaces`, [
      '--cacert', path.join(tmp, 'ca.pem'), '-H', `Authorization: Bearer ${token}`, '-H', 'Content-Type: application/json', '--data-binary', `@${file}`,
    ]);
    expect({ status: answer.status, reason: answer.body ? JSON.parse(answer.body).reason : answer.stderr }).toEqual({ status: 413, reason: 'RequestEntityTooLarge' });
  });
});
