import type { Logger } from '../log.js';
import { listen } from '../store/notifications.js';
import type { Store } from '../store/index.js';
import type { Authorizer } from './authorizer.js';

/** The channel the RoleBinding table's trigger notifies on every change. */
export const ROLE_BINDINGS_CHANNEL = 'drey_role_bindings';

/**
 * Keeps an Authorizer's snapshot of the role bindings current: read at start, read again whenever
 * any replica changes a binding (NOTIFY) or the listening connection comes back, and by the writer
 * itself before it answers, so a binding holds on the next request.
 */
export class RoleBindingSnapshot {
  private readonly store: Pick<Store, 'roleBindings'>;
  private readonly authorizer: Authorizer;
  private readonly log: Logger;
  private reading: Promise<void> | undefined;
  private again = false;
  private unlisten: (() => Promise<void>) | undefined;

  constructor(options: { store: Pick<Store, 'roleBindings'>; authorizer: Authorizer; log: Logger }) {
    this.store = options.store;
    this.authorizer = options.authorizer;
    this.log = options.log;
  }

  /** Reads the bindings, then follows changes on `databaseUrl`. */
  async start(databaseUrl: string): Promise<void> {
    await this.refresh();
    this.unlisten = listen({
      databaseUrl,
      channel: ROLE_BINDINGS_CHANNEL,
      onMessage: () => void this.refresh().catch((err: Error) => this.log.warn('role bindings not reread', { error: err.message })),
      onConnected: () => void this.refresh().catch((err: Error) => this.log.warn('role bindings not reread', { error: err.message })),
      log: this.log,
    });
  }

  /** Reads every binding again; calls made while a read runs share one more read after it. */
  refresh(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      try {
        do {
          this.again = false;
          this.authorizer.replace(await this.store.roleBindings.all());
        } while (this.again);
      } finally {
        this.reading = undefined;
      }
    })();
    return this.reading;
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
  }
}
