/** RFC 3339 in UTC with milliseconds and `Z`, as CMF documents (2025-03-31T11:34:01.503Z). */
export function timestamp(date: Date): string {
  return date.toISOString();
}

/** The current instant, truncated to the millisecond precision the database keeps. */
export function now(): Date {
  return new Date(Date.now());
}
