/**
 * Who a client certificate names. The subject is written as RFC 2253 (`CN=alice,OU=eng,O=acme`),
 * the string Confluent Platform's principal mapping rules are written against, so rules copied
 * from a CMF install map the same certificates to the same users.
 */
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { Principal } from './principal.js';

/** One rule of `auth.ssl.principal.mapping.rules`: `DEFAULT`, or a pattern, its replacement and a case. */
export type MappingRule =
  | { default: true }
  | { default: false; pattern: string; replacement: string; case: 'L' | 'U' | undefined; whole: RegExp; every: RegExp; groups: number };

/** Parsed mapping rules, tried in order; the first that matches names the user. */
export type MappingRules = readonly MappingRule[];

/** Drey's own name spaces: a certificate may not claim a user in them. */
const RESERVED_PREFIXES = ['token:', 'system:'];

/**
 * One rule at the start of `text`, as Kafka's `SslPrincipalMapper` reads it: a slash or backslash
 * inside the pattern or the replacement is escaped with a backslash, so a comma needs no escape.
 */
const RULE = /^\s*(?:(DEFAULT)|RULE:((?:\\.|[^\\/])*)\/((?:\\.|[^\\/])*)\/([LU]?))\s*(?:,|$)/;

/** The parts of a Java-style replacement: `\x` a literal x, `$1` a group. */
const REPLACEMENT = /\\(.)|\$(\d+)/g;

/** The number of capturing groups of a pattern. */
function groupCount(pattern: RegExp): number {
  return new RegExp(`${pattern.source}|`).exec('')!.length - 1;
}

/**
 * Parses Confluent Platform's principal mapping syntax, `RULE:<regex>/<replacement>/[L|U],...,DEFAULT`,
 * at start, so a bad rule stops drey instead of refusing every client later. Throws an Error
 * naming the rule that cannot be used.
 */
export function parseMappingRules(text: string): MappingRules {
  const rules: MappingRule[] = [];
  let rest = text;
  for (;;) {
    // empty rules (`,,`) are skipped, as Kafka skips them
    rest = rest.replace(/^[\s,]+/, '');
    if (rest === '') break;
    const m = RULE.exec(rest);
    if (!m) throw new Error(`rule ${rules.length + 1} is not DEFAULT or RULE:<regex>/<replacement>/[L|U], at '${rest.slice(0, 60)}'`);
    rest = rest.slice(m[0].length);
    if (m[1]) {
      rules.push({ default: true });
      continue;
    }
    const [pattern, replacement] = [m[2]!, m[3]!];
    let every: RegExp;
    try {
      every = new RegExp(pattern, 'g');
    } catch (err) {
      throw new Error(`rule ${rules.length + 1} has a pattern that is not a regular expression: ${(err as Error).message}`);
    }
    const groups = groupCount(every);
    for (const ref of replacement.matchAll(REPLACEMENT)) {
      if (ref[2] !== undefined && Number(ref[2]) > groups) {
        throw new Error(`rule ${rules.length + 1} refers to $${ref[2]}, but its pattern has ${groups} group(s)`);
      }
    }
    const whole = new RegExp(`^(?:${pattern})$`);
    rules.push({ default: false, pattern, replacement, case: (m[4] || undefined) as 'L' | 'U' | undefined, whole, every, groups });
  }
  if (rules.length === 0) throw new Error('there are no rules');
  return rules;
}

/** Expands a replacement for one match (an unmatched group expands to nothing, as in Java). */
function expand(replacement: string, match: (string | undefined)[]): string {
  return replacement.replace(REPLACEMENT, (_, literal: string | undefined, group: string | undefined) => literal ?? match[Number(group)] ?? '');
}

/**
 * The user `rules` make of a subject, or undefined when none matches. As in Kafka, a rule applies
 * only when its pattern matches the whole subject, and then replaces every match in it.
 */
export function applyMappingRules(rules: MappingRules, subject: string): string | undefined {
  for (const rule of rules) {
    if (rule.default) return subject;
    if (!rule.whole.test(subject)) continue;
    const mapped = subject.replace(rule.every, (...match: unknown[]) => expand(rule.replacement, match.slice(0, rule.groups + 1) as (string | undefined)[]));
    return rule.case === 'L' ? mapped.toLowerCase() : rule.case === 'U' ? mapped.toUpperCase() : mapped;
  }
  return undefined;
}

/** One attribute of a subject: its RFC 2253 keyword (or dotted OID) and its value. */
interface Attribute {
  type: string;
  /** The value as text, or undefined when RFC 2253 writes it as `#` and the hex of `der`. */
  value: string | undefined;
  /** The whole DER element of the value. */
  der: Buffer;
}

/** The keywords Java's `X500Principal.getName(RFC2253)` writes; any other attribute is a dotted OID. */
const KEYWORDS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
};

interface Tlv {
  tag: number;
  /** Where the element's tag is. */
  pos: number;
  /** Where its content is. */
  start: number;
  end: number;
}

/** The DER element at `pos` of `der` (bounds-checked: a certificate's bytes are not trusted blindly). */
function tlv(der: Buffer, pos: number): Tlv {
  if (pos + 2 > der.length) throw new Error('truncated DER');
  const tag = der[pos]!;
  let length = der[pos + 1]!;
  let start = pos + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes < 1 || bytes > 4 || start + bytes > der.length) throw new Error('bad DER length');
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i]!;
    start += bytes;
  }
  if (start + length > der.length) throw new Error('truncated DER');
  return { tag, pos, start, end: start + length };
}

/** The elements inside a constructed DER element. */
function children(der: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = parent.start; pos < parent.end; pos = out[out.length - 1]!.end) out.push(tlv(der, pos));
  return out;
}

function oid(bytes: Buffer): string {
  const parts: number[] = [];
  let n = 0;
  for (const b of bytes) {
    n = n * 128 + (b & 0x7f);
    if (b & 0x80) continue;
    if (parts.length > 0) parts.push(n);
    else {
      // the first number holds two arcs: 40 * first + second, the first being 0, 1 or 2
      const first = Math.min(2, Math.floor(n / 40));
      parts.push(first, n - 40 * first);
    }
    n = 0;
  }
  return parts.join('.');
}

/** The text of a DER string value, or undefined for a type that is not a string. */
function text(tag: number, bytes: Buffer): string | undefined {
  switch (tag) {
    case 0x0c: // UTF8String
      return bytes.toString('utf8');
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x1a: // VisibleString
    case 0x14: // TeletexString, read as Latin-1 as Java does
      return bytes.toString('latin1');
    case 0x1e: // BMPString
      return Buffer.from(bytes).swap16().toString('utf16le');
    case 0x1c: // UniversalString
      return String.fromCodePoint(...Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readUInt32BE(i * 4)));
    default:
      return undefined;
  }
}

/** The subject's relative distinguished names, in certificate (ASN.1) order, each a list of attributes. */
function subjectOf(peer: X509Certificate): Attribute[][] {
  const der = peer.raw;
  const certificate = tlv(der, 0);
  const tbs = children(der, certificate)[0];
  if (!tbs) throw new Error('no tbsCertificate');
  const fields = children(der, tbs);
  // version [0] is optional; then serial, signature, issuer, validity, subject
  const subject = fields[fields[0]?.tag === 0xa0 ? 5 : 4];
  if (!subject || subject.tag !== 0x30) throw new Error('no subject');
  return children(der, subject).map((rdn) =>
    children(der, rdn).map((ava) => {
      const [type, value] = children(der, ava);
      if (!type || !value || type.tag !== 0x06) throw new Error('bad attribute');
      const id = oid(der.subarray(type.start, type.end));
      const keyword = KEYWORDS[id];
      return {
        type: keyword ?? id,
        value: keyword ? text(value.tag, der.subarray(value.start, value.end)) : undefined,
        der: der.subarray(value.pos, value.end),
      };
    }),
  );
}

/** Escapes an attribute value as RFC 2253 section 2.4 says. */
function escape(value: string): string {
  return value
    .replace(/[,+"\\<>;]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
}

/**
 * The subject of a certificate as RFC 2253 writes it (most specific name first, as Java's
 * `X500Principal.getName()` does): the string principal mapping rules match.
 */
export function certificateSubject(peer: X509Certificate): string {
  return subjectOf(peer)
    .reverse()
    .map((rdn) => rdn.map((a) => `${a.type}=${a.value === undefined ? `#${a.der.toString('hex')}` : escape(a.value)}`).join('+'))
    .join(',');
}

/**
 * The principal of the client certificate a TLS connection presented: `'none'` when it presented
 * none, `'invalid'` when it did not verify (possible with client auth `want` only), mapped to no
 * user, or claimed a name drey reserves. The user is the most specific CN, or what `rules` make of
 * the subject; the groups are every O and OU.
 */
export function certificatePrincipal(socket: TLSSocket, rules: MappingRules | undefined): Pick<Principal, 'user' | 'groups'> | 'none' | 'invalid' {
  const peer = socket.getPeerX509Certificate();
  if (!peer) return 'none';
  if (!socket.authorized) return 'invalid';
  let attributes: Attribute[][];
  try {
    attributes = subjectOf(peer);
  } catch {
    return 'invalid';
  }
  const flat = attributes.flat();
  const user = rules ? applyMappingRules(rules, certificateSubject(peer)) : flat.filter((a) => a.type === 'CN').pop()?.value;
  if (!user || RESERVED_PREFIXES.some((p) => user.startsWith(p))) return 'invalid';
  const groups = flat.filter((a) => (a.type === 'O' || a.type === 'OU') && a.value).map((a) => a.value!);
  return { user, groups: [...new Set(groups)] };
}
