import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyAborted } from '../../http/boundedBody.js';
import yaml from 'js-yaml';
import type { Logger } from '../../log.js';
import { fieldValidationMode, type Admission } from './admission.js';
import type { DeleteOptions, Deleter, Propagation } from './deletion.js';
import { apiVersions, group, groupList, resourceList, versionInfo } from './discovery.js';
import { StatusError, badRequest, methodNotAllowed, notFound, pathNotFound } from './errors.js';
import { faultError, type FaultInjector, type FaultTarget } from './faults.js';
import { authorize, type Grants } from './grants.js';
import { mediaType, readBody, sendJson, sendStatusError, warningHeader } from './http.js';
import { isObject, type JsonObject } from './json.js';
import { METRICS_CONTENT_TYPE, requestLabels, type ApiServerMetrics } from './metrics.js';
import type { OpenApi } from './openapi.js';
import { PROTOBUF_TYPE, decodeProtobufObject } from './protobuf.js';
import { groupVersion, present, storageKey, type ResourceRegistry, type ResourceType } from './registry.js';
import { parseRoute, type Route } from './routes.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import type { ObjectStore } from './store.js';
import { includeObjectMode, toTable, wantsTable } from './table.js';
import { WatchHub } from './watch.js';
import { PATCH_TYPES, type WriteResult, type WriteTarget, type Writer } from './writes.js';

/** Field selectors each kind supports besides `metadata.name` and `metadata.namespace`, as the real registry lists them. */
const EXTRA_SELECTABLE: Record<string, string[]> = {
  Secret: ['type'],
  Namespace: ['status.phase'],
  Event: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
};

function selectable(type: ResourceType): string[] {
  return ['metadata.name', 'metadata.namespace', ...(type.builtin ? (EXTRA_SELECTABLE[type.kind] ?? []) : [])];
}

const BODY_TYPES = new Set(['application/json', 'application/yaml', '']);

function parseObjectBody(raw: Buffer, contentType: string): unknown {
  if (contentType === PROTOBUF_TYPE) return decodeProtobufObject(raw);
  if (!BODY_TYPES.has(contentType)) {
    throw new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`);
  }
  const text = raw.toString('utf8');
  if (text.trim() === '') throw badRequest('the body of the request is empty');
  try {
    return contentType === 'application/yaml' ? yaml.load(text, { schema: yaml.CORE_SCHEMA }) : JSON.parse(text);
  } catch (err) {
    throw badRequest(`the body of the request could not be decoded: ${(err as { reason?: string }).reason ?? (err as Error).message}`);
  }
}

function flag(value: string | null): boolean {
  return value === 'true' || value === '1';
}

function dryRunOf(value: string | null): boolean {
  if (value === null || value === '') return false;
  if (value === 'All') return true;
  throw badRequest(`Invalid dry run value: ${value}; supported values: "All"`);
}

/** Serves one request: authentication, fault injection, then discovery or the resource verbs. */
export class RequestHandler {
  private readonly hanging = new Set<ServerResponse>();

  constructor(
    private readonly options: {
      log: Logger;
      grants: Grants;
      registry: ResourceRegistry;
      store: ObjectStore;
      admission: Admission;
      writer: Writer;
      deleter: Deleter;
      watches: WatchHub;
      faults: FaultInjector;
      metrics: ApiServerMetrics;
      openapi: OpenApi;
      serverAddress: () => string;
    },
  ) {}

  /** Entry point for node:http; never throws. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://localhost');
    let route: Route | undefined;
    try {
      route = parseRoute(url.pathname, this.options.registry);
      if (route.kind === 'health') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
        return;
      }
      if (route.kind === 'version') return sendJson(res, 200, versionInfo());
      const grant = this.options.grants.of(req.headers.authorization);
      if (!grant) throw new StatusError(401, 'Unauthorized', 'Unauthorized');
      if (route.kind === 'metrics') return this.metrics(method, res);
      authorize(grant, route, method, method === 'GET' && flag(url.searchParams.get('watch')));
      if (await this.injectFault(route, method, url, res)) return;
      await this.dispatch(route, method, url, req, res);
    } catch (err) {
      if (err instanceof BodyAborted) return; // the client went away mid-body: no one to answer
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof StatusError) sendStatusError(res, err);
      else {
        this.options.log.error('simulated apiserver failed a request', { method, path: url.pathname, error: (err as Error).message });
        sendStatusError(res, new StatusError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`));
      }
    } finally {
      this.options.log.debug('simulated apiserver request', { method, path: url.pathname, query: url.search, code: res.statusCode });
      this.count(route, method, url, req, res);
    }
  }

  /** Counts the request once its status is known: now, or (for one held by a `hang` fault) when it closes, as the 504 a real server's timeout answers. */
  private count(route: Route | undefined, method: string, url: URL, req: IncomingMessage, res: ServerResponse): void {
    const record = (): void => this.options.metrics.request(requestLabels(route, method, url, req.headers, res.headersSent ? res.statusCode : 504));
    if (res.headersSent || res.closed) record();
    else res.once('close', record);
  }

  /** Ends requests a `hang` fault holds. */
  releaseHanging(): void {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
  }

  private metrics(method: string, res: ServerResponse): void {
    if (method !== 'GET') throw methodNotAllowed();
    const text = this.options.metrics.render(this.options.watches.openWatches());
    res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
    res.end(text);
  }

  private async injectFault(route: Route, method: string, url: URL, res: ServerResponse): Promise<boolean> {
    const watching = method === 'GET' && flag(url.searchParams.get('watch'));
    const target: FaultTarget = { method: watching ? 'WATCH' : method };
    if (route.kind === 'collection' || route.kind === 'object') {
      target.resource = route.type.plural;
      target.group = route.type.group;
      if (route.namespace !== undefined) target.namespace = route.namespace;
      if (route.kind === 'object') {
        target.name = route.name;
        if (route.subresource !== undefined) target.subresource = route.subresource;
      }
    }
    const rule = this.options.faults.take(target);
    if (!rule) return false;
    this.options.log.debug('simulated apiserver fault', { ...target, status: rule.status, delayMs: rule.delayMs, hang: rule.hang });
    if (rule.hang) {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return true;
    }
    if (rule.delayMs) await new Promise((resolve) => setTimeout(resolve, rule.delayMs));
    if (rule.status !== undefined) {
      sendStatusError(res, faultError(rule.status, target));
      return true;
    }
    return false;
  }

  private async dispatch(route: Route, method: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { registry } = this.options;
    const discovery = (doc: JsonObject | undefined): void => {
      if (method !== 'GET') throw methodNotAllowed();
      if (!doc) throw pathNotFound();
      sendJson(res, 200, doc);
    };
    switch (route.kind) {
      case 'core-versions':
        return discovery(apiVersions(this.options.serverAddress()));
      case 'groups':
        return discovery(groupList(registry));
      case 'group':
        return discovery(group(registry, route.group));
      case 'resource-list':
        return discovery(resourceList(registry, route.group, route.version));
      case 'openapi': {
        if (method !== 'GET') throw methodNotAllowed();
        if (route.path === 'v3') return sendJson(res, 200, this.options.openapi.root());
        const doc = route.path.startsWith('v3/') ? this.options.openapi.document(route.path.slice(3)) : undefined;
        if (doc === undefined) throw pathNotFound();
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(doc), 'Cache-Control': 'public, immutable' });
        res.end(doc);
        return;
      }
      case 'unknown':
        throw pathNotFound();
      case 'collection':
        if (method === 'GET') return flag(url.searchParams.get('watch')) ? this.watch(route.type, route.namespace, url, req, res) : this.list(route.type, route.namespace, url, req, res);
        if (method === 'POST') {
          const raw = await readBody(req);
          const body = parseObjectBody(raw, mediaType(req.headers['content-type']));
          return this.reply(res, this.options.writer.create(this.target(route.type, route.namespace, undefined, undefined, url, req), body));
        }
        throw methodNotAllowed();
      case 'object':
        return this.object(route, method, url, req, res);
    }
  }

  private target(type: ResourceType, namespace: string | undefined, name: string | undefined, subresource: string | undefined, url: URL, req: IncomingMessage): WriteTarget {
    const q = url.searchParams;
    const fieldManager = q.get('fieldManager') ?? undefined;
    if (fieldManager !== undefined && fieldManager.length > 128) throw badRequest('fieldManager: Too long: may not be more than 128 bytes');
    return {
      type,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(name !== undefined ? { name } : {}),
      ...(subresource !== undefined ? { subresource } : {}),
      dryRun: dryRunOf(q.get('dryRun')),
      fieldValidation: fieldValidationMode(q.get('fieldValidation')),
      ...(fieldManager ? { fieldManager } : {}),
      ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}),
    };
  }

  private reply(res: ServerResponse, result: WriteResult): void {
    const headers: Record<string, string[]> = result.warnings.length ? { Warning: result.warnings.map(warningHeader) } : {};
    sendJson(res, result.code, result.object, headers);
  }

  private async object(route: Extract<Route, { kind: 'object' }>, method: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { type, namespace, name, subresource } = route;
    if (subresource !== undefined && !(subresource === 'status' && type.statusSubresource)) throw pathNotFound();
    const target = (): WriteTarget => this.target(type, namespace, name, subresource, url, req);
    switch (method) {
      case 'GET': {
        const obj = this.options.store.get(storageKey(type), namespace, name);
        if (!obj) throw notFound(type.plural, type.group, name);
        const shown = present(type, obj);
        if (wantsTable(req.headers.accept)) {
          return sendJson(res, 200, toTable(type, [shown], { include: includeObjectMode(url.searchParams.get('includeObject')) }));
        }
        return sendJson(res, 200, shown);
      }
      case 'PUT': {
        const body = parseObjectBody(await readBody(req), mediaType(req.headers['content-type']));
        return this.reply(res, this.options.writer.update(target(), body));
      }
      case 'PATCH': {
        const contentType = mediaType(req.headers['content-type']);
        if (!(Object.values(PATCH_TYPES) as string[]).includes(contentType)) {
          throw new StatusError(
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: ${Object.values(PATCH_TYPES).join(', ')}`,
          );
        }
        const force = url.searchParams.get('force');
        if (force !== null && contentType !== PATCH_TYPES.apply) throw badRequest('force: Forbidden: may not be specified for non-apply patch');
        const raw = await readBody(req);
        return this.reply(res, this.options.writer.patch(target(), contentType, raw.toString('utf8')));
      }
      case 'DELETE': {
        if (subresource !== undefined) throw methodNotAllowed();
        const raw = await readBody(req);
        const result = this.options.deleter.delete(type, namespace, name, this.deleteOptions(raw, req, url));
        return sendJson(res, result.code, result.body);
      }
      default:
        throw methodNotAllowed();
    }
  }

  private deleteOptions(raw: Buffer, req: IncomingMessage, url: URL): DeleteOptions {
    let body: JsonObject = {};
    if (raw.length > 0 && raw.toString('utf8').trim() !== '') {
      const parsed = parseObjectBody(raw, mediaType(req.headers['content-type']) || 'application/json');
      if (!isObject(parsed)) throw badRequest('DeleteOptions must be an object');
      body = parsed;
    }
    const policy = (body.propagationPolicy ?? url.searchParams.get('propagationPolicy') ?? undefined) as string | undefined;
    if (policy !== undefined && !['Orphan', 'Background', 'Foreground'].includes(policy)) {
      throw badRequest(`propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`);
    }
    const bodyDryRun = Array.isArray(body.dryRun) && body.dryRun.includes('All');
    const pre = isObject(body.preconditions) ? body.preconditions : {};
    return {
      dryRun: bodyDryRun || dryRunOf(url.searchParams.get('dryRun')),
      ...(policy ? { propagationPolicy: policy as Propagation } : {}),
      preconditions: {
        ...(typeof pre.uid === 'string' ? { uid: pre.uid } : {}),
        ...(typeof pre.resourceVersion === 'string' ? { resourceVersion: pre.resourceVersion } : {}),
      },
    };
  }

  private list(type: ResourceType, namespace: string | undefined, url: URL, req: IncomingMessage, res: ServerResponse): void {
    const q = url.searchParams;
    const labels = parseLabelSelector(q.get('labelSelector') ?? undefined);
    const fields = parseFieldSelector(q.get('fieldSelector') ?? undefined, selectable(type));
    const { store } = this.options;
    const items = store.list(storageKey(type), { namespace, filter: (o) => labels(o) && fields(o) }).map((o) => present(type, o));
    const resourceVersion = String(store.resourceVersion);
    if (wantsTable(req.headers.accept)) {
      return sendJson(res, 200, toTable(type, items, { include: includeObjectMode(q.get('includeObject')), resourceVersion }));
    }
    sendJson(res, 200, { apiVersion: groupVersion(type), kind: type.listKind, metadata: { resourceVersion }, items });
  }

  private watch(type: ResourceType, namespace: string | undefined, url: URL, req: IncomingMessage, res: ServerResponse): void {
    const q = url.searchParams;
    const timeout = q.get('timeoutSeconds');
    if (timeout !== null && !/^\d+$/.test(timeout)) throw badRequest(`timeoutSeconds: Invalid value: "${timeout}"`);
    const resourceVersion = q.get('resourceVersion') ?? undefined;
    WatchHub.parseResourceVersion(resourceVersion);
    const sendInitialEvents = q.get('sendInitialEvents');
    this.options.watches.serve(res, {
      type,
      ...(namespace !== undefined ? { namespace } : {}),
      labels: parseLabelSelector(q.get('labelSelector') ?? undefined),
      fields: parseFieldSelector(q.get('fieldSelector') ?? undefined, selectable(type)),
      ...(resourceVersion !== undefined ? { resourceVersion } : {}),
      allowBookmarks: flag(q.get('allowWatchBookmarks')),
      ...(sendInitialEvents !== null ? { sendInitialEvents: flag(sendInitialEvents) } : {}),
      ...(timeout !== null ? { timeoutSeconds: Number(timeout) } : {}),
      ...(wantsTable(req.headers.accept) ? { table: includeObjectMode(q.get('includeObject')) } : {}),
    });
  }
}
