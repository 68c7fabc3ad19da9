import { pino, type Logger as Pino } from 'pino';

/** Fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** The levels drey logs at, lowest first; `LOG_LEVEL` names one. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * drey's logger: one JSON object per line (`level`, `time`, `msg`, then the fields), the shape
 * log collectors read without parsing rules. Modules see only this interface, never pino's.
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose every line also carries `fields`: a request's id, a reconcile's key and id. */
  child(fields: LogFields): Logger;
}

/**
 * What a line may say of an error passed as a field value (pino's `err` shape, minus the error's
 * own properties, which may hold request data). Prisma's messages quote the arguments of the failed
 * call, which can hold secret data, so only their class and code are kept.
 */
function describeError(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const code = (value as { code?: unknown }).code;
  const described = { type: value.name, ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}) };
  if (value.name.startsWith('PrismaClient')) return described;
  return { ...described, message: value.message, ...(value.stack ? { stack: value.stack } : {}) };
}

function wrap(logger: Pino<never, boolean>): Logger {
  const at =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void =>
      fields ? logger[level](fields, message) : logger[level](message);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (fields) => wrap(logger.child(fields)) };
}

/**
 * A logger dropping entries below `level` and handing each line (JSON and newline) to `write`,
 * stdout by default, written as it comes so no line is lost when drey exits. No `pid` or
 * `hostname`: where the line comes from is the collector's to say (the pod, the container).
 */
export function createLogger(level: LogLevel, write?: (line: string) => void): Logger {
  return wrap(
    pino(
      {
        level,
        base: null,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        serializers: { err: describeError, error: describeError },
      },
      write ? { write } : pino.destination({ dest: 1, sync: true }),
    ),
  );
}
