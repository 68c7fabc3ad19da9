/**
 * The Flink web UI proxy: which right each request needs, read the way Flink's router reads the
 * path (version prefix, encodings, dot segments, case), and a proxy that reaches the application's
 * JobManager and nothing else, whatever the path says.
 */
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Request } from 'express';
import { webUiAccess } from '../../src/api/access.js';
import { createApp } from '../../src/api/app.js';
import { serve } from '../../src/api/server.js';
import { createDomain } from '../../src/domain/index.js';
import { createLogger } from '../../src/log.js';
import { createPrismaClient, type PrismaClient } from '../../src/store/client.js';
import { createStore } from '../../src/store/index.js';
import { apiClient } from '../support/api.js';
import { freshDatabase } from '../support/db.js';
import { application, environment } from '../support/fixtures.js';
import { ephemeralKeyring } from '../support/keyring.js';

const BASE = '/cmf/api/v1/environments/env-ui/applications/app-ui/flink-web-ui';

function need(method: string, rest: string) {
  return webUiAccess({ method, path: `${BASE}${rest}`, params: { envName: 'env-ui', appName: 'app-ui' } } as unknown as Request);
}

describe('what each web UI request needs', () => {
  it.each([
    ['GET', '/'],
    ['GET', '/jobs/overview'],
    ['HEAD', '/jobs/overview'],
    ['GET', '/v1/jobs/overview'],
    ['GET', '/taskmanagers/tm-1/thread-dump'],
  ])('%s %s needs view', (method, rest) => {
    expect(need(method, rest)).toMatchObject({ verb: 'view' });
  });

  it.each([
    ['PATCH', '/jobs/0000/'],
    ['POST', '/jobs/0000/savepoints'],
    ['POST', '/v1/jobs/0000/stop'],
    ['GET', '/jobs/0000/yarn-cancel'],
    ['GET', '/v1/jobs/0000/yarn-stop'],
  ])('%s %s needs update', (method, rest) => {
    expect(need(method, rest)).toMatchObject({ verb: 'update' });
  });

  it.each([
    ['POST', '/jars/upload'],
    ['POST', '/v1/jars/upload'],
    ['POST', '/jars/abc.jar/run'],
    ['GET', '/jars'],
    ['GET', '/jars/abc.jar/plan'],
    ['GET', '/v1/jars/abc.jar/plan'],
    ['DELETE', '/jars/abc.jar'],
    ['POST', '//jars/upload'],
    ['POST', '/%6Aars/upload'],
    ['POST', '/JARS/upload'],
    ['POST', '/jobs/../jars/upload'],
    ['POST', '/jobs/%2e%2e/jars/upload'],
    ['POST', '/%5Cjars/upload'],
    ['GET', '/%E0%A4%A'],
  ])('%s %s is for super users only', (method, rest) => {
    expect(need(method, rest)).toHaveProperty('superUser');
  });
});

describe('the proxy reaches the JobManager and nothing else', () => {
  let prisma: PrismaClient;
  let drey: Server;
  let jobManager: Server;
  let elsewhere: Server;
  const seen: { jobManager: string[]; elsewhere: string[] } = { jobManager: [], elsewhere: [] };
  const listen = async (into: string[]) => {
    const server = http.createServer((req, res) => {
      into.push(req.url!);
      res.end('{}');
    });
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    return server;
  };
  const port = (s: Server) => (s.address() as AddressInfo).port;
  const raw = (path: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: port(drey), path, method: 'GET' }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end();
    });

  beforeAll(async () => {
    jobManager = await listen(seen.jobManager);
    elsewhere = await listen(seen.elsewhere);
    prisma = createPrismaClient(await freshDatabase());
    const log = createLogger('error');
    const app = createApp({ domain: createDomain(createStore(prisma, { keyring: ephemeralKeyring() })), log, locateJobManager: () => ({ url: `http://127.0.0.1:${port(jobManager)}` }) });
    drey = await serve(app, { port: 0, host: '127.0.0.1', log });
    const api = apiClient(`http://127.0.0.1:${port(drey)}`);
    expect((await api.post('/cmf/api/v1/environments', environment('env-ui', 'ns-ui'))).status).toBe(201);
    expect((await api.post('/cmf/api/v1/environments/env-ui/applications', application('app-ui'))).status).toBe(201);
  });
  afterAll(async () => {
    for (const s of [drey, jobManager, elsewhere]) s?.closeAllConnections?.();
    await Promise.all([drey, jobManager, elsewhere].map((s) => new Promise((r) => s?.close(r))));
    await prisma?.$disconnect();
  });

  it('a path that reads as another host reaches the JobManager, or nothing', async () => {
    const other = `127.0.0.1:${port(elsewhere)}`;
    expect(await raw(`${BASE}/jobs/overview`)).toBe(200);
    expect(await raw(`${BASE}//${other}/x`)).toBe(200);
    expect(await raw(`${BASE}///${other}/y`)).toBe(200);
    expect(await raw(`${BASE}/\\${other}/z`)).toBe(404);
    expect(seen.elsewhere).toEqual([]);
    expect(seen.jobManager).toEqual(['/jobs/overview', `/${other}/x`, `/${other}/y`]);
  });
});
