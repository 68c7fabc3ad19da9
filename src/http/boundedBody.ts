import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** How long a refused upload's connection stays half-open after the answer, for the client to read it. */
export const LINGER_MS = 5_000;

/** The client closed the connection (or broke the framing) before its body was complete. */
export class BodyAborted extends Error {
  constructor() {
    super('the request body was cut short by the client');
    this.name = 'BodyAborted';
  }
}

type ConsumedSocket = Socket & { _handle?: { readStop?: () => number } | null };

/**
 * Stops reading a request whose body will not be used, and makes the connection end gently once
 * the answer is written. Node's HTTP server would otherwise go on reading (and discarding) the body
 * after the answer, and close the socket the moment the answer is flushed: the kernel answers the
 * unread bytes with a reset, and a client still sending sees its write fail before it reads the
 * answer. So: no further reads, then a half-close after the answer, and the socket is destroyed
 * once the client is gone or after LINGER_MS. These are Node internals (the parser consumes the
 * socket's handle directly, so pausing streams does not stop it); test/api/framing.test.ts pins
 * the behaviour on the Node version in use.
 */
export function stopReading(req: IncomingMessage): void {
  req.pause();
  (req as IncomingMessage & { _dumped?: boolean })._dumped = true;
  stopReadingSocket(req.socket);
}

/**
 * Reads nothing more from a connection, and makes the server's close of it (`destroySoon`, which
 * Node calls once the answer is written) a half-close followed by a bounded wait.
 */
export function stopReadingSocket(socket: Socket): void {
  (socket as ConsumedSocket)._handle?.readStop?.();
  socket.destroySoon = function lingeringClose(this: Socket): void {
    if (this.destroyed) return;
    this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
  };
}

/**
 * Reads a request body of at most `maxBytes`, failing with `tooLarge()` as soon as it is known to
 * be bigger (from Content-Length, or while reading) and then reading no further. A body the client
 * cuts short (the connection ends, or its chunked framing breaks) fails with BodyAborted. Shared by
 * the CMF API and the simulated Kubernetes API server, which differ only in the limit and the error.
 */
export function readBoundedBody(req: IncomingMessage, maxBytes: number, tooLarge: () => Error): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      stopReading(req);
      reject(tooLarge());
      return;
    }
    if (req.complete && req.readableEnded) {
      resolve(Buffer.alloc(0));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        done();
        stopReading(req);
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      done();
      resolve(Buffer.concat(chunks, size));
    };
    const onAbort = (): void => {
      done();
      reject(new BodyAborted());
    };
    // 'close' before 'end': the connection went away mid-body
    const onClose = (): void => {
      if (!req.complete) onAbort();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onClose);
  });
}
