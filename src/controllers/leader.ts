import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/index.js';

/** Options of leader election. */
export interface LeaderElectionOptions {
  store: Store;
  log: Logger;
  /** This process's identity in the lease. */
  identity: string;
  /** The lease's name: one leader per name. */
  name?: string;
  /** How long a lease lasts unrenewed: a dead leader is replaced within about this plus `retryMs`. */
  ttlMs?: number;
  /** How often the leader renews. */
  renewMs?: number;
  /** How often a follower tries to take the lease. */
  retryMs?: number;
  /**
   * client-go's RenewDeadline: a leader must renew within this long of its last grant (counted
   * from when that grant's query was sent, which is no later than the database's clock started
   * the lease) or it stops leading. The rest of the lease, `ttlMs - deadlineMs`, is what it has to
   * stop its controllers before another replica may take the lease. Two thirds of the lease by
   * default, client-go's proportion. A follower's try gets the same budget.
   */
  deadlineMs?: number;
  /** How long without a finished round before `wedged()` says so: six leases by default. */
  wedgedAfterMs?: number;
  /** Called when this process becomes the leader. */
  onStartedLeading: () => Promise<void>;
  /** Called when it stops being the leader (lost the lease, or stopping). */
  onStoppedLeading: () => Promise<void>;
  /** Where `leader_election_master_status` is set (0 from the start: a backup until it leads). */
  metrics?: Metrics;
}

/**
 * Leader election over a lease row in Postgres: the replicas share the database, so it is the
 * one arbiter they all see. The leader renews every `renewMs`; when a renewal fails it stops
 * leading at once rather than risk two leaders.
 */
export class LeaderElection {
  private readonly options: Required<Omit<LeaderElectionOptions, 'metrics' | 'deadlineMs' | 'wedgedAfterMs'>>;
  private readonly deadlineMs: number;
  private readonly wedgedAfterMs: number;
  /** When the last round finished (or campaigning started), on the monotonic clock; undefined when not campaigning. */
  private lastRoundAt: number | undefined;
  private readonly metrics: Metrics | undefined;
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  /** When the query that last granted this process the lease was sent (monotonic clock). */
  private grantedAt = 0;
  private stopped = false;
  private tick: Promise<void> = Promise.resolve();

  constructor(options: LeaderElectionOptions) {
    const { metrics, deadlineMs, wedgedAfterMs, ...rest } = options;
    this.options = { name: 'controllers', ttlMs: 10_000, renewMs: 3_000, retryMs: 2_000, ...rest };
    this.deadlineMs = deadlineMs ?? Math.round((this.options.ttlMs * 2) / 3);
    this.wedgedAfterMs = wedgedAfterMs ?? 6 * this.options.ttlMs;
    this.metrics = metrics;
    metrics?.leading(this.options.name, false);
  }

  /** True while this process holds the lease. */
  get isLeader(): boolean {
    return this.leading;
  }

  /** Starts campaigning. */
  start(): void {
    this.lastRoundAt = performance.now();
    this.schedule(0);
  }

  /**
   * Why the election loop looks wedged, or undefined while its rounds finish. Every round ends in
   * bounded time (the lease query has a deadline, a database outage is a failed round), so only
   * controllers that never finish starting or stopping hold one up: a restart is the cure for that.
   */
  wedged(): string | undefined {
    if (this.lastRoundAt === undefined || this.stopped) return undefined;
    const sinceMs = performance.now() - this.lastRoundAt;
    if (sinceMs < this.wedgedAfterMs) return undefined;
    return `no leader election round has finished for ${Math.round(sinceMs / 1000)} s (lease ${this.options.ttlMs / 1000} s): controllers that do not finish starting or stopping hold it up`;
  }

  /** Stops leading (if leading), gives the lease up, and stops campaigning. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.tick;
    if (this.leading) await this.stepDown('stopping');
    await this.options.store.leases.release(this.options.name, this.options.identity).catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.tick = this.campaign().finally(() => {
        this.lastRoundAt = performance.now();
        this.schedule(this.leading ? this.options.renewMs : this.options.retryMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async campaign(): Promise<void> {
    const { store, name, identity, ttlMs, log } = this.options;
    const sentAt = performance.now();
    // a leader's renewal may take only what is left of its deadline; a timer that fired late leaves nothing
    const budgetMs = Math.floor(this.leading ? this.grantedAt + this.deadlineMs - sentAt : this.deadlineMs);
    let held = false;
    try {
      if (budgetMs <= 0) throw new Error(`the renewal was due ${-budgetMs} ms ago`);
      held = await withDeadline(store.leases.acquire(name, identity, ttlMs, budgetMs), budgetMs);
      if (held) this.grantedAt = sentAt;
    } catch (err) {
      log.warn('leader election: lease unavailable', { error: (err as Error).message });
    }
    if (this.stopped) return;
    if (held && !this.leading) {
      this.leading = true;
      this.metrics?.leading(name, true);
      log.info('leader election: this process leads; controllers start', { identity });
      try {
        await this.options.onStartedLeading();
      } catch (err) {
        log.error('controllers failed to start', { error: (err as Error).message });
        await this.stepDown('controllers failed to start');
        await store.leases.release(name, identity).catch(() => undefined);
      }
    } else if (!held && this.leading) {
      await this.stepDown('lease lost');
    }
  }

  private async stepDown(reason: string): Promise<void> {
    this.leading = false;
    this.metrics?.leading(this.options.name, false);
    this.options.log.info('leader election: this process no longer leads; controllers stop', { reason });
    await this.options.onStoppedLeading().then(
      // from here on another replica may lead without two running the controllers at once
      () => this.options.log.info('leader election: controllers stopped', { reason }),
      (err: unknown) => this.options.log.error('controllers did not stop cleanly', { error: (err as Error).message }),
    );
  }
}

/** The promise's value, or a rejection when it has not settled within `ms` (what it does later is ignored). */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the lease query did not answer within ${ms} ms`)), ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
