import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { apiClient, type TestApi } from './api.js';
import { startDrey, type TestDrey } from './drey.js';
import { startIssuer, type TestIssuer } from './oidc.js';
import { createCa, issue, writePems, type Ca } from './pki.js';

/** How a test client proves who it is. */
export type Credential =
  | { mtls: string; groups?: string[] }
  | { oidc: string; groups?: string[] }
  | { token: string }
  | 'bootstrap'
  | 'none';

export type Client = Pick<TestApi, 'request' | 'get' | 'post' | 'put' | 'delete'>;

/**
 * A whole drey with every authenticator on, all made by the test: TLS with a server certificate from
 * its own CA, client certificates asked for (`want`) from a client CA, an OIDC issuer on loopback, a
 * bootstrap token (the super user `bootstrap`), and API tokens.
 */
export interface SecureDrey {
  drey: TestDrey;
  serverCa: Ca;
  clientCa: Ca;
  issuer: TestIssuer;
  bootstrapToken: string;
  /** A client that proves itself with `credential`; every response is checked against the contract. */
  as(credential: Credential): Promise<Client>;
  stop(): Promise<void>;
}

export async function startSecureDrey(env: Record<string, string> = {}): Promise<SecureDrey> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'drey-secure-'));
  const serverCa = createCa({ cn: 'drey test server CA' });
  const clientCa = createCa({ cn: 'drey test client CA' });
  const server = writePems(dir, 'server', issue(serverCa, { cn: 'localhost', eku: 'serverAuth', san: ['DNS:localhost', 'IP:127.0.0.1'] }));
  const clientCaFile = path.join(dir, 'client-ca.pem');
  await writeFile(clientCaFile, clientCa.certPem);
  const bootstrapToken = `drey_${randomBytes(32).toString('base64url')}`;
  const bootstrapFile = path.join(dir, 'bootstrap-token');
  await writeFile(bootstrapFile, bootstrapToken, { mode: 0o600 });
  const issuer = await startIssuer();
  const drey = await startDrey(
    {
      CMF_TLS_CERT_FILE: server.cert,
      CMF_TLS_KEY_FILE: server.key,
      CMF_TLS_CLIENT_AUTH: 'want',
      CMF_TLS_CLIENT_CA_FILE: clientCaFile,
      CMF_BOOTSTRAP_TOKEN_FILE: bootstrapFile,
      ...issuer.env(),
      ...env,
    },
    {},
    { tls: { ca: serverCa.certPem }, headers: { authorization: `Bearer ${bootstrapToken}` } },
  );
  const as = async (credential: Credential): Promise<Client> => {
    const tls = { ca: serverCa.certPem };
    if (credential === 'none') return apiClient(drey.url, { tls });
    if (credential === 'bootstrap') return apiClient(drey.url, { tls, headers: { authorization: `Bearer ${bootstrapToken}` } });
    if ('token' in credential) return apiClient(drey.url, { tls, headers: { authorization: `Bearer ${credential.token}` } });
    if ('oidc' in credential) {
      const token = await issuer.mint({ sub: credential.oidc, groups: credential.groups ?? [] });
      return apiClient(drey.url, { tls, headers: { authorization: `Bearer ${token}` } });
    }
    const cert = issue(clientCa, { cn: credential.mtls, o: credential.groups ?? [], eku: 'clientAuth' });
    return apiClient(drey.url, { tls: { ...tls, cert: cert.certPem, key: cert.keyPem } });
  };
  return {
    drey,
    serverCa,
    clientCa,
    issuer,
    bootstrapToken,
    as,
    async stop() {
      await drey.stop();
      await issuer.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
