import type { Logger } from '../log.js';
import type { FlinkDeployments } from './flinkDeployments.js';

/** Options of a FlinkDeployment watch that survives failures. */
export interface RestartingWatchOptions {
  deployments: FlinkDeployments;
  /** Only FlinkDeployments matching this label selector. */
  labelSelector?: string;
  /** Called for every added, changed or deleted FlinkDeployment. */
  onChange: (obj: { metadata?: { namespace?: string; name?: string; labels?: Record<string, string>; annotations?: Record<string, string> } }) => void;
  /** Called before each restart: events may have been missed, so callers look at everything again. */
  onRestart?: () => void;
  log: Logger;
  maxDelayMs?: number;
}

/**
 * A list-then-watch of FlinkDeployments (client-node's informer relists by itself on 410 Gone)
 * that is started again, with exponential backoff and jitter, whenever the watch fails. Returns
 * the function that stops it.
 */
export function restartingWatch({ deployments, labelSelector, onChange, onRestart, log, maxDelayMs = 30_000 }: RestartingWatchOptions): () => Promise<void> {
  let running = true;
  let current: ReturnType<FlinkDeployments['informer']> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const start = (failures: number): void => {
    if (!running) return;
    const informer = deployments.informer(labelSelector);
    for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, onChange);
    informer.on('connect', () => {
      failures = 0;
    });
    let failed = false;
    const onError = (err: unknown) => {
      if (failed || !running || current !== informer) return;
      failed = true;
      const delay = Math.round(Math.min(maxDelayMs, 250 * 2 ** failures) * (0.5 + Math.random()));
      log.debug('FlinkDeployment watch failed, restarting', { inMs: delay, error: (err as Error | undefined)?.message });
      void informer.stop().catch(() => undefined);
      timer = setTimeout(() => {
        onRestart?.();
        start(failures + 1);
      }, delay);
      timer.unref();
    };
    informer.on('error', onError);
    current = informer;
    informer.start().catch(onError);
  };
  start(0);
  return async () => {
    running = false;
    clearTimeout(timer);
    await current?.stop().catch(() => undefined);
  };
}
