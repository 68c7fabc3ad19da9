/**
 * A token bucket per key (GCRA: one timestamp per key): `perMinute` requests a minute on average,
 * in bursts of up to `burst`. Each replica counts its own requests.
 */
export class RateLimiter {
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  /** Per key, when its bucket is full again (GCRA's theoretical arrival time). */
  private readonly tat = new Map<string, number>();
  private sweptAt = 0;

  constructor(
    readonly perMinute: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.intervalMs = 60_000 / perMinute;
    this.toleranceMs = this.intervalMs * (burst - 1);
  }

  /** Takes one request for `key`: 0 when allowed, else the seconds until one more would be. */
  take(key: string): number {
    const now = this.now();
    this.sweep(now);
    const tat = Math.max(this.tat.get(key) ?? now, now);
    if (tat - now > this.toleranceMs) return (tat - now - this.toleranceMs) / 1000;
    this.tat.set(key, tat + this.intervalMs);
    return 0;
  }

  /** Seconds until `key` may take one more, without taking it: 0 when it may now. */
  peek(key: string): number {
    const now = this.now();
    const tat = Math.max(this.tat.get(key) ?? now, now);
    return Math.max(0, (tat - now - this.toleranceMs) / 1000);
  }

  /** Forgets full buckets now and then, so that memory follows the callers of the last minute or so. */
  private sweep(now: number): void {
    if (now - this.sweptAt < 60_000) return;
    this.sweptAt = now;
    for (const [key, tat] of this.tat) if (tat <= now) this.tat.delete(key);
  }
}
