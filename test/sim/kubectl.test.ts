import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { createLogger } from '../../src/log.js';
import { SimApiServer } from '../../src/sim/apiserver/index.js';
import { sharedCrd } from '../support/crd.js';
import { findCommand } from '../support/process.js';
import { eventually } from '../support/eventually.js';

const kubectlPath = findCommand('kubectl');
const crd = sharedCrd();
if (!kubectlPath && process.env.CI) throw new Error('CI needs kubectl (Debian package kubernetes-client): .ci/run installs it');
if (!kubectlPath) process.stderr.write('\nSKIPPED kubectl tests: kubectl not installed (Debian package kubernetes-client)\n');
if (!crd) process.stderr.write('\nSKIPPED kubectl tests: reference/flinkdeployments.flink.apache.org-v1.yml is missing (set DREY_SHARED_DIR)\n');
const describeIf = kubectlPath && crd ? describe : describe.skip;

const G = 'flink.apache.org';
const V = 'v1beta1';
const P = 'flinkdeployments';

function manifest(name: string, overrides: { flinkVersion?: string; image?: string; finalizers?: string[] } = {}): string {
  return `apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: ${name}
  namespace: default
${overrides.finalizers ? `  finalizers: [${overrides.finalizers.join(', ')}]\n` : ''}spec:
  image: ${overrides.image ?? 'flink:1.19'}
  flinkVersion: ${overrides.flinkVersion ?? 'v1_19'}
  flinkConfiguration: {taskmanager.numberOfTaskSlots: "2"}
  serviceAccount: flink
  jobManager: {resource: {memory: 2048m, cpu: 1}}
  taskManager: {resource: {memory: 2048m, cpu: 1}}
  job: {jarURI: local:///opt/flink/examples/streaming/StateMachineExample.jar, parallelism: 2, upgradeMode: stateless}
`;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let server: SimApiServer;
let tmp: string;
let env: NodeJS.ProcessEnv;
let custom: CustomObjectsApi;
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Runs kubectl against the simulated server, with its own kubeconfig and cache directory. */
function kubectl(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(kubectlPath!, [...args, `--cache-dir=${path.join(tmp, 'cache')}`], { env, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function file(name: string, text: string): string {
  const p = path.join(tmp, name);
  writeFileSync(p, text);
  return p;
}


/** Table lines split into trimmed columns (kubectl pads with at least three spaces). */
function rows(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{3,}/));
}

beforeAll(async () => {
  if (!kubectlPath || !crd) return;
  server = await SimApiServer.start({ log: createLogger('error'), crds: [crd] });
  tmp = mkdtempSync(path.join(tmpdir(), 'drey-kubectl-'));
  const kubeconfig = file('kubeconfig', server.kubeconfig());
  env = { ...process.env, KUBECONFIG: kubeconfig, HOME: tmp };
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig());
  custom = kc.makeApiClient(CustomObjectsApi);
});
afterAll(async () => {
  await server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describeIf('kubectl against the simulated apiserver', () => {
  it('lists the served resources with api-resources', async () => {
    const run = await kubectl('api-resources');
    expect(run.code).toBe(0);
    const table = rows(run.stdout);
    expect(table[0]).toEqual(['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND']);
    expect(table).toContainEqual(['flinkdeployments', 'flinkdep', 'flink.apache.org/v1beta1', 'true', 'FlinkDeployment']);
    expect(table).toContainEqual(['namespaces', 'ns', 'v1', 'false', 'Namespace']);
  });

  it('creates a namespace', async () => {
    const run = await kubectl('create', 'namespace', 'team-a');
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('namespace/team-a created');
    const get = await kubectl('get', 'namespace', 'team-a', '--no-headers');
    expect(rows(get.stdout)[0]!.slice(0, 2)).toEqual(['team-a', 'Active']);
  });

  it('applies a FlinkDeployment client-side: created, unchanged, configured', async () => {
    const f = file('basic.yaml', manifest('basic-example'));
    expect((await kubectl('apply', '-f', f)).stdout.trim()).toBe('flinkdeployment.flink.apache.org/basic-example created');
    expect((await kubectl('apply', '-f', f)).stdout.trim()).toBe('flinkdeployment.flink.apache.org/basic-example unchanged');
    const changed = file('basic-changed.yaml', manifest('basic-example', { image: 'flink:1.20' }));
    expect((await kubectl('apply', '-f', changed)).stdout.trim()).toBe('flinkdeployment.flink.apache.org/basic-example configured');
    const stored: any = await custom.getNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'basic-example' });
    expect(stored.spec.image).toBe('flink:1.20');
    expect(stored.metadata.generation).toBe(2);
  });

  it('prints the printer columns with get -A, and the object with -o yaml', async () => {
    await custom.patchNamespacedCustomObjectStatus(
      { group: G, version: V, namespace: 'default', plural: P, name: 'basic-example', body: { status: { lifecycleState: 'STABLE', jobStatus: { state: 'RUNNING' } } } },
      merge,
    );
    const list = await kubectl('get', 'flinkdeployments', '-A');
    expect(list.code).toBe(0);
    const table = rows(list.stdout);
    expect(table[0]).toEqual(['NAMESPACE', 'NAME', 'JOB STATUS', 'LIFECYCLE STATE']);
    expect(table).toContainEqual(['default', 'basic-example', 'RUNNING', 'STABLE']);

    const shown = await kubectl('get', 'flinkdep', 'basic-example', '-o', 'yaml');
    const obj = yaml.load(shown.stdout) as any;
    expect(obj).toMatchObject({ apiVersion: `${G}/${V}`, kind: 'FlinkDeployment', metadata: { name: 'basic-example', namespace: 'default' } });
    expect(obj.spec).toMatchObject({ image: 'flink:1.20', flinkVersion: 'v1_19', job: { parallelism: 2, upgradeMode: 'stateless' } });
    expect(obj.status).toEqual({ lifecycleState: 'STABLE', jobStatus: { state: 'RUNNING' } });
    expect(obj.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain('"image":"flink:1.20"');
  });

  it('applies server-side with kubectl as the field manager', async () => {
    const f = file('ssa.yaml', manifest('ssa-example'));
    const run = await kubectl('apply', '--server-side', '-f', f);
    expect(run.stdout.trim()).toBe('flinkdeployment.flink.apache.org/ssa-example serverside-applied');
    const changed = file('ssa-changed.yaml', manifest('ssa-example', { image: 'flink:1.20' }));
    expect((await kubectl('apply', '--server-side', '-f', changed)).code).toBe(0);
    const obj = JSON.parse((await kubectl('get', 'flinkdep', 'ssa-example', '-o', 'json', '--show-managed-fields')).stdout);
    expect(obj.spec.image).toBe('flink:1.20');
    expect(obj.metadata.managedFields).toEqual([expect.objectContaining({ manager: 'kubectl', operation: 'Apply', fieldsType: 'FieldsV1' })]);
    expect(obj.metadata.generation).toBe(2);
  });

  it('refuses an invalid FlinkDeployment with the 422 message, and an unknown field in strict mode', async () => {
    const bad = file('bad.yaml', manifest('bad-example', { flinkVersion: 'v9' }));
    const run = await kubectl('apply', '-f', bad);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('The FlinkDeployment "bad-example" is invalid: spec.flinkVersion: Unsupported value: "v9": supported values: "v1_13"');
    const unknown = file('unknown.yaml', manifest('unknown-example').replace('  serviceAccount: flink\n', '  serviceAccount: flink\n  foo: bar\n'));
    const strict = await kubectl('apply', '-f', unknown);
    expect(strict.code).not.toBe(0);
    expect(strict.stderr).toContain('strict decoding error: unknown field "spec.foo"');
    expect((await kubectl('get', 'flinkdep', 'bad-example')).stderr.trim()).toBe('Error from server (NotFound): flinkdeployments.flink.apache.org "bad-example" not found');
  });

  it('deletes a FlinkDeployment, and waits for its finalizer to be removed', async () => {
    expect((await kubectl('apply', '-f', file('gone.yaml', manifest('gone')))).code).toBe(0);
    expect((await kubectl('delete', 'flinkdep', 'gone')).stdout.trim()).toBe('flinkdeployment.flink.apache.org "gone" deleted');
    expect((await kubectl('get', 'flinkdep', 'gone')).stderr).toContain('NotFound');

    expect((await kubectl('apply', '-f', file('held.yaml', manifest('held', { finalizers: ['drey.io/cleanup'] })))).code).toBe(0);
    expect((await kubectl('delete', 'flinkdep', 'held', '--wait=false')).code).toBe(0);
    const held = JSON.parse((await kubectl('get', 'flinkdep', 'held', '-o', 'json')).stdout);
    expect(held.metadata.deletionTimestamp).toBeDefined();

    const waiting = kubectl('delete', 'flinkdep', 'held');
    // the finalizer goes only once kubectl has sent its DELETE and watches for the object to go
    await eventually('kubectl to watch the object', () => server.watchers({ group: G, version: V, plural: P, namespace: 'default', name: 'held' }) > 0);
    await custom.patchNamespacedCustomObject({ group: G, version: V, namespace: 'default', plural: P, name: 'held', body: { metadata: { finalizers: null } } }, merge);
    const done = await waiting;
    expect(done.code).toBe(0);
    expect(done.stdout.trim()).toBe('flinkdeployment.flink.apache.org "held" deleted');
    expect((await kubectl('get', 'flinkdep', 'held')).stderr).toContain('NotFound');
  });

  it('follows changes with get -w', async () => {
    expect((await kubectl('apply', '-f', file('watched.yaml', manifest('watched')))).code).toBe(0);
    const child = spawn(kubectlPath!, ['get', 'flinkdep', 'watched', '-w', `--cache-dir=${path.join(tmp, 'cache')}`], { env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await eventually('the first row', () => out.includes('watched'));
      await custom.patchNamespacedCustomObjectStatus(
        { group: G, version: V, namespace: 'default', plural: P, name: 'watched', body: { status: { lifecycleState: 'DEPLOYED', jobStatus: { state: 'RECONCILING' } } } },
        merge,
      );
      await eventually('the changed row', () => out.includes('RECONCILING'));
    } finally {
      child.kill();
    }
    const table = rows(out);
    expect(table[0]).toEqual(['NAME', 'JOB STATUS', 'LIFECYCLE STATE']);
    expect(table).toContainEqual(['watched', 'RECONCILING', 'DEPLOYED']);
  });
});
