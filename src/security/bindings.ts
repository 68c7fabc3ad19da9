import type { Logger } from '../log.js';
import { listen } from '../store/notifications.js';
import type { Authorizer } from './authorizer.js';

/** The channel the RoleBinding table's trigger notifies on every change. */
export const ROLE_BINDINGS_CHANNEL = 'drey_role_bindings';

/** How often every binding is read again even when no change was heard, and how soon after a failed read. */
const RESYNC_MS = 60_000;
const RETRY_MS = 1_000;

/**
 * Keeps an Authorizer's snapshot of the role bindings current: read at start, read again whenever
 * any replica changes a binding (NOTIFY), when the listening connection comes back, every minute in
 * case a notification was lost, and again a second after a read that failed.
 */
export class RoleBindingSnapshot {
  private readonly authorizer: Authorizer;
  private readonly log: Logger;
  private unlisten: (() => Promise<void>) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(options: { authorizer: Authorizer; log: Logger }) {
    this.authorizer = options.authorizer;
    this.log = options.log;
  }

  /** Reads the bindings, then follows changes on `databaseUrl`. */
  async start(databaseUrl: string): Promise<void> {
    await this.authorizer.refresh();
    this.unlisten = listen({ databaseUrl, channel: ROLE_BINDINGS_CHANNEL, onMessage: () => this.reread(), onConnected: () => this.reread(), log: this.log });
    this.schedule(RESYNC_MS);
  }

  private reread(): void {
    this.authorizer.refresh().then(
      () => this.schedule(RESYNC_MS),
      (err: Error) => {
        this.log.warn('role bindings not reread; retrying', { error: err.message });
        this.schedule(RETRY_MS);
      },
    );
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => this.reread(), ms);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.unlisten?.();
  }
}
