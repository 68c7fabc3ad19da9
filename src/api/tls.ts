/**
 * drey's API over TLS, with client certificates (CMF's `cmf.ssl.*` and `client-auth`): the
 * settings, read and checked at start; the server options; and the reload of rotated files
 * (cert-manager, Kubernetes secrets) without a restart.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import type https from 'node:https';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../config.js';
import type { Logger } from '../log.js';
import { parseMappingRules, type MappingRules } from '../security/mtls.js';

const MIN_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;
const CLIENT_AUTH = ['none', 'want', 'need'] as const;

/** The TLS settings of the API; absent when it serves plain HTTP. */
export interface TlsSettings {
  certFile: string;
  keyFile: string;
  minVersion: (typeof MIN_VERSIONS)[number];
  /** `want`: a client certificate is asked for and checked if sent; `need`: a connection without a valid one fails. */
  clientAuth: (typeof CLIENT_AUTH)[number];
  /** The CAs client certificates must chain to; set exactly when `clientAuth` is not `none`. */
  clientCaFile: string | undefined;
  /** How a client certificate's subject becomes a user; the CN when absent. */
  principalMappingRules: MappingRules | undefined;
}

/** The certificates of a PEM bundle; throws when there is none or one does not parse. */
function certificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error('no PEM certificate in it');
  return blocks.map((block) => new X509Certificate(block));
}

/** The files' contents, read now. */
function material(settings: TlsSettings): { cert: Buffer; key: Buffer; ca: Buffer | undefined } {
  return {
    cert: readFileSync(settings.certFile),
    key: readFileSync(settings.keyFile),
    ca: settings.clientCaFile === undefined ? undefined : readFileSync(settings.clientCaFile),
  };
}

/** Options for `https.createServer` and `setSecureContext`, with the files read now. */
function optionsOf(settings: TlsSettings, files: ReturnType<typeof material>): https.ServerOptions {
  return {
    cert: files.cert,
    key: files.key,
    ...(files.ca ? { ca: files.ca } : {}),
    minVersion: settings.minVersion,
    requestCert: settings.clientAuth !== 'none',
    rejectUnauthorized: settings.clientAuth === 'need',
  };
}

/** Checks that the files can serve: the certificates parse and the key belongs to the certificate. */
function check(settings: TlsSettings, files: ReturnType<typeof material>): void {
  certificates(files.cert.toString('utf8'));
  if (files.ca) certificates(files.ca.toString('utf8'));
  // builds the context the server would: a key that is not the certificate's fails here
  createSecureContext(optionsOf(settings, files));
}

/** Reads a file at start, naming the variable it came from when it cannot be read or used. */
function readable(variable: string, file: string, use: (text: string) => unknown): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    use(text);
  } catch (err) {
    throw new ConfigError(`${variable}: ${file} is not usable: ${(err as Error).message}`);
  }
}

/**
 * Reads the TLS settings from the environment (CMF_TLS_*, CMF_AUTH_SSL_PRINCIPAL_MAPPING_RULES)
 * and checks the files, so a missing, unreadable or mismatched certificate stops drey at start
 * rather than at its first client. Undefined when TLS is off. Throws ConfigError naming the variable.
 */
export function tlsSettings(env: NodeJS.ProcessEnv): TlsSettings | undefined {
  const value = (name: string): string | undefined => env[name] || undefined;
  const certFile = value('CMF_TLS_CERT_FILE');
  const keyFile = value('CMF_TLS_KEY_FILE');
  const dependent = ['CMF_TLS_MIN_VERSION', 'CMF_TLS_CLIENT_AUTH', 'CMF_TLS_CLIENT_CA_FILE', 'CMF_AUTH_SSL_PRINCIPAL_MAPPING_RULES'];
  if (certFile === undefined && keyFile === undefined) {
    const set = dependent.find((name) => value(name) !== undefined);
    if (set) throw new ConfigError(`${set} needs TLS: set CMF_TLS_CERT_FILE and CMF_TLS_KEY_FILE`);
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined) {
    throw new ConfigError(`CMF_TLS_CERT_FILE and CMF_TLS_KEY_FILE are set together or not at all; ${certFile ? 'CMF_TLS_KEY_FILE' : 'CMF_TLS_CERT_FILE'} is missing`);
  }
  const minVersion = value('CMF_TLS_MIN_VERSION') ?? 'TLSv1.2';
  if (!(MIN_VERSIONS as readonly string[]).includes(minVersion)) {
    throw new ConfigError(`CMF_TLS_MIN_VERSION must be TLSv1.2 or TLSv1.3, not '${minVersion}'`);
  }
  const clientAuth = value('CMF_TLS_CLIENT_AUTH') ?? 'none';
  if (!(CLIENT_AUTH as readonly string[]).includes(clientAuth)) {
    throw new ConfigError(`CMF_TLS_CLIENT_AUTH must be none, want or need, not '${clientAuth}'`);
  }
  const clientCaFile = value('CMF_TLS_CLIENT_CA_FILE');
  if (clientAuth !== 'none' && clientCaFile === undefined) {
    throw new ConfigError(`CMF_TLS_CLIENT_AUTH=${clientAuth} needs CMF_TLS_CLIENT_CA_FILE, the CAs client certificates must chain to`);
  }
  const rulesText = value('CMF_AUTH_SSL_PRINCIPAL_MAPPING_RULES');
  if (clientAuth === 'none') {
    const unused = clientCaFile !== undefined ? 'CMF_TLS_CLIENT_CA_FILE' : rulesText !== undefined ? 'CMF_AUTH_SSL_PRINCIPAL_MAPPING_RULES' : undefined;
    if (unused) throw new ConfigError(`${unused} is only used with CMF_TLS_CLIENT_AUTH want or need`);
  }
  let principalMappingRules: MappingRules | undefined;
  if (rulesText !== undefined) {
    try {
      principalMappingRules = parseMappingRules(rulesText);
    } catch (err) {
      throw new ConfigError(`CMF_AUTH_SSL_PRINCIPAL_MAPPING_RULES: ${(err as Error).message}`);
    }
  }
  const settings: TlsSettings = {
    certFile: path.resolve(certFile),
    keyFile: path.resolve(keyFile),
    minVersion: minVersion as TlsSettings['minVersion'],
    clientAuth: clientAuth as TlsSettings['clientAuth'],
    clientCaFile: clientCaFile === undefined ? undefined : path.resolve(clientCaFile),
    principalMappingRules,
  };
  readable('CMF_TLS_CERT_FILE', settings.certFile, certificates);
  readable('CMF_TLS_KEY_FILE', settings.keyFile, () => undefined);
  if (settings.clientCaFile) readable('CMF_TLS_CLIENT_CA_FILE', settings.clientCaFile, certificates);
  try {
    check(settings, material(settings));
  } catch (err) {
    throw new ConfigError(`CMF_TLS_KEY_FILE: ${settings.keyFile} cannot serve ${settings.certFile}: ${(err as Error).message}`);
  }
  return settings;
}

/** The `https.createServer` options of `settings`, with the files as they are now. */
export function tlsOptions(settings: TlsSettings): https.ServerOptions {
  return optionsOf(settings, material(settings));
}

/** How long file events must settle before a reload, so a writer's several steps make one reload. */
const SETTLE_MS = 200;
/** The fallback for file systems whose changes fs.watch does not report (some network and overlay mounts). */
const POLL_MS = 30_000;

/**
 * Serves rotated certificates, keys and client CAs without a restart: watches the files'
 * directories (so a Kubernetes secret's `..data` symlink swap is seen) and polls slowly as a
 * fallback, then swaps the server's secure context. New files that cannot serve leave the old
 * context in place, with one error logged per broken version. Returns the stop function; closing
 * the server stops it too.
 */
export function watchTls(server: https.Server, settings: TlsSettings, log: Logger): () => void {
  const files = [settings.certFile, settings.keyFile, ...(settings.clientCaFile ? [settings.clientCaFile] : [])];
  const fingerprint = (m: ReturnType<typeof material>): string => {
    const hash = createHash('sha256');
    for (const part of [m.cert, m.key, m.ca ?? Buffer.alloc(0)]) hash.update(createHash('sha256').update(part).digest());
    return hash.digest('hex');
  };
  let seen = fingerprint(material(settings));
  let settle: NodeJS.Timeout | undefined;

  const reload = (): void => {
    settle = undefined;
    let next: ReturnType<typeof material>;
    try {
      next = material(settings);
    } catch (err) {
      // a file missing for a moment (a swap in progress) is retried at the next event or poll
      log.debug('TLS files not readable yet', { code: (err as NodeJS.ErrnoException).code });
      return;
    }
    const print = fingerprint(next);
    if (print === seen) return;
    seen = print;
    try {
      check(settings, next);
      server.setSecureContext(optionsOf(settings, next));
    } catch (err) {
      log.error('the new TLS files cannot be used; still serving the previous certificate', { files, reason: (err as Error).message });
      return;
    }
    log.info('reloaded the TLS certificate', { certFile: settings.certFile, notAfter: new X509Certificate(next.cert).validTo });
  };
  const soon = (): void => {
    if (settle === undefined) settle = setTimeout(reload, SETTLE_MS).unref();
  };

  const watchers: FSWatcher[] = [];
  for (const dir of new Set(files.map((f) => path.dirname(f)))) {
    try {
      const watcher = watch(dir, { persistent: false }, soon);
      watcher.on('error', (err) => log.warn('stopped watching TLS files; polling only', { dir, reason: err.message }));
      watchers.push(watcher);
    } catch (err) {
      log.warn('cannot watch TLS files; polling only', { dir, reason: (err as Error).message });
    }
  }
  const poll = setInterval(soon, POLL_MS).unref();

  const stop = (): void => {
    for (const watcher of watchers) watcher.close();
    clearInterval(poll);
    if (settle !== undefined) clearTimeout(settle);
    server.off('close', stop);
  };
  server.on('close', stop);
  return stop;
}
