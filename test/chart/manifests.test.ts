import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from '@jest/globals';
import yaml from 'js-yaml';
import { ROOT, type K8sObject } from './helm.js';
import { validate } from './models.js';

test('manifests/install.yaml is what the chart renders today', async () => {
  const r = await promisify(execFile)(process.execPath, [path.join(ROOT, 'charts/render-manifests.mjs'), '--check'], { cwd: ROOT }).then(
    () => 0,
    (err: { code?: number; stderr?: string }) => err.stderr ?? String(err.code),
  );
  expect(r).toBe(0);
});

test('manifests/ holds valid objects for namespace drey, without the helm test pod, under a kustomization', async () => {
  const objects = yaml.loadAll(await readFile(path.join(ROOT, 'manifests/install.yaml'), 'utf8')).filter((o): o is K8sObject => o !== null);
  for (const o of objects) expect(() => validate(o)).not.toThrow();
  expect(objects.filter((o) => o.kind === 'Pod')).toEqual([]);
  expect(objects.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Deployment', 'PodDisruptionBudget', 'Service', 'Service', 'ServiceAccount']);
  const kustomization = yaml.load(await readFile(path.join(ROOT, 'manifests/kustomization.yaml'), 'utf8'));
  expect(kustomization).toEqual({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', namespace: 'drey', resources: ['install.yaml'] });
});
