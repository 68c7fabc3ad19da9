/**
 * Real HTTP clients for tests of the HTTP edge: curl (what users type) and raw sockets (for framing
 * no client library will send; `parseResponses` in hostile.ts reads what comes back).
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { findCommand } from './process.js';

/** curl's path, or undefined after saying loudly that the curl tests skip (in CI a missing curl fails). */
export const curlPath = findCommand('curl');
if (!curlPath && process.env.CI) throw new Error('CI needs curl (Debian package curl): .ci/run installs it');
if (!curlPath) process.stderr.write('\nSKIPPED curl tests: curl is not installed (Debian package curl)\n');

/** What curl received: the status, the headers (lower-cased names) and the body. */
export interface CurlAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  exitCode: number;
  stderr: string;
}

/** Runs curl with `args` (plus -sS and header output) against `url`. */
export function curl(url: string, args: string[]): Promise<CurlAnswer> {
  return new Promise((resolve) => {
    execFile(curlPath!, ['-sS', '-D', '-', ...args, url], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
      const exitCode = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      // curl prints each response's head (a 100 Continue first, when it asked for one), then the body
      const heads: string[] = [];
      let rest = stdout;
      while (/^HTTP\/\d(\.\d)? \d{3}/.test(rest)) {
        const end = rest.indexOf('\r\n\r\n');
        if (end < 0) break;
        heads.push(rest.slice(0, end));
        rest = rest.slice(end + 4);
      }
      const last = heads[heads.length - 1] ?? '';
      const [statusLine, ...lines] = last.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(/ (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body: rest, exitCode, stderr });
    });
  });
}

/**
 * Writes raw bytes to an HTTP server and collects everything it answers until it closes the
 * connection (every answer these tests expect says `Connection: close`), or, with `giveUpAfterMs`,
 * until the client gives up waiting and hangs up, as a client whose request never completes does.
 */
export function rawExchange(url: string, bytes: string | Buffer, options: { giveUpAfterMs?: number } = {}): Promise<Buffer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    // a server that neither answers nor closes fails the test in its own time, not here
    const limit = setTimeout(() => finish(), options.giveUpAfterMs ?? 30_000);
    const finish = (): void => {
      clearTimeout(limit);
      socket.destroy();
      resolve(Buffer.concat(chunks));
    };
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? finish() : reject(err)));
  });
}
