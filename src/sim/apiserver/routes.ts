import type { ResourceRegistry, ResourceType } from './registry.js';

/** What a path addresses. */
export type Route =
  | { kind: 'health' }
  | { kind: 'version' }
  | { kind: 'metrics' }
  | { kind: 'openapi'; path: string }
  | { kind: 'core-versions' }
  | { kind: 'groups' }
  | { kind: 'group'; group: string }
  | { kind: 'resource-list'; group: string; version: string }
  | { kind: 'collection'; type: ResourceType; namespace?: string }
  | { kind: 'object'; type: ResourceType; namespace?: string; name: string; subresource?: string }
  | { kind: 'unknown' };

const HEALTH = new Set(['/healthz', '/livez', '/readyz']);

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Maps a request path onto discovery documents and resources, the way kube-apiserver lays out its URLs. */
export function parseRoute(pathname: string, registry: ResourceRegistry): Route {
  const trimmed = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  if (HEALTH.has(trimmed) || trimmed.startsWith('/healthz/') || trimmed.startsWith('/livez/') || trimmed.startsWith('/readyz/')) return { kind: 'health' };
  if (trimmed === '/version') return { kind: 'version' };
  if (trimmed === '/metrics') return { kind: 'metrics' };
  if (trimmed === '/openapi/v2' || trimmed === '/openapi/v3' || trimmed.startsWith('/openapi/v3/')) return { kind: 'openapi', path: trimmed.slice('/openapi/'.length) };
  const parts = trimmed.split('/').filter(Boolean).map(decode);
  let group: string;
  let version: string | undefined;
  let rest: string[];
  if (parts[0] === 'api') {
    if (parts.length === 1) return { kind: 'core-versions' };
    group = '';
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    if (parts.length === 1) return { kind: 'groups' };
    if (parts.length === 2) return { kind: 'group', group: parts[1]! };
    group = parts[1]!;
    version = parts[2];
    rest = parts.slice(3);
  } else return { kind: 'unknown' };
  if (version === undefined) return { kind: 'unknown' };
  if (rest.length === 0) return { kind: 'resource-list', group, version };
  if (rest[0] === 'namespaces' && rest.length >= 3 && (group !== '' || registry.find(group, version, rest[2]!) !== undefined)) {
    const type = registry.find(group, version, rest[2]!);
    if (!type?.namespaced || rest.length > 5) return { kind: 'unknown' };
    const namespace = rest[1]!;
    if (rest.length === 3) return { kind: 'collection', type, namespace };
    return { kind: 'object', type, namespace, name: rest[3]!, ...(rest[4] !== undefined ? { subresource: rest[4] } : {}) };
  }
  const type = registry.find(group, version, rest[0]!);
  if (!type || rest.length > 3) return { kind: 'unknown' };
  if (rest.length === 1) return { kind: 'collection', type };
  if (type.namespaced) return { kind: 'unknown' };
  return { kind: 'object', type, name: rest[1]!, ...(rest[2] !== undefined ? { subresource: rest[2] } : {}) };
}
