/** A keep-alive HTTP client that times each request to the end of its body, for drey and the bare servers alike. */
import http from 'node:http';
import net from 'node:net';

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

/** A reply: status, body text and milliseconds to its last byte. */
export interface Reply {
  status: number;
  body: string;
  ms: number;
}

/** Sends one request; JSON bodies are sent as `application/json`. */
export function request(url: string, method = 'GET', body?: unknown): Promise<Reply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, agent, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: Number(process.hrtime.bigint() - started) / 1e6 }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Sends a request and throws unless it answered `expected` (or any 2xx). */
export async function expectOk(url: string, method = 'GET', body?: unknown, expected?: number): Promise<Reply> {
  const reply = await request(url, method, body);
  if (expected !== undefined ? reply.status !== expected : reply.status < 200 || reply.status > 299) {
    throw new Error(`${method} ${url} answered ${reply.status}: ${reply.body.slice(0, 300)}`);
  }
  return reply;
}

/** Runs `task(i)` for i = 0..count-1 with at most `concurrency` at once; resolves when all are done. */
export async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** Closes idle keep-alive sockets so the benchmark's process can end. */
export function closeConnections(): void {
  agent.destroy();
}

/**
 * One keep-alive HTTP/1.1 connection that sends a request and reads its reply with nothing in
 * between: the throughput rounds' load generator, which shares the machine with drey and so
 * should cost it as little CPU as it can (Node's `http.request` costs several hundred µs per
 * request, as much as drey's own handling of a small one). Speaks only what drey answers with:
 * a status line, headers, and a `Content-Length` body.
 */
export class LeanConnection {
  private socket: net.Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: ((reply: { status: number; body: Buffer }) => void) | undefined;
  private failed: ((err: Error) => void) | undefined;

  constructor(private readonly url: URL) {}

  private connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(this.url.port), this.url.hostname, () => resolve(socket));
      socket.setNoDelay(true);
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      socket.on('error', (err) => {
        this.socket = undefined;
        this.failed?.(err);
        reject(err);
      });
      socket.on('close', () => {
        if (this.socket === socket) this.socket = undefined;
        this.failed?.(new Error('connection closed'));
      });
    });
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buffer.toString('latin1', 0, end);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) {
      this.failed?.(new Error(`a reply without Content-Length: ${head.split('\r\n')[0]}`));
      return;
    }
    const total = end + 4 + Number(length[1]);
    if (this.buffer.length < total) return;
    const status = Number(head.slice(9, 12));
    const body = this.buffer.subarray(end + 4, total);
    this.buffer = this.buffer.subarray(total);
    const done = this.waiting;
    this.waiting = this.failed = undefined;
    done?.({ status, body });
  }

  /** Sends `method path` with a JSON body; resolves with the reply's status and body. */
  async send(method: string, path: string, body: unknown): Promise<{ status: number; body: Buffer }> {
    this.socket ??= await this.connect();
    const payload = Buffer.from(JSON.stringify(body));
    const head = `${method} ${path} HTTP/1.1\r\nHost: ${this.url.host}\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n`;
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failed = reject;
      this.socket!.write(Buffer.concat([Buffer.from(head, 'latin1'), payload]));
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}
