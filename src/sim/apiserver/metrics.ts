import { mediaType } from './http.js';
import type { Route } from './routes.js';

/** What one served request is counted as, in kube-apiserver's terms. */
export interface RequestLabels {
  /** GET, LIST, WATCH, POST, PUT, PATCH, APPLY, DELETE, DELETECOLLECTION (or another method, upper case). */
  verb: string;
  dryRun: string;
  group: string;
  version: string;
  resource: string;
  /** `status`, or for a request outside the resource paths its path (`/healthz`, `/metrics`), as kube-apiserver labels those. */
  subresource: string;
  /** `resource` (one named object, or a create), `namespace`, `cluster`, or '' outside the resource paths. */
  scope: string;
  /** The request's User-Agent header. */
  userAgent: string;
  code: number;
}

/** One row of `SimApiServer.requestCounts()`: how many requests one client made of one kind, with one outcome. */
export interface RequestCount {
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  userAgent: string;
  code: number;
  count: number;
}

/** An open watch, as the long-running gauge labels it. */
export interface WatchLabels {
  group: string;
  version: string;
  resource: string;
  scope: string;
}

type Labels = Record<string, string>;

/** A counter or gauge with labels, kept as a map from the rendered label set to its value. */
class Series {
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  add(labels: Labels, by = 1): void {
    // callers build labels in one fixed order, so the values alone identify the series
    const key = Object.values(labels).join('\u0000');
    const cur = this.values.get(key);
    if (cur) cur.value += by;
    else this.values.set(key, { labels, value: by });
  }

  entries(): { labels: Labels; value: number }[] {
    return [...this.values.values()];
  }
}

/** Prometheus text format 0.0.4 escapes backslash, double quote and newline in label values. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function renderLabels(labels: Labels): string {
  const names = Object.keys(labels).sort();
  return `{${names.map((n) => `${n}="${escapeLabel(labels[n]!)}"`).join(',')}}`;
}

function family(name: string, type: 'counter' | 'gauge', help: string, series: { labels: Labels; value: number }[]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  const rendered = series.map((s) => `${name}${renderLabels(s.labels)} ${s.value}`).sort();
  return `${[...lines, ...rendered].join('\n')}\n`;
}

/** The media type of Prometheus' text exposition format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Request and watch counters named and labelled as kube-apiserver exposes them at `/metrics`, plus a
 * per-client counter of its own (`drey_sim_apiserver_requests_total`, by User-Agent) so tests and
 * profiles can tell drey's controllers from the simulated operator.
 */
export class ApiServerMetrics {
  private readonly requests = new Series();
  private readonly byClient = new Map<string, RequestCount>();
  private readonly watchEvents = new Series();
  private baseline = new Map<string, number>();

  /** Counts one served request. */
  request(r: RequestLabels): void {
    const code = String(r.code);
    this.requests.add({
      code,
      component: 'apiserver',
      dry_run: r.dryRun,
      group: r.group,
      resource: r.resource,
      scope: r.scope,
      subresource: r.subresource,
      verb: r.verb,
      version: r.version,
    });
    const key = [r.userAgent, r.verb, r.group, r.resource, r.subresource, code].join('\n');
    const row = this.byClient.get(key);
    if (row) row.count += 1;
    else this.byClient.set(key, { verb: r.verb, group: r.group, resource: r.resource, subresource: r.subresource, userAgent: r.userAgent, code: r.code, count: 1 });
  }

  /** Counts one event written to a watch stream (bookmarks and errors included, as kube-apiserver counts them). */
  watchEvent(group: string, version: string, kind: string): void {
    this.watchEvents.add({ group, kind, version });
  }

  /** Requests per client since the start or the last `resetCounts()`, rows with no requests left out. */
  requestCounts(): RequestCount[] {
    const out: RequestCount[] = [];
    for (const [key, row] of this.byClient) {
      const count = row.count - (this.baseline.get(key) ?? 0);
      if (count > 0) out.push({ ...row, count });
    }
    return out;
  }

  /** Starts `requestCounts()` from zero; `/metrics` keeps counting up, as Prometheus counters must. */
  resetCounts(): void {
    this.baseline = new Map([...this.byClient].map(([key, row]) => [key, row.count]));
  }

  /** Every metric in Prometheus text format 0.0.4; `watches` are the streams open now. */
  render(watches: WatchLabels[]): string {
    const open = new Series();
    for (const w of watches) open.add({ component: 'apiserver', group: w.group, resource: w.resource, scope: w.scope, subresource: '', verb: 'WATCH', version: w.version });
    const clients = [...this.byClient.values()].map((row) => ({
      labels: { code: String(row.code), group: row.group, resource: row.resource, subresource: row.subresource, user_agent: row.userAgent, verb: row.verb },
      value: row.count,
    }));
    return [
      family(
        'apiserver_request_total',
        'counter',
        '[STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
        this.requests.entries(),
      ),
      family(
        'apiserver_longrunning_requests',
        'gauge',
        '[STABLE] Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component. Not all requests are tracked this way.',
        open.entries(),
      ),
      family('apiserver_watch_events_total', 'counter', '[ALPHA] Number of events sent in watch clients', this.watchEvents.entries()),
      family('drey_sim_apiserver_requests_total', 'counter', 'Requests the simulated apiserver served, by client User-Agent (drey only).', clients),
    ].join('');
  }
}

/** Verbs kube-apiserver reports as themselves; any other method is reported as `other`. */
const VALID_VERBS = new Set(['APPLY', 'CONNECT', 'CREATE', 'DELETE', 'DELETECOLLECTION', 'GET', 'LIST', 'PATCH', 'POST', 'PROXY', 'PUT', 'UPDATE', 'WATCH', 'WATCHLIST']);

/** kube-apiserver's `dry_run` label: the distinct `dryRun` values sorted and joined, or `invalid`. */
function dryRunLabel(url: URL): string {
  const values = url.searchParams.getAll('dryRun');
  if (values.some((v) => v !== 'All')) return 'invalid';
  return [...new Set(values)].sort().join(',');
}

/**
 * The labels kube-apiserver gives a request: scope from whether it names an object (or creates one),
 * a namespace, or neither; GET becomes LIST or WATCH on collections, DELETE on a collection becomes
 * DELETECOLLECTION, and a server-side apply PATCH becomes APPLY.
 */
export function requestLabels(route: Route | undefined, method: string, url: URL, headers: { 'content-type'?: string; 'user-agent'?: string }, code: number): RequestLabels {
  const canonical = method === 'HEAD' ? 'GET' : method;
  const dryRun = dryRunLabel(url);
  const userAgent = headers['user-agent'] ?? '';
  // no object spreads here: this runs for every request, and V8 makes a spread plus extra keys slow
  if (route?.kind !== 'collection' && route?.kind !== 'object') {
    const subresource = route === undefined || route.kind === 'unknown' ? '' : url.pathname;
    const verb = VALID_VERBS.has(canonical) ? canonical : 'other';
    return { verb, dryRun, group: '', version: '', resource: '', subresource, scope: '', userAgent, code };
  }
  const scope = route.kind === 'object' || canonical === 'POST' ? 'resource' : route.namespace !== undefined ? 'namespace' : 'cluster';
  let verb = canonical;
  if (canonical === 'GET' && scope !== 'resource') verb = ['true', '1'].includes(url.searchParams.get('watch') ?? '') ? 'WATCH' : 'LIST';
  else if (canonical === 'DELETE' && scope !== 'resource') verb = 'DELETECOLLECTION';
  else if (canonical === 'PATCH' && mediaType(headers['content-type']) === 'application/apply-patch+yaml') verb = 'APPLY';
  if (!VALID_VERBS.has(verb)) verb = 'other';
  const { group, version, plural: resource } = route.type;
  const subresource = route.kind === 'object' ? (route.subresource ?? '') : '';
  return { verb, dryRun, group, version, resource, subresource, scope, userAgent, code };
}
