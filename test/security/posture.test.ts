/**
 * drey's security posture: which settings `loadConfig` accepts (loopback only without an
 * authenticator, production only with everything it needs), how it refuses the others, and the
 * line every start logs saying who can reach drey.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.js';
import { startDrey, type TestDrey } from '../support/drey.js';
import { logEntries } from '../support/logLines.js';
import { createCa, issue, writePems } from '../support/pki.js';
import { startSecureDrey } from '../support/secureDrey.js';

let dir: string;
/** Every setting production needs: TLS with client certificates (the authenticator), an administrator, its own key. */
let production: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'drey-posture-'));
  const ca = createCa({ cn: 'posture CA' });
  const server = writePems(dir, 'server', issue(ca, { cn: 'localhost', eku: 'serverAuth' }));
  const clientCa = writePems(dir, 'client-ca', { certPem: ca.certPem, keyPem: ca.keyPem });
  production = {
    CMF_MODE: 'production',
    CMF_TLS_CERT_FILE: server.cert,
    CMF_TLS_KEY_FILE: server.key,
    CMF_TLS_CLIENT_AUTH: 'need',
    CMF_TLS_CLIENT_CA_FILE: clientCa.cert,
    CMF_SUPER_USERS: 'User:alice',
    CMF_ENCRYPTION_KEYS: 'k1=env:DREY_POSTURE_KEY',
    DREY_POSTURE_KEY: randomBytes(32).toString('base64'),
  };
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** `env` without the named settings. */
const without = (env: Record<string, string>, ...names: string[]): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter(([k]) => !names.includes(k)));

/** The message of the ConfigError `loadConfig(env)` throws; fails when it throws none or another error. */
function refusal(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

const AUTHENTICATOR = 'an authenticator (CMF_TLS_CLIENT_AUTH=need|want, CMF_OIDC_ISSUER or CMF_BOOTSTRAP_TOKEN_FILE)';
const TLS = 'TLS (CMF_TLS_CERT_FILE and CMF_TLS_KEY_FILE)';
const KEYS = 'encryption keys (CMF_ENCRYPTION_KEYS)';
const ADMINISTRATOR = 'an administrator (CMF_SUPER_USERS or CMF_BOOTSTRAP_TOKEN_FILE)';

describe('the address drey serves', () => {
  it('is loopback when no authenticator is configured and HOST is unset', () => {
    const config = loadConfig({});
    expect({ host: config.host, mode: config.security.mode, authenticated: config.security.authenticated }).toEqual({
      host: '127.0.0.1',
      mode: 'local',
      authenticated: false,
    });
  });

  it('is every address when an authenticator and TLS are configured and HOST is unset', () => {
    expect(loadConfig(production).host).toBe('0.0.0.0');
  });

  it('stays loopback with an authenticator but no TLS, where credentials would travel in clear, unless HOST says otherwise', () => {
    const config = loadConfig({ CMF_BOOTSTRAP_TOKEN_FILE: path.join(dir, 'bootstrap-token') });
    expect({ host: config.host, authenticated: config.security.authenticated }).toEqual({ host: '127.0.0.1', authenticated: true });
    expect(loadConfig({ CMF_BOOTSTRAP_TOKEN_FILE: path.join(dir, 'bootstrap-token'), HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  });

  it.each(['127.0.0.1', '127.8.9.10', 'localhost', '::1'])('may be the loopback address %s without an authenticator', (host) => {
    expect(loadConfig({ HOST: host }).host).toBe(host);
  });

  it.each(['0.0.0.0', '::', '192.168.1.10', 'drey.example.com', '127.0.0.1.nip.io', 'localhost.example.com'])(
    'may not be %s without an authenticator: the error says why and the three ways out',
    (host) => {
      const message = refusal({ HOST: host });
      expect(message).toContain(`HOST=${host} would let anyone who reaches it do anything: no authenticator is configured`);
      expect(message).toContain('CMF_TLS_CLIENT_AUTH, CMF_OIDC_ISSUER or CMF_BOOTSTRAP_TOKEN_FILE');
      expect(message).toContain('leave HOST unset');
      expect(message).toContain('CMF_UNAUTHENTICATED_ACCEPT_RISK=true');
    },
  );

  it('may be any address without an authenticator when the risk is accepted', () => {
    const config = loadConfig({ HOST: '0.0.0.0', CMF_UNAUTHENTICATED_ACCEPT_RISK: 'true' });
    expect({ host: config.host, acceptRisk: config.security.acceptRisk }).toEqual({ host: '0.0.0.0', acceptRisk: true });
  });

  it.each(['yes', '1', 'TRUE'])('takes CMF_UNAUTHENTICATED_ACCEPT_RISK=%s for neither true nor false', (value) => {
    expect(refusal({ HOST: '0.0.0.0', CMF_UNAUTHENTICATED_ACCEPT_RISK: value })).toBe(`CMF_UNAUTHENTICATED_ACCEPT_RISK must be true or false, not '${value}'`);
  });
});

describe('CMF_MODE=production', () => {
  it('starts with an authenticator, TLS, its own keys and an administrator, serving every address', () => {
    const config = loadConfig(production);
    expect({ mode: config.security.mode, host: config.host, tls: config.security.tls?.clientAuth, keys: config.encryption.mode }).toEqual({
      mode: 'production',
      host: '0.0.0.0',
      tls: 'need',
      keys: 'keys',
    });
  });

  it('names everything missing when nothing is configured', () => {
    expect(refusal({ CMF_MODE: 'production' })).toBe(`CMF_MODE=production needs ${AUTHENTICATOR}, ${TLS}, ${KEYS}, ${ADMINISTRATOR}`);
  });

  it.each<[string, () => Record<string, string>, string]>([
    ['an authenticator', () => without(production, 'CMF_TLS_CLIENT_AUTH', 'CMF_TLS_CLIENT_CA_FILE'), AUTHENTICATOR],
    // the bootstrap token stays the authenticator (and adds its administrator)
    ['TLS', () => ({ ...without(production, 'CMF_TLS_CERT_FILE', 'CMF_TLS_KEY_FILE', 'CMF_TLS_CLIENT_AUTH', 'CMF_TLS_CLIENT_CA_FILE'), CMF_BOOTSTRAP_TOKEN_FILE: path.join(dir, 'bootstrap-token') }), TLS],
    ['encryption keys (the generated local key will not do)', () => without(production, 'CMF_ENCRYPTION_KEYS'), KEYS],
    ['an administrator', () => without(production, 'CMF_SUPER_USERS'), ADMINISTRATOR],
  ])('refuses to start without %s, naming only that', (_what, env, missing) => {
    expect(refusal(env())).toBe(`CMF_MODE=production needs ${missing}`);
  });

  it('counts the bootstrap token as an administrator', () => {
    const env = { ...without(production, 'CMF_SUPER_USERS'), CMF_BOOTSTRAP_TOKEN_FILE: path.join(dir, 'bootstrap-token') };
    expect(loadConfig(env).security.superUsers).toEqual(['User:system:bootstrap']);
  });

  it('refuses CMF_UNAUTHENTICATED_ACCEPT_RISK', () => {
    expect(refusal({ ...production, CMF_UNAUTHENTICATED_ACCEPT_RISK: 'true' })).toBe('CMF_MODE=production does not allow CMF_UNAUTHENTICATED_ACCEPT_RISK');
  });

  it('is one of two modes', () => {
    expect(refusal({ CMF_MODE: 'prod' })).toBe("CMF_MODE must be local or production, not 'prod'");
  });
});

describe('the other security settings', () => {
  it('default to every audit sink, generous limits and no super user', () => {
    const { security } = loadConfig({});
    expect({ audit: security.audit, rateLimit: security.rateLimit, superUsers: security.superUsers }).toEqual({
      audit: { db: true, stdout: true },
      rateLimit: { perMinute: 1200, burst: 200, failuresPerMinute: 30 },
      superUsers: [],
    });
  });

  it('read super users, audit sinks and limits', () => {
    const { security } = loadConfig({
      CMF_SUPER_USERS: ' User:alice , Group:platform-admins,',
      CMF_AUDIT: 'stdout',
      CMF_RATE_LIMIT_PER_MIN: '0',
      CMF_RATE_LIMIT_BURST: '1',
      CMF_AUTH_FAILURES_PER_MIN: '5',
    });
    expect({ audit: security.audit, rateLimit: security.rateLimit, superUsers: security.superUsers }).toEqual({
      audit: { db: false, stdout: true },
      rateLimit: { perMinute: 0, burst: 1, failuresPerMinute: 5 },
      superUsers: ['User:alice', 'Group:platform-admins'],
    });
    expect(loadConfig({ CMF_AUDIT: 'none' }).security.audit).toEqual({ db: false, stdout: false });
  });

  it.each<[Record<string, string>, string]>([
    [{ CMF_SUPER_USERS: 'alice' }, "CMF_SUPER_USERS entries must be User:<name> or Group:<name>, not 'alice'"],
    [{ CMF_SUPER_USERS: 'User:alice,Role:admin' }, "CMF_SUPER_USERS entries must be User:<name> or Group:<name>, not 'Role:admin'"],
    [{ CMF_SUPER_USERS: 'User:' }, "CMF_SUPER_USERS entries must be User:<name> or Group:<name>, not 'User:'"],
    [{ CMF_SUPER_USERS: 'User:al ice' }, "CMF_SUPER_USERS entries must be User:<name> or Group:<name>, not 'User:al ice'"],
    [{ CMF_AUDIT: 'file' }, "CMF_AUDIT must list db, stdout or none, not 'file'"],
    [{ CMF_AUDIT: 'db,syslog' }, "CMF_AUDIT must list db, stdout or none, not 'syslog'"],
    [{ CMF_RATE_LIMIT_PER_MIN: 'many' }, "CMF_RATE_LIMIT_PER_MIN must be an integer from 0 to 1000000, not 'many'"],
    [{ CMF_RATE_LIMIT_PER_MIN: '-1' }, "CMF_RATE_LIMIT_PER_MIN must be an integer from 0 to 1000000, not '-1'"],
    [{ CMF_RATE_LIMIT_PER_MIN: '1.5' }, "CMF_RATE_LIMIT_PER_MIN must be an integer from 0 to 1000000, not '1.5'"],
    [{ CMF_RATE_LIMIT_PER_MIN: '1000001' }, "CMF_RATE_LIMIT_PER_MIN must be an integer from 0 to 1000000, not '1000001'"],
    [{ CMF_RATE_LIMIT_BURST: '0' }, "CMF_RATE_LIMIT_BURST must be an integer from 1 to 1000000, not '0'"],
    [{ CMF_AUTH_FAILURES_PER_MIN: '-5' }, "CMF_AUTH_FAILURES_PER_MIN must be an integer from 0 to 1000000, not '-5'"],
    [{ CMF_AUTH_FAILURES_PER_MIN: '5/min' }, "CMF_AUTH_FAILURES_PER_MIN must be an integer from 0 to 1000000, not '5/min'"],
  ])('refuses %j', (env, message) => {
    expect(refusal(env)).toBe(message);
  });
});

describe('the posture line every start logs', () => {
  const posture = (logs: string[]) => logEntries(logs).filter((e) => /no authenticator configured|authentication on/.test(e.msg));
  let drey: TestDrey | undefined;
  afterEach(async () => {
    await drey?.stop();
    drey = undefined;
  });

  it('says loopback only, at info, without an authenticator', async () => {
    drey = await startDrey({ CMF_CONTROLLERS: 'off' });
    expect(posture(drey.logs)).toEqual([
      {
        level: 'info',
        time: expect.any(String),
        msg: 'no authenticator configured: serving this machine only (loopback); anyone on it can use the API',
        url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      },
    ]);
  });

  it('warns that anyone who reaches the address can do anything when the risk is accepted', async () => {
    drey = await startDrey({ CMF_CONTROLLERS: 'off', HOST: '0.0.0.0', CMF_UNAUTHENTICATED_ACCEPT_RISK: 'true' });
    expect(posture(drey.logs)).toEqual([
      {
        level: 'warn',
        time: expect.any(String),
        msg: 'no authenticator configured and CMF_UNAUTHENTICATED_ACCEPT_RISK=true: anyone who reaches this address can do anything',
        url: expect.stringMatching(/^http:\/\/localhost:\d+$/),
      },
    ]);
  });

  it('names the authenticators and super users, and no credential, when authentication is on', async () => {
    const world = await startSecureDrey({ CMF_CONTROLLERS: 'off' });
    try {
      expect(posture(world.drey.logs)).toEqual([
        {
          level: 'info',
          time: expect.any(String),
          msg: 'authentication on',
          mode: 'local',
          mtls: 'want',
          oidcIssuers: world.issuer.url,
          apiTokens: 'on',
          bootstrapToken: 'on',
          superUsers: 'User:system:bootstrap',
        },
      ]);
      expect(world.drey.logs.some((l) => l.includes(world.bootstrapToken))).toBe(false);
    } finally {
      await world.stop();
    }
  });
});
