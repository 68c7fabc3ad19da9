import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { kubeConfigFromString } from '../../src/kube/connection.js';
import { FlinkDeployments, type FlinkDeployment } from '../../src/kube/flinkDeployments.js';
import { createLogger } from '../../src/log.js';
import { start, type Drey } from '../../src/main.js';
import { createPrismaClient, type PrismaClient } from '../../src/store/client.js';
import { apiClient, type TestApi } from './api.js';
import { sharedCrdFile } from './crd.js';
import { freshDatabase } from './db.js';

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
export const FAST = { CMF_SIM_STEP_MS: '25', CMF_RESYNC_MS: '2000', CMF_LEADER_LEASE_MS: '2000', CMF_LOCAL_FLINK: 'off' };

/** Starts drey as `npm start` does, with the simulated cluster serving the shared 1.15 CRD. */
export async function startDrey(env: Record<string, string> = {}): Promise<TestDrey> {
  const databaseUrl = await freshDatabase();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'drey-e2e-'));
  const crd = sharedCrdFile();
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    CMF_DATA_DIR: dataDir,
    CMF_KUBE: 'simulated',
    ...(crd ? { CMF_SIM_CRD: crd } : {}),
    ...FAST,
    ...env,
  });
  const logs: string[] = [];
  const drey = await start(config, createLogger('debug', (line) => logs.push(line)));
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
    ...apiClient(drey.url),
    async stop() {
      await drey.stop();
      await prisma.$disconnect();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it returns something other than undefined, or fails after `timeoutMs` saying what it waited for. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
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
