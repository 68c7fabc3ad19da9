/** A keep-alive HTTP client that times each request to the end of its body, for drey and the bare servers alike. */
import http from 'node:http';

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
