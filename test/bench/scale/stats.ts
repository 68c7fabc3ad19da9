/** Small statistics for the scale benchmark: percentiles and least-squares fits. */

/** The p-th percentile (0–100) of `values` by nearest rank; NaN for no values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** p50 and p99 of latencies in milliseconds. */
export interface Latency {
  n: number;
  p50: number;
  p99: number;
}

/** The p50 and p99 of `ms`. */
export function latency(ms: number[]): Latency {
  return { n: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99) };
}

/** y = slope·x + intercept by least squares; slope NaN with fewer than two points. */
export function linearFit(points: { x: number; y: number }[]): { slope: number; intercept: number } {
  const n = points.length;
  if (n < 2) return { slope: NaN, intercept: NaN };
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const slope = sxx === 0 ? NaN : sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/**
 * t = a·N + b·N² by least squares (no intercept): b ≈ 0 means convergence time is linear in N.
 * With one point only `a` is fitted (b = 0); with none both are NaN.
 */
export function quadraticFit(points: { n: number; seconds: number }[]): { a: number; b: number } {
  if (points.length === 0) return { a: NaN, b: NaN };
  if (points.length === 1) return { a: points[0]!.seconds / points[0]!.n, b: 0 };
  // normal equations of [N N²]·[a b]ᵀ = t
  let s2 = 0, s3 = 0, s4 = 0, t1 = 0, t2 = 0;
  for (const { n, seconds } of points) {
    s2 += n ** 2;
    s3 += n ** 3;
    s4 += n ** 4;
    t1 += n * seconds;
    t2 += n ** 2 * seconds;
  }
  const det = s2 * s4 - s3 * s3;
  return { a: (t1 * s4 - t2 * s3) / det, b: (s2 * t2 - s3 * t1) / det };
}

/** Rounds for printing: `digits` significant decimals, no trailing noise. */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
