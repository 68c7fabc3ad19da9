import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/**
 * Flink REST exchanges recorded from a real JobManager or SQL Gateway, and replayed to the clients'
 * unit tests. The integration tests put a recorder between the client and real Flink; with
 * `DREY_RECORD_FLINK=1` they save what passed into `test/flink/recorded/`, and the unit tests serve
 * exactly those bytes back. Nothing in a recording is written by hand.
 */

/** One request and the real server's answer. */
export interface Exchange {
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** The request body: parsed JSON, or a short description of a multipart upload. */
  request?: unknown;
  status: number;
  contentType?: string;
  /** The response body, as text, exactly as the server sent it. */
  response: string;
}

/** Whether this run should overwrite the committed recordings. */
export const RECORDING = process.env.DREY_RECORD_FLINK === '1';

/** Where a recording is kept. */
export function recordingFile(client: 'jobmanager' | 'sql-gateway', scenario: string): string {
  return path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'flink', 'recorded', client, `${scenario}.json`);
}

/** Reads a committed recording. */
export function loadRecording(file: string): Exchange[] {
  return JSON.parse(readFileSync(file, 'utf8')) as Exchange[];
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function describeBody(req: IncomingMessage, body: Buffer): unknown {
  if (body.length === 0) return undefined;
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('multipart/')) {
    const name = /filename="([^"]*)"/.exec(body.subarray(0, 2048).toString('latin1'))?.[1];
    return { multipart: name ?? 'file', bytes: body.length };
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return body.toString('utf8');
  }
}

/** A proxy in front of a real Flink REST endpoint that keeps every exchange. */
export interface Recorder {
  url: string;
  exchanges: Exchange[];
  /** Writes the exchanges to `file` (only when `DREY_RECORD_FLINK=1`; otherwise a no-op). */
  save(file: string): void;
  close(): Promise<void>;
}

/** Starts a recording proxy to `target`. */
export async function startRecorder(target: string): Promise<Recorder> {
  const exchanges: Exchange[] = [];
  const server = http.createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readAll(req);
    const headers = { ...req.headers };
    delete headers.host;
    try {
      const upstream = await fetch(target + req.url, {
        method: req.method,
        headers: headers as Record<string, string>,
        body: body.length > 0 ? body : undefined,
      });
      const text = await upstream.text();
      const contentType = upstream.headers.get('content-type') ?? undefined;
      exchanges.push({
        method: req.method!,
        path: req.url!,
        request: describeBody(req, body),
        status: upstream.status,
        contentType,
        response: text,
      });
      res.writeHead(upstream.status, contentType ? { 'content-type': contentType } : {});
      res.end(text);
    } catch (err) {
      res.writeHead(502).end(String(err));
    }
  });
  const url = await listen(server);
  return {
    url,
    exchanges,
    save(file) {
      if (!RECORDING) return;
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(exchanges, null, 2) + '\n');
    },
    close: () => close(server),
  };
}

/** A server answering with recorded exchanges. */
export interface Replay {
  url: string;
  /** Requests that matched nothing recorded (each was answered 599). */
  unmatched: string[];
  close(): Promise<void>;
}

/**
 * Serves a recording. A request is answered by the first unused exchange with the same method and
 * path; once all of them are used, the last one is served again (a status polled more often than
 * when recording keeps its final answer).
 */
export async function startReplay(exchanges: Exchange[]): Promise<Replay> {
  const byKey = new Map<string, Exchange[]>();
  for (const e of exchanges) {
    const key = `${e.method} ${e.path}`;
    byKey.set(key, [...(byKey.get(key) ?? []), e]);
  }
  const used = new Map<string, number>();
  const unmatched: string[] = [];
  const server = http.createServer(async (req, res) => {
    await readAll(req);
    const key = `${req.method} ${req.url}`;
    const candidates = byKey.get(key);
    if (!candidates) {
      unmatched.push(key);
      res.writeHead(599, { 'content-type': 'text/plain' }).end(`not in the recording: ${key}`);
      return;
    }
    const n = used.get(key) ?? 0;
    used.set(key, n + 1);
    const e = candidates[Math.min(n, candidates.length - 1)]!;
    res.writeHead(e.status, e.contentType ? { 'content-type': e.contentType } : {});
    res.end(e.response);
  });
  const url = await listen(server);
  return { url, unmatched, close: () => close(server) };
}
