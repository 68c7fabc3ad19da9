/**
 * A TCP proxy in front of the test PostgreSQL that a test can break on purpose, deterministically:
 *
 *   const proxy = await startTcpProxy(url);      // proxy.url: the same database through the proxy
 *   proxy.cut();                                 // every connection breaks, new ones are dropped
 *   proxy.restore();                             // connections work again
 *   const lost = proxy.loseReplyTo('INSERT');    // the server runs the statement, the client never hears
 */
import net from 'node:net';

/** A proxy to one PostgreSQL server. */
export interface TcpProxy {
  /** `databaseUrl` with the proxy's host and port. */
  url: string;
  /** Breaks every open connection and drops new ones until `restore`. */
  cut(): void;
  restore(): void;
  /**
   * Arms a one-time fault: the next connection that sends `marker` is broken as soon as the server
   * answers, and the answer is not forwarded. Resolves when that happened.
   */
  loseReplyTo(marker: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts a proxy on a free loopback port in front of the server of `databaseUrl`. */
export async function startTcpProxy(databaseUrl: string): Promise<TcpProxy> {
  const target = new URL(databaseUrl);
  const sockets = new Set<net.Socket>();
  let cut = false;
  let fault: { marker: string; happened: () => void } | undefined;

  const server = net.createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    let doomed: (() => void) | undefined;
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      if (fault && chunk.toString('latin1').includes(fault.marker)) {
        doomed = fault.happened;
        fault = undefined;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!doomed) {
        client.write(chunk);
        return;
      }
      client.destroy();
      upstream.destroy();
      doomed();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);

  return {
    url: url.toString(),
    cut() {
      cut = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      cut = false;
    },
    loseReplyTo(marker) {
      return new Promise((happened) => {
        fault = { marker, happened };
      });
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
