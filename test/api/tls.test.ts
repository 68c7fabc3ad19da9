/**
 * drey's API over TLS and mTLS, with certificates from the test PKI: clients that trust the CA
 * (Node, and curl with the files the Confluent CLI's `--certificate-authority-path`,
 * `--client-cert-path` and `--client-key-path` take), protocol floors, client-auth `need` and
 * `want`, certificate rotation without a restart, and the settings refused at start.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls, { type TLSSocket } from 'node:tls';
import express from 'express';
import { tlsOptions, tlsSettings, watchTls } from '../../src/api/tls.js';
import { serve } from '../../src/api/server.js';
import { ConfigError } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { certificatePrincipal } from '../../src/security/mtls.js';
import { curl, curlPath } from '../support/clients.js';
import { eventually } from '../support/eventually.js';
import { logEntries } from '../support/logLines.js';
import { createCa, issue, writePems, type Ca, type Issued } from '../support/pki.js';

const itCurl = curlPath ? it : it.skip;
const DAY = 86_400_000;

let root: string;
let ca: Ca;
let otherCa: Ca;
let alice: Issued;
beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'drey-tls-'));
  ca = createCa({ cn: 'drey test CA' });
  otherCa = createCa({ cn: 'drey test CA' });
  alice = issue(ca, { cn: 'alice', o: ['acme'], ou: ['eng'], eku: 'clientAuth' });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A directory of its own holding the CA, a server certificate and key: what a TLS drey is given. */
function pkiDir(): { dir: string; caFile: string; cert: string; key: string; server: Issued } {
  const dir = mkdtempSync(path.join(root, 'pki-'));
  const caFile = path.join(dir, 'ca.pem');
  writeFileSync(caFile, ca.certPem);
  const server = issue(ca, { cn: 'drey', eku: 'serverAuth' });
  return { dir, caFile, server, ...writePems(dir, 'server', server) };
}

interface Running {
  port: number;
  url: string;
  logs: string[];
  close(): Promise<void>;
}

/** serve() with TLS from these settings, answering `/whoami` with the connection's certificate principal. */
async function start(env: NodeJS.ProcessEnv): Promise<Running> {
  const settings = tlsSettings(env)!;
  const logs: string[] = [];
  const log = createLogger('debug', (line) => logs.push(line));
  const app = express();
  app.get('/whoami', (req, res) => {
    res.json({ principal: certificatePrincipal(req.socket as TLSSocket, settings.principalMappingRules) });
  });
  const server = await serve(app, { port: 0, host: '127.0.0.1', log, tls: tlsOptions(settings) });
  watchTls(server, settings, log);
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `https://127.0.0.1:${port}`,
    logs,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Client TLS material, as PEM text. */
interface ClientTls {
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
}

/** GET over a new connection (no keep-alive, so every request makes its own handshake). */
function get(port: number, urlPath: string, client: ClientTls): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: urlPath, agent: false, ...client }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** One handshake: the protocol agreed and the serial of the certificate the server presented. */
function handshake(port: number, options: tls.ConnectionOptions): Promise<{ protocol: string | null; serial: string | undefined }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options }, () => {
      const result = { protocol: socket.getProtocol(), serial: socket.getPeerX509Certificate()?.serialNumber };
      socket.end();
      resolve(result);
    });
    socket.on('error', reject);
  });
}

describe('TLS', () => {
  let pki: ReturnType<typeof pkiDir>;
  let api: Running;
  beforeAll(async () => {
    pki = pkiDir();
    api = await start({ CMF_TLS_CERT_FILE: pki.cert, CMF_TLS_KEY_FILE: pki.key });
  });
  afterAll(() => api.close());

  it('serves a client that trusts the CA, checking the IP and the DNS name the certificate carries', async () => {
    expect((await get(api.port, '/whoami', { ca: ca.certPem })).status).toBe(200);
    expect((await get(api.port, '/whoami', { ca: ca.certPem, servername: 'localhost' })).status).toBe(200);
  });

  it('is refused by a client that does not trust the CA', async () => {
    await expect(get(api.port, '/whoami', { ca: otherCa.certPem })).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('asks for no client certificate without client auth', async () => {
    expect((await get(api.port, '/whoami', { ca: ca.certPem })).body).toEqual({ principal: 'none' });
  });

  itCurl('serves curl given the CA file (the CLI flag --certificate-authority-path)', async () => {
    const answer = await curl(`${api.url}/whoami`, ['--cacert', pki.caFile]);
    expect(answer).toMatchObject({ status: 200, exitCode: 0 });
    const byName = await curl(`https://localhost:${api.port}/whoami`, ['--cacert', pki.caFile, '--resolve', `localhost:${api.port}:127.0.0.1`]);
    expect(byName).toMatchObject({ status: 200, exitCode: 0 });
  });

  it.each([
    ['a request without Host', 'GET /whoami HTTP/1.1\r\n\r\n', 'HTTP/1.1 400', 'An HTTP/1.1 request needs a Host header'],
    ['an unmet expectation', 'GET /whoami HTTP/1.1\r\nHost: x\r\nExpect: tea\r\n\r\n', 'HTTP/1.1 417', 'Expect: 100-continue'],
    ['bytes that are no request', 'GET /whoami HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 'HTTP/1.1 400', 'Malformed HTTP request'],
    ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 'HTTP/1.1 501', 'Method CONNECT is not supported'],
  ])('answers %s with a RestError over TLS too', async (_, bytes, statusLine, message) => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: api.port, ca: ca.certPem }, () => socket.write(bytes));
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString('utf8')));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer.startsWith(statusLine)).toBe(true);
    expect(answer).toContain(message);
  });

  it('refuses TLS 1.1, which the same client speaks to a server that allows it', async () => {
    const tls11: tls.ConnectionOptions = { ca: ca.certPem, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' };
    const lenient = tls.createServer({ cert: pki.server.certPem, key: pki.server.keyPem, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, (s) => s.end());
    lenient.listen(0, '127.0.0.1');
    await new Promise((resolve) => lenient.once('listening', resolve));
    try {
      expect(await handshake((lenient.address() as AddressInfo).port, tls11)).toMatchObject({ protocol: 'TLSv1.1' });
    } finally {
      await new Promise((resolve) => lenient.close(resolve));
    }
    await expect(handshake(api.port, tls11)).rejects.toThrow();
    expect(await handshake(api.port, { ca: ca.certPem, maxVersion: 'TLSv1.2' })).toMatchObject({ protocol: 'TLSv1.2' });
  });

  it('refuses TLS 1.2 when the floor is TLSv1.3', async () => {
    const strict = await start({ CMF_TLS_CERT_FILE: pki.cert, CMF_TLS_KEY_FILE: pki.key, CMF_TLS_MIN_VERSION: 'TLSv1.3' });
    try {
      await expect(handshake(strict.port, { ca: ca.certPem, maxVersion: 'TLSv1.2' })).rejects.toThrow();
      expect(await handshake(strict.port, { ca: ca.certPem })).toMatchObject({ protocol: 'TLSv1.3' });
    } finally {
      await strict.close();
    }
  });
});

describe('client auth need', () => {
  let pki: ReturnType<typeof pkiDir>;
  let api: Running;
  beforeAll(async () => {
    pki = pkiDir();
    api = await start({ CMF_TLS_CERT_FILE: pki.cert, CMF_TLS_KEY_FILE: pki.key, CMF_TLS_CLIENT_AUTH: 'need', CMF_TLS_CLIENT_CA_FILE: pki.caFile });
  });
  afterAll(() => api.close());

  it('serves a client certificate the CA issued', async () => {
    expect(await get(api.port, '/whoami', { ca: ca.certPem, cert: alice.certPem, key: alice.keyPem })).toEqual({
      status: 200,
      body: { principal: { user: 'alice', groups: ['acme', 'eng'] } },
    });
  });

  itCurl.each(['pkcs8', 'pkcs1'] as const)('serves curl given the CA, the certificate and its %s key (the CLI flags)', async (keyFormat) => {
    const bob = issue(ca, { cn: 'bob', eku: 'clientAuth', keyFormat });
    const files = writePems(mkdtempSync(path.join(root, 'bob-')), 'bob', bob);
    const answer = await curl(`${api.url}/whoami`, ['--cacert', pki.caFile, '--cert', files.cert, '--key', files.key]);
    expect(answer).toMatchObject({ status: 200, exitCode: 0 });
    expect(JSON.parse(answer.body)).toEqual({ principal: { user: 'bob', groups: [] } });
  });

  itCurl('refuses curl without a client certificate', async () => {
    const answer = await curl(`${api.url}/whoami`, ['--cacert', pki.caFile]);
    expect(answer.status).toBe(0);
    expect(answer.exitCode).not.toBe(0);
  });

  it('fails the handshake without a client certificate, logging it at debug only', async () => {
    await expect(get(api.port, '/whoami', { ca: ca.certPem })).rejects.toMatchObject({ code: expect.any(String) });
    await eventually('the failed handshake in the log', () => logEntries(api.logs).some((e) => e.level === 'debug' && e.msg === 'TLS handshake failed'));
    expect(logEntries(api.logs).filter((e) => e.level === 'error' || e.level === 'warn')).toEqual([]);
  });

  it.each([
    ['from another CA of the same name', () => issue(otherCa, { cn: 'alice', eku: 'clientAuth' })],
    ['that expired', () => issue(ca, { cn: 'alice', eku: 'clientAuth', notBefore: new Date(Date.now() - 2 * DAY), notAfter: new Date(Date.now() - DAY) })],
    ['for servers only', () => issue(ca, { cn: 'alice', eku: 'serverAuth' })],
  ])('fails the handshake for a client certificate %s', async (_, client) => {
    const { certPem, keyPem } = client();
    await expect(get(api.port, '/whoami', { ca: ca.certPem, cert: certPem, key: keyPem })).rejects.toMatchObject({ code: expect.any(String) });
  });
});

describe('client auth want', () => {
  let api: Running;
  beforeAll(async () => {
    const pki = pkiDir();
    api = await start({
      CMF_TLS_CERT_FILE: pki.cert,
      CMF_TLS_KEY_FILE: pki.key,
      CMF_TLS_CLIENT_AUTH: 'want',
      CMF_TLS_CLIENT_CA_FILE: pki.caFile,
      CMF_AUTH_SSL_PRINCIPAL_MAPPING_RULES: 'RULE:^CN=([a-z]+)\\.svc,.*$/$1/L,DEFAULT',
    });
  });
  afterAll(() => api.close());

  it('serves a client without a certificate, whose principal is none', async () => {
    expect(await get(api.port, '/whoami', { ca: ca.certPem })).toEqual({ status: 200, body: { principal: 'none' } });
  });

  it('maps a good certificate by the rules', async () => {
    const billing = issue(ca, { cn: 'billing.svc', o: ['acme'], eku: 'clientAuth' });
    expect((await get(api.port, '/whoami', { ca: ca.certPem, cert: billing.certPem, key: billing.keyPem })).body).toEqual({
      principal: { user: 'billing', groups: ['acme'] },
    });
    expect((await get(api.port, '/whoami', { ca: ca.certPem, cert: alice.certPem, key: alice.keyPem })).body).toEqual({
      principal: { user: 'CN=alice,OU=eng,O=acme', groups: ['acme', 'eng'] },
    });
  });

  it('serves a certificate from another CA as invalid, never as no certificate', async () => {
    const stranger = issue(otherCa, { cn: 'alice', eku: 'clientAuth' });
    expect((await get(api.port, '/whoami', { ca: ca.certPem, cert: stranger.certPem, key: stranger.keyPem })).body).toEqual({ principal: 'invalid' });
  });
});

describe('rotation', () => {
  it('serves a rewritten certificate at the next handshake, without a restart', async () => {
    const pki = pkiDir();
    const api = await start({ CMF_TLS_CERT_FILE: pki.cert, CMF_TLS_KEY_FILE: pki.key });
    try {
      expect((await handshake(api.port, { ca: ca.certPem })).serial).toBe(pki.server.serial);
      const next = issue(ca, { cn: 'drey', eku: 'serverAuth' });
      writePems(pki.dir, 'server', next);
      await eventually('the new certificate', async () => (await handshake(api.port, { ca: ca.certPem })).serial === next.serial);
      expect(logEntries(api.logs).some((e) => e.level === 'info' && e.msg === 'reloaded the TLS certificate')).toBe(true);
    } finally {
      await api.close();
    }
  });

  it('keeps serving the previous certificate when the new files are broken, and logs why', async () => {
    const pki = pkiDir();
    const api = await start({ CMF_TLS_CERT_FILE: pki.cert, CMF_TLS_KEY_FILE: pki.key });
    try {
      writeFileSync(pki.cert, 'not a certificate');
      await eventually('the error', () => logEntries(api.logs).some((e) => e.level === 'error' && e.msg.startsWith('the new TLS files cannot be used')));
      expect((await handshake(api.port, { ca: ca.certPem })).serial).toBe(pki.server.serial);
      const fixed = issue(ca, { cn: 'drey', eku: 'serverAuth' });
      writePems(pki.dir, 'server', fixed);
      await eventually('the fixed certificate', async () => (await handshake(api.port, { ca: ca.certPem })).serial === fixed.serial);
    } finally {
      await api.close();
    }
  });

  it('accepts clients of a CA added to the client CA file, without a restart', async () => {
    const pki = pkiDir();
    const api = await start({ CMF_TLS_CERT_FILE: pki.cert, CMF_TLS_KEY_FILE: pki.key, CMF_TLS_CLIENT_AUTH: 'need', CMF_TLS_CLIENT_CA_FILE: pki.caFile });
    try {
      const newCa = createCa({ cn: 'drey next CA' });
      const carol = issue(newCa, { cn: 'carol', eku: 'clientAuth' });
      const asCarol = (): Promise<{ status: number }> => get(api.port, '/whoami', { ca: ca.certPem, cert: carol.certPem, key: carol.keyPem });
      await expect(asCarol()).rejects.toMatchObject({ code: expect.any(String) });
      writeFileSync(`${pki.caFile}.tmp`, ca.certPem + newCa.certPem);
      renameSync(`${pki.caFile}.tmp`, pki.caFile);
      await eventually('carol admitted', async () => (await asCarol()).status === 200);
    } finally {
      await api.close();
    }
  });
});

describe('TLS settings', () => {
  let pki: ReturnType<typeof pkiDir>;
  let files: NodeJS.ProcessEnv;
  beforeAll(() => {
    pki = pkiDir();
    files = { CMF_TLS_CERT_FILE: pki.cert, CMF_TLS_KEY_FILE: pki.key };
  });

  it('are absent when no TLS variable is set', () => {
    expect(tlsSettings({})).toBeUndefined();
    expect(tlsSettings({ CMF_TLS_CERT_FILE: '', CMF_TLS_KEY_FILE: '' })).toBeUndefined();
  });

  it('default to TLS 1.2 and no client auth', () => {
    expect(tlsSettings(files)).toEqual({ certFile: pki.cert, keyFile: pki.key, minVersion: 'TLSv1.2', clientAuth: 'none', clientCaFile: undefined, principalMappingRules: undefined });
  });

  it('carry the client CA and the parsed mapping rules', () => {
    const settings = tlsSettings({ ...files, CMF_TLS_CLIENT_AUTH: 'need', CMF_TLS_CLIENT_CA_FILE: pki.caFile, CMF_AUTH_SSL_PRINCIPAL_MAPPING_RULES: 'DEFAULT' });
    expect(settings).toMatchObject({ clientAuth: 'need', clientCaFile: pki.caFile, principalMappingRules: [{ default: true }] });
  });

  it.each<[string, (t: NodeJS.ProcessEnv) => NodeJS.ProcessEnv, RegExp]>([
    ['a certificate without a key', (t) => ({ CMF_TLS_CERT_FILE: t.CMF_TLS_CERT_FILE }), /CMF_TLS_KEY_FILE is missing/],
    ['a key without a certificate', (t) => ({ CMF_TLS_KEY_FILE: t.CMF_TLS_KEY_FILE }), /CMF_TLS_CERT_FILE is missing/],
    ['client auth without TLS', () => ({ CMF_TLS_CLIENT_AUTH: 'need' }), /CMF_TLS_CLIENT_AUTH needs TLS/],
    ['mapping rules without TLS', () => ({ CMF_AUTH_SSL_PRINCIPAL_MAPPING_RULES: 'DEFAULT' }), /CMF_AUTH_SSL_PRINCIPAL_MAPPING_RULES needs TLS/],
    ['TLS 1.1', (t) => ({ ...t, CMF_TLS_MIN_VERSION: 'TLSv1.1' }), /CMF_TLS_MIN_VERSION must be TLSv1.2 or TLSv1.3, not 'TLSv1.1'/],
    ['an unknown client auth', (t) => ({ ...t, CMF_TLS_CLIENT_AUTH: 'required' }), /CMF_TLS_CLIENT_AUTH must be none, want or need, not 'required'/],
    ['want without a client CA', (t) => ({ ...t, CMF_TLS_CLIENT_AUTH: 'want' }), /CMF_TLS_CLIENT_AUTH=want needs CMF_TLS_CLIENT_CA_FILE/],
    ['a client CA without client auth', (t) => ({ ...t, CMF_TLS_CLIENT_CA_FILE: pki.caFile }), /CMF_TLS_CLIENT_CA_FILE is only used with CMF_TLS_CLIENT_AUTH want or need/],
    ['mapping rules without client auth', (t) => ({ ...t, CMF_AUTH_SSL_PRINCIPAL_MAPPING_RULES: 'DEFAULT' }), /CMF_AUTH_SSL_PRINCIPAL_MAPPING_RULES is only used/],
    ['a malformed mapping rule', (t) => ({ ...t, CMF_TLS_CLIENT_AUTH: 'need', CMF_TLS_CLIENT_CA_FILE: pki.caFile, CMF_AUTH_SSL_PRINCIPAL_MAPPING_RULES: 'RULE:^CN=(.*)$/$1' }), /CMF_AUTH_SSL_PRINCIPAL_MAPPING_RULES: rule 1 is not DEFAULT or RULE/],
    ['a missing certificate file', (t) => ({ ...t, CMF_TLS_CERT_FILE: path.join(pki.dir, 'nope.pem') }), /CMF_TLS_CERT_FILE: cannot read .*nope\.pem \(ENOENT\)/],
    ['a certificate file without a certificate', (t) => ({ ...t, CMF_TLS_CERT_FILE: t.CMF_TLS_KEY_FILE }), /CMF_TLS_CERT_FILE: .* is not usable: no PEM certificate in it/],
    ['a missing key file', (t) => ({ ...t, CMF_TLS_KEY_FILE: path.join(pki.dir, 'nope-key.pem') }), /CMF_TLS_KEY_FILE: cannot read/],
    ['a client CA file without a certificate', (t) => ({ ...t, CMF_TLS_CLIENT_AUTH: 'need', CMF_TLS_CLIENT_CA_FILE: t.CMF_TLS_KEY_FILE }), /CMF_TLS_CLIENT_CA_FILE: .* is not usable/],
  ])('refuse %s', (_, env, message) => {
    const attempt = (): unknown => tlsSettings(env(files));
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(message);
  });

  it('refuse a key that is not the certificate’s, or not a key, without printing it', () => {
    const other = writePems(pki.dir, 'ca-as-server', { certPem: pki.server.certPem, keyPem: ca.keyPem });
    expect(() => tlsSettings({ ...files, CMF_TLS_KEY_FILE: other.key })).toThrow(/CMF_TLS_KEY_FILE: .* cannot serve .*server\.pem/);
    const garbage = path.join(pki.dir, 'garbage-key.pem');
    writeFileSync(garbage, '-----BEGIN PRIVATE KEY-----\nU0VDUkVULU1BVEVSSUFM\n-----END PRIVATE KEY-----\n');
    let message = '';
    try {
      tlsSettings({ ...files, CMF_TLS_KEY_FILE: garbage });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^CMF_TLS_KEY_FILE: /);
    expect(message).not.toContain('U0VDUkVULU1BVEVSSUFM');
  });
});
