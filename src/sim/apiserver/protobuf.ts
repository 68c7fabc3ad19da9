import { StatusError } from './errors.js';
import type { JsonObject } from './json.js';

/** Media type kubectl's typed clients (`kubectl create namespace|secret|configmap`) send built-in objects in. */
export const PROTOBUF_TYPE = 'application/vnd.kubernetes.protobuf';

type Scalar = 'string' | 'bytes' | 'int' | 'bool' | 'time';
interface Field {
  name: string;
  type: Scalar | Message;
  repeated?: boolean;
  /** A map<string, string|bytes>: repeated entries {1: key, 2: value}. */
  map?: 'string' | 'bytes';
}
type Message = Record<number, Field>;

const TIME: Message = { 1: { name: 'seconds', type: 'int' }, 2: { name: 'nanos', type: 'int' } };
const OWNER_REFERENCE: Message = {
  1: { name: 'kind', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'controller', type: 'bool' },
  7: { name: 'blockOwnerDeletion', type: 'bool' },
};
const OBJECT_META: Message = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int' },
  8: { name: 'creationTimestamp', type: 'time' },
  11: { name: 'labels', type: 'string', map: 'string' },
  12: { name: 'annotations', type: 'string', map: 'string' },
  13: { name: 'ownerReferences', type: OWNER_REFERENCE, repeated: true },
  14: { name: 'finalizers', type: 'string', repeated: true },
};
/** Field numbers from k8s.io/api/core/v1/generated.proto for the kinds kubectl creates with typed clients. */
const KINDS: Record<string, Message> = {
  Namespace: {
    1: { name: 'metadata', type: OBJECT_META },
    2: { name: 'spec', type: { 1: { name: 'finalizers', type: 'string', repeated: true } } },
  },
  Secret: {
    1: { name: 'metadata', type: OBJECT_META },
    2: { name: 'data', type: 'bytes', map: 'bytes' },
    3: { name: 'type', type: 'string' },
    4: { name: 'stringData', type: 'string', map: 'string' },
    5: { name: 'immutable', type: 'bool' },
  },
  ConfigMap: {
    1: { name: 'metadata', type: OBJECT_META },
    2: { name: 'data', type: 'string', map: 'string' },
    3: { name: 'binaryData', type: 'bytes', map: 'bytes' },
    4: { name: 'immutable', type: 'bool' },
  },
};
const TYPE_META: Message = { 1: { name: 'apiVersion', type: 'string' }, 2: { name: 'kind', type: 'string' } };
const UNKNOWN: Message = { 1: { name: 'typeMeta', type: TYPE_META }, 2: { name: 'raw', type: 'bytes' } };

function malformed(): StatusError {
  return new StatusError(400, 'BadRequest', 'the body of the request could not be decoded as protobuf');
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.buf.length) throw malformed();
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
      if (scale > 2 ** 63) throw malformed();
    }
  }

  bytes(): Buffer {
    const len = this.varint();
    if (this.pos + len > this.buf.length) throw malformed();
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw malformed();
  }
}

function scalar(type: Scalar, r: Reader, wire: number): unknown {
  if (type === 'string') return r.bytes().toString('utf8');
  if (type === 'bytes') return r.bytes().toString('base64');
  if (wire !== 0) throw malformed();
  const n = r.varint();
  return type === 'bool' ? n !== 0 : n;
}

function decode(buf: Buffer, message: Message): JsonObject {
  const r = new Reader(buf);
  const out: JsonObject = {};
  while (r.pos < buf.length) {
    const tag = r.varint();
    const field = message[Math.floor(tag / 8)];
    const wire = tag % 8;
    if (!field) {
      r.skip(wire);
      continue;
    }
    let value: unknown;
    if (field.map) {
      const entry = decode(r.bytes(), { 1: { name: 'key', type: 'string' }, 2: { name: 'value', type: field.map } });
      const map = (out[field.name] ??= {}) as JsonObject;
      map[String(entry.key ?? '')] = entry.value ?? '';
      continue;
    }
    if (field.type === 'time') {
      const t = decode(r.bytes(), TIME);
      value = t.seconds ? new Date(Number(t.seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
    } else if (typeof field.type === 'object') value = decode(r.bytes(), field.type);
    else value = scalar(field.type, r, wire);
    if (field.repeated) ((out[field.name] ??= []) as unknown[]).push(value);
    else if (value === '' || value === 0 || value === false) delete out[field.name]; // Go zero values mean unset, as in JSON
    else out[field.name] = value;
  }
  return out;
}

/**
 * Decodes a protobuf-encoded built-in object (`k8s\0` + runtime.Unknown) into its JSON form; kinds
 * other than Namespace, Secret and ConfigMap answer 415 so the client can send JSON instead.
 */
export function decodeProtobufObject(body: Buffer): JsonObject {
  if (body.length < 4 || body.subarray(0, 4).toString('latin1') !== 'k8s\0') throw malformed();
  const unknown = decode(body.subarray(4), UNKNOWN);
  const typeMeta = (unknown.typeMeta ?? {}) as JsonObject;
  const kind = String(typeMeta.kind ?? '');
  const message = KINDS[kind];
  if (!message) {
    throw new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`);
  }
  const raw = Buffer.from(String(unknown.raw ?? ''), 'base64');
  return { apiVersion: typeMeta.apiVersion, kind, ...decode(raw, message) };
}
