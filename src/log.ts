/** Fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** A small structured logger: one line per entry, `level message key=value ...`. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;

function format(fields: LogFields | undefined): string {
  if (!fields) return '';
  return Object.entries(fields)
    .map(([k, v]) => ` ${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join('');
}

/** A logger writing to stderr, dropping entries below `level`. */
export function createLogger(level: keyof typeof LEVELS, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const min = LEVELS[level];
  const at =
    (name: keyof typeof LEVELS) =>
    (message: string, fields?: LogFields): void => {
      if (LEVELS[name] < min) return;
      write(`${new Date().toISOString()} ${name.toUpperCase().padEnd(5)} ${message}${format(fields)}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
