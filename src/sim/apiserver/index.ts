import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../log.js';
import { Admission } from './admission.js';
import { createServingCertificate } from './certificate.js';
import { Deleter } from './deletion.js';
import { FaultInjector, type SimFaults } from './faults.js';
import { EVERYTHING, Grants, type Grant } from './grants.js';
import { RequestHandler } from './handler.js';
import { timestamp } from './json.js';
import { kubeconfigYaml } from './kubeconfig.js';
import { ApiServerMetrics, type RequestCount } from './metrics.js';
import { OpenApi } from './openapi.js';
import { ResourceRegistry, storageKey } from './registry.js';
import { StateFile } from './state.js';
import { ObjectStore } from './store.js';
import { WatchHub } from './watch.js';
import { Writer } from './writes.js';

export type { SimFaultRule, SimFaults } from './faults.js';
export type { RequestCount } from './metrics.js';
export { ResourceRegistry, typesFromCrd, type ResourceType, type PrinterColumn } from './registry.js';
export { CONTEXT_NAME } from './kubeconfig.js';

/** Options of the simulated Kubernetes API server. */
export interface SimApiServerOptions {
  log: Logger;
  /** CustomResourceDefinitions (apiextensions.k8s.io/v1 objects, already parsed) served besides the built-in kinds. */
  crds: unknown[];
  /** Interface to listen on; loopback by default so nothing outside this machine can reach it. */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /**
   * JSON snapshot the objects are saved to and loaded from at start, so a restart keeps them; changes
   * go to a journal beside it (`objects.journal` for `objects.json`), folded into the snapshot as it grows and on close. Optional.
   */
  stateFile?: string;
  /** Watch events kept; a watch from an older resourceVersion gets 410 Gone. Default 1000. */
  historyLimit?: number;
}

/** What a started server holds on to. */
interface ServerParts {
  server: Server;
  url: string;
  grants: Grants;
  /** The cluster administrator's token. */
  token: string;
  caPem: string;
  store: ObjectStore;
  registry: ResourceRegistry;
  watches: WatchHub;
  handler: RequestHandler;
  state: StateFile | undefined;
  faults: FaultInjector;
  metrics: ApiServerMetrics;
  log: Logger;
}

/** A Kubernetes API server in this process, speaking as much of the API as drey and kubectl use. */
export class SimApiServer {
  /** Injected failures for tests. */
  readonly faults: SimFaults;
  /** Base URL, e.g. https://127.0.0.1:PORT (https because kubectl sends a bearer token over TLS only). */
  readonly url: string;

  private constructor(private readonly parts: ServerParts) {
    this.faults = parts.faults;
    this.url = parts.url;
  }

  /** Loads the saved objects (if any), makes sure `default` exists, and listens. */
  static async start(options: SimApiServerOptions): Promise<SimApiServer> {
    const { log } = options;
    const registry = new ResourceRegistry({ crds: options.crds });
    const state = options.stateFile ? new StateFile({ path: options.stateFile, log }) : undefined;
    const store = new ObjectStore({ historyLimit: options.historyLimit ?? 1000 });
    const saved = state?.load();
    if (saved) store.restore(saved);
    state?.follow(store);
    const nsType = registry.find('', 'v1', 'namespaces')!;
    if (!store.get(storageKey(nsType), undefined, 'default')) {
      store.put(storageKey(nsType), {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'default', uid: randomUUID(), creationTimestamp: timestamp(), labels: { 'kubernetes.io/metadata.name': 'default' } },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      });
    }
    const admission = new Admission({ registry });
    const deleter = new Deleter({ store, registry });
    const writer = new Writer({ store, registry, admission, deleter });
    const metrics = new ApiServerMetrics();
    const watches = new WatchHub({ store, metrics });
    const faults = new FaultInjector();
    const grants = new Grants();
    const token = grants.issue({ user: 'kubernetes-admin', rules: EVERYTHING });
    let address = '';
    const openapi = new OpenApi({ registry });
    const handler = new RequestHandler({ log, grants, registry, store, admission, writer, deleter, watches, faults, metrics, openapi, serverAddress: () => address });
    const host = options.host ?? '127.0.0.1';
    const tls = createServingCertificate(['127.0.0.1', '::1', 'localhost', ...(host === '0.0.0.0' || host === '::' ? [] : [host])]);
    const server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => void handler.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    const urlHost = host.includes(':') ? `[${host}]` : host;
    address = `${urlHost}:${port}`;
    const url = `https://${address}`;
    log.info('simulated Kubernetes API server listening', { url, crds: options.crds.length, stateFile: options.stateFile });
    return new SimApiServer({ server, url, grants, token, caPem: tls.caPem, store, registry, watches, handler, state, faults, metrics, log });
  }

  /** kubeconfig YAML text (cluster with the CA + user with the bearer token the server requires + context 'drey-simulated', current-context set). */
  kubeconfig(): string {
    return kubeconfigYaml({ server: this.url, token: this.parts.token, caPem: this.parts.caPem });
  }

  /** A kubeconfig whose user has `grant`'s rights and no more (what a chart's RBAC gives a service account). */
  kubeconfigFor(grant: Grant): string {
    return kubeconfigYaml({ server: this.url, token: this.parts.grants.issue(grant), caPem: this.parts.caPem });
  }

  /**
   * How many open watch streams follow one object (0 when it does not exist): tests wait on this
   * until a client such as `kubectl delete` is really watching, instead of sleeping.
   */
  watchers(object: { group: string; version: string; plural: string; namespace?: string; name: string }): number {
    const { registry, store, watches } = this.parts;
    const type = registry.find(object.group, object.version, object.plural);
    const stored = type && store.get(storageKey(type), object.namespace, object.name);
    return stored ? watches.following(storageKey(type), stored) : 0;
  }

  /**
   * Requests served since the start (or the last `resetCounts()`), one row per client User-Agent,
   * verb, group, resource, subresource and status code; verbs as kube-apiserver reports them (GET,
   * LIST, WATCH, POST, PUT, PATCH, APPLY, DELETE, DELETECOLLECTION). For tests that count the
   * Kubernetes calls one reconcile makes; the same counts are served at `/metrics`.
   */
  requestCounts(): RequestCount[] {
    return this.parts.metrics.requestCounts();
  }

  /** Makes `requestCounts()` start again from zero; `/metrics` counters keep counting up. */
  resetCounts(): void {
    this.parts.metrics.resetCounts();
  }

  /** Forgets the watch history, so any watch from an earlier resourceVersion answers 410 Gone. */
  compactHistory(): void {
    this.parts.store.compact();
  }

  /** Ends every open watch stream abruptly (as a restarting apiserver or a proxy timeout would). */
  dropWatches(): void {
    this.parts.watches.dropAll();
  }

  /** Ends watches, closes the server and writes the state file. */
  async close(): Promise<void> {
    const { server, watches, handler, state, log } = this.parts;
    watches.endAll();
    handler.releaseHanging();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await state?.close();
    log.info('simulated Kubernetes API server stopped', { url: this.url });
  }
}
