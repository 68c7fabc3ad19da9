/** One of drey's log lines, parsed: pino's keys, then the line's fields. */
export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  time: string;
  msg: string;
  [field: string]: unknown;
}

/**
 * drey's log lines in captured output (one string, or the lines a test's logger received), parsed.
 * Anything else is passed over: audit lines, a line still being written, a child's other output.
 */
export function logEntries(output: string | string[]): LogEntry[] {
  const lines = (Array.isArray(output) ? output.join('') : output).split('\n');
  return lines.flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      const entry = JSON.parse(line) as Partial<LogEntry>;
      return typeof entry.msg === 'string' && typeof entry.level === 'string' ? [entry as LogEntry] : [];
    } catch {
      return [];
    }
  });
}
