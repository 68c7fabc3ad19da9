import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { applicationStatus, desiredDeployment, keyOf, needsApply } from '../../src/controllers/applicationDeployment.js';
import { canonicalJson, type JsonObject } from '../../src/domain/objects.js';
import { kubeConfigFromString } from '../../src/kube/connection.js';
import { FlinkDeployments, OPERATOR_FINALIZER, type FlinkDeployment, type FlinkDeploymentStatus } from '../../src/kube/flinkDeployments.js';
import { createLogger } from '../../src/log.js';
import { start, type Drey, type StartHooks } from '../../src/main.js';
import { nextStatus, validateSpec } from '../../src/sim/operator.js';
import { createPrismaClient, type PrismaClient } from '../../src/store/client.js';
import { createStore } from '../../src/store/index.js';
import { apiClient, type ClientOptions, type TestApi } from './api.js';
import { sharedCrdFile } from './crd.js';
import { freshDatabase } from './db.js';

export { eventually } from './eventually.js';
// jest's global `expect`, not @jest/globals: the benches import this module outside jest

/** A whole drey (API, controllers, simulated cluster) started in-process on its own database. */
export interface TestDrey extends Pick<TestApi, 'request' | 'get' | 'post' | 'put' | 'delete'> {
  drey: Drey;
  url: string;
  databaseUrl: string;
  dataDir: string;
  prisma: PrismaClient;
  /** FlinkDeployments in the simulated cluster, read through the Kubernetes API. */
  kube: FlinkDeployments;
  logs: string[];
  stop(): Promise<void>;
}

/** Settings that make the simulated cluster quick enough for tests. */
export const FAST = { CMF_SIM_STEP_MS: '25', CMF_RESYNC_MS: '2000', CMF_LEADER_LEASE_MS: '3000', CMF_LOCAL_FLINK: 'off', CMF_LOCAL_KAFKA: 'off', CMF_AUDIT: 'db' };

/**
 * drey's settings for a start inside a test or bench process, as `npm start` reads them from `env`:
 * API and ops server on ports the system picks on loopback (runs side by side never collide), the
 * simulated cluster serving the shared 1.15 CRD.
 */
export function inProcessConfig(env: Record<string, string>): Config {
  const crd = sharedCrdFile();
  return loadConfig({ PORT: '0', HOST: '127.0.0.1', CMF_OPS_PORT: '0', CMF_KUBE: 'simulated', ...(crd ? { CMF_SIM_CRD: crd } : {}), ...env });
}

/** Starts drey as `npm start` does, with the simulated cluster serving the shared 1.15 CRD. */
export async function startDrey(env: Record<string, string> = {}, hooks: StartHooks = {}, client: ClientOptions = {}): Promise<TestDrey> {
  const databaseUrl = await freshDatabase();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'drey-e2e-'));
  const config = inProcessConfig({ DATABASE_URL: databaseUrl, CMF_DATA_DIR: dataDir, ...FAST, ...env });
  const logs: string[] = [];
  const drey = await start(config, createLogger('debug', (line) => logs.push(line)), hooks);
  const prisma = createPrismaClient(databaseUrl);
  const kube = new FlinkDeployments({ kubeConfig: kubeConfigFromString(drey.sim!.kubeconfig()) });
  return {
    drey,
    url: drey.url,
    databaseUrl,
    dataDir,
    prisma,
    kube,
    logs,
    ...apiClient(drey.url, client),
    async stop() {
      await drey.stop();
      await prisma.$disconnect();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Everything a reconcile could write for one application: the row, its instances and events, its FlinkDeployment. */
export async function footprint(prisma: PrismaClient, kube: FlinkDeployments, namespace: string, name: string): Promise<unknown> {
  const app = await prisma.application.findFirst({ where: { name }, include: { instances: true, events: true } });
  const deployment: FlinkDeployment | undefined = await kube.get(namespace, name);
  return {
    app: app && { ...app, instances: app.instances.map((i) => ({ ...i, seq: String(i.seq) })), events: app.events.map((e) => ({ ...e, seq: String(e.seq) })) },
    deployment: deployment && { resourceVersion: deployment.metadata.resourceVersion, uid: deployment.metadata.uid },
  };
}

/** One application at rest: its stored status and its FlinkDeployment (none when it has none). */
export interface Settled {
  status: JsonObject | null;
  deployment: FlinkDeployment | undefined;
}

function describeStatus(status: FlinkDeploymentStatus | undefined): string {
  return `${status?.lifecycleState ?? '-'}/${status?.jobManagerDeploymentStatus ?? '-'}/${status?.jobStatus?.state ?? '-'}`;
}

/**
 * Why the application `<environment>/<name>` is not at rest yet, or what it rests in: the
 * controller would apply nothing, the simulated operator has no step left for the FlinkDeployment,
 * and the application's stored status is what the controller derives from that FlinkDeployment now.
 */
async function restless(t: TestDrey, key: string): Promise<string | Settled> {
  const [envName, name] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
  const { applications } = createStore(t.prisma);
  const app = await applications.find(envName, name);
  // one list, not a get: a test's injected faults aimed at this FlinkDeployment are for the controller
  const all = await t.kube.list();
  const ours = all.filter((d) => keyOf(d) === key);
  if (!app) {
    return ours.length ? `FlinkDeployments of the gone application are left: ${ours.map((d) => `${d.metadata.namespace}/${d.metadata.name}`).join(', ')}` : { status: null, deployment: undefined };
  }
  if (app.deletionRequestedAt) return 'the application is being deleted';
  const namespace = app.environment.kubernetesNamespace;
  const strays = ours.filter((d) => d.metadata.namespace !== namespace || d.metadata.name !== name);
  if (strays.length) return `stray FlinkDeployments are left: ${strays.map((d) => `${d.metadata.namespace}/${d.metadata.name}`).join(', ')}`;
  const instance = await applications.currentInstance(app.id);
  if (!instance) return 'the application has no instance';
  const previous = (app.status ?? null) as JsonObject | null;
  const live = all.find((d) => d.metadata.namespace === namespace && d.metadata.name === name);

  if (!live) {
    // Without a FlinkDeployment only a refusal rests: the controller's apply was refused by the cluster
    // (its error names the apply), and the status holds that and nothing a FlinkDeployment reported.
    // Another error (a FlinkDeployment someone else had there) is from before and moves on.
    const error = typeof previous?.error === 'string' ? previous.error : undefined;
    if (!error?.startsWith(`apply flinkdeployment ${namespace}/${name}: `)) return 'the controller has yet to create the FlinkDeployment';
    return canonicalJson(applicationStatus(undefined, previous, error)) === canonicalJson(previous) ? { status: previous, deployment: undefined } : 'the refusal is not recorded yet';
  }
  if (keyOf(live) !== key) return `FlinkDeployment ${namespace}/${name} is not drey's for ${key}`;
  if (live.metadata.deletionTimestamp) return `FlinkDeployment ${namespace}/${name} is being deleted`;
  if (needsApply(desiredDeployment(app, instance), live, app.deployedSpecHash)) return 'the controller has yet to apply the current instance';

  const operator = t.drey.sim!.operator;
  if (!(live.metadata.finalizers ?? []).includes(OPERATOR_FINALIZER)) return 'the operator has yet to add its finalizer';
  const fault = operator.pendingFault(namespace, name);
  if (fault) return `an injected ${fault.kind} waits for the operator's next step`;
  const next = nextStatus(live, undefined, new Date());
  if (next) return `the operator has a step left: ${describeStatus(live.status)} -> ${describeStatus(next)}`;
  if (!validateSpec(live.spec) && live.status?.observedGeneration !== live.metadata.generation) return 'the operator has yet to observe the generation';

  const derived = applicationStatus(live, previous);
  if (canonicalJson(derived) !== canonicalJson(previous)) return `the application's status has yet to catch up: ${canonicalJson(previous)} vs ${canonicalJson(derived)}`;
  const instanceName = derived.currentDeployedInstanceName;
  if (typeof instanceName === 'string' && derived.jobStatus) {
    const deployed = await applications.getInstance(app.id, instanceName);
    if (deployed && canonicalJson(deployed.jobStatus) !== canonicalJson(derived.jobStatus)) return `instance ${instanceName}'s job status has yet to catch up`;
  }
  return { status: previous, deployment: live };
}

/**
 * Waits until nothing moves for the application `<environment>/<name>` any more: the FlinkDeployment
 * is what the controller applies, the simulated operator has nothing more to do for it (finalizer on,
 * generation observed, no next lifecycle step, no injected fault waiting), and the application's
 * status, deployed spec hash and deployed instance's job status are what the controller would record
 * from it now. Returns that resting state; fails after `timeoutMs` saying what still moved.
 */
export async function settled(t: TestDrey, key: string, timeoutMs = 20_000): Promise<Settled> {
  if (!t.drey.sim || t.drey.flink) throw new Error('settled() knows the simulated operator with simulated jobs only');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await restless(t, key).catch((err: Error) => `looking failed: ${err.message}`);
    if (typeof found !== 'string') return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${key} to settle: ${found}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Reconcile twice, the second pass must write nothing: once the application has settled (a footprint
 * taken while the operator or the controller still moves would compare two moments of that movement).
 */
export async function expectSecondPassWritesNothing(t: TestDrey, key: string, namespace: string): Promise<void> {
  await settled(t, key);
  const name = key.slice(key.indexOf('/') + 1);
  const controller = t.drey.controllers.applications;
  await controller.reconcile(key);
  const afterFirst = await footprint(t.prisma, t.kube, namespace, name);
  await controller.reconcile(key);
  expect(await footprint(t.prisma, t.kube, namespace, name)).toEqual(afterFirst);
}
