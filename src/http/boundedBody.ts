import type { IncomingMessage } from 'node:http';

/**
 * Reads a request body of at most `maxBytes`, failing with `tooLarge()` as soon as it is known to
 * be bigger (from Content-Length, or while reading) rather than buffering it all. Shared by the
 * CMF API and the simulated Kubernetes API server, which differ only in the limit and the error.
 */
export async function readBoundedBody(req: IncomingMessage, maxBytes: number, tooLarge: () => Error): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBytes) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}
