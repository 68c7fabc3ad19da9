import { StatusError, conflict, reasonForCode } from './errors.js';

/** One injected failure: which requests it matches and what happens to them. */
export interface SimFaultRule {
  /** 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'WATCH' (a GET with watch=true); undefined = any. */
  method?: string;
  /** Plural, e.g. 'flinkdeployments'; undefined = any. */
  resource?: string;
  namespace?: string;
  name?: string;
  /** 'status'. */
  subresource?: string;
  /** Answer this HTTP status with a proper Status body instead of serving. */
  status?: number;
  /** Serve normally but only after this delay (or, with status, answer after the delay). */
  delayMs?: number;
  /** Never answer (until close): simulates a timeout. */
  hang?: boolean;
  /** How many matching requests it applies to; default 1; Infinity allowed. */
  times?: number;
}

/** Fault injection for tests: rules are matched, first added first, before each request is served. */
export interface SimFaults {
  add(rule: SimFaultRule): void;
  clear(): void;
  /** Requests answered by a fault so far (for tests to see a fault was hit). */
  readonly hits: number;
}

/** What a request is, in the terms fault rules match on. */
export interface FaultTarget {
  method: string;
  resource?: string;
  group?: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** The rules in force and how often they fired. */
export class FaultInjector implements SimFaults {
  private readonly rules: { rule: SimFaultRule; remaining: number }[] = [];
  private count = 0;

  add(rule: SimFaultRule): void {
    this.rules.push({ rule: { ...rule }, remaining: rule.times ?? 1 });
  }

  clear(): void {
    this.rules.length = 0;
  }

  get hits(): number {
    return this.count;
  }

  /** The rule that applies to this request, used up by one; undefined when none does. */
  take(target: FaultTarget): SimFaultRule | undefined {
    const found = this.rules.find(({ rule, remaining }) => {
      if (remaining <= 0) return false;
      return (
        (rule.method === undefined || rule.method.toUpperCase() === target.method) &&
        (rule.resource === undefined || rule.resource === target.resource) &&
        (rule.namespace === undefined || rule.namespace === target.namespace) &&
        (rule.name === undefined || rule.name === target.name) &&
        (rule.subresource === undefined || rule.subresource === target.subresource)
      );
    });
    if (!found) return undefined;
    found.remaining -= 1;
    if (found.remaining <= 0) this.rules.splice(this.rules.indexOf(found), 1);
    this.count += 1;
    return found.rule;
  }
}

/** The Status error a fault answers with, worded like the real failure of that code. */
export function faultError(status: number, target: FaultTarget): StatusError {
  if (status === 409 && target.resource && target.name) return conflict(target.resource, target.group ?? '', target.name);
  const messages: Record<number, string> = {
    429: 'Too many requests, please try again later.',
    500: 'Internal error occurred: injected fault',
    503: 'the server is currently unable to handle the request',
    504: 'Timeout: request did not complete within the allotted timeout',
  };
  const details = status === 429 ? { retryAfterSeconds: 1 } : {};
  return new StatusError(status, reasonForCode(status), messages[status] ?? `injected fault: ${reasonForCode(status)}`, details);
}
