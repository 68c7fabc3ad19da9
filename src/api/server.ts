import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Express } from 'express';
import { stopReading, stopReadingSocket } from '../http/boundedBody.js';
import type { Logger } from '../log.js';
import { restError } from './errors.js';

/** Options of the HTTP server. */
export interface ServeOptions {
  port: number;
  host: string;
  log: Logger;
  /** Serve HTTPS with these options (see `tlsOptions`), instead of plain HTTP. */
  tls?: https.ServerOptions;
}

type ParserError = Error & { code?: string; reason?: string; rawPacket?: Buffer; bytesParsed?: number };

/** A request line that names a method (one Node's parser does not know), not bytes of some other kind. */
const REQUEST_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ HTTP\/\d\.\d\r?\n/;

/**
 * The answer to a request Node's HTTP parser refused before drey saw it. The parser's reasons are
 * fixed texts ("Invalid character in chunk size"), never the request's content.
 */
function refusal(err: ParserError): { status: number; message: string } {
  switch (err.code) {
    case 'HPE_INVALID_METHOD': {
      // the parser stops at the first character no method it knows has; what follows tells an
      // unknown method (`FROB / HTTP/1.1`) from stray bytes after a request's end
      const rest = err.rawPacket?.subarray(err.bytesParsed ?? 0).toString('latin1') ?? '';
      if (REQUEST_LINE.test(rest)) {
        return { status: 501, message: 'The request method is not supported' };
      }
      return { status: 400, message: `Malformed HTTP request${err.reason ? `: ${err.reason}` : ''}` };
    }
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'The request headers are too large' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, message: 'The request chunk extensions are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'The request was not received in time' };
    default:
      return { status: 400, message: `Malformed HTTP request${err.reason ? `: ${err.reason}` : ''}` };
  }
}

/** A whole HTTP/1.1 response carrying a JSON RestError, for a socket no ServerResponse can serve. */
function rawAnswer(status: number, message: string): string {
  const body = JSON.stringify(restError(message));
  return (
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n` +
    `Date: ${new Date().toUTCString()}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `X-Request-Id: ${randomUUID()}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

/**
 * Answers a RestError through a response, outside Express (which has not seen the request, or saw
 * only its head: then the id it gave the request stays).
 */
function answer(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(restError(message));
  const id = res.getHeader('X-Request-Id') ?? randomUUID();
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'X-Request-Id': id, ...headers });
  res.end(body);
}

/** The response a connection is serving, if any (Node keeps it on the socket). */
function inFlight(socket: Duplex): ServerResponse | undefined {
  return (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
}

/** Runs `then` once the connection has no response being served (pipelined answers keep their order). */
function whenIdle(socket: Duplex, then: () => void): void {
  const res = inFlight(socket);
  if (!res || res.writableFinished) {
    then();
    return;
  }
  res.once('close', () => setImmediate(() => whenIdle(socket, then)));
}

/**
 * Answers a request the parser refused with a RestError instead of dropping the connection:
 * through its own response when the broken part is the body of the request being served (whose
 * handler, still waiting for that body, then acts on nothing), otherwise after the answers
 * already due on this connection. The connection then closes gently.
 */
function answerClientError(err: ParserError, socket: Duplex, log: Logger): void {
  // the client went away (mid-request, for HPE_INVALID_EOF_STATE): no one is left to answer
  if (!socket.writable || err.code === 'ECONNRESET' || err.code === 'EPIPE' || err.code === 'HPE_INVALID_EOF_STATE') {
    socket.destroy();
    return;
  }
  const { status, message } = refusal(err);
  log.debug('refused a malformed request', { code: err.code, status });
  const res = inFlight(socket);
  const req = (res as (ServerResponse & { req?: IncomingMessage }) | undefined)?.req;
  stopReadingSocket(socket as Socket);
  if (res && req && !req.complete && !res.headersSent) {
    answer(res, status, message, { Connection: 'close' });
    return;
  }
  whenIdle(socket, () => {
    if (!socket.writable) return;
    socket.write(rawAnswer(status, message));
    (socket as Socket).destroySoon();
  });
}

/**
 * Serves the HTTP application. Requests Node's own parser refuses (broken framing, unknown methods,
 * oversized headers, timeouts), CONNECT, an HTTP/1.1 request without Host and an expectation
 * other than 100-continue get a RestError too, rather than a dropped connection or Node's bare
 * status line. With `tls` it serves HTTPS, with the same answers.
 */
export async function serve(app: Express, options: ServeOptions & { tls: https.ServerOptions }): Promise<https.Server>;
export async function serve(app: Express, options: ServeOptions): Promise<Server>;
export async function serve(app: Express, { port, host, log, tls }: ServeOptions): Promise<Server> {
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.httpVersion === '1.1' && req.headers.host === undefined) {
      stopReading(req);
      answer(res, 400, 'An HTTP/1.1 request needs a Host header', { Connection: 'close' });
      return;
    }
    void app(req, res);
  };
  // Node would refuse a missing Host itself, with an empty 400: drey says why, as a RestError
  const server = tls ? https.createServer({ ...tls, requireHostHeader: false }, handle) : http.createServer({ requireHostHeader: false }, handle);
  // a failed handshake (a scanner, a client without an accepted certificate) gets no HTTP answer
  server.on('tlsClientError', (err: NodeJS.ErrnoException) => log.debug('TLS handshake failed', { code: err.code, reason: err.message }));
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    stopReading(req);
    answer(res, 417, 'The only expectation drey meets is Expect: 100-continue', { Connection: 'close' });
  });
  server.on('clientError', (err: ParserError, socket: Duplex) => answerClientError(err, socket, log));
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    stopReadingSocket(socket as Socket);
    socket.write(rawAnswer(501, `Method ${req.method} is not supported`));
    (socket as Socket).destroySoon();
  });
  server.listen(port, host);
  await once(server, 'listening');
  return server;
}
