import pg from 'pg';
import type { Logger } from '../log.js';

/** Options of a Postgres LISTEN subscription. */
export interface ListenOptions {
  databaseUrl: string;
  channel: string;
  onMessage: (payload: string) => void;
  /** Called after (re)connecting, when messages may have been missed. */
  onConnected: () => void;
  log: Logger;
}

/**
 * Listens on a Postgres channel on a connection of its own, reconnecting with backoff when the
 * connection drops. Returns the function that stops listening.
 */
export function listen({ databaseUrl, channel, onMessage, onConnected, log }: ListenOptions): () => Promise<void> {
  let client: pg.Client | undefined;
  let connecting: pg.Client | undefined;
  let closed = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;

  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: databaseUrl });
    c.on('notification', (n) => {
      if (n.channel === channel && n.payload) onMessage(n.payload);
    });
    c.on('error', () => undefined);
    connecting = c;
    c.on('end', () => {
      if (closed || client !== c) return;
      client = undefined;
      retry();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      if (closed) {
        await c.end();
        return;
      }
      client = c;
      failures = 0;
      onConnected();
    } catch (err) {
      await c.end().catch(() => undefined);
      if (closed) return;
      log.warn('database notifications unavailable, retrying', { channel, error: (err as Error).message });
      retry();
    } finally {
      if (connecting === c) connecting = undefined;
    }
  };
  const retry = () => {
    if (closed) return;
    failures++;
    timer = setTimeout(() => void connect(), Math.min(10_000, 200 * 2 ** failures));
    timer.unref();
  };
  void connect();
  return async () => {
    closed = true;
    clearTimeout(timer);
    await Promise.all([client?.end(), connecting?.end()].map((p) => p?.catch(() => undefined)));
  };
}
