import http from 'node:http';
import https from 'node:https';
import {
  createConfiguration,
  KubeConfig,
  Observable,
  ServerConfiguration,
  type ApiConstructor,
  type ApiType,
  type HttpLibrary,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import type { CallObserver } from '../metrics.js';

/** What a client says it is in every request (the API server's audit log and metrics see it). */
export const USER_AGENT = 'drey/0.1.0';

/** The TLS options that make two agents interchangeable: same server identity, same client identity. */
const IDENTITY = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

function identityOf(options: Record<string, unknown>): string {
  return JSON.stringify(IDENTITY.map((k) => (Buffer.isBuffer(options[k]) ? (options[k] as Buffer).toString('base64') : (options[k] ?? null))));
}

/**
 * A KubeConfig whose clients share keep-alive connections. `@kubernetes/client-node` builds a new
 * `https.Agent` for every request, so every call paid a TLS handshake; here each distinct TLS
 * identity gets one keep-alive agent, reused by every request and watch made through this config.
 * Agents through a proxy are left as the client made them. Every request also carries the
 * User-Agent `drey/<version> <component>`.
 */
export class PooledKubeConfig extends KubeConfig {
  private readonly agents = new Map<string, http.Agent>();
  private readonly userAgent: string;

  constructor(
    component: string,
    /** Hears every call made through the API clients of this config (not watches), for metrics. */
    private readonly observe?: CallObserver,
  ) {
    super();
    this.userAgent = `${USER_AGENT} ${component}`;
  }

  /** An API client like the base class makes, whose calls are timed and counted when observed. */
  override makeApiClient<T extends ApiType>(apiClientType: ApiConstructor<T>): T {
    const observe = this.observe;
    if (!observe) return super.makeApiClient(apiClientType);
    const cluster = this.getCurrentCluster();
    if (!cluster) throw new Error('No active cluster!');
    const base = createConfiguration({ baseServer: new ServerConfiguration(cluster.server, {}), authMethods: { default: this } });
    const http: HttpLibrary = base.httpApi;
    const timed: HttpLibrary = {
      send(request: RequestContext): Observable<ResponseContext> {
        const started = performance.now();
        const seen = (status: number) => observe({ method: request.getHttpMethod().toString(), url: request.getUrl(), status, seconds: (performance.now() - started) / 1000 });
        return new Observable(
          http
            .send(request)
            .toPromise()
            .then(
              (response) => {
                seen(response.httpStatusCode);
                return response;
              },
              (err: unknown) => {
                seen(0);
                throw err;
              },
            ),
        );
      },
    };
    return new apiClientType({ ...base, httpApi: timed });
  }

  /** The pooled agent standing in for one the client just made (same options, kept alive). */
  private pooled(agent: unknown): unknown {
    const plain = agent instanceof https.Agent ? https.Agent : agent instanceof http.Agent && !(agent instanceof https.Agent) ? http.Agent : undefined;
    // proxy agents subclass these; only the client's own plain agents are replaced
    if (!plain || Object.getPrototypeOf(agent) !== plain.prototype) return agent;
    const options = (agent as { options: Record<string, unknown> }).options;
    const key = `${plain === https.Agent ? 'https' : 'http'}:${identityOf(options)}`;
    let shared = this.agents.get(key);
    if (!shared) {
      shared = new plain({ ...options, keepAlive: true });
      this.agents.set(key, shared);
    }
    return shared;
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    context.setAgent(this.pooled(context.getAgent()) as http.Agent);
    context.setHeaderParam('User-Agent', this.userAgent);
  }

  override async applyToFetchOptions(opts: https.RequestOptions): Promise<Awaited<ReturnType<KubeConfig['applyToFetchOptions']>>> {
    const init = await super.applyToFetchOptions(opts);
    (init as { agent?: unknown }).agent = this.pooled((init as { agent?: unknown }).agent);
    (init.headers as unknown as { set(name: string, value: string): void }).set('User-Agent', this.userAgent);
    return init;
  }

  /** Closes the pooled connections (idle ones at once, busy ones when their request ends). */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}
