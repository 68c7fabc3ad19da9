/**
 * What the hostile-input tests share: the world they seed, database snapshots to prove a refused
 * request wrote nothing, the secret whose fragments must never come back, and an HTTP/1.1 client
 * that puts exactly the bytes it is given on the wire.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { PrismaClient } from '../../src/store/client.js';
import type { TestApi } from './api.js';
import { application, computePool, environment, kafkaCatalog, secret, secretMapping, statement } from './fixtures.js';

export const ENVS = '/cmf/api/v1/environments';
export const ENV = 'env-hostile';
export const NS = 'flink-hostile';
export const E = `${ENVS}/${ENV}`;
export const SECRETS = '/cmf/api/v1/secrets';
export const CATALOGS = '/cmf/api/v1/catalogs/kafka';
/** Secret material carried by every secret-related body; no 6 characters of it may ever come back. */
export const SECRET = 'Zk4qW9xVr2Lp7Tn';

/**
 * Seeds an environment, two secrets, a mapping, a pool, a statement, three applications (running,
 * suspended, without a job) and a catalog, all through the API.
 */
export async function seedHostileWorld(api: Pick<TestApi, 'request'>): Promise<void> {
  const setup: [string, string, unknown][] = [
    ['POST', ENVS, environment(ENV, NS)],
    ['POST', SECRETS, secret('kafka-creds', { password: SECRET })],
    ['POST', SECRETS, secret('other-creds', { password: SECRET })],
    ['POST', `${E}/secret-mappings`, secretMapping('kafka-conn', 'kafka-creds')],
    ['POST', `${E}/compute-pools`, computePool('pool-one')],
    ['POST', `${E}/statements`, statement('stmt-one')],
    ['POST', `${E}/applications`, application('app-one')],
    ['POST', `${E}/applications`, application('app-parked', { job: { ...application().spec.job, state: 'suspended' } })],
    ['POST', `${E}/applications`, { ...application('app-nojob'), spec: { image: 'flink:1.19' } }],
    ['POST', CATALOGS, kafkaCatalog('kafka-cat')],
  ];
  for (const [method, path, body] of setup) {
    const res = await api.request(method, path, body);
    if (res.status >= 300) throw new Error(`setup ${method} ${path} answered ${res.status}: ${res.text}`);
  }
}

/** drey's tables, parents before children. */
const TABLES = [
  'Environment',
  'Secret',
  'KafkaCatalog',
  'KafkaDatabase',
  'Application',
  'ApplicationInstance',
  'ApplicationEvent',
  'EnvironmentSecretMapping',
  'ComputePool',
  'Statement',
  'StatementException',
] as const;

type Table = { findMany(args: object): Promise<unknown[]> };
const delegate = (prisma: PrismaClient, table: string): Table =>
  (prisma as unknown as Record<string, Table>)[table[0]!.toLowerCase() + table.slice(1)]!;

/** Every row of every table, serialised per table, to prove a refused request wrote nothing. */
export async function snapshot(prisma: PrismaClient): Promise<Record<string, string>> {
  const rows = await Promise.all(TABLES.map((t) => delegate(prisma, t).findMany({ orderBy: { id: 'asc' } })));
  return Object.fromEntries(
    TABLES.map((t, i) => [t, JSON.stringify(rows[i], (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))]),
  );
}

/** Tables whose rows differ between two snapshots, with their row counts. */
export function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  return Object.keys(before)
    .filter((t) => before[t] !== after[t])
    .map((t) => `${t}: ${(JSON.parse(before[t]!) as unknown[]).length} rows → ${(JSON.parse(after[t]!) as unknown[]).length} rows, contents changed`);
}

const BASELINE = 'drey_test_baseline';

/** Copies every table aside, for `restoreBaseline` to put back after a request that wrote. */
export async function saveBaseline(prisma: PrismaClient): Promise<void> {
  await prisma.$executeRawUnsafe(`CREATE SCHEMA ${BASELINE}`);
  for (const t of TABLES) await prisma.$executeRawUnsafe(`CREATE TABLE ${BASELINE}."${t}" AS SELECT * FROM public."${t}"`);
}

/** Puts every table back as `saveBaseline` found it. */
export async function restoreBaseline(prisma: PrismaClient): Promise<void> {
  await prisma.$transaction([
    // DELETE, not TRUNCATE: on tables this small it is many times faster
    ...[...TABLES].reverse().map((t) => prisma.$executeRawUnsafe(`DELETE FROM public."${t}"`)),
    ...TABLES.map((t) => prisma.$executeRawUnsafe(`INSERT INTO public."${t}" SELECT * FROM ${BASELINE}."${t}"`)),
  ]);
}

/** Any 6 consecutive characters of SECRET found in `text`. */
export function secretFragments(text: string): string[] {
  const found: string[] = [];
  for (let i = 0; i + 6 <= SECRET.length; i++) if (text.includes(SECRET.slice(i, i + 6))) found.push(SECRET.slice(i, i + 6));
  return found;
}

// ---------------------------------------------------------------------------------------------
// the wire

/** One HTTP/1.x request exactly as it goes on the wire. */
export interface WireRequest {
  method: string;
  /** The request-target, sent as is (already percent-encoded, or deliberately not). */
  target: string;
  /** `HTTP/1.1` unless set. */
  version?: string;
  /** Header lines in order; Host and `Connection: close` are added unless named here. */
  headers: [string, string][];
  body?: Buffer;
  /** Add `Content-Length` for the body (the default), or leave the framing to `headers`. */
  framing?: 'content-length' | 'as-given';
  /** Omit the Host header. */
  noHost?: boolean;
  /** Half-close the connection right after sending: the message ends there, whatever it declared. */
  hangUp?: boolean;
  /** Bytes sent first on the same connection (a pipelined request). */
  before?: Buffer;
  /** Bytes sent right after on the same connection (a pipelined request); the request then keeps the connection open. */
  after?: Buffer;
}

/** One response as read off the wire. */
export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Every response that came back on the connection, and why it ended if not cleanly. */
export interface WireAnswer {
  responses: WireResponse[];
  /** Interim (1xx) statuses seen before the final responses. */
  interim: number[];
  /** Set when no complete response came back in time, or the connection failed. */
  failure?: string;
}

const has = (req: WireRequest, name: string): boolean => req.headers.some(([k]) => k.toLowerCase() === name);

/** The bytes of `req` for a server at `host`. */
export function wireBytes(req: WireRequest, host: string): Buffer {
  const lines = [`${req.method} ${req.target} ${req.version ?? 'HTTP/1.1'}`];
  if (!req.noHost && !has(req, 'host')) lines.push(`Host: ${host}`);
  if (!has(req, 'connection') && !req.after) lines.push('Connection: close');
  if ((req.framing ?? 'content-length') === 'content-length' && req.body !== undefined) lines.push(`Content-Length: ${req.body.length}`);
  for (const [k, v] of req.headers) lines.push(`${k}: ${v}`);
  const none = Buffer.alloc(0);
  return Buffer.concat([req.before ?? none, Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), req.body ?? none, req.after ?? none]);
}

/** Splits what a server sent into responses (Content-Length, chunked, or read-to-close bodies). */
export function parseResponses(raw: Buffer, method: string): Pick<WireAnswer, 'responses' | 'interim'> & { complete: boolean } {
  const responses: WireResponse[] = [];
  const interim: number[] = [];
  let complete = false;
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end < 0) {
      complete = false;
      break;
    }
    const [statusLine, ...headerLines] = raw.subarray(at, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    at = end + 4;
    if (status >= 100 && status < 200) {
      interim.push(status);
      continue;
    }
    let body: Buffer = Buffer.alloc(0);
    complete = true;
    if (method === 'HEAD' || status === 204 || status === 304) {
      // no body, whatever the headers say
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = raw.indexOf('\r\n', at);
        if (lineEnd < 0) {
          complete = false;
          break;
        }
        const size = parseInt(raw.subarray(at, lineEnd).toString('latin1'), 16);
        at = lineEnd + 2;
        if (!(size > 0)) {
          const trailerEnd = raw.indexOf('\r\n', at);
          at = trailerEnd < 0 ? raw.length : trailerEnd + 2;
          break;
        }
        parts.push(raw.subarray(at, at + size));
        at += size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      complete = raw.length - at >= length;
      body = raw.subarray(at, at + length);
      at += length;
    } else {
      // read to close: complete only when the connection ends
      complete = false;
      body = raw.subarray(at);
      at = raw.length;
    }
    responses.push({ status, headers, body: body.toString('utf8') });
  }
  return { responses, interim, complete };
}

/**
 * Sends `req` on a connection of its own and reads until every response it asks for has come (one
 * per pipelined request), until the server closes the connection, or until `timeoutMs` passes:
 * no pause is taken for the end of an answer, so a busy machine only makes it slower. With `tls`
 * the connection is TLS (the same bytes, once the handshake is done).
 */
export function exchange(port: number, req: WireRequest, timeoutMs = 3_000, tls?: ConnectionOptions): Promise<WireAnswer> {
  const expected = 1 + (req.before ? 1 : 0) + (req.after ? 1 : 0);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let failure: string | undefined;
    const send = () => {
      socket.write(wireBytes(req, `127.0.0.1:${port}`));
      if (req.hangUp) socket.end();
    };
    const socket = tls ? tlsConnect({ ...tls, host: '127.0.0.1', port }, send) : net.connect({ host: '127.0.0.1', port }, send);
    const timer = setTimeout(() => {
      failure = `no answer within ${timeoutMs} ms`;
      socket.destroy();
    }, timeoutMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const { responses, complete } = parseResponses(Buffer.concat(chunks), req.method);
      if (complete && responses.length >= expected) socket.destroy();
    });
    socket.on('error', (err) => {
      failure ??= `the connection failed: ${err.message}`;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const { complete: _, ...parsed } = parseResponses(Buffer.concat(chunks), req.method);
      // a response cut off by the timeout still counts; a timeout with nothing is the failure
      resolve({ ...parsed, ...(parsed.responses.length === 0 ? { failure: failure ?? 'the server closed the connection without an answer' } : {}) });
    });
  });
}

/**
 * A bare Node HTTP server with Node's defaults (those drey's server has): whether its handler
 * runs for a request tells whether Node refused the request before any application code saw it.
 */
export async function startBareNode(): Promise<{ handles(req: WireRequest): Promise<boolean>; close(): Promise<void> }> {
  let handled = 0;
  const server = http.createServer((req, res) => {
    handled++;
    req.resume();
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    async handles(req) {
      const before = handled;
      await exchange(port, req, 5_000);
      return handled > before;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
