/**
 * Where the hostile suites (test/api/hostile.test.ts, test/api/fuzz.test.ts) send their requests.
 * The local posture is drey's API on plain HTTP without an authenticator, as those suites always
 * ran. The authenticated posture is a whole drey over TLS with every authenticator on, reached as
 * the super user `bootstrap`, or inside `unauthenticated` with no credential or a forged one:
 * test/security/{hostile,fuzz}Authenticated.test.ts choose it, then import the suite.
 */
import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import { encryptionSettings, loadKeyring, type Keyring } from '../../src/security/keyring.js';
import type { PrismaClient } from '../../src/store/client.js';
import { apiClient, startApi, type TestApi } from './api.js';
import { exchange, type WireAnswer, type WireRequest } from './hostile.js';
import { startSecureDrey } from './secureDrey.js';

export type Posture = 'local' | 'authenticated';

/** How a request without a valid credential proves nothing: it sends none, or a well-formed token drey never issued. */
export type NoCredential = 'none' | 'forged';

/** What the suites need of the server they attack. */
export interface HostileTarget extends Pick<TestApi, 'request' | 'get' | 'post' | 'put' | 'delete'> {
  posture: Posture;
  url: string;
  prisma: PrismaClient;
  keyring: Keyring;
  logs: string[];
  /** The tokens its requests carry (none in the local posture): none may reach a log line or an audit row. */
  credentials: string[];
  /** A Node agent that reaches the target (trusting its CA over TLS). */
  agent(options: http.AgentOptions): http.Agent;
  /** `http.request` or `https.request`, with the current credential's headers added. */
  httpRequest(url: string, options: http.RequestOptions, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest;
  /** `exchange` (hostile.ts) over the target's transport, the current credential on every request on the connection. */
  exchange(req: WireRequest, timeoutMs?: number): Promise<WireAnswer>;
  /** Runs `send` with `credential` instead of the super user's on every request it makes (authenticated posture only). */
  unauthenticated<T>(credential: NoCredential, send: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

let chosen: Posture = 'local';
let started: Promise<HostileTarget> | undefined;

/** Makes the suite imported next run against the given posture; a test file calls it before importing the suite. */
export function choosePosture(posture: Posture): void {
  if (started) throw new Error('choosePosture must come before the target is started');
  chosen = posture;
}

/** The posture the suites of this test file run in. */
export function posture(): Posture {
  return chosen;
}

/** The target of this test file, started once however many suites in it ask. */
export function hostileTarget(): Promise<HostileTarget> {
  started ??= chosen === 'local' ? localTarget() : authenticatedTarget();
  return started;
}

/** A well-formed API token (`drey_<32 hex>_<43 base64url>`) that drey never issued: it reaches the lookup, and fails there. */
const FORGED = `drey_${'0'.repeat(32)}_${'B'.repeat(43)}`;

/** `bytes` (one request's head onward) with `header` as its second line. */
function withHeader(bytes: Buffer, header: string): Buffer {
  const text = bytes.toString('latin1');
  const end = text.indexOf('\r\n');
  return end < 0 ? bytes : Buffer.from(`${text.slice(0, end)}\r\n${header}${text.slice(end)}`, 'latin1');
}

/**
 * `req` with `authorization` as its Authorization header, and on the requests pipelined before and
 * after it, unless it sends one of its own (a hostile one, which then replaces the credential).
 */
export function authorized(req: WireRequest, authorization: string | undefined): WireRequest {
  if (authorization === undefined || req.headers.some(([k]) => k.toLowerCase() === 'authorization')) return req;
  const header = `Authorization: ${authorization}`;
  return {
    ...req,
    headers: [['Authorization', authorization], ...req.headers],
    ...(req.before ? { before: withHeader(req.before, header) } : {}),
    ...(req.after ? { after: withHeader(req.after, header) } : {}),
  };
}

async function localTarget(): Promise<HostileTarget> {
  const api = await startApi();
  const port = Number(new URL(api.url).port);
  return {
    ...api,
    posture: 'local',
    credentials: [],
    agent: (options) => new http.Agent(options),
    httpRequest: (url, options, onResponse) => http.request(url, options, onResponse),
    exchange: (req, timeoutMs) => exchange(port, req, timeoutMs),
    unauthenticated: () => {
      throw new Error('the local posture has no authentication');
    },
  };
}

async function authenticatedTarget(): Promise<HostileTarget> {
  // no controllers: the hostile suites compare every table before and after each request; limits
  // on, but too high to trip, so every request still passes through them
  const world = await startSecureDrey({
    CMF_CONTROLLERS: 'off',
    CMF_RATE_LIMIT_PER_MIN: '1000000',
    CMF_RATE_LIMIT_BURST: '1000000',
    CMF_AUTH_FAILURES_PER_MIN: '1000000',
  });
  const { drey } = world;
  const ca = world.serverCa.certPem;
  const port = Number(new URL(drey.url).port);
  const bearer = `Bearer ${world.bootstrapToken}`;
  const clients = {
    bootstrap: apiClient(drey.url, { tls: { ca }, headers: { authorization: bearer } }),
    none: apiClient(drey.url, { tls: { ca } }),
    forged: apiClient(drey.url, { tls: { ca }, headers: { authorization: `Bearer ${FORGED}` } }),
  };
  let current: keyof typeof clients = 'bootstrap';
  const authorization = (): string | undefined => (current === 'bootstrap' ? bearer : current === 'forged' ? `Bearer ${FORGED}` : undefined);
  const tlsOptions: tls.ConnectionOptions = { ca };
  return {
    posture: 'authenticated',
    url: drey.url,
    prisma: drey.prisma,
    keyring: await loadKeyring(encryptionSettings({}, drey.dataDir)),
    logs: drey.logs,
    credentials: [world.bootstrapToken, FORGED],
    request: (...args) => clients[current].request(...args),
    get: (...args) => clients[current].get(...args),
    post: (...args) => clients[current].post(...args),
    put: (...args) => clients[current].put(...args),
    delete: (...args) => clients[current].delete(...args),
    agent: (options) => new https.Agent({ ...options, ca }),
    httpRequest: (url, options, onResponse) => {
      const auth = authorization();
      return https.request(url, { ...options, headers: { ...(auth ? { authorization: auth } : {}), ...options.headers } }, onResponse);
    },
    exchange: (req, timeoutMs) => exchange(port, authorized(req, authorization()), timeoutMs, tlsOptions),
    async unauthenticated(credential, send) {
      current = credential;
      try {
        return await send();
      } finally {
        current = 'bootstrap';
      }
    },
    close: () => world.stop(),
  };
}
