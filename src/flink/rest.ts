import { setTimeout as sleep } from 'node:timers/promises';
import type { CallObserver } from '../metrics.js';
/**
 * The HTTP transport shared by drey's Flink clients (JobManager REST and SQL Gateway REST): JSON in
 * and out, a deadline on every call, retries only for calls that are safe to repeat, and errors that
 * keep Flink's own message.
 */

/** A failed Flink REST call: the HTTP status (0 when Flink never answered) and Flink's own message. */
export class FlinkError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The `errors` array of Flink's error body, untouched (it may hold a server-side stack trace). */
    readonly errors: string[] = [],
  ) {
    super(message);
  }
}

/** Settings of one Flink REST endpoint. */
export interface FlinkRestOptions {
  /** Base URL, e.g. `http://127.0.0.1:8081` (JobManager) or `http://127.0.0.1:8083` (SQL Gateway). */
  baseUrl: string;
  /** Deadline of one attempt. */
  timeoutMs?: number;
  /** How many times a safe call is tried again after a network error or a 502/503/504. */
  retries?: number;
  /** Delay before the first retry; doubled for each further one. */
  retryDelayMs?: number;
  /** Hears every attempt: its status (0: Flink never answered) and how long it took, for metrics. */
  observe?: CallObserver;
}

/** One request. `safe` marks calls Flink treats as idempotent (reads, closes): only those are retried. */
export interface FlinkRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** A multipart form to send instead of a JSON body (jar upload). */
  form?: FormData;
  safe?: boolean;
  /** Overrides the endpoint's deadline (a jar upload or run can take longer than a read). */
  timeoutMs?: number;
  /** Parses a successful body instead of `JSON.parse` (to keep numbers a double cannot hold). */
  parse?: (text: string) => unknown;
}

const RETRIED_STATUS = new Set([502, 503, 504]);

/**
 * Turns Flink's `{"errors": [...]}` into one line a person can act on. Flink puts either a plain
 * message or a whole server-side stack trace in each entry; the first line says what failed and the
 * deepest `Caused by:` says why, so both are kept and the frames are dropped.
 */
export function flinkMessage(errors: string[]): string {
  const entries = errors.filter((e) => e.trim() !== '' && e !== 'Internal server error.');
  if (entries.length === 0) return errors[0] ?? 'no message';
  const text = entries.join('\n');
  const lines = text.split('\n').map((l) => l.trim());
  const first = lines.find((l) => l !== '' && !l.startsWith('at ') && !l.startsWith('<Exception on server side')) ?? text;
  const causes = lines.filter((l) => l.startsWith('Caused by: '));
  const root = causes.at(-1)?.slice('Caused by: '.length);
  return root && !first.includes(root) ? `${first} (caused by ${root})` : first;
}

function errorsOf(body: unknown): string[] | undefined {
  const errors = (body as { errors?: unknown } | null)?.errors;
  return Array.isArray(errors) && errors.every((e) => typeof e === 'string') ? errors : undefined;
}


/** A Flink REST endpoint. */
export class FlinkRest {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly observe: CallObserver | undefined;

  constructor(options: FlinkRestOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retries = options.retries ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 200;
    this.observe = options.observe;
  }

  /** Sends a request and returns the parsed JSON body (or undefined for an empty one). */
  async call<T>(what: string, request: FlinkRequest): Promise<T> {
    const attempts = request.safe ? this.retries + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.once(what, request)) as T;
      } catch (err) {
        const e = err as FlinkError;
        const retriable = e.status === 0 || RETRIED_STATUS.has(e.status);
        if (!retriable || attempt >= attempts) throw e;
        await sleep(this.retryDelayMs * 2 ** (attempt - 1));
      }
    }
  }

  private url(request: FlinkRequest): string {
    const url = new URL(this.baseUrl + request.path);
    for (const [k, v] of Object.entries(request.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.toString();
  }

  private async once(what: string, request: FlinkRequest): Promise<unknown> {
    const started = performance.now();
    const observe = (status: number) => this.observe?.({ method: request.method, url: this.baseUrl, status, seconds: (performance.now() - started) / 1000 });
    try {
      const { status, body } = await this.attempt(what, request);
      observe(status);
      return body;
    } catch (err) {
      observe(err instanceof FlinkError ? err.status : 0);
      throw err;
    }
  }

  private async attempt(what: string, request: FlinkRequest): Promise<{ status: number; body: unknown }> {
    const timeoutMs = request.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = { accept: 'application/json' };
    let body: string | FormData | undefined;
    if (request.form) body = request.form;
    else if (request.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(request.body);
    }
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.url(request), {
        method: request.method,
        headers,
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const reason =
        e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
      throw new FlinkError(0, `${what}: ${reason} (${this.baseUrl})`);
    }
    let parsed: unknown;
    if (text !== '') {
      try {
        parsed = response.ok && request.parse ? request.parse(text) : JSON.parse(text);
      } catch {
        if (response.ok) throw new FlinkError(response.status, `${what}: Flink answered with a body that is not JSON`);
        parsed = undefined;
      }
    }
    if (response.ok) return { status: response.status, body: parsed };
    const errors = errorsOf(parsed) ?? (text ? [text.slice(0, 500)] : [`HTTP ${response.status}`]);
    throw new FlinkError(response.status, `${what}: ${flinkMessage(errors)}`, errors);
  }
}
