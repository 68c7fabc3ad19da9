import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';

/** What a raw request proves itself with: drey's CA, and a client certificate for mTLS. */
export interface RawTls {
  ca: string;
  cert?: string;
  key?: string;
}

/** One raw answer: status, headers as Node parsed them, the body as text. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/**
 * One HTTPS request whose path goes out byte for byte (no URL parsing, so `..`, `%2e%2e` and `//`
 * reach drey as written) and whose headers may repeat (an array value sends the header once per
 * element). No contract check: these are requests no well-behaved client makes.
 */
export function rawRequest(
  url: string,
  request: { method?: string; path: string; headers?: Record<string, string | string[]>; body?: string; tls: RawTls },
): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: hostname, port, method: request.method ?? 'GET', path: request.path, agent: false, servername: 'localhost', ...request.tls },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    for (const [name, value] of Object.entries(request.headers ?? {})) req.setHeader(name, value);
    if (request.body !== undefined && !req.hasHeader('content-type')) req.setHeader('content-type', 'application/json');
    req.on('error', reject);
    req.end(request.body);
  });
}
