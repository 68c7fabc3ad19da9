/**
 * The simulated Kubernetes API server's request counters, read from its `GET /metrics`
 * (Prometheus text format) with the credentials of drey's kubeconfig.
 */
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import yaml from 'js-yaml';

/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/g;

/** Parses the Prometheus text format (comments and blank lines skipped; escaped label values unescaped). */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[3] ?? '').matchAll(LABEL)) {
      labels[key!] = value!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    samples.push({ name: match[1]!, labels, value: Number(match[4]) });
  }
  return samples;
}

function sampleKey(s: Sample): string {
  return `${s.name}{${Object.keys(s.labels).sort().map((k) => `${k}=${s.labels[k]}`).join(',')}}`;
}

/** Counters of `after` minus those of `before` (a series absent before counts from 0). */
export function difference(after: Sample[], before: Sample[]): Sample[] {
  const earlier = new Map(before.map((s) => [sampleKey(s), s.value]));
  return after.map((s) => ({ ...s, value: s.value - (earlier.get(sampleKey(s)) ?? 0) }));
}

/** Request counts per client and verb, e.g. `{ controllers: { GET: 3, APPLY: 1 } }`. */
export type RequestsByClient = Record<string, Record<string, number>>;

/** Which client a User-Agent belongs to: drey's controllers, the simulated operator, or another. */
function clientOf(userAgent: string | undefined): string {
  if (!userAgent) return 'unknown';
  if (userAgent.includes('controllers')) return 'controllers';
  if (userAgent.includes('sim-operator')) return 'sim-operator';
  return 'other';
}

/** The User-Agent of the benchmark's own scrapes, left out of every count. */
const SCRAPER = 'drey-scale-bench';

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY', 'CREATE', 'UPDATE']);

/**
 * Requests by client and verb: from `drey_sim_apiserver_requests_total` by `user_agent` when the
 * server exports it, else `apiserver_request_total` by verb under the client `all`.
 */
export function requestsByClient(samples: Sample[]): RequestsByClient {
  const perAgent = samples.filter((s) => s.name === 'drey_sim_apiserver_requests_total' && s.labels.user_agent !== SCRAPER);
  const source = perAgent.length ? perAgent : samples.filter((s) => s.name === 'apiserver_request_total' && s.labels.subresource !== '/metrics');
  const out: RequestsByClient = {};
  for (const s of source) {
    if (s.value === 0) continue;
    const client = perAgent.length ? clientOf(s.labels.user_agent) : 'all';
    const verb = (s.labels.verb ?? '?').toUpperCase();
    out[client] ??= {};
    out[client][verb] = (out[client][verb] ?? 0) + s.value;
  }
  return out;
}

/** Write requests (POST, PUT, PATCH, DELETE, APPLY) of all clients, from `apiserver_request_total`. */
export function writeRequests(samples: Sample[]): number {
  return samples
    .filter((s) => s.name === 'apiserver_request_total' && WRITE_VERBS.has((s.labels.verb ?? '').toUpperCase()))
    .reduce((sum, s) => sum + s.value, 0);
}

/** Every count of `requests` divided by `by` (requests per application or per reconcile). */
export function perUnit(requests: RequestsByClient, by: number): RequestsByClient {
  const out: RequestsByClient = {};
  for (const [client, verbs] of Object.entries(requests)) {
    out[client] = Object.fromEntries(Object.entries(verbs).map(([verb, n]) => [verb, Math.round((n / by) * 100) / 100]));
  }
  return out;
}

interface KubeconfigShape {
  clusters?: { cluster?: { server?: string; 'certificate-authority-data'?: string } }[];
  users?: { user?: { token?: string } }[];
}

/** Reads `/metrics` of one simulated API server. */
export class KubeMetrics {
  private constructor(
    private readonly server: string,
    private readonly ca: string | undefined,
    private readonly token: string | undefined,
  ) {}

  /** A reader for the cluster in a kubeconfig file (drey writes `<dataDir>/kubeconfig`). */
  static async fromKubeconfig(file: string): Promise<KubeMetrics> {
    const config = yaml.load(await readFile(file, 'utf8')) as KubeconfigShape;
    const cluster = config.clusters?.[0]?.cluster;
    if (!cluster?.server) throw new Error(`${file} names no cluster server`);
    const caData = cluster['certificate-authority-data'];
    return new KubeMetrics(cluster.server, caData ? Buffer.from(caData, 'base64').toString('utf8') : undefined, config.users?.[0]?.user?.token);
  }

  /** The current samples, or undefined when the server has no `/metrics` (404: an older drey). */
  async scrape(): Promise<Sample[] | undefined> {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(
        `${this.server}/metrics`,
        { ca: this.ca, headers: { 'user-agent': SCRAPER, ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) }, timeout: 30_000 },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('GET /metrics timed out')));
      req.on('error', reject);
      req.end();
    });
    if (status === 404) return undefined;
    if (status !== 200) throw new Error(`GET ${this.server}/metrics answered ${status}: ${body.slice(0, 200)}`);
    return parsePrometheus(body);
  }
}
