import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import yaml from 'js-yaml';
import { sharedDir } from './contract.js';

/** The FlinkDeployment CRD of the Flink Kubernetes Operator 1.15.0, from ../shared/reference. */
export function sharedCrdFile(): string | undefined {
  const dir = sharedDir();
  return dir ? path.join(dir, 'reference', 'flinkdeployments.flink.apache.org-v1.yml') : undefined;
}

/** The shared FlinkDeployment CRD, parsed, or undefined when ../shared/reference does not have it. */
export function sharedCrd(): unknown {
  const file = sharedCrdFile();
  return file && existsSync(file) ? yaml.load(readFileSync(file, 'utf8')) : undefined;
}

/**
 * Kubernetes' structural-schema extensions in plain JSON Schema, written independently of the
 * simulated API server's own translation so that each checks the other: int-or-string, nullable,
 * and no unknown fields except under x-kubernetes-preserve-unknown-fields.
 */
function toJsonSchema(node: any): any {
  if (!node || typeof node !== 'object') return node;
  const out: any = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-kubernetes-') || key === 'format' || key === 'nullable') continue;
    if (key === 'properties') out.properties = Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, toJsonSchema(v)]));
    else if (key === 'items' || key === 'additionalProperties') out[key] = typeof value === 'object' ? toJsonSchema(value) : value;
    else out[key] = value;
  }
  if (node['x-kubernetes-int-or-string']) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (node.properties && !node['x-kubernetes-preserve-unknown-fields'] && out.additionalProperties === undefined) out.additionalProperties = false;
  if (node.nullable && out.type) out.type = [out.type, 'null'];
  return out;
}

/** A validator of whole FlinkDeployment objects against the shared CRD's schema, or undefined without ../shared. */
export function flinkDeploymentValidator(): ValidateFunction | undefined {
  const crd = sharedCrd() as any;
  if (!crd) return undefined;
  const schema = toJsonSchema(crd.spec.versions[0].schema.openAPIV3Schema);
  Object.assign(schema.properties, { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' } });
  return new Ajv({ strict: false, allErrors: true }).compile(schema);
}
