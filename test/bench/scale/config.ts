/** The scale benchmark's settings, all from environment variables. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What one run measures and against which checkout. */
export interface ScaleConfig {
  /** The drey checkout benchmarked (its built `dist/main.js` runs as a child process). */
  dreyDir: string;
  /** Build the checkout (`npx tsc -p .`) before running. */
  build: boolean;
  /** Application counts of the convergence curve. */
  converge: number[];
  /** Stored application counts at which the API is measured. */
  stored: number[];
  /** Applications the leader reconciles for its RSS, the idle resync and the soak. */
  reconciled: number;
  /** Resync period drey is started with (CMF_RESYNC_MS); the idle window lasts this long. */
  resyncMs: number;
  /** Soak duration and its write rate. */
  soakS: number;
  soakRate: number;
  /** Seconds of each create or update throughput round (three rounds per side). */
  throughputS: number;
  /** Random GETs and random list pages per side. */
  samples: number;
  /** Which phases run: `converge`, `fleet`, `stored`. */
  phases: Phase[];
  /**
   * Where the fleet's simulated cluster runs: `separate` (a drey of its own with CMF_CONTROLLERS=off,
   * so the leader's figures are drey's alone, as against a real API server) or `inprocess` (in the
   * leader, as `npm start` runs it; checkouts without CMF_CONTROLLERS need this).
   */
  fleetCluster: 'separate' | 'inprocess';
  /** Longest any one phase (a convergence, a list walk) may take before it is reported as unfinished. */
  timeoutS: number;
}

function fleetCluster(): ScaleConfig['fleetCluster'] {
  const value = process.env.SCALE_FLEET_CLUSTER || 'separate';
  if (value !== 'separate' && value !== 'inprocess') throw new Error(`SCALE_FLEET_CLUSTER must be separate or inprocess, not '${value}'`);
  return value;
}

/** The benchmark's phases, in the order they run. */
export const PHASES = ['converge', 'fleet', 'stored'] as const;
/** One phase of the benchmark. */
export type Phase = (typeof PHASES)[number];

function phases(): Phase[] {
  const raw = process.env.SCALE_PHASES;
  if (!raw) return [...PHASES];
  const asked = raw.split(',').map((p) => p.trim());
  const unknown = asked.filter((p) => !(PHASES as readonly string[]).includes(p));
  if (unknown.length) throw new Error(`SCALE_PHASES names ${unknown.join(', ')}; the phases are ${PHASES.join(', ')}`);
  return asked as Phase[];
}

const REPO = fileURLToPath(new URL('../../..', import.meta.url));

function numbers(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (!raw) return fallback;
  const values = raw.split(',').map((v) => Number(v.trim()));
  if (values.some((v) => !Number.isInteger(v) || v <= 0)) throw new Error(`${name} must be positive integers separated by commas, not '${raw}'`);
  return values;
}

function number(name: string, fallback: number): number {
  const raw = process.env[name];
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not '${raw}'`);
  return value;
}

/** Reads the settings (see the header of test/bench/scale.ts for each variable). */
export function loadScaleConfig(): ScaleConfig {
  const stored = numbers('SCALE_STORED', [20_000, 100_000]).sort((a, b) => a - b);
  if (stored.some((n) => n > 1_000_000)) throw new Error('SCALE_STORED is capped at 1,000,000');
  return {
    dreyDir: path.resolve(process.env.SCALE_DREY_DIR || REPO),
    build: process.env.SCALE_BUILD !== '0',
    converge: numbers('SCALE_CONVERGE', [100, 300, 1000]).sort((a, b) => a - b),
    stored,
    reconciled: number('SCALE_RECONCILED', 10_000),
    resyncMs: number('CMF_RESYNC_MS', 30_000),
    soakS: number('SCALE_SOAK_S', 60),
    soakRate: number('SCALE_SOAK_RATE', 10),
    throughputS: number('SCALE_THROUGHPUT_S', 5),
    samples: number('SCALE_SAMPLES', 300),
    timeoutS: number('SCALE_TIMEOUT_S', 600),
    phases: phases(),
    fleetCluster: fleetCluster(),
  };
}
