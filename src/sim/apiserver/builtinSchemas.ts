import type { JsonObject } from './json.js';

const str = { type: 'string' };
const int = { type: 'integer' };
const bool = { type: 'boolean' };
const stringMap = { type: 'object', additionalProperties: str };
const byteMap = { type: 'object', additionalProperties: { type: 'string', format: 'byte' } };
const meta = { type: 'object' };

/** Structural schemas of the built-in kinds served, so they are pruned and validated like CRDs. */
export const BUILTIN_SCHEMAS: Record<string, JsonObject> = {
  Namespace: {
    type: 'object',
    properties: {
      apiVersion: str,
      kind: str,
      metadata: meta,
      spec: { type: 'object', properties: { finalizers: { type: 'array', items: str } } },
      status: {
        type: 'object',
        properties: {
          phase: { type: 'string', enum: ['Active', 'Terminating'] },
          conditions: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      },
    },
  },
  Secret: {
    type: 'object',
    properties: { apiVersion: str, kind: str, metadata: meta, data: byteMap, stringData: stringMap, type: str, immutable: bool },
  },
  ConfigMap: {
    type: 'object',
    properties: { apiVersion: str, kind: str, metadata: meta, data: stringMap, binaryData: byteMap, immutable: bool },
  },
  Lease: {
    type: 'object',
    properties: {
      apiVersion: str,
      kind: str,
      metadata: meta,
      spec: {
        type: 'object',
        properties: {
          holderIdentity: str,
          leaseDurationSeconds: int,
          acquireTime: { type: 'string', format: 'date-time' },
          renewTime: { type: 'string', format: 'date-time' },
          leaseTransitions: int,
          strategy: str,
          preferredHolder: str,
        },
      },
    },
  },
  Event: {
    type: 'object',
    properties: {
      apiVersion: str,
      kind: str,
      metadata: meta,
      involvedObject: {
        type: 'object',
        properties: { apiVersion: str, kind: str, name: str, namespace: str, uid: str, resourceVersion: str, fieldPath: str },
      },
      related: {
        type: 'object',
        properties: { apiVersion: str, kind: str, name: str, namespace: str, uid: str, resourceVersion: str, fieldPath: str },
      },
      reason: str,
      message: str,
      source: { type: 'object', properties: { component: str, host: str } },
      firstTimestamp: { type: 'string', nullable: true },
      lastTimestamp: { type: 'string', nullable: true },
      eventTime: { type: 'string', nullable: true },
      count: int,
      type: str,
      series: { type: 'object', properties: { count: int, lastObservedTime: str } },
      action: str,
      reportingComponent: str,
      reportingInstance: str,
    },
  },
};
