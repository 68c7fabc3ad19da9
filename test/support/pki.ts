/**
 * A test PKI: a CA, and server and client certificates it issues, as PEM for Node's TLS options,
 * curl's `--cacert/--cert/--key` and the Confluent CLI's `--certificate-authority-path`,
 * `--client-cert-path` and `--client-key-path`.
 */
import crypto, { type KeyObject } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';

/** A certificate authority: its certificate (PEM and parsed) and its private key. */
export interface Ca {
  certPem: string;
  keyPem: string;
  cert: forge.pki.Certificate;
}

/** A certificate a CA issued, with its key and its serial (upper-case hex, as Node reports it). */
export interface Issued {
  certPem: string;
  keyPem: string;
  serial: string;
}

/** What to put in an issued certificate. */
export interface IssueOptions {
  cn: string;
  o?: string[];
  ou?: string[];
  /** The one extended key usage: server certificates say serverAuth, client certificates clientAuth. */
  eku: 'serverAuth' | 'clientAuth';
  /** `DNS:name` or `IP:address`; a serverAuth certificate defaults to localhost and 127.0.0.1, as Go and curl check those, never the CN. */
  san?: string[];
  notBefore?: Date;
  notAfter?: Date;
  /** How the key is written: `pkcs8` (`BEGIN PRIVATE KEY`, the default) or `pkcs1` (`BEGIN RSA PRIVATE KEY`). */
  keyFormat?: 'pkcs1' | 'pkcs8';
}

/** Leaf keys, reused: an RSA key takes a fifth of a second to make, and sharing one between leaves proves nothing wrong. */
const leafKeys: KeyObject[] = [];
let nextLeafKey = 0;

function rsaKey(): KeyObject {
  return crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
}

function leafKey(): KeyObject {
  if (leafKeys.length < 3) leafKeys.push(rsaKey());
  return leafKeys[nextLeafKey++ % leafKeys.length]!;
}

function forgeKeys(key: KeyObject): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey } {
  const privateKey = forge.pki.privateKeyFromPem(key.export({ type: 'pkcs1', format: 'pem' }) as string) as forge.pki.rsa.PrivateKey;
  return { privateKey, publicKey: forge.pki.setRsaPublicKey(privateKey.n, privateKey.e) };
}

/** A positive serial with no leading zero byte, so its hex is the same however it is printed. */
function serialHex(): string {
  const bytes = crypto.randomBytes(16);
  bytes[0] = 0x40 | (bytes[0]! & 0x3f);
  return bytes.toString('hex').toUpperCase();
}

function hoursFromNow(hours: number): Date {
  return new Date(Date.now() + hours * 3_600_000);
}

/** A self-signed CA, with a key of its own (never one shared with another CA). */
export function createCa({ cn }: { cn: string }): Ca {
  const key = rsaKey();
  const { privateKey, publicKey } = forgeKeys(key);
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serialHex();
  cert.validity.notBefore = hoursFromNow(-1);
  cert.validity.notAfter = hoursFromNow(24 * 30);
  const subject = [{ shortName: 'CN', value: cn }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string, cert };
}

function altName(entry: string): { type: number; value?: string; ip?: string } {
  const [kind, value] = [entry.slice(0, entry.indexOf(':')), entry.slice(entry.indexOf(':') + 1)];
  if (kind === 'DNS') return { type: 2, value };
  if (kind === 'IP') return { type: 7, ip: value };
  throw new Error(`a SAN is DNS:<name> or IP:<address>, not '${entry}'`);
}

/** A certificate signed by `ca`, the subject ordered O, OU, CN (so RFC 2253 writes `CN=...,OU=...,O=...`). */
export function issue(ca: Ca, options: IssueOptions): Issued {
  const key = leafKey();
  const { publicKey } = forgeKeys(key);
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serialHex();
  cert.validity.notBefore = options.notBefore ?? hoursFromNow(-1);
  cert.validity.notAfter = options.notAfter ?? hoursFromNow(24);
  cert.setSubject([
    ...(options.o ?? []).map((value) => ({ shortName: 'O', value })),
    ...(options.ou ?? []).map((value) => ({ shortName: 'OU', value })),
    { shortName: 'CN', value: options.cn },
  ]);
  cert.setIssuer(ca.cert.subject.attributes);
  const san = options.san ?? (options.eku === 'serverAuth' ? ['DNS:localhost', 'IP:127.0.0.1'] : []);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', [options.eku]: true },
    ...(san.length > 0 ? [{ name: 'subjectAltName', altNames: san.map(altName) }] : []),
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem), forge.md.sha256.create());
  return {
    certPem: forge.pki.certificateToPem(cert),
    keyPem: key.export({ type: options.keyFormat ?? 'pkcs8', format: 'pem' }) as string,
    serial: cert.serialNumber.toUpperCase(),
  };
}

/**
 * Writes `<name>.pem` and `<name>-key.pem` (mode 0600) into `dir`, each replaced in one rename as
 * Kubernetes swaps a mounted secret, so a watcher never reads half a file.
 */
export function writePems(dir: string, name: string, { certPem, keyPem }: { certPem: string; keyPem: string }): { cert: string; key: string } {
  const write = (file: string, text: string, mode: number): string => {
    const target = path.join(dir, file);
    const temporary = `${target}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(temporary, text, { mode });
    renameSync(temporary, target);
    return target;
  };
  return { cert: write(`${name}.pem`, certPem, 0o644), key: write(`${name}-key.pem`, keyPem, 0o600) };
}
