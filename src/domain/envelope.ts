import { API_VERSION } from '../schemas/common.js';
import type { JsonObject } from './objects.js';

/**
 * Clients built on the CMF SDK send `apiVersion: ""` and `kind: ""` when a manifest leaves them
 * out, so an empty or missing value means the expected one; any other value is checked by the
 * kind's schema.
 */
export function withEnvelope(body: JsonObject, kind: string): JsonObject {
  const out = { ...body };
  if (out.apiVersion === undefined || out.apiVersion === '' || out.apiVersion === null) out.apiVersion = API_VERSION;
  if (out.kind === undefined || out.kind === '' || out.kind === null) out.kind = kind;
  return out;
}

/** The metadata a named resource returns: labels and annotations only when set. */
export function metadataOut(
  row: { id: string; name: string; createdAt: Date; updatedAt: Date; labels: unknown; annotations: unknown },
  options: { updateTimestamp?: boolean } = {},
): JsonObject {
  return {
    name: row.name,
    uid: row.id,
    creationTimestamp: row.createdAt.toISOString(),
    ...(options.updateTimestamp === false ? {} : { updateTimestamp: row.updatedAt.toISOString() }),
    ...(row.labels ? { labels: row.labels } : {}),
    ...(row.annotations ? { annotations: row.annotations } : {}),
  };
}
